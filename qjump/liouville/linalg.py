"""Linear algebra of the exact solvers: solver choice, bordered systems, the no-jump inverse,
the block Gauss-Seidel preconditioner and the one preconditioned GMRES.

Bordered systems ``(L + e_p w^T) x = b`` (``w`` the trace functional) replace the singular
``L x = 0``; the preconditioners invert the no-jump part of ``L`` exactly, sector by sector.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..system.blocks import BlockSpace
from .liouvillian import BlockLiouvillian

__all__ = [
    "GaussSeidelPreconditioner",
    "SylvesterInverse",
    "bordered_matrix",
    "arpack_start",
    "bordered_operator",
    "check_method",
    "gmres",
]

#: Bytes of Krylov basis GMRES keeps (sets the restart length, 50 to 500 vectors).  Beyond
#: this size, orthogonalising each new vector against the basis costs more than the
#: iterations a longer restart saves (N = 5: restart 50 instead of 500).
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
    w = space.trace_vector

    def matvec(x: np.ndarray) -> np.ndarray:
        out = L @ x
        out[position] += w @ x
        return out

    return spla.LinearOperator(L.shape, matvec=matvec, dtype=complex)


class SylvesterInverse:
    """Exact inverse of the shifted no-jump part ``X -> -i (H_eff X - X H_eff^dag) - sigma X``.

    In sector ``k``, ``H_k = V diag(lambda) V^-1``, so the no-jump generator is diagonal,
    ``-i (lambda_a - conj(lambda_b))``, in the basis ``V E_ab V^dag``; its inverse costs
    ``O(d_k^3)`` per sector.  Every decay rate is positive at ``T > 0``, so these eigenvalues
    have negative real part and the shifted inverse exists for real ``sigma >= 0``.  Pairs
    with a zero eigenvalue (dark pairs) are divided by ``-1``: they are left to the Krylov
    solver.
    """

    def __init__(self, liouv: BlockLiouvillian) -> None:
        self.space = liouv.space
        self.parts = []
        for H in liouv.H:
            lam, V = np.linalg.eig(H.toarray())
            denom = -1j * (lam[:, None] - lam.conj()[None, :])
            denom[np.abs(denom) < 1e-12] = -1.0
            self.parts.append((V, np.linalg.inv(V), denom))

    def sector(self, k: int, Y: np.ndarray, sigma: complex = 0.0) -> np.ndarray:
        """The inverse on sector ``k`` (a ``d_k x d_k`` matrix)."""
        V, Vi, denom = self.parts[k]
        if sigma != 0.0:
            denom = denom - sigma
        return V @ ((Vi @ Y @ Vi.conj().T) / denom) @ V.conj().T

    def __call__(self, y: np.ndarray, sigma: complex = 0.0) -> np.ndarray:
        out = np.empty(y.shape, dtype=complex)
        offs = self.space.offsets
        for k, d in enumerate(self.space.dims):
            Y = y[offs[k] : offs[k + 1]].reshape(d, d)
            out[offs[k] : offs[k + 1]] = self.sector(k, Y, sigma).reshape(-1)
        return out


class GaussSeidelPreconditioner:
    """Block Gauss-Seidel approximation ``(D + E)^-1`` of the inverse Liouvillian.

    ``D`` is the no-jump part (inverted exactly by :class:`SylvesterInverse`) and ``E`` the
    emission-type jump terms, which feed sector ``k`` from sector ``k + 1``.  ``D + E`` is
    block upper triangular in the excitation number, so it is inverted by back substitution
    from the top sector down, at the cost of one Sylvester inverse plus one application of
    the emission terms.
    """

    def __init__(self, liouv: BlockLiouvillian, inverse: SylvesterInverse | None = None) -> None:
        self.liouv = liouv
        self.inverse = SylvesterInverse(liouv) if inverse is None else inverse

    def __call__(self, y: np.ndarray) -> np.ndarray:
        space = self.liouv.space
        out = np.empty(space.size, complex)
        offs, dims = space.offsets, space.dims
        for k in range(len(dims) - 1, -1, -1):
            r = y[offs[k] : offs[k + 1]].reshape(dims[k], dims[k]).astype(complex)
            if k + 1 < len(dims):
                r = r - self.liouv.feed(k, out, sources=(k + 1,))
            out[offs[k] : offs[k + 1]] = self.inverse.sector(k, r).reshape(-1)
        return out


def gmres(
    A,
    b: np.ndarray,
    precond: Callable[[np.ndarray], np.ndarray],
    *,
    rtol: float,
    x0: np.ndarray | None = None,
    restart: int | None = None,
    maxiter: int = 20,
) -> tuple[np.ndarray, bool]:
    """Restarted GMRES for ``A x = b``, *left*-preconditioned by ``precond ~ A^-1``.

    :func:`scipy.sparse.linalg.gmres` minimises the preconditioned residual
    ``||M (b - A x)||`` and stops when it falls below ``rtol ||M b||``.  The restart length
    defaults to the longest that keeps the Krylov basis within :data:`KRYLOV_BYTES`
    (between 50 and 500 vectors): shorter restarts need more iterations on the slow
    collective modes, longer ones spend more per iteration on orthogonalisation.

    Returns
    -------
    x : ndarray
    converged : bool
    """
    n = b.size
    if restart is None:
        restart = int(min(500, max(50, KRYLOV_BYTES / (16 * n))))
    M = spla.LinearOperator((n, n), matvec=precond, dtype=complex)
    Aop = spla.aslinearoperator(A) if not isinstance(A, spla.LinearOperator) else A
    x, info = spla.gmres(Aop, b, x0=x0, M=M, rtol=rtol, atol=0.0, restart=restart, maxiter=maxiter)
    return x, info == 0
