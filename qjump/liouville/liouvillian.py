"""Liouvillian superoperators: block-diagonal (U(1)) form for solving, full form for checks.

The master equation (paper Eq. 4) in Lindblad form is

    d rho/dt = -i [H_S + H_cas, rho] + sum_j (L_j rho L_j^dag - 1/2 {L_j^dag L_j, rho})
             = -i (H_eff rho - rho H_eff^dag) + sum_j L_j rho L_j^dag,

with the jump operators of :mod:`qjump.system.operators`.  A state that is block diagonal in the
excitation number ``k`` stays so (physics notes §4), and the steady state is block diagonal, so
the solver works on the *block space*: the concatenation of the row-major vectors of the blocks
``rho_k`` (``sum_k C(2N,k)^2 = C(4N,2N)`` unknowns instead of ``4^(2N)``).

Vectorisation is row-major: ``vec(A X B) = (A kron B^T) vec(X)``.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from ..model import PaperModel
from ..system.blocks import BlockSpace
from ..system.context import model_system
from ..system.operators import ModelOperators

__all__ = [
    "BlockLiouvillianOperator",
    "block_liouvillian",
    "full_liouvillian",
    "liouvillian",
    "matrix_free_liouvillian",
    "solver_operator",
]

#: Above this many unknowns (N >= 6) the block Liouvillian is applied matrix-free.
MATRIX_FREE_LIMIT = 1_000_000


def block_liouvillian(model: PaperModel | ModelOperators) -> tuple[sp.csr_matrix, BlockSpace]:
    """Sparse Liouvillian restricted to the block-diagonal space.

    Returns
    -------
    L : scipy.sparse.csr_matrix
        Square matrix of size ``C(4N, 2N)`` acting on block vectors.
    space : BlockSpace
    """
    ops = model if isinstance(model, ModelOperators) else ModelOperators(model)
    space = BlockSpace(ops)
    spins = ops.spins
    K = spins.n_qubits + 1
    grid: list[list[sp.spmatrix | None]] = [[None] * K for _ in range(K)]
    Heff = ops.H_eff
    for k, d in enumerate(space.dims):
        Hk = spins.block(Heff, k, k)
        eye = sp.identity(d, format="csr")
        grid[k][k] = -1j * sp.kron(Hk, eye) + 1j * sp.kron(eye, Hk.conj())
    for _, _, k, k2, Lb in ops.jump_blocks():
        term = sp.kron(Lb, Lb.conj())
        grid[k2][k] = term if grid[k2][k] is None else grid[k2][k] + term
    L = sp.bmat(grid, format="csr", dtype=complex)
    return L, space


def full_liouvillian(model: PaperModel | ModelOperators) -> sp.csr_matrix:
    """Sparse Liouvillian on the full ``4^(2N)``-dimensional operator space (checks only).

    Built from the jump operators and ``H_S + H_cas`` of :mod:`qjump.system.operators`; the
    tests compare it with the paper's Eqs. (10), (11) and (15) written out directly.
    """
    ops = model if isinstance(model, ModelOperators) else ModelOperators(model)
    dim = ops.spins.dim
    eye = sp.identity(dim, format="csr")
    H = ops.H_total
    L = -1j * (sp.kron(H, eye) - sp.kron(eye, H.T))
    for ch in ops.channels:
        A = ch.operator
        AdA = (A.conj().T @ A).tocsr()
        L = L + sp.kron(A, A.conj()) - 0.5 * sp.kron(AdA, eye) - 0.5 * sp.kron(eye, AdA.T)
    return sp.csr_matrix(L)


class BlockLiouvillianOperator:
    """Matrix-free block Liouvillian for large ``N`` (never assembles the ``C(4N,2N)`` matrix).

    The action on a block vector is computed block by block,

        (L x)_k = -i (H_k X_k - X_k H_k^dag) + sum_j L_j^(k-s_j -> k) X_{k-s_j} L_j^dag,

    with the sparse sector blocks ``H_k`` of ``H_eff`` and ``L_j^(k -> k')`` of the jump
    operators, using only sparse-dense products (``O(nnz * d)`` per block).  Memory is a few
    block vectors instead of the ``~65 C(4N,2N)`` non-zeros of the assembled matrix.

    Parameters
    ----------
    model : PaperModel or ModelOperators
    """

    def __init__(self, model: PaperModel | ModelOperators) -> None:
        ops = model if isinstance(model, ModelOperators) else ModelOperators(model)
        self.space = BlockSpace(ops)
        spins = ops.spins
        self.K = spins.n_qubits + 1
        self.shape = (self.space.size, self.space.size)
        self.dtype = np.dtype(complex)
        self.H = [spins.block(ops.H_eff, k, k).tocsr() for k in range(self.K)]
        #: ``jumps[k_out]``: list of ``(k_in, L_block)`` feeding block ``k_out``
        self.jumps: list[list[tuple[int, sp.csr_matrix]]] = [[] for _ in range(self.K)]
        for _, _, k, k2, Lb in ops.jump_blocks():
            self.jumps[k2].append((k, Lb))

    def block(self, x: np.ndarray, k: int) -> np.ndarray:
        """Block ``k`` of a block vector as a ``d x d`` view."""
        d = self.space.dims[k]
        return x[self.space.offsets[k] : self.space.offsets[k + 1]].reshape(d, d)

    def nojump(self, k: int, X: np.ndarray) -> np.ndarray:
        """``-i (H_k X - X H_k^dag)``."""
        H = self.H[k]
        return -1j * (H @ X - (H @ X.conj().T).conj().T)

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``L @ x``."""
        x = np.asarray(x, dtype=complex).reshape(-1)
        out = np.empty(self.space.size, complex)
        for k in range(self.K):
            blk = self.nojump(k, self.block(x, k)) + self.feed(k, x)
            out[self.space.offsets[k] : self.space.offsets[k + 1]] = blk.reshape(-1)
        return out

    def feed(self, k_out: int, x: np.ndarray, sources=None) -> np.ndarray:
        """``sum_j L_j X_{k_in} L_j^dag`` into block ``k_out`` (optionally only from the
        sectors ``k_in`` in ``sources``)."""
        d = self.space.dims[k_out]
        out = np.zeros((d, d), complex)
        for k_in, Lb in self.jumps[k_out]:
            if sources is not None and k_in not in sources:
                continue
            # L X L^dag = L (L X^dag)^dag
            out += Lb @ (Lb @ self.block(x, k_in).conj().T).conj().T
        return out

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        return self.matvec(x)


@functools.lru_cache(maxsize=64)
def liouvillian(model: PaperModel) -> sp.csr_matrix:
    """The sparse block Liouvillian of ``model`` (built once per model)."""
    return block_liouvillian(model_system(model).ops)[0]


@functools.lru_cache(maxsize=16)
def matrix_free_liouvillian(model: PaperModel) -> BlockLiouvillianOperator:
    """The matrix-free block Liouvillian of ``model`` (built once per model)."""
    return BlockLiouvillianOperator(model_system(model).ops)


def solver_operator(model: PaperModel):
    """The block Liouvillian for iterative solves: the sparse matrix up to
    :data:`MATRIX_FREE_LIMIT` unknowns, else the matrix-free operator."""
    if model_system(model).space.size <= MATRIX_FREE_LIMIT:
        return liouvillian(model)
    return matrix_free_liouvillian(model)
