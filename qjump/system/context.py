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
        self._selections = {("all", False): self.quantities}

    def quantity_set(self, selection: str = "all", controls: bool = False) -> QuantitySet:
        """The quantities of a named selection (``"all"`` or ``"essential"``; cached), with
        the generator controls the trajectories sample when ``controls`` is true."""
        key = (selection, bool(controls))
        if key not in self._selections:
            self._selections[key] = QuantitySet(self.ops, self.space, selection, controls)
        return self._selections[key]


@functools.lru_cache(maxsize=64)
def model_system(model: PaperModel) -> System:
    """The cached :class:`System` of ``model``."""
    return System(model)
