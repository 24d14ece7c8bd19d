"""Exact steady state, relaxation time and exact steady-state quantities (`qjump.exact`).

The steady state solves ``L x = 0`` with ``Tr rho = 1`` in the block-diagonal space
(:mod:`qjump.liouville.liouvillian`), through the bordered system

    (L + e_p w^T) x = e_p,

where ``w`` is the trace functional and ``e_p`` selects a diagonal entry.  Because ``w^T L = 0``
(trace preservation), Brauer's theorem says the bordered matrix has the spectrum of ``L`` with
the zero eigenvalue moved to ``w^T e_p = 1``: it is non-singular exactly when the steady state
is unique.  Small systems solve it densely next to the full spectrum of ``L`` (uniqueness and
relaxation time at once); larger ones by GMRES (:mod:`qjump.liouville.linalg`) preconditioned by
the exact inverse of the uncoupled ensembles' generator (:mod:`qjump.liouville.decoupled`),
with an algebraic uniqueness certificate (:func:`commutant_is_trivial`) or a second solve.  A
non-unique steady state (e.g. equal couplings with common dissipation, physics notes §1)
raises :class:`NonUniqueSteadyStateError` instead of returning an arbitrary state.  The memory
a solve needs is estimated, and checked, before anything of the block-space size exists
(:func:`exact_memory_estimate`, :func:`check_memory`).
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
from scipy.sparse.csgraph import connected_components
from threadpoolctl import threadpool_limits

from ..execution.memory import available_memory
from ..model import PaperModel
from ..results import Result
from ..system.blocks import BlockSpace
from ..system.context import System, model_system
from ..system.quantities import order_values
from .decoupled import decoupled_inverse
from .linalg import (
    arpack_start,
    bordered_matrix,
    bordered_operator,
    check_method,
    gmres,
    krylov_length,
)
from .liouvillian import MATRIX_FREE_LIMIT, liouvillian, liouvillian_operator

__all__ = [
    "NonUniqueSteadyStateError",
    "SteadyState",
    "check_memory",
    "commutant_is_trivial",
    "exact",
    "exact_memory_estimate",
    "relaxation_time",
    "steady_state",
]

#: Up to this many unknowns (N <= 2) ``method="auto"`` uses dense linear algebra.
DENSE_LIMIT = 300
#: Solver methods of :func:`steady_state`.
METHODS = ("dense", "gmres")
#: Default GMRES tolerance of :func:`steady_state`: (up to, above) ``MATRIX_FREE_LIMIT``
#: unknowns.  Each decade costs about 10 iterations at N = 6 (com(2)), about 11 s.
GMRES_RTOL = (1e-14, 1e-12)
#: Restart cycles of the steady-state GMRES (N = 6 com(2) converges in 3).
GMRES_CYCLES = 100
#: Largest accepted residual ``||L x|| / ||x||`` of an iterative steady state.
RESIDUAL_LIMIT = 1e-9
#: Memory of the interpreter, numpy and scipy, in :func:`exact_memory_estimate`.
BASE_BYTES = 300 * 2**20
#: Non-zeros per unknown of the sparse block Liouvillian (54 at N = 5, fewer below).
SPARSE_NNZ_PER_UNKNOWN = 60


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
    uniqueness : str
        How uniqueness was established: ``"spectrum"`` (one zero eigenvalue, dense),
        ``"commutant"`` (:func:`commutant_is_trivial` and a full-rank state) or
        ``"second solve"`` (a second GMRES solve with another border and start agrees).
    wall_time_s : float
    """

    model: PaperModel
    vector: np.ndarray
    residual: float
    relaxation_time: float | None
    method: str
    uniqueness: str
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


