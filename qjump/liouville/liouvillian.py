"""The Liouvillian of a model: one assembly of its U(1) sector blocks and the forms derived from it.

:class:`BlockLiouvillian` holds the no-jump blocks and the jump blocks per channel; the sparse
block matrix, the matrix-free operator, the tilted generator of FCS and the full-space matrix
(for checks) are all derived from it.

The master equation (paper Eq. 4) in Lindblad form is

    d rho/dt = -i [H_S + H_cas, rho] + sum_j (L_j rho L_j^dag - 1/2 {L_j^dag L_j, rho})
             = -i (H_eff rho - rho H_eff^dag) + sum_j L_j rho L_j^dag,

with the jump operators of :mod:`qjump.system.operators`.  A state that is block diagonal in the
excitation number ``k`` stays so (physics notes §4), and the steady state is block diagonal, so
the solvers work on the *block space*: the concatenation of the row-major vectors of the blocks
``rho_k`` (``sum_k C(2N,k)^2 = C(4N,2N)`` unknowns instead of ``4^(2N)``).

Vectorisation is row-major: ``vec(A X B) = (A kron B^T) vec(X)``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from ..model import PaperModel
from ..system.context import System, model_system

__all__ = [
    "BlockLiouvillian",
    "JumpBlock",
    "blas_threads",
    "block_liouvillian",
    "full_liouvillian",
    "liouvillian",
    "liouvillian_operator",
]

#: Above this many unknowns (N >= 5) iterative solvers apply the block Liouvillian
#: matrix-free: from N = 5 on that is faster than the sparse product and saves the ~55
#: non-zeros per unknown of the assembled matrix.
MATRIX_FREE_LIMIT = 100_000

_BLAS = ThreadpoolController().select(user_api="blas")


def blas_threads() -> int:
    """The number of threads BLAS may use here and now (``OMP_NUM_THREADS``,
    ``threadpoolctl.threadpool_limits``); the matrix-free products run as many sectors at once."""
    return max([1, *(int(pool["num_threads"]) for pool in _BLAS.info())])


class JumpBlock(NamedTuple):
    """The block of jump operator ``L_j`` mapping sector ``source`` to sector ``target``."""

    channel: int
    source: int
    target: int
    block: sp.csr_matrix


def _sector_grid(
    dims: Sequence[int],
    H: Sequence[sp.csr_matrix] | None,
    jumps: Sequence[JumpBlock],
    factors: np.ndarray | None,
) -> list[list[sp.spmatrix | None]]:
    """Block grid of ``-i (H_k X - X H_k^dag)`` (zero when ``H`` is None) plus
    ``sum_j f_j L_j X L_j^dag`` (``f_j = 1`` when ``factors`` is None)."""
    K = len(dims)
    grid: list[list[sp.spmatrix | None]] = [[None] * K for _ in range(K)]
    for k, d in enumerate(dims):
        if H is None:
            # bmat needs every block row and column sized
            grid[k][k] = sp.csr_matrix((d * d, d * d), dtype=complex)
        else:
            eye = sp.identity(d, format="csr")
            grid[k][k] = -1j * sp.kron(H[k], eye) + 1j * sp.kron(eye, H[k].conj())
    for jb in jumps:
        f = 1.0 if factors is None else factors[jb.channel]
        if f == 0.0:
            continue
        term = sp.kron(jb.block, jb.block.conj())
        if factors is not None:
            term = f * term
        old = grid[jb.target][jb.source]
        grid[jb.target][jb.source] = term if old is None else old + term
    return grid


class BlockLiouvillian:
    """The sector blocks of a model's Liouvillian: the one assembly every form derives from.

    Attributes
    ----------
    system : System
    space : BlockSpace
    H : list of scipy.sparse.csr_matrix
        Sector blocks ``H_k`` of ``H_eff = H_S + H_cas - (i/2) sum_j L_j^dag L_j``.
    jumps : tuple of JumpBlock
        Every non-zero sector block of every jump operator (channel order of
        ``system.ops.channels``).
    """

    def __init__(self, system: System) -> None:
        ops, spins = system.ops, system.spins
        self.system = system
        self.space = system.space
        self.channels = tuple(ops.channels)
        self.H = [spins.block(ops.H_eff, k, k).tocsr() for k in range(len(self.space.dims))]
        self.jumps = tuple(JumpBlock(j, k, k2, Lb) for j, _, k, k2, Lb in ops.jump_blocks())
        self.shape = (self.space.size, self.space.size)
        self.dtype = np.dtype(complex)

    # ------------------------------------------------------------------ sparse forms
    def matrix(self, factors: Sequence[float] | np.ndarray | None = None) -> sp.csr_matrix:
        """Sparse block matrix ``L_0 + sum_j f_j J_j``.

        ``L_0 X = -i (H_eff X - X H_eff^dag)`` is the no-jump part, ``J_j X = L_j X L_j^dag``
        the jump part of channel ``j``.  ``factors=None`` (all ``f_j = 1``) is the
        Liouvillian; ``f_j = exp(s c_j)`` is the tilted generator of counting statistics.
        """
        f = None if factors is None else np.asarray(factors)
        grid = _sector_grid(self.space.dims, self.H, self.jumps, f)
        return sp.bmat(grid, format="csr", dtype=complex)

    def jump_matrix(self, factors: Sequence[float] | np.ndarray) -> sp.csr_matrix:
        """Sparse ``sum_j f_j J_j`` (no no-jump part)."""
        grid = _sector_grid(self.space.dims, None, self.jumps, np.asarray(factors, dtype=float))
        return sp.bmat(grid, format="csr", dtype=complex)

    def no_jump_matrix(self) -> sp.csr_matrix:
        """Sparse no-jump part ``L_0`` (block diagonal)."""
        return self.matrix(np.zeros(len(self.channels)))

    def full_matrix(self) -> sp.csr_matrix:
        """The Liouvillian on the full ``4^(2N)``-dimensional operator space (checks only).

        The same assembly with the whole Hilbert space as one sector; the tests compare it
        with the paper's Eqs. (10), (11) and (15) written out directly.
        """
        ops = self.system.ops
        jumps = [JumpBlock(j, 0, 0, ch.operator) for j, ch in enumerate(self.channels)]
        return sp.csr_matrix(_sector_grid([ops.spins.dim], [ops.H_eff], jumps, None)[0][0])

    # ------------------------------------------------------------------ matrix-free form
    def sector(self, x: np.ndarray, k: int) -> np.ndarray:
        """Block ``k`` of a block vector as a ``d_k x d_k`` view."""
        d = self.space.dims[k]
        return x[self.space.offsets[k] : self.space.offsets[k + 1]].reshape(d, d)

    def no_jump(self, k: int, X: np.ndarray) -> np.ndarray:
        """``L_0`` on sector ``k``: ``-i (H_k X - X H_k^dag)``."""
        H = self.H[k]
        return -1j * (H @ X - (H @ X.conj().T).conj().T)

    def feed(self, target: int, x: np.ndarray, factors: np.ndarray | None = None) -> np.ndarray:
        """``sum_j f_j L_j X_source L_j^dag`` into sector ``target`` (``factors=None``:
        ``f_j = 1``)."""
        d = self.space.dims[target]
        out = np.zeros((d, d), complex)
        for jb in self._into[target]:
            f = 1.0 if factors is None else factors[jb.channel]
            # L X L^dag = L (L X^dag)^dag
            out += f * (jb.block @ (jb.block @ self.sector(x, jb.source).conj().T).conj().T)
        return out

    @functools.cached_property
    def _into(self) -> list[list[JumpBlock]]:
        into: list[list[JumpBlock]] = [[] for _ in self.space.dims]
        for jb in self.jumps:
            into[jb.target].append(jb)
        return into

    def matvec(self, x: np.ndarray, factors: np.ndarray | None = None) -> np.ndarray:
        """``(L_0 + sum_j f_j J_j) x`` sector by sector, never forming the matrix.

        Sparse-dense products only (``O(nnz d)`` per sector); memory is a few block vectors
        instead of the ``~65 C(4N,2N)`` non-zeros of the assembled matrix.  The sectors are
        independent, so :func:`blas_threads` of them run at once (scipy's sparse products
        release the GIL).
        """
        x = np.asarray(x, dtype=complex).reshape(-1)
        out = np.empty(self.space.size, complex)
        offs = self.space.offsets

        def one(k: int) -> None:
            blk = self.no_jump(k, self.sector(x, k)) + self.feed(k, x, factors=factors)
            out[offs[k] : offs[k + 1]] = blk.reshape(-1)

        threads = blas_threads() if self.space.size > MATRIX_FREE_LIMIT else 1
        if threads == 1:
            for k in range(len(self.space.dims)):
                one(k)
        else:
            # largest sectors first, so the threads finish together
            order = np.argsort(self.space.dims)[::-1]
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(one, order))
        return out

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        return self.matvec(x)


@functools.lru_cache(maxsize=16)
def block_liouvillian(model: PaperModel) -> BlockLiouvillian:
    """The :class:`BlockLiouvillian` of ``model`` (built once per model)."""
    return BlockLiouvillian(model_system(model))


@functools.lru_cache(maxsize=64)
def liouvillian(model: PaperModel) -> sp.csr_matrix:
    """The sparse block Liouvillian of ``model`` (built once per model)."""
    return block_liouvillian(model).matrix()


def liouvillian_operator(model: PaperModel) -> sp.csr_matrix | BlockLiouvillian:
    """The block Liouvillian for iterative solves: the sparse matrix up to
    :data:`MATRIX_FREE_LIMIT` unknowns, else the matrix-free :class:`BlockLiouvillian`."""
    if model_system(model).space.size <= MATRIX_FREE_LIMIT:
        return liouvillian(model)
    return block_liouvillian(model)


def full_liouvillian(model: PaperModel) -> sp.csr_matrix:
    """Sparse Liouvillian on the full ``4^(2N)``-dimensional operator space (checks only)."""
    return block_liouvillian(model).full_matrix()
