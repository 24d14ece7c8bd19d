"""Linear algebra of the exact solvers: solver choice, bordered systems and the one
preconditioned GMRES.

Bordered systems ``(L + e_p w^T) x = b`` (``w`` the trace functional) replace the singular
``L x = 0``.  The GMRES solves are preconditioned by the inverse of the uncoupled ensembles'
generator (:mod:`qjump.liouville.decoupled`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..system.blocks import BlockSpace

__all__ = [
    "bordered_matrix",
    "arpack_start",
    "bordered_operator",
    "check_method",
    "gmres",
    "krylov_length",
]

#: Bytes of the two bases (``V`` and the preconditioned ``Z``) GMRES keeps; sets the basis
#: length, 50 to 500 vectors (:func:`krylov_length`).  Beyond this size, orthogonalising each
#: new vector against the basis costs more than the iterations a longer basis saves; from
#: N = 5 on the floor of 50 applies, and deflated restarts recover what a longer basis would.
KRYLOV_BYTES = 1.5e8


def arpack_start(n: int) -> np.ndarray:
    """A fixed, generic start vector for ARPACK (``scipy.sparse.linalg.eigs(v0=...)``).

    Without one ARPACK draws its start from a generator whose state depends on the calls made
    before in the process, so eigenvalues converged to a tolerance differed between processes
    (e.g. the relaxation time behind the default burn-in, to ~1e-6), and with them results
    that must be reproducible for a seed.
    """
    rng = np.random.default_rng(20261126)
    return rng.standard_normal(n) + 1j * rng.standard_normal(n)


def check_method(method: str, allowed: tuple[str, ...]) -> str:
    """``method`` if it is ``"auto"`` or in ``allowed``, else a one-line ``ValueError``."""
    if method != "auto" and method not in allowed:
        names = ", ".join(repr(m) for m in ("auto", *allowed))
        raise ValueError(f"method: expected one of {names}, got {method!r}")
    return method


def bordered_matrix(L: sp.csr_matrix, space: BlockSpace, position: int = 0) -> sp.csc_matrix:
    """``L + e_p w^T`` with ``w`` the trace functional and ``p`` a diagonal position."""
    w = space.trace_vector
    cols = np.flatnonzero(w)
    rows = np.full(cols.size, position)
    border = sp.csr_matrix((w[cols].astype(complex), (rows, cols)), shape=L.shape)
    return (L + border).tocsc()


def bordered_operator(L, space: BlockSpace, position: int = 0) -> spla.LinearOperator:
    """``x -> L x + e_p (w^T x)`` for a sparse or matrix-free ``L``."""
    diagonal = np.flatnonzero(space.trace_vector)  # w is 1 on the blocks' diagonals

    def matvec(x: np.ndarray) -> np.ndarray:
        out = L @ x
        out[position] += x[diagonal].sum()
        return out

    return spla.LinearOperator(L.shape, matvec=matvec, dtype=complex)


def gmres(
    A,
    b: np.ndarray,
    precond: Callable[[np.ndarray], np.ndarray],
    *,
    rtol: float,
    x0: np.ndarray | None = None,
    restart: int | None = None,
    deflate: int | None = None,
    maxiter: int = 20,
    callback: Callable[[int, float], None] | None = None,
) -> tuple[np.ndarray, bool]:
    """Restarted flexible GMRES with deflated restarts for ``A x = b``, *right*-preconditioned
    by ``precond ~ A^-1``.

    Solves ``A M u = b`` with ``x = M u`` and stops when the true residual ``||b - A x||``
    falls below ``rtol ||b||``.

    * **Flexible** (Saad 1993): the preconditioned vectors ``Z`` are kept (``A Z = V Hbar``),
      so ``precond`` may be inexact, e.g. applied in single precision, while ``x`` and the
      residual stay in double precision.
    * **Deflated restarts** (GMRES-DR, Morgan 2002): each restart keeps the ``deflate``
      harmonic Ritz vectors of smallest harmonic Ritz value, so the slow modes found in one
      cycle are not searched for again in the next (common dissipation has many nearly dark
      collective modes, which plain restarts rediscover every cycle).
    * The recurrence's residual can drift from the true one over many deflated restarts
      (round-off in the harmonic Ritz vectors).  When the recurrence reports convergence
      but the true residual does not, one plain cycle from the true residual follows, and
      the solve ends after it; ``converged`` then reports whether the true residual made it.
    * The basis is one preallocated array, orthogonalised by classical Gram-Schmidt as two
      matrix-vector products per step (BLAS over the whole basis instead of one Python step
      per vector), repeated once when the new vector lost more than half its norm (CGS2).

    Parameters
    ----------
    restart : int, optional
        Basis length; by default the longest that keeps the ``V`` and ``Z`` bases within
        :data:`KRYLOV_BYTES` (between 50 and 500 vectors).
    deflate : int, optional
        Harmonic Ritz vectors kept at a restart (default ``restart // 3``; 0 is plain
        restarted GMRES).
    maxiter : int
        Restart cycles.
    callback : callable, optional
        ``callback(iterations, residual_norm)`` after every cycle.

    Returns
    -------
    x : ndarray
    converged : bool
    """
    b = np.asarray(b, dtype=complex).reshape(-1)
    n = b.size
    m = krylov_length(n) if restart is None else max(1, min(int(restart), n))
    k = m // 3 if deflate is None else max(0, min(int(deflate), m - 1))
    x = np.zeros(n, complex) if x0 is None else np.array(x0, dtype=complex).reshape(-1)
    target = rtol * float(np.linalg.norm(b))
    V = np.empty((m + 1, n), complex)
    Z = np.empty((m, n), complex)
    Hbar = np.zeros((m + 1, m), complex)  # A Z[:j] = V[:j + 1]^T Hbar[:j + 1, :j]
    c = np.zeros(m + 1, complex)  # the residual in the basis V
    r = b - A @ x if x0 is not None else b.copy()
    beta = float(np.linalg.norm(r))
    iterations, kept, polishing = 0, 0, False
    for cycle in range(maxiter):
        if kept == 0:  # a plain (re)start from the true residual
            if beta <= target:
                return x, True
            V[0] = r / beta
            c[:] = 0.0
            c[0] = beta
        ls = _ArnoldiLeastSquares(Hbar, c, kept)
        j, residual, height = kept, np.inf, 1.0
        while j < m:
            Z[j] = precond(V[j])
            w = A @ Z[j]
            Hbar[:, j] = 0.0
            Hbar[: j + 1, j] = _orthogonalise(V[: j + 1], w)
            Hbar[j + 1, j] = height = float(np.linalg.norm(w))
            if height != 0.0:
                V[j + 1] = w / height
            residual = ls.add_column(Hbar[: j + 2, j])
            iterations += 1
            j += 1
            if residual <= target or height == 0.0:
                break
        y = ls.solution()
        x += Z[:j].T @ y
        if residual <= target or height == 0.0 or k == 0 or polishing or cycle == maxiter - 1:
            r = b - A @ x
            beta = float(np.linalg.norm(r))
            kept = 0
            if callback is not None:
                callback(iterations, beta)
            if beta <= target:
                return x, True
            if polishing:
                break
            # the recurrence said converged but the true residual disagrees (round-off in
            # the deflated restarts): one plain cycle from the true residual, then stop
            polishing = residual <= target and k > 0
            continue
        rho = c[: m + 1] - Hbar @ y  # the residual b - A x in the basis V
        c[:] = 0.0
        c[: k + 1] = _deflate(V, Z, Hbar, rho, k)
        kept = k
        if callback is not None:
            callback(iterations, float(np.linalg.norm(rho)))
    return x, beta <= target


def krylov_length(n: int) -> int:
    """Default GMRES basis length for ``n`` unknowns: the ``V`` and ``Z`` bases within
    :data:`KRYLOV_BYTES`, between 50 and 500 vectors (at most ``n``)."""
    return int(min(n, 500, max(50, KRYLOV_BYTES / (2 * 16 * n))))


class _ArnoldiLeastSquares:
    """``min_y ||c - Hbar y||`` as columns arrive: a QR of the ``kept`` leading (deflated,
    dense) columns, then one Givens rotation per Hessenberg column."""

    def __init__(self, Hbar: np.ndarray, c: np.ndarray, kept: int) -> None:
        m = Hbar.shape[1]
        self.R = np.zeros((m, m), complex)
        self.g = c.copy()
        self.kept, self.j = kept, kept
        self.Q = None
        if kept:
            self.Q, R = np.linalg.qr(Hbar[: kept + 1, :kept], mode="complete")
            self.R[:kept, :kept] = R[:kept]
            self.g[: kept + 1] = self.Q.conj().T @ c[: kept + 1]
        self.rotations: list[tuple[complex, complex]] = []

    def add_column(self, column: np.ndarray) -> float:
        """Append column ``j`` (``Hbar[:j + 2, j]``); the new least-squares residual norm."""
        h = column.astype(complex)
        s, j = self.kept, self.j
        if self.Q is not None:
            h[: s + 1] = self.Q.conj().T @ h[: s + 1]
        for i, (cs, sn) in enumerate(self.rotations, start=s):
            h[i], h[i + 1] = (
                np.conj(cs) * h[i] + np.conj(sn) * h[i + 1],
                -sn * h[i] + cs * h[i + 1],
            )
        cs, sn, h[j] = _givens(h[j], h[j + 1])
        self.rotations.append((cs, sn))
        g = self.g
        g[j], g[j + 1] = np.conj(cs) * g[j], -sn * g[j]
        self.R[: j + 1, j] = h[: j + 1]
        self.j = j + 1
        return float(abs(g[j + 1]))

    def solution(self) -> np.ndarray:
        j = self.j
        return la.solve_triangular(self.R[:j, :j], self.g[:j])


def _deflate(V: np.ndarray, Z: np.ndarray, Hbar: np.ndarray, rho: np.ndarray, k: int):
    """Restart on the ``k`` harmonic Ritz vectors of smallest harmonic Ritz value plus the
    residual (Morgan 2002): rewrites ``V[:k + 1]``, ``Z[:k]`` and ``Hbar`` in place so that
    ``A Z[:k] = V[:k + 1]^T Hbar[:k + 1, :k]`` still holds; returns the residual's
    coordinates in the new ``V[:k + 1]``."""
    m = Hbar.shape[1]
    Hm = Hbar[:m, :m]
    em = np.zeros(m, complex)
    em[-1] = 1.0
    f = la.solve(Hm.conj().T, em)
    theta, G = la.eig(Hm + abs(Hbar[m, m - 1]) ** 2 * np.outer(f, em))
    P = np.zeros((m + 1, k + 1), complex)
    P[:m, :k] = G[:, np.argsort(np.abs(theta))[:k]]
    P[:, :k] = np.linalg.qr(P[:, :k])[0]
    p = rho.copy()
    for _ in range(2):
        p -= P[:, :k] @ (P[:, :k].conj().T @ p)
    P[:, k] = p / np.linalg.norm(p)
    small = P.conj().T @ Hbar @ P[:m, :k]
    for lo in range(0, V.shape[1], 1 << 16):  # in slices: no basis-sized temporary
        cols = slice(lo, lo + (1 << 16))
        V[: k + 1, cols] = P.T @ V[:, cols]
        Z[:k, cols] = P[:m, :k].T @ Z[:, cols]
    Hbar[:] = 0.0
    Hbar[: k + 1, :k] = small
    return P.conj().T @ rho


def _orthogonalise(basis: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Project ``w`` (in place) off the orthonormal rows of ``basis``; the coefficients."""
    norm = np.linalg.norm(w)
    h = np.zeros(basis.shape[0], complex)
    for _ in range(2):
        c = np.conj(basis @ np.conj(w))
        w -= basis.T @ c
        h += c
        new = np.linalg.norm(w)
        if new > 0.5 * norm:
            break
        norm = new
    return h


def _givens(a: complex, b: complex) -> tuple[complex, complex, complex]:
    """``(c, s, r)`` with ``[[conj c, conj s], [-s, c]] @ [a, b] = [r, 0]``."""
    if b == 0.0:
        return 1.0, 0.0, a
    t = np.hypot(abs(a), abs(b))
    return a / t, b / t, t
