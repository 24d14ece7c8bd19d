"""Exact full counting statistics (FCS) of the quanta exchanged with the baths.

Physics notes §6.  Tilt the Liouvillian by a counting field ``s``: every jump superoperator
``J_k rho = L_k rho L_k^dagger`` is multiplied by ``exp(s c_k)``, where the *charge* of
channel ``k`` is ``c_k = w_{bath(k)} nu_k``, ``nu_k = +1`` for absorption and ``-1`` for
emission (:attr:`qjump.system.operators.Channel.quanta`) and ``w`` are the weights of a
:class:`CountingField`:

* quanta of bath ``i``: ``w = {i: 1}`` (the default; what :func:`scgf` counts),
* heat from bath ``i``: ``w = {i: omega_i}``,
* work (first law, long-time limit): ``w = {"h": -omega_h, "c": -omega_c}``.

The tilted generator is

    L(s) = L_0 + sum_k exp(s c_k) J_k,

with ``L_0 rho = -i (H_eff rho - rho H_eff^dagger)`` the no-jump part.  The eigenvalue of
``L(s)`` with the largest real part is the scaled cumulant generating function (SCGF)
``theta(s) = lim (1/t) ln E[exp(s X(t))]`` of the counted variable ``X``; its derivatives at
``s = 0`` are the scaled cumulants.  qjump's names (physics notes §6):
``quanta_mean = theta'(0)``, ``quanta_diffusion = theta''(0) = lim Var(K)/t`` (no factor 1/2)
and ``quanta_skewness = theta'''(0)`` (the scaled third cumulant).  The ``heat_*`` versions
count ``omega_i`` per quantum.

Everything works in the block-diagonal (excitation-number) space of
:mod:`qjump.liouville.liouvillian`: ``L(s)`` maps block-diagonal operators to block-diagonal
operators, and the dominant eigenvalue of the full tilted generator lies in this space.
(``exp(t L(s))`` is completely positive and commutes with the U(1) twirl, so the twirl of
its positive Perron eigenvector is a non-zero positive, block-diagonal eigenvector.)

Cumulants come from Rayleigh-Schroedinger perturbation theory around ``s = 0`` with the
right eigenvector ``rho`` (steady state), the left eigenvector ``1`` (trace) and the Drazin
inverse ``G`` of ``L`` (``G L = L G = Q = 1 - |rho>><<1|``, ``G rho = 0``), applied by
solving the bordered system of :mod:`qjump.liouville.steady`.  With ``L_n = d^n L/ds^n |_0 =
sum_k c_k^n J_k`` and ``<X> = Tr[X rho]``:

    k1 = <L_1>
    k2 = <L_2> - 2 <L_1 G L_1>
    k3 = <L_3> - 3 <L_2 G L_1> - 3 <L_1 G L_2> + 6 <L_1 G L_1 G L_1> - 6 k1 <L_1 G G L_1>

(see :func:`cumulants` for the derivation).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from threadpoolctl import threadpool_limits

from ..model import PaperModel
from ..results import CountingStatistics, gallavotti_cohen_affinity, tur_ratio
from ..system.blocks import BlockSpace
from ..system.context import model_system
from ..system.operators import Channel
from .decoupled import DecoupledInverse, decoupled_inverse
from .linalg import (
    arpack_start,
    bordered_matrix,
    bordered_operator,
    check_method,
    gmres,
)
from .liouvillian import BlockLiouvillian, block_liouvillian, liouvillian_operator
from .steady import check_memory, exact, steady_state

__all__ = [
    "CountingField",
    "CountingStatistics",
    "Cumulants",
    "counting_statistics",
    "cumulants",
    "gallavotti_cohen_violation",
    "scgf",
    "tilted_liouvillian",
]

#: Solver methods of :func:`scgf`, :func:`cumulants` and :func:`counting_statistics`.
METHODS = ("dense", "sparse", "gmres")
#: ``method="auto"``: up to this many block-space unknowns :func:`scgf` is dense (N <= 2).
DENSE_SCGF_LIMIT = 400
#: ``method="auto"``: up to this many unknowns the solves of :func:`cumulants` are dense
#: (N <= 3).
DENSE_SOLVE_LIMIT = 1500
#: ``method="auto"``: above this many unknowns (N >= 4) sparse LU fill-in is prohibitive and
#: linear solves use GMRES (:func:`cumulants`: preconditioned by the uncoupled ensembles'
#: inverse; :func:`scgf`: by its tilted and shifted form, built per counting field).
ITERATIVE_LIMIT = 5000
#: Relative residual of the iterative solves of :func:`cumulants`.
GMRES_RTOL = 1e-13

BATHS = ("h", "c")


# ---------------------------------------------------------------------------- counting field
@dataclasses.dataclass(frozen=True)
class CountingField:
    """Weights of the counted variable ``X = sum over jumps of w_{bath} nu_k``.

    Parameters
    ----------
    h, c : float
        Weight per quantum absorbed from the hot / cold bath (``nu = +1`` absorption,
        ``-1`` emission).  Physics notes §3: heat of bath ``i`` is ``omega_i`` per quantum.

    Examples
    --------
    >>> CountingField.quanta("h")          # net quanta from the hot bath
    >>> CountingField.heat(model, "c")     # heat from the cold bath
    >>> CountingField.work(model)          # W = -(Q_h + Q_c)
    """

    h: float = 1.0
    c: float = 0.0

    @classmethod
    def quanta(cls, bath: str = "h") -> CountingField:
        """Net quanta ``K_i`` taken from bath ``i``."""
        _check_bath(bath)
        return cls(h=1.0 if bath == "h" else 0.0, c=1.0 if bath == "c" else 0.0)

    @classmethod
    def heat(cls, model: PaperModel, bath: str = "h") -> CountingField:
        """Heat ``omega_i K_i`` taken from bath ``i`` (physics notes §3)."""
        omega = model.bath(bath)[0]
        return cls(h=omega if bath == "h" else 0.0, c=omega if bath == "c" else 0.0)

    @classmethod
    def work(cls, model: PaperModel) -> CountingField:
        """Work ``-(omega_h K_h + omega_c K_c)`` done on the system (first law)."""
        return cls(h=-model.omega_h, c=-model.omega_c)

    @classmethod
    def from_weights(cls, weights: Mapping[str, float]) -> CountingField:
        """From a mapping such as ``{"h": 1.0, "c": 0.0}`` (missing baths weigh 0)."""
        bad = set(weights) - set(BATHS)
        if bad:
            raise ValueError(f"weights: unknown bath(s) {sorted(bad)}; allowed: 'h', 'c'")
        return cls(h=float(weights.get("h", 0.0)), c=float(weights.get("c", 0.0)))

    def weight(self, bath: str) -> float:
        """Weight of one quantum of ``bath``."""
        _check_bath(bath)
        return self.h if bath == "h" else self.c

    def charge(self, channel: Channel) -> float:
        """``c_k = w_{bath} nu_k`` of a jump channel."""
        return self.weight(channel.bath) * channel.quanta


def _check_bath(bath: str) -> None:
    if bath not in BATHS:
        raise ValueError(f"bath: expected 'h' or 'c', got {bath!r}")


def _field(bath: str, weights: CountingField | Mapping[str, float] | None) -> CountingField:
    """``weights`` if given (bath is then ignored), else the quanta of ``bath``."""
    if weights is None:
        return CountingField.quanta(bath)
    if isinstance(weights, CountingField):
        return weights
    return CountingField.from_weights(weights)


# ---------------------------------------------------------------------------- Liouvillian
def _charges(liouv: BlockLiouvillian, field: CountingField) -> np.ndarray:
    """``c_k`` of every channel of the model."""
    return np.array([field.charge(ch) for ch in liouv.channels])


def _by_charge(liouv: BlockLiouvillian, field: CountingField) -> list[tuple[float, sp.csr_matrix]]:
    """Jump superoperators summed over the channels of equal charge ``c_k``."""
    charges = _charges(liouv, field)
    return [(float(c), liouv.jump_matrix(charges == c)) for c in np.unique(charges)]


def _derivative(liouv: BlockLiouvillian, field: CountingField, order: int) -> sp.csr_matrix:
    """``d^n L(s)/ds^n`` at ``s = 0``: ``sum_k c_k^n J_k`` (``order >= 1``)."""
    return liouv.jump_matrix(_charges(liouv, field) ** order)


def tilted_liouvillian(
    model: PaperModel,
    s: float,
    bath: str = "h",
    weights: CountingField | Mapping[str, float] | None = None,
) -> sp.csr_matrix:
    """Tilted block Liouvillian ``L(s) = L_0 + sum_k exp(s c_k) J_k`` (physics notes §6).

    Parameters
    ----------
    model : PaperModel
    s : float
        Counting field.
    bath : {"h", "c"}
        Count the net quanta of this bath (ignored when ``weights`` is given).
    weights : CountingField or mapping, optional
        General weights, e.g. ``{"h": -omega_h, "c": -omega_c}`` for work.

    Returns
    -------
    scipy.sparse.csr_matrix
    """
    liouv = block_liouvillian(model)
    return liouv.matrix(np.exp(s * _charges(liouv, _field(bath, weights))))


# ---------------------------------------------------------------------------- SCGF
def _perron_ok(v: np.ndarray, space: BlockSpace, tol: float = 1e-6) -> bool:
    """True when ``v`` (up to a factor) is a positive block-diagonal operator's vector.

    Only the Perron eigenvector of the tilted generator is positive; every other
    eigenvector is orthogonal to the positive-definite left Perron vector, so its
    populations cannot all have one sign.
    """
    w = space.trace_vector
    tr = w @ v
    if abs(tr) < 1e-300:
        return False
    pops = (v / tr)[w != 0]
    return bool(np.all(pops.real > -tol * np.max(np.abs(pops))))


def _theta_upper_bound(liouv: BlockLiouvillian, field: CountingField, s: float) -> float:
    """``theta(s) <= lambda_max(sum_k (exp(s c_k) - 1)_+ L_k^dag L_k)`` (trace growth)."""
    dim = liouv.system.spins.dim
    M = np.zeros((dim, dim), dtype=complex)
    for ch in liouv.channels:
        f = math.expm1(s * field.charge(ch))
        if f > 0:
            A = ch.operator
            M += f * (A.conj().T @ A).toarray()
    return float(np.linalg.eigvalsh(M)[-1]) if np.any(M) else 0.0


def _dominant_sparse(L: sp.csr_matrix, space: BlockSpace, guess: float, bound: float) -> complex:
    """Eigenvalue of largest real part by shift-invert (sparse LU), certified by positivity."""
    n = L.shape[0]
    k = min(3, n - 2)
    scale = max(1.0, abs(guess))
    for sigma in (guess + 1e-3 * scale, bound + 1e-2 * max(1.0, abs(bound))):
        vals, vecs = spla.eigs(L, k=k, sigma=sigma, which="LM", tol=1e-13, v0=arpack_start(n))
        for j in np.argsort(-vals.real):
            if _perron_ok(vecs[:, j], space):
                return complex(vals[j])
    raise RuntimeError("scgf: shift-invert did not find the Perron eigenvalue")


def _dominant_iterative(
    L: sp.csr_matrix, inverse: DecoupledInverse, space: BlockSpace, guess: float, bound: float
) -> complex:
    """As :func:`_dominant_sparse`, with the shifted solves done by GMRES preconditioned with
    the exact shifted inverse of the tilted generator without ``H_I``."""
    n = L.shape[0]
    scale = max(1.0, abs(guess))
    # a shift well away from theta keeps the shifted systems well conditioned for GMRES
    for sigma in (guess + 0.05 * scale, bound + 0.05 * max(1.0, abs(bound))):
        shifted = spla.LinearOperator(
            (n, n), matvec=lambda y, sg=sigma: L @ y - sg * y, dtype=complex
        )

        def opinv(b, sigma=sigma, shifted=shifted):
            y, ok = gmres(
                shifted,
                np.asarray(b, dtype=complex).reshape(-1),
                lambda r: inverse(r, sigma),
                rtol=1e-11,
            )
            if not ok:
                raise RuntimeError("scgf: GMRES did not converge")
            return y

        op = spla.LinearOperator((n, n), matvec=opinv, dtype=complex)
        mu, vecs = spla.eigs(op, k=3, which="LM", tol=1e-12, v0=arpack_start(n))
        vals = sigma + 1.0 / mu
        for j in np.argsort(-vals.real):
            if _perron_ok(vecs[:, j], space):
                return complex(vals[j])
    raise RuntimeError("scgf: shift-invert did not find the Perron eigenvalue")


def scgf(
    model: PaperModel,
    s: float | Sequence[float] | np.ndarray,
    bath: str = "h",
    weights: CountingField | Mapping[str, float] | None = None,
    *,
    method: str = "auto",
) -> float | np.ndarray:
    """Scaled cumulant generating function ``theta(s)`` (physics notes §6).

    ``theta(s)`` is the eigenvalue of the tilted Liouvillian :func:`tilted_liouvillian`
    with the largest real part (it is real); by default it counts the net quanta taken
    from ``bath``.

    Parameters
    ----------
    model : PaperModel
    s : float or array_like
        Counting field value(s).
    bath : {"h", "c"}
        Bath whose quanta are counted (ignored when ``weights`` is given).
    weights : CountingField or mapping, optional
        General counted variable (see :class:`CountingField`).
    method : {"auto", "dense", "sparse", "gmres"}
        ``dense``: all eigenvalues (exact choice of the largest real part).  ``sparse`` and
        ``gmres``: shift-invert Arnoldi near a continuation guess, with a rigorous upper
        bound on ``theta`` as fallback shift; the result is certified by the positivity of
        its eigenvector.  The shifted systems are solved by sparse LU (``sparse``) or by
        GMRES preconditioned with the exact shifted inverse of the tilted generator without
        ``H_I`` (``gmres``, :class:`~qjump.liouville.decoupled.DecoupledInverse` built per
        ``s``).  ``auto``: dense up to :data:`DENSE_SCGF_LIMIT` unknowns (N <= 2),
        sparse up to :data:`ITERATIVE_LIMIT` (N = 3), else gmres.

    Returns
    -------
    float or ndarray
        ``theta(s)``, same shape as ``s``.
    """
    check_method(method, METHODS)
    check_memory(model)
    liouv = block_liouvillian(model)
    field = _field(bath, weights)
    s_arr = np.asarray(s, dtype=float)
    flat = s_arr.reshape(-1)
    if method == "auto":
        n = liouv.space.size
        method = "dense" if n <= DENSE_SCGF_LIMIT else "sparse" if n <= ITERATIVE_LIMIT else "gmres"
    # the matrices are small: multithreaded BLAS only adds thread overhead
    with threadpool_limits(limits=1):
        out = _scgf_values(liouv, field, flat, method)
    if s_arr.ndim == 0:
        return float(out[0])
    return out.reshape(s_arr.shape)


def _scgf_values(
    liouv: BlockLiouvillian, field: CountingField, flat: np.ndarray, method: str
) -> np.ndarray:
    """``theta`` at each entry of ``flat`` (see :func:`scgf`)."""
    out = np.empty(flat.size)
    if method == "dense":
        L0 = liouv.no_jump_matrix().toarray()
        Js = [(c, J.toarray()) for c, J in _by_charge(liouv, field)]
        for i, si in enumerate(flat):
            L = L0.copy()
            for c, J in Js:
                L += math.exp(si * c) * J
            ev = la.eigvals(L, overwrite_a=True, check_finite=False)
            out[i] = ev[np.argmax(ev.real)].real
        return out
    charges = _charges(liouv, field)
    # continuation outward from s = 0 on both sides (theta(0) = 0)
    order = np.argsort(np.abs(flat), kind="stable")
    done: dict[int, list[tuple[float, float]]] = {1: [(0.0, 0.0)], -1: [(0.0, 0.0)]}
    for i in order:
        si = float(flat[i])
        side = done[1 if si >= 0 else -1]
        if len(side) >= 2:
            (s1, t1), (s2, t2) = side[-2], side[-1]
            guess = t2 + (t2 - t1) / (s2 - s1) * (si - s2) if s2 != s1 else t2
        else:
            guess = side[-1][1]
        L = liouv.matrix(np.exp(si * charges))
        bound = _theta_upper_bound(liouv, field, si)
        if method == "gmres":
            inverse = DecoupledInverse(liouv.system, factors=np.exp(si * charges))
            lam = _dominant_iterative(L, inverse, liouv.space, min(guess, bound), bound)
        else:
            lam = _dominant_sparse(L.tocsc(), liouv.space, min(guess, bound), bound)
        out[i] = lam.real
        if si != side[-1][0]:
            side.append((si, lam.real))
    return out


# ---------------------------------------------------------------------------- cumulants
class Cumulants(NamedTuple):
    """First three scaled cumulants ``theta'(0), theta''(0), theta'''(0)``."""

    mean: float
    diffusion: float
    skewness: float


class _DrazinSolver:
    """Applies the Drazin inverse ``G`` of ``L`` via the bordered matrix ``L + e_0 w^T``.

    For traceless ``b`` the solution ``y`` of ``(L + e_0 w^T) y = b`` has ``w^T y = 0``
    (apply ``w^T``: ``w^T L = 0`` and ``w^T e_0 = 1``), hence ``L y = b`` and ``y = G b``.
    The bordered system is solved by dense LU, sparse LU or GMRES (``method``) preconditioned
    with the exact inverse of the uncoupled ensembles' generator, as the steady state
    (:mod:`qjump.liouville.decoupled`).
    """

    def __init__(self, model: PaperModel, method: str) -> None:
        liouv = block_liouvillian(model)
        space = liouv.space
        self.w = space.trace_vector
        if method == "gmres":
            L = liouvillian_operator(model)
            B = bordered_operator(L, space)
            inverse = decoupled_inverse(model_system(model))

            def solve(b: np.ndarray) -> np.ndarray:
                y, ok = gmres(B, b, inverse, rtol=GMRES_RTOL, maxiter=100)
                if not ok:
                    raise RuntimeError("cumulants: GMRES did not converge")
                return y

            self._solve = solve
        else:
            L = liouv.matrix()
            B = bordered_matrix(L, space)
            if method == "dense":
                lu = la.lu_factor(B.toarray(), check_finite=False)
                self._solve = lambda b: la.lu_solve(lu, b, check_finite=False)
            else:
                self._solve = spla.splu(B, permc_spec="COLAMD").solve
        # the steady state of qjump.exact (unique: steady_state raises
        # NonUniqueSteadyStateError, a ValueError, otherwise)
        rho = steady_state(model).vector.astype(complex)
        self.residual = float(np.linalg.norm(L @ rho) / np.linalg.norm(rho))
        if not np.all(np.isfinite(rho)) or self.residual > 1e-8:
            raise ValueError(
                f"cumulants: no unique steady state for this model (residual {self.residual:.1e})"
            )
        self.rho = rho

    def project(self, b: np.ndarray) -> np.ndarray:
        """``Q b = b - rho Tr b``."""
        return b - self.rho * (self.w @ b)

    def __call__(self, b: np.ndarray) -> np.ndarray:
        y = self._solve(self.project(b).astype(complex))
        return self.project(y)


def cumulants(
    model: PaperModel,
    bath: str = "h",
    weights: CountingField | Mapping[str, float] | None = None,
    *,
    method: str = "auto",
) -> Cumulants:
    """First three scaled cumulants of the counted variable by perturbation theory.

    Physics notes §6.  Write ``L(s) = L + V(s)`` with ``V = s V_1 + s^2 V_2 + s^3 V_3 + ...``,
    ``V_n = L_n / n!`` and ``L_n = sum_k c_k^n J_k``.  The Perron pair ``(theta, r)`` with
    ``Tr r = 1`` satisfies ``theta = Tr[V r]`` (``Tr L = 0``) and ``Q r = G (theta - V) r``.
    Expanding ``theta = sum t_n s^n`` and ``r = rho + s r_1 + s^2 r_2 + ...``:

    * ``t_1 = Tr[V_1 rho]``, ``r_1 = -G V_1 rho``,
    * ``t_2 = Tr[V_2 rho] + Tr[V_1 r_1]``, ``r_2 = G (t_1 r_1 - V_1 r_1 - V_2 rho)``,
    * ``t_3 = Tr[V_3 rho] + Tr[V_2 r_1] + Tr[V_1 r_2]``,

    and the scaled cumulants are ``k_n = n! t_n``.  ``G`` is the Drazin inverse of ``L``,
    applied through the bordered Liouvillian (see :mod:`qjump.liouville.steady`).

    Parameters
    ----------
    model : PaperModel
    bath : {"h", "c"}
        Count the net quanta of this bath (ignored when ``weights`` is given).
    weights : CountingField or mapping, optional
        General counted variable, e.g. ``CountingField.work(model)``.
    method : {"auto", "dense", "sparse", "gmres"}
        How the bordered systems are solved: dense LU, sparse LU, or GMRES preconditioned
        with the inverse of the uncoupled ensembles' generator.  ``auto``: dense up to
        :data:`DENSE_SOLVE_LIMIT` unknowns (N <= 3), sparse up to :data:`ITERATIVE_LIMIT`,
        else gmres.

    Returns
    -------
    Cumulants
        ``(mean, diffusion, skewness) = (theta'(0), theta''(0), theta'''(0))``.
    """
    check_method(method, METHODS)
    check_memory(model)
    liouv = block_liouvillian(model)
    field = _field(bath, weights)
    space = liouv.space
    if method == "auto":
        n = space.size
        method = (
            "dense" if n <= DENSE_SOLVE_LIMIT else "sparse" if n <= ITERATIVE_LIMIT else "gmres"
        )
    with threadpool_limits(limits=1):
        G = _DrazinSolver(model, method)
    rho = G.rho
    w = space.trace_vector
    V1 = _derivative(liouv, field, 1)
    V2 = _derivative(liouv, field, 2) / 2.0
    V3 = _derivative(liouv, field, 3) / 6.0
    t1 = w @ (V1 @ rho)
    r1 = -G(V1 @ rho)
    t2 = w @ (V2 @ rho) + w @ (V1 @ r1)
    r2 = G(t1 * r1 - V1 @ r1 - V2 @ rho)
    t3 = w @ (V3 @ rho) + w @ (V2 @ r1) + w @ (V1 @ r2)
    return Cumulants(float(np.real(t1)), float(np.real(2 * t2)), float(np.real(6 * t3)))


# ---------------------------------------------------------------------------- results
def counting_statistics(
    model: PaperModel,
    bath: str = "h",
    scgf_grid: Sequence[float] | np.ndarray | None = None,
    *,
    method: str = "auto",
) -> CountingStatistics:
    """Exact counting statistics of the quanta and heat exchanged with ``bath``.

    Parameters
    ----------
    model : PaperModel
    bath : {"h", "c"}
    scgf_grid : array_like, optional
        Counting fields at which to tabulate ``theta(s)`` of the quanta.
    method : {"auto", "dense", "sparse", "gmres"}
        Solver of :func:`cumulants` and :func:`scgf`.

    Returns
    -------
    CountingStatistics
        ``method="exact"``, zero standard errors: the scaled cumulants of the quanta and
        the heat (physics notes §6) and the TUR ratio ``(D/J^2) sigma/2`` of the heat, with
        ``sigma`` the exact entropy production (:func:`qjump.exact`).
    """
    _check_bath(bath)
    check_method(method, METHODS)
    k = cumulants(model, bath, method=method)
    omega = model.bath(bath)[0]
    table = None
    if scgf_grid is not None:
        grid = np.asarray(scgf_grid, dtype=float).reshape(-1)
        theta = scgf(model, grid, bath, method=method)
        table = tuple((float(a), float(b)) for a, b in zip(grid, theta, strict=True))
    values = {
        "quanta_mean": k.mean,
        "quanta_diffusion": k.diffusion,
        "quanta_skewness": k.skewness,
        "heat_mean": omega * k.mean,
        "heat_diffusion": omega**2 * k.diffusion,
        "heat_skewness": omega**3 * k.skewness,
    }
    currents = exact(model)
    values["tur_ratio"] = tur_ratio(
        model, values["heat_mean"], values["heat_diffusion"], currents["Q_h"], currents["Q_c"]
    )
    return CountingStatistics(
        model=model,
        method="exact",
        values=values,
        se=dict.fromkeys(values, 0.0),
        bath=bath,
        scgf=table,
    )


# ---------------------------------------------------------------------------- symmetries
def gallavotti_cohen_violation(
    model: PaperModel, grid: Sequence[float] | np.ndarray | None = None
) -> float:
    """Relative violation of ``theta(s) = theta(-A - s)`` for the hot-bath quanta.

    Parameters
    ----------
    model : PaperModel
    grid : array_like, optional
        Counting fields ``s``; default ``linspace(-1, 1, 21)``.

    Returns
    -------
    float
        ``max_s |theta(s) - theta(-A - s)| / max_s max(|theta(s)|, |theta(-A - s)|)``.
        Zero to round-off for ``independent``/``common``; small but non-zero for
        ``cascaded`` (physics notes §6).
    """
    A = gallavotti_cohen_affinity(model)
    s = np.linspace(-1.0, 1.0, 21) if grid is None else np.asarray(grid, dtype=float)
    both = scgf(model, np.concatenate([s, -A - s]), "h")
    a, b = both[: s.size], both[s.size :]
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300)
    return float(np.max(np.abs(a - b)) / scale)