def commutant_is_trivial(model: PaperModel, seed: int = 2024) -> bool:
    """Certify that only multiples of the identity commute with ``H``, every ``L_j`` and
    ``L_j^dag`` (``H = H_S + H_cas``, Hilbert space of dimension ``4^N``).

    Together with a faithful (full-rank) stationary state this makes the stationary state
    unique: the kernel of the adjoint generator then equals that commutant (Frigerio 1978),
    and ``dim ker L = dim ker L^dag``.  The check works on two elements of the algebra the
    operators generate: ``A = H + sum_j a_j L_j^dag L_j`` (Hermitian, excitation-number
    conserving, random ``a_j > 0``) and ``C = sum_j b_j L_j`` (random complex ``b_j``).  When
    ``A`` has a simple spectrum, whatever commutes with ``A`` is diagonal in its eigenbasis,
    and commuting with ``C`` forces equal diagonal entries along every non-zero element of
    ``C`` in that basis; a connected graph of those elements leaves only the identity.

    Returns ``False`` when the check is inconclusive (a degenerate spectrum of ``A`` or a
    disconnected graph), never a false ``True``: small elements are dropped as edges and
    near-degenerate eigenvalues fail the check.  Cost ``O(sum_k d_k^3)`` over the sectors.
    """
    system = model_system(model)
    ops, spins = system.ops, system.spins
    rng = np.random.default_rng(seed)
    A = ops.H_total.astype(complex)
    C = sp.csr_matrix(A.shape, dtype=complex)
    for ch in ops.channels:
        L = ch.operator
        A = A + rng.uniform(0.5, 1.5) * (L.conj().T @ L)
        C = C + complex(rng.normal(), rng.normal()) * L
    K = spins.n_qubits + 1
    values, vectors = [], []
    for k in range(K):
        w, V = la.eigh(spins.block(A, k, k).toarray())
        values.append(w)
        vectors.append(V)
    every = np.sort(np.concatenate(values))
    scale = max(float(np.abs(every).max()), 1e-300)
    # within a sector the gap bounds the eigenvector error; across sectors only coincidence
    if any(w.size > 1 and np.diff(w).min() < 1e-8 * scale for w in values):
        return False
    if every.size > 1 and np.diff(every).min() < 1e-11 * scale:
        return False
    offsets = np.concatenate([[0], np.cumsum([w.size for w in values])])
    rows, cols = [], []
    for k in range(K):
        for k2 in (k - 1, k + 1):
            if not 0 <= k2 < K:
                continue
            Ck = spins.block(C, k2, k)
            if not Ck.nnz:
                continue
            Ct = vectors[k2].conj().T @ (Ck @ vectors[k])
            r, c = np.nonzero(np.abs(Ct) > 1e-6 * max(np.abs(Ct).max(), 1e-300))
            rows.append(offsets[k2] + r)
            cols.append(offsets[k] + c)
    if not rows:
        return every.size == 1
    n = int(offsets[-1])
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, n))
    n_components, _ = connected_components(graph, directed=False)
    return n_components == 1


def _faithful(x: np.ndarray, space: BlockSpace, floor: float = 1e-9) -> bool:
    """True when every eigenvalue of the (trace-one) block state exceeds ``floor``."""
    return all(np.linalg.eigvalsh(0.5 * (b + b.conj().T)).min() > floor for b in space.split(x))


def exact_memory_estimate(model: PaperModel, method: str = "auto") -> int:
    """Bytes the exact steady-state solve of ``model`` needs, from the dimensions alone.

    Counts the largest arrays: the dense matrices (``dense``), or the GMRES Krylov basis,
    about 20 work vectors, the preconditioner (the ensembles' eigenbases while it is built,
    then its five arrays and its permutation: at most 10 block vectors) and, below
    :data:`~qjump.liouville.liouvillian.MATRIX_FREE_LIMIT` unknowns, the sparse block
    Liouvillian with its assembly copies (``gmres``); plus :data:`BASE_BYTES` for the
    interpreter and libraries.  Nothing is allocated.
    """
    check_method(method, METHODS)
    n = math.comb(4 * model.N, 2 * model.N)
    if method == "auto":
        method = "dense" if n <= DENSE_LIMIT else "gmres"
    if method == "dense":
        return int(BASE_BYTES + 4 * 16 * n * n)
    basis = 2 * krylov_length(n) + 1  # flexible GMRES keeps V and Z
    need = basis * 16 * n + 20 * 16 * n + 10 * 16 * n
    if n <= MATRIX_FREE_LIMIT:
        need += 3 * SPARSE_NNZ_PER_UNKNOWN * 20 * n
    return int(BASE_BYTES + need)


def check_memory(model: PaperModel, method: str = "auto") -> None:
    """Raise ``ValueError`` (one line) when the exact solve of ``model`` would not fit in the
    available memory; call before anything of the block-space size is allocated."""
    need, have = exact_memory_estimate(model, method), available_memory()
    if need > have:
        raise ValueError(
            f"N: the exact solve of N = {model.N} needs about {_gib(need)} "
            f"(C({4 * model.N}, {2 * model.N}) = {math.comb(4 * model.N, 2 * model.N):.3g} "
            f"unknowns), but only {_gib(have)} is available; use trajectories "
            f"(qjump simulate) instead of exact above N = {_largest_affordable_N(have)}"
        )


