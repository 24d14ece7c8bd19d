"""Exact steady state, relaxation time and exact steady-state quantities.

The steady state solves ``L x = 0`` with ``Tr rho = 1`` in the block-diagonal space
(:mod:`qjump.liouvillian`).  We solve the bordered system

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
import time
import warnings

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .dissipators import ModelOperators
from .liouvillian import BlockSpace, block_liouvillian
from .model import PaperModel
from .observables import QuantitySet
from .results import Result

__all__ = [
    "NonUniqueSteadyStateError",
    "SteadyState",
    "exact",
    "relaxation_time",
    "steady_state",
]

#: Below this many unknowns dense linear algebra is used (exact spectrum).
DENSE_LIMIT = 1500


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
    relaxation_time : float
        ``1/gap``: inverse of the smallest non-zero relaxation rate ``-Re(lambda)`` of the
        Liouvillian on the block-diagonal space.
    method : str
        ``"dense"`` or ``"sparse-lu"``.
    wall_time_s : float
    """

    model: PaperModel
    vector: np.ndarray
    residual: float
    relaxation_time: float
    method: str
    wall_time_s: float
    context: "ModelContext" = dataclasses.field(repr=False, compare=False)

    @property
    def space(self) -> BlockSpace:
        return self.context.space

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


class ModelContext:
    """Operators, block space and quantity definitions of one model (built once, cached)."""

    def __init__(self, model: PaperModel) -> None:
        self.model = model
        self.ops = ModelOperators(model)
        self.space = BlockSpace(self.ops)
        self.quantities = QuantitySet(self.ops, self.space)

    @functools.cached_property
    def liouvillian(self) -> sp.csr_matrix:
        L, _ = block_liouvillian(self.ops)
        return L


@functools.lru_cache(maxsize=64)
def model_context(model: PaperModel) -> ModelContext:
    """Cached :class:`ModelContext` for ``model`` (models are frozen and hashable)."""
    return ModelContext(model)


def _bordered(L: sp.csr_matrix, space: BlockSpace) -> sp.csc_matrix:
    w = space.trace_vector
    cols = np.flatnonzero(w)
    border = sp.csr_matrix(
        (w[cols].astype(complex), (np.zeros_like(cols), cols)), shape=(L.shape[0], L.shape[1])
    )
    return (L + border).tocsc()


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


def steady_state(model: PaperModel, *, tol: float = 1e-9) -> SteadyState:
    """Exact steady state of ``model`` in the block-diagonal space.

    Parameters
    ----------
    model : PaperModel
    tol : float
        Relative threshold on the smallest Liouvillian eigenvalue (compared with the
        largest rate) under which the steady state is declared non-unique.

    Returns
    -------
    SteadyState

    Raises
    ------
    NonUniqueSteadyStateError
        When the Liouvillian has more than one stationary state.
    """
    t0 = time.perf_counter()
    ctx = model_context(model)
    L = ctx.liouvillian
    space = ctx.space
    B = _bordered(L, space)
    rhs = np.zeros(space.size, dtype=complex)
    rhs[0] = 1.0
    scale = max(abs(L).max(), 1e-300)
    if space.size <= DENSE_LIMIT:
        Ld = L.toarray()
        ev = la.eigvals(Ld)
        order = np.argsort(np.abs(ev))
        smallest = ev[order[1]]
        if abs(smallest) < tol * scale:
            raise NonUniqueSteadyStateError(
                _non_unique_message(model, f"the Liouvillian has {np.sum(np.abs(ev) < tol * scale)}"
                                    " zero eigenvalues")
            )
        x = la.solve(B.toarray(), rhs)
        nonzero = ev[order[1:]]
        method = "dense"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error", sp.SparseEfficiencyWarning)
            try:
                lu = spla.splu(B, permc_spec="COLAMD")
            except RuntimeError as exc:  # exactly singular
                raise NonUniqueSteadyStateError(
                    _non_unique_message(model, f"the bordered Liouvillian is singular ({exc})")
                ) from None
        x = lu.solve(rhs)
        op = spla.LinearOperator(B.shape, matvec=lu.solve, dtype=complex)
        k = min(6, space.size - 2)
        mu = spla.eigs(op, k=k, which="LM", return_eigenvectors=False, tol=1e-8)
        lam = 1.0 / mu
        # drop the eigenvalue 1 that replaced the zero mode
        lam = lam[np.abs(lam - 1.0) > 1e-6]
        if np.min(np.abs(lam)) < tol * scale:
            raise NonUniqueSteadyStateError(
                _non_unique_message(model, "the Liouvillian has a degenerate zero eigenvalue")
            )
        nonzero = lam
        method = "sparse-lu"
    x = x / (space.trace_vector @ x)
    # enforce Hermiticity of each block (removes round-off asymmetry)
    blocks = [0.5 * (b + b.conj().T) for b in space.split(x)]
    x = space.join(blocks)
    residual = float(np.linalg.norm(L @ x) / np.linalg.norm(x))
    rates = -np.real(nonzero)
    rates = rates[rates > tol * scale]
    tau = float(1.0 / rates.min()) if rates.size else float("inf")
    return SteadyState(
        model=model,
        vector=x,
        residual=residual,
        relaxation_time=tau,
        method=method,
        wall_time_s=time.perf_counter() - t0,
        context=ctx,
    )


def relaxation_time(model: PaperModel) -> float:
    """Slowest relaxation time ``1/gap`` of the block-diagonal dynamics (see :func:`steady_state`)."""
    return steady_state(model).relaxation_time


def exact(model: PaperModel) -> Result:
    """Exact steady-state quantities of ``model``.

    Returns
    -------
    Result
        ``method="exact"``, zero standard errors.  Values: the currents of
        :data:`qjump.observables.CURRENTS`, ``C_loc``, ``C_nonloc``, ``C_nonloc_product``,
        ``energy``, populations ``pop_*`` and the linear pieces ``sz_*``, ``coh_*``.
        ``info`` holds ``residual``, ``relaxation_time``, ``solver`` and ``wall_time_s``.
    """
    ss = steady_state(model)
    return result_from_state(ss)


def result_from_state(ss: SteadyState) -> Result:
    """The :class:`Result` of a solved steady state."""
    q = ss.context.quantities
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


def order_values(values: dict, product: float) -> dict:
    """Output order: currents, coherence quantities, the rest."""
    from .observables import CURRENTS

    out = {k: values[k] for k in CURRENTS}
    out["C_loc"] = values["C_loc"]
    out["C_nonloc"] = values["C_nonloc"]
    out["C_nonloc_product"] = product
    for k, v in values.items():
        if k not in out:
            out[k] = v
    return out


def evolve(model: PaperModel, x0: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Exact ``rho(t)`` (block vectors) from ``x0`` at equally spaced ``times``.

    Uses ``scipy.sparse.linalg.expm_multiply``; returns an array of shape
    ``(len(times), len(x0))``.
    """
    ctx = model_context(model)
    times = np.asarray(times, dtype=float)
    if times.size > 2 and not np.allclose(np.diff(times), times[1] - times[0]):
        raise ValueError("times: must be equally spaced")
    return spla.expm_multiply(
        ctx.liouvillian, x0.astype(complex), start=times[0], stop=times[-1],
        num=times.size, endpoint=True,
    )
