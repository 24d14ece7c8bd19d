"""The per-model system: operators, U(1) sectors, block space and quantities of one model.

Everything that derives from a :class:`~qjump.model.PaperModel` alone, built once and cached
per (frozen, hashable) model.  Both solver families read it; it imports no solver.
"""

from __future__ import annotations

import functools

from ..model import PaperModel
from .blocks import BlockSpace
from .operators import ModelOperators
from .quantities import QuantitySet

__all__ = ["System", "model_system"]


class System:
    """Operators, block space and quantity definitions of one model.

    Attributes
    ----------
    model : PaperModel
    ops : ModelOperators
        Hamiltonians, jump channels and adjoint dissipators (:mod:`qjump.system.operators`).
    spins : SpinSystem
        Spin operators and excitation-number sectors (:mod:`qjump.system.spins`).
    space : BlockSpace
        The block-diagonal operator space (:mod:`qjump.system.blocks`).
    quantities : QuantitySet
        Every quantity as a linear functional ``Tr[X rho]`` (:mod:`qjump.system.quantities`);
        :meth:`quantity_set` gives a named selection of them.
    """

    def __init__(self, model: PaperModel) -> None:
        self.model = model
        self.ops = ModelOperators(model)
        self.spins = self.ops.spins
        self.space = BlockSpace(self.ops)
        self.quantities = QuantitySet(self.ops, self.space)
        self._selections = {"all": self.quantities}

    def quantity_set(self, selection: str = "all") -> QuantitySet:
        """The quantities of a named selection (``"all"`` or ``"essential"``; cached)."""
        if selection not in self._selections:
            self._selections[selection] = QuantitySet(self.ops, self.space, selection)
        return self._selections[selection]


@functools.lru_cache(maxsize=64)
def model_system(model: PaperModel) -> System:
    """The cached :class:`System` of ``model``."""
    return System(model)
