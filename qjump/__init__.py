"""qjump: quantum-jump trajectories for a two-ensemble quantum thermal machine.

Public API
----------
PaperModel            frozen, validated model parameters
exact(model)          exact steady-state quantities (a Result)
steady_state(model)   the exact steady state itself
simulate(model, ...)  quantum-jump trajectory estimates (a TrajectoryResult)
TrajectoryOptions     frozen, validated options of a trajectory run
counting_statistics(model, bath)  exact full counting statistics (a CountingStatistics)
dynamics(model, times, ...)  every linear quantity at given times, from trajectories
"""

__version__ = "0.1.0"

from .liouville.fcs import counting_statistics  # noqa: E402
from .liouville.steady import (  # noqa: E402
    NonUniqueSteadyStateError,
    SteadyState,
    exact,
    steady_state,
)
from .model import PaperModel  # noqa: E402
from .results import CountingStatistics, Result  # noqa: E402
from .trajectories.dynamics import dynamics  # noqa: E402
from .trajectories.ensemble import TrajectoryResult, simulate  # noqa: E402
from .trajectories.options import TrajectoryOptions  # noqa: E402

__all__ = [
    "CountingStatistics",
    "NonUniqueSteadyStateError",
    "PaperModel",
    "Result",
    "SteadyState",
    "TrajectoryOptions",
    "TrajectoryResult",
    "__version__",
    "counting_statistics",
    "dynamics",
    "exact",
    "simulate",
    "steady_state",
]
