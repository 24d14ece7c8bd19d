"""Exact steady state, relaxation time and exact steady-state quantities (`qjump.exact`).

The steady state solves ``L x = 0`` with ``Tr rho = 1`` in the block-diagonal space
(:mod:`qjump.liouville.liouvillian`).  We solve the bordered system

    (L + e_0 w^T) x = e_0,

where ``w`` is the trace functional and ``e_0`` selects the ground-state population.  Because
``w^T L = 0`` (trace preservation), Brauer's theorem says the bordered matrix has the spectrum
of ``L`` with the zero eigenvalue moved to ``w^T e_0 = 1``.  Hence

* it is non-singular exactly when the steady state is unique, and
* its eigenvalues nearest zero are the slowest relaxation rates of ``L``.

One sparse LU factorisation gives the state, its residual, the relaxation time and the
uniqueness check.  A non-unique steady state (e.g. equal couplings with common dissipation,
physics notes §1) raises :class:`NonUniqueSteadyStateError` instead of returning an arbitrary
state.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..model import PaperModel
from ..results import Result
from ..system.blocks import BlockSpace
from ..system.context import System, model_system
from ..system.quantities import order_values
from .linalg import bordered_gmres, bordered_matrix
from .liouvillian import liouvillian, solver_operator

__all__ = [
    "NonUniqueSteadyStateError",
    "SteadyState",
    "exact",
    "relaxation_time",
    "steady_state",
]

#: Up to this many unknowns (N <= 2) dense linear algebra is used (exact spectrum).
DENSE_LIMIT = 300
#: Largest accepted residual ``||L x|| / ||x||`` of an iterative steady state.
RESIDUAL_LIMIT = 1e-9


class NonUniqueSteadyStateError(ValueError):
    """The Liouvillian has more than one stationary state."""


@dataclasses.dataclass(frozen=True)
class SteadyState:
    """The exact steady state of a model, stored as its diagonal excitation-number blocks.

    Attributes
    ----------
    model : PaperModel
    vector : ndarray
        Block vector (row-major blocks ``rho_k`` concatenated).
    residual : float
        ``||L x||_2 / ||x||_2`` of the solution.
    relaxation_time : float or None
        ``1/gap`` when the dense path computed the spectrum (else see
        :func:`relaxation_time`).
    method : str
        ``"dense"`` or ``"gmres"``.
    wall_time_s : float
    """

    model: PaperModel
    vector: np.ndarray
    residual: float
    relaxation_time: float | None
    method: str
    wall_time_s: float
    system: System = dataclasses.field(repr=False, compare=False)

    @property
    def space(self) -> BlockSpace:
        return self.system.space

    @property
    def blocks(self) -> list[np.ndarray]:
        """The blocks ``rho_k`` (``k`` = excitation number)."""
        return self.space.split(self.vector)

    def full(self) -> np.ndarray:
        """Dense density matrix in the computational basis (small systems only)."""
        return self.space.full_matrix(self.vector)

    def expect(self, X: sp.spmatrix) -> complex:
        """``Tr[X rho]`` for an operator on the full space."""
        return complex((self.space.functional(X) @ self.vector)[0])

    def eigenstates(self) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
        """Eigen-decomposition of ``rho`` sector by sector.

        Returns
        -------
        probabilities : ndarray
            Eigenvalues (clipped at 0 and renormalised), all sectors concatenated.
        states : list of (k, vector)
            Sector index and normalised eigenvector (sector basis) for each probability.
        """
        probs, states = [], []
        for k, blk in enumerate(self.blocks):
            herm = 0.5 * (blk + blk.conj().T)
            w, v = np.linalg.eigh(herm)
            for j in range(w.size):
                probs.append(max(w[j], 0.0))
                states.append((k, v[:, j]))
        p = np.asarray(probs)
        return p / p.sum(), states


def _non_unique_message(model: PaperModel, detail: str) -> str:
    hint = ""
    if model.dissipation == "common" and (
        len(set(model.g_h)) < model.N or len(set(model.g_c)) < model.N
    ):
        hint = (
            " With common dissipation, equal couplings g within an ensemble conserve the"
            " collective spin, so several stationary states exist; make the g's unequal."
        )
    elif model.T_h == 0.0 and model.T_c == 0.0:
        hint = " With both baths at T = 0, dark states can make the steady state non-unique."
    return f"the steady state of {model.label} is not unique: {detail}.{hint}"


def _gmres_checked(system: System, position: int, rtol: float, x0=None) -> np.ndarray:
    """:func:`~qjump.liouville.linalg.bordered_gmres`, raising when the system is singular."""
    x, residual = bordered_gmres(system, position, rtol, x0)
    if not residual < RESIDUAL_LIMIT:
        raise NonUniqueSteadyStateError(
            _non_unique_message(
                system.model,
                f"the preconditioned GMRES solve of the bordered Liouvillian stalled at a "
                f"residual of {residual:.2e}, which signals a (nearly) singular system",
            )
        )
    return x


def steady_state(model: PaperModel, *, tol: float = 1e-8, rtol: float = 1e-12) -> SteadyState:
    """Exact steady state of ``model`` in the block-diagonal space.

    Small systems (block space up to :data:`DENSE_LIMIT` unknowns, ``N <= 2``) use dense
    linear algebra and the full spectrum (uniqueness and relaxation time at once).  Larger
    ones use GMRES with long restarts on the bordered system, right-preconditioned by the
    block Gauss-Seidel :class:`GaussSeidelPreconditioner` (exact inverse of the no-jump part
    plus the emission feed between sectors); beyond
    :data:`~qjump.liouville.liouvillian.MATRIX_FREE_LIMIT` unknowns
    (``N >= 6``) the block Liouvillian is applied matrix-free
    (:class:`qjump.liouville.liouvillian.BlockLiouvillianOperator`).  Uniqueness is checked by a
    second
    solve with another border from a random start, which agrees with the first only when the
    kernel is one-dimensional.  The residual ``||L x|| / ||x||`` is reported either way.

    Parameters
    ----------
    model : PaperModel
    tol : float
        Relative threshold for a zero eigenvalue (dense) or for the agreement of the two
        solutions (iterative).
    rtol : float
        GMRES relative tolerance.

    Raises
    ------
    NonUniqueSteadyStateError
        When the Liouvillian has more than one stationary state.
    """
    t0 = time.perf_counter()
    system = model_system(model)
    space = system.space
    L = solver_operator(model)
    tau = None
    if space.size <= DENSE_LIMIT:
        scale = max(abs(L).max(), 1e-300)
        ev = la.eigvals(L.toarray())
        zero = np.abs(ev) < tol * scale
        if zero.sum() > 1:
            raise NonUniqueSteadyStateError(
                _non_unique_message(model, f"the Liouvillian has {zero.sum()} zero eigenvalues")
            )
        rhs = np.zeros(space.size, complex)
        rhs[0] = 1.0
        x = la.solve(bordered_matrix(L, space).toarray(), rhs)
        rates = -np.real(ev[~zero])
        tau = float(1.0 / rates.min()) if rates.size else math.inf
        method = "dense"
    else:
        x = _gmres_checked(system, 0, rtol)
        # a second solve from a random start: components along a second kernel vector, if
        # any, are left untouched by GMRES, so the two solutions then disagree
        rng = np.random.default_rng(12345)
        start = rng.normal(size=space.size) + 1j * rng.normal(size=space.size)
        last = int(space.offsets[-1] - 1)  # the fully excited state
        x2 = _gmres_checked(system, last, rtol, x0=start / np.linalg.norm(start))
        x, x2 = x / (space.trace_vector @ x), x2 / (space.trace_vector @ x2)
        if np.linalg.norm(x - x2) > max(tol, 1e3 * rtol) * np.linalg.norm(x):
            raise NonUniqueSteadyStateError(
                _non_unique_message(
                    model, "solutions with different normalisation borders disagree"
                )
            )
        method = "gmres"
    x = x / (space.trace_vector @ x)
    blocks = [0.5 * (b + b.conj().T) for b in space.split(x)]  # remove round-off asymmetry
    x = space.join(blocks)
    residual = float(np.linalg.norm(L @ x) / np.linalg.norm(x))
    return SteadyState(
        model=model,
        vector=x,
        residual=residual,
        relaxation_time=tau,
        method=method,
        wall_time_s=time.perf_counter() - t0,
        system=system,
    )


@functools.lru_cache(maxsize=64)
def relaxation_time(model: PaperModel) -> float:
    """Slowest relaxation time ``1/gap`` of the block-diagonal dynamics.

    ``gap`` is the smallest non-zero ``-Re(lambda)`` over the Liouvillian's eigenvalues on
    the block-diagonal space (the space a trajectory ensemble started in basis states
    explores).  Small systems: dense spectrum.  Larger: ARPACK on the propagator
    ``exp(L tau)`` (``expm_multiply``), whose dominant eigenvalues ``exp(lambda tau)`` are
    the slow modes.
    """
    ss = steady_state(model)
    if ss.relaxation_time is not None:
        return ss.relaxation_time
    L = liouvillian(model)
    step = 5.0
    op = spla.LinearOperator(
        L.shape, matvec=lambda v: spla.expm_multiply(step * L, v), dtype=complex
    )
    mu = spla.eigs(op, k=4, which="LM", return_eigenvectors=False, tol=1e-6, ncv=24)
    mu = mu[np.abs(mu - 1.0) > 1e-6]
    rate = -np.log(np.abs(mu).max()) / step
    return float(1.0 / rate)


def exact(model: PaperModel) -> Result:
    """Exact steady-state quantities of ``model``.

    Returns
    -------
    Result
        ``method="exact"``, zero standard errors.  Values: the currents of
        :data:`qjump.system.quantities.CURRENTS`, ``C_loc``, ``C_nonloc``, ``C_nonloc_product``,
        ``energy``, populations ``pop_*`` and the linear pieces ``sz_*``, ``coh_*``.
        ``info`` holds ``residual``, ``relaxation_time``, ``solver`` and ``wall_time_s``.
    """
    ss = steady_state(model)
    return result_from_state(ss)


def result_from_state(ss: SteadyState) -> Result:
    """The :class:`Result` of a solved steady state."""
    q = ss.system.quantities
    values = q.evaluate(ss.vector)
    values = order_values(values, q.product_form(values))
    return Result(
        model=ss.model,
        method="exact",
        values=values,
        se={k: 0.0 for k in values},
        info={
            "residual": ss.residual,
            "relaxation_time": ss.relaxation_time,
            "solver": ss.method,
            "wall_time_s": ss.wall_time_s,
        },
    )


def evolve(model: PaperModel, x0: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Exact ``rho(t)`` (block vectors) from ``x0`` at equally spaced ``times``.

    Uses ``scipy.sparse.linalg.expm_multiply``; returns an array of shape
    ``(len(times), len(x0))``.
    """
    times = np.asarray(times, dtype=float)
    if times.size > 2 and not np.allclose(np.diff(times), times[1] - times[0]):
        raise ValueError("times: must be equally spaced")
    return spla.expm_multiply(
        liouvillian(model), x0.astype(complex), start=times[0], stop=times[-1],
        num=times.size, endpoint=True,
    )