def _gib(b: float) -> str:
    return f"{b / 2**40:.3g} TiB" if b >= 2**40 else f"{b / 2**30:.1f} GiB"


def _largest_affordable_N(have: int) -> int:
    N = 1
    while exact_memory_estimate(PaperModel(N=N + 1)) <= have:
        N += 1
    return N


def _gmres_solve(system: System, position: int, rtol: float, x0=None) -> np.ndarray:
    """GMRES on the bordered system with border ``position``, raising when it is singular."""
    L = liouvillian_operator(system.model)
    rhs = np.zeros(system.space.size, complex)
    rhs[position] = 1.0
    precond = decoupled_inverse(system)
    A = bordered_operator(L, system.space, position)
    # up to MATRIX_FREE_LIMIT unknowns one thread: threads gain nothing there, and BLAS
    # reductions split across threads would make the state (and the trajectories that start
    # from it) depend on the thread count in the last bits
    threads = None if system.space.size > MATRIX_FREE_LIMIT else 1
    with threadpool_limits(limits=threads):
        x, _ = gmres(A, rhs, precond, rtol=rtol, x0=x0, maxiter=GMRES_CYCLES)
    residual = float(np.linalg.norm(L @ x) / max(np.linalg.norm(x), 1e-300))
    if not residual < RESIDUAL_LIMIT:
        raise NonUniqueSteadyStateError(
            _non_unique_message(
                system.model,
                f"the preconditioned GMRES solve of the bordered Liouvillian stalled at a "
                f"residual of {residual:.2e}, which signals a (nearly) singular system",
            )
        )
    return x


def steady_state(
    model: PaperModel,
    *,
    method: str = "auto",
    tol: float = 1e-8,
    rtol: float | None = None,
) -> SteadyState:
    """Exact steady state of ``model`` in the block-diagonal space.

    Parameters
    ----------
    model : PaperModel
    method : {"auto", "dense", "gmres"}
        ``dense``: the full spectrum of the block Liouvillian (uniqueness and relaxation
        time) and a dense solve of the bordered system.  ``gmres``: flexible GMRES with deflated
        restarts (:func:`~qjump.liouville.linalg.gmres`) on the bordered system,
        right-preconditioned by the inverse of the Liouvillian without ``H_I``
        (:class:`~qjump.liouville.decoupled.DecoupledInverse`, in single precision where its
        eigenvectors are well conditioned), which leaves only the interaction between the
        ensembles to the Krylov solver; beyond
        :data:`~qjump.liouville.liouvillian.MATRIX_FREE_LIMIT` unknowns the Liouvillian is
        applied matrix-free.  Uniqueness: a full-rank solution plus
        :func:`commutant_is_trivial` certify it; when that is inconclusive, a second solve
        with another border from a random start must agree with the first, which happens
        only when the kernel is one-dimensional.  ``auto``: dense up to :data:`DENSE_LIMIT`
        unknowns (``N <= 2``), else gmres.
    tol : float
        Relative threshold for a zero eigenvalue (dense) or for the agreement of the two
        solutions (gmres).
    rtol : float, optional
        GMRES tolerance on the true residual of the bordered system, ``||e_p - B x|| <= rtol``.
        Default :data:`GMRES_RTOL`: 1e-14 up to
        :data:`~qjump.liouville.liouvillian.MATRIX_FREE_LIMIT` unknowns (N <= 4, a solve of
        seconds), 1e-12 above.  The error of the state is about the residual times the
        slowest relaxation time: at 1e-12, an N = 3 state at low temperature (T = 0.5,
        omega = 2.35) was 2e-10 off its Gibbs form, 8e-13 at 1e-14.

    Raises
    ------
    NonUniqueSteadyStateError
        When the Liouvillian has more than one stationary state.
    ValueError
        For an unknown ``method``, or when the solve would not fit in the available memory
        (:func:`check_memory`).
    """
    check_method(method, METHODS)
    check_memory(model, method)
    t0 = time.perf_counter()
    system = model_system(model)
    space = system.space
    if rtol is None:
        rtol = GMRES_RTOL[space.size > MATRIX_FREE_LIMIT]
    if method == "auto":
        method = "dense" if space.size <= DENSE_LIMIT else "gmres"
    L = liouvillian(model) if method == "dense" else liouvillian_operator(model)
    tau = None
    if method == "dense":
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
        uniqueness = "spectrum"
    else:
        x = _gmres_solve(system, 0, rtol)
        x = x / (space.trace_vector @ x)
        if _faithful(x, space) and commutant_is_trivial(model):
            uniqueness = "commutant"
        else:
            # a second solve from a random start: components along a second kernel vector,
            # if any, are left untouched by GMRES, so the two solutions then disagree
            rng = np.random.default_rng(12345)
            start = rng.normal(size=space.size) + 1j * rng.normal(size=space.size)
            last = int(space.offsets[-1] - 1)  # the fully excited state
            x2 = _gmres_solve(system, last, rtol, x0=start / np.linalg.norm(start))
            x2 = x2 / (space.trace_vector @ x2)
            if np.linalg.norm(x - x2) > max(tol, 1e3 * rtol) * np.linalg.norm(x):
                raise NonUniqueSteadyStateError(
                    _non_unique_message(
                        model, "solutions with different normalisation borders disagree"
                    )
                )
            uniqueness = "second solve"
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
        uniqueness=uniqueness,
        wall_time_s=time.perf_counter() - t0,
        system=system,
    )


