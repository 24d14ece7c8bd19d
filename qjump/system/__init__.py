"""The system layer: everything derived from a :class:`~qjump.model.PaperModel` alone.

Spin operators and U(1) sectors (``spins``), Hamiltonians and jump channels (``operators``),
the block-diagonal operator space (``blocks``), every quantity as a linear functional
(``quantities``) and the per-model cache (``context``).  It imports no solver.
"""

from .context import System, model_system

__all__ = ["System", "model_system"]
