"""Propagators of the jump engine: how a state evolves between jumps and when it jumps.

Owns the registry of propagator names; each module implements the compiled operations of
:mod:`.protocol` for its own data type (adding a propagator = one module + one entry here).
"""

from __future__ import annotations

from collections import namedtuple

from . import eigen, krylov

__all__ = ["PROPAGATORS", "Propagator"]

#: ``build(model)`` -> data (cached), ``workspace(data, sector_data)`` -> per-trajectory
#: arrays, ``prepare(data, workspace, sector_data, k, vec)`` sets the initial state;
#: ``allocates``: its compiled operations allocate arrays, so the loop that calls them needs
#: reference counting (:data:`~qjump.trajectories.loop.advance_allocating`).
Propagator = namedtuple("Propagator", "build workspace prepare allocates")

PROPAGATORS = {
    "eigen": Propagator(eigen.dense_propagator, eigen.workspace, eigen.prepare, False),
    "eigen-large": Propagator(eigen.sparse_propagator, eigen.workspace, eigen.prepare, False),
    "krylov": Propagator(krylov.krylov_propagator, krylov.workspace, krylov.prepare, True),
}