@functools.lru_cache(maxsize=64)
def relaxation_time(model: PaperModel) -> float:
    """Slowest relaxation time ``1/gap`` of the block-diagonal dynamics.

    ``gap`` is the smallest non-zero ``-Re(lambda)`` over the Liouvillian's eigenvalues on
    the block-diagonal space (the space a trajectory ensemble started in basis states
    explores).  Small systems: dense spectrum.  Larger: ARPACK's eigenvalues of largest real
    part of the sparse Liouvillian (the steady state's zero and the slow modes); if they do
    not converge, the dominant eigenvalues ``exp(lambda tau)`` of the propagator
    (``expm_multiply``).  At N = 4 the first took 2-13 s against 28-100 s for the second,
    with the same relaxation times to the 4 decimals compared (common and cascaded
    dissipation, both interactions; N = 3: all six models alike); both are tested against
    the dense spectrum at N = 3.
    """
    ss = steady_state(model)
    if ss.relaxation_time is not None:
        return ss.relaxation_time
    L = liouvillian(model).tocsr()
    try:
        mu = spla.eigs(
            L,
            k=6,
            which="LR",
            return_eigenvectors=False,
            tol=1e-8,
            ncv=60,
            maxiter=20_000,
            v0=arpack_start(L.shape[0]),
        )
    except spla.ArpackNoConvergence:
        return _relaxation_time_from_propagator(L)
    scale = float(abs(L).sum(axis=0).max())
    rates = -mu.real[np.abs(mu) > 1e-12 * scale]
    return float(1.0 / rates.min())


def _relaxation_time_from_propagator(L: sp.spmatrix) -> float:
    """``1/gap`` from ARPACK on ``exp(5 L)``, whose dominant eigenvalues are the slow modes."""
    step = 5.0
    op = spla.LinearOperator(
        L.shape, matvec=lambda v: spla.expm_multiply(step * L, v), dtype=complex
    )
    mu = spla.eigs(
        op,
        k=4,
        which="LM",
        return_eigenvectors=False,
        tol=1e-6,
        ncv=24,
        v0=arpack_start(L.shape[0]),
    )
    mu = mu[np.abs(mu - 1.0) > 1e-6]
    rate = -np.log(np.abs(mu).max()) / step
    return float(1.0 / rate)


def exact(model: PaperModel, *, method: str = "auto") -> Result:
    """Exact steady-state quantities of ``model``.

    Parameters
    ----------
    model : PaperModel
    method : {"auto", "dense", "gmres"}
        Solver of :func:`steady_state`.

    Returns
    -------
    Result
        ``method="exact"``, zero standard errors.  Values: the currents of
        :data:`qjump.system.quantities.CURRENTS`, ``C_loc``, ``C_nonloc``, ``C_nonloc_product``,
        ``energy``, populations ``pop_*`` and the linear pieces ``sz_*``, ``coh_*``.
        ``info`` holds ``residual``, ``relaxation_time``, ``solver`` and ``wall_time_s``.
    """
    return result_from_state(steady_state(model, method=method))


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
