"""qjump: quantum-jump trajectories for a two-ensemble quantum thermal machine."""
from .exact import NonUniqueSteadyStateError, SteadyState, exact, steady_state
from .model import PaperModel
from .results import Result

__version__ = "0.1.0"
__all__ = ["NonUniqueSteadyStateError", "PaperModel", "Result", "SteadyState", "exact",
           "steady_state", "__version__"]
