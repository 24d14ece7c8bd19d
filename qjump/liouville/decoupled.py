"""The exact inverse of the uncoupled ensembles' generator: the preconditioner of the exact
steady state and of the counting statistics' solves (tilted and shifted).

Both baths act on their own ensemble only: every jump operator of bath ``i`` and ``H_cas,i``
act on ensemble ``i`` (also for common and cascaded dissipation, whose operators are
collective *within* an ensemble, physics notes §2), and only ``H_I`` couples the two.  So the
Liouvillian of Eq. (4) splits as

    L = L_h (x) 1 + 1 (x) L_c - i [H_I, .],

with ``L_i X = -i (H_i X - X H_i^dag) + sum_j l_j X l_j^dag`` on ensemble ``i`` alone
(``H_i = H0_i + H_cas,i - (i/2) sum_j l_j^dag l_j``, dimension ``2^N``).  Written as a matrix
``R`` whose rows are the hot ket-bra pairs ``(a, a')`` and whose columns the cold pairs
``(b, b')`` (``rho = sum R |a b><a' b'|``), the uncoupled part is the Sylvester operator
``R -> L_h R + R L_c^T``.

Each ``L_i`` conserves the ket-bra excitation difference ``delta = n(a) - n(a')``, and a
block-diagonal ``rho`` has ``delta_h = -delta_c``; so ``R`` splits into ``2N + 1`` blocks
``R_delta`` of size ``C(2N, N + delta)^2``, which together hold exactly the ``C(4N, 2N)``
unknowns of the block space.  With the eigendecompositions ``L_h = W_h diag(lambda) W_h^-1``
and ``L_c = W_c diag(mu) W_c^-1`` of each block,

    R = W_h [(W_h^-1 Y W_c^-T) / (lambda_a + mu_b)] W_c^T,

four products of at most ``C(2N, N)`` square matrices per block: the cost of one no-jump
inverse.  The slow collective modes of common and cascaded dissipation (relaxation rates
down to 1.5e-3 at N = 6) live inside each ``L_i`` and are inverted exactly; only the weak
coupling ``Omega`` is left to the Krylov solver.  At ``N = 6`` (common, pairwise) the steady
state converges in 118 GMRES iterations instead of the 730 of the former block Gauss-Seidel
preconditioner (which inverted the no-jump part and the emission terms only).

The pair ``lambda_a + mu_b = 0`` is the kernel of the uncoupled generator (the product of the
ensembles' own steady states); it and any other vanishing pair are divided by 1 and left to
the Krylov solver, as the bordered system's normalisation takes care of the kernel.  Where an
ensemble block is nearly defective (collective decay at ``T = 0``: eigenvector condition
numbers of 1e16), its blocks are solved through Schur forms instead (:class:`DecoupledInverse`).
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from ..system.context import System
from ..system.spins import SpinSystem

__all__ = ["DecoupledInverse", "decoupled_inverse"]

#: Blocks whose eigenvectors have a condition number ``||W|| ||W^-1||`` below this are applied
#: in single precision (relative error ~1e-3 at most); above it in double precision.
SINGLE_PRECISION_CONDITION = 1e4
#: Blocks with an eigenvector condition number above this (nearly defective ensemble
#: Liouvillians, e.g. collective decay at T = 0) are solved through Schur forms instead.
EIGEN_CONDITION = 1e8
#: ``|lambda_a + mu_b|`` below this times the block's largest is treated as a zero pair.
ZERO_PAIR = 1e-12


class DecoupledInverse:
    """``y -> (L_h (x) 1 + 1 (x) L_c)^+ y`` on the block space: the exact inverse of the
    Liouvillian without ``-i[H_I, .]`` (zero pairs divided by 1), see the module docstring.

    Each excitation-difference block is solved through the eigendecompositions of its two
    ensemble blocks, or, when either is nearly defective (condition number above
    :data:`EIGEN_CONDITION`), through their Schur forms by Bartels-Stewart back substitution
    (a zero pivot divided by 1: then exact only away from the kernel's Jordan chains, which
    is all a preconditioner needs).

    Parameters
    ----------
    system : System
        The model's operators and block space.
    single : bool
        Apply well-conditioned blocks in single precision (default); ``False``: every block
        in double precision (the exact inverse to round-off).
    factors : array_like, optional
        Per-channel factors ``f_j`` of the jump terms (``system.ops.channels`` order): the
        inverse of the tilted generator ``L_0 + sum_j f_j J_j`` of counting statistics
        without ``H_I`` (:mod:`qjump.liouville.fcs`).  Default: all 1.

    Calling it as ``M(y, shift)`` applies ``(L_h (x) 1 + 1 (x) L_c - shift)^+`` instead.

    Attributes
    ----------
    condition : float
        Largest eigenvector condition number ``||W|| ||W^-1||`` (Frobenius) of the blocks.
    single_precision : bool
        Whether every block is applied in single precision (see
        :data:`SINGLE_PRECISION_CONDITION`).  An approximate inverse is fine as a
        preconditioner under flexible GMRES, which keeps the solution in double precision.
    schur_blocks : int
        How many blocks are solved through Schur forms.
    """

    def __init__(self, system: System, single: bool = True, factors=None) -> None:
        N = system.model.N
        ensembles = {bath: _ensemble_blocks(system, bath, factors) for bath in ("h", "c")}
        self.perm = _block_order(system, ensembles)
        self.blocks: list[tuple[int, int, int, _EigenBlock | _SchurBlock]] = []
        self.condition = 1.0
        start = 0
        for delta in range(-N, N + 1):
            hot, cold = ensembles["h"][delta], ensembles["c"][-delta]
            condition = max(hot.condition, cold.condition)
            self.condition = max(self.condition, condition)
            if condition < EIGEN_CONDITION:
                single_block = single and condition < SINGLE_PRECISION_CONDITION
                solver = _EigenBlock(hot, cold, np.complex64 if single_block else np.complex128)
            else:
                solver = _SchurBlock(hot.matrix, cold.matrix)
            nh, nc = hot.matrix.shape[0], cold.matrix.shape[0]
            self.blocks.append((start, nh, nc, solver))
            start += nh * nc
        assert start == system.space.size
        self.single_precision = all(
            isinstance(b, _EigenBlock) and b.dtype == np.complex64 for *_, b in self.blocks
        )
        self.schur_blocks = sum(isinstance(b, _SchurBlock) for *_, b in self.blocks)

    def __call__(self, y: np.ndarray, shift: complex = 0.0) -> np.ndarray:
        r = np.asarray(y, dtype=complex)[self.perm]
        for start, nh, nc, solver in self.blocks:
            part = r[start : start + nh * nc]
            part[:] = solver(part.reshape(nh, nc), shift).reshape(-1)
        out = np.empty_like(r)
        out[self.perm] = r
        return out


@functools.lru_cache(maxsize=2)
def decoupled_inverse(system: System) -> DecoupledInverse:
    """The :class:`DecoupledInverse` of ``system``, built once per model (the steady state
    and the counting statistics' solves share it)."""
    return DecoupledInverse(system)


class _EnsembleBlock(NamedTuple):
    """One excitation-difference block of an ensemble Liouvillian and its eigendecomposition
    (``W``, ``W^-1`` are ``None`` when it is numerically defective)."""

    matrix: np.ndarray
    eigenvalues: np.ndarray
    W: np.ndarray | None
    W_inv: np.ndarray | None
    condition: float


class _EigenBlock:
    """``R = W_h [(W_h^-1 Y W_c^-T) / (lambda_a + mu_b)] W_c^T`` (zero pairs divided by 1)."""

    def __init__(self, hot: _EnsembleBlock, cold: _EnsembleBlock, dtype: type) -> None:
        self.pairs = hot.eigenvalues[:, None] + cold.eigenvalues[None, :]
        self.zero = ZERO_PAIR * max(float(np.abs(self.pairs).max()), 1e-300)
        self.dtype = np.dtype(dtype)
        parts = (hot.W_inv, cold.W_inv.T, _divisor(self.pairs, self.zero), hot.W, cold.W.T)
        self.parts = tuple(np.ascontiguousarray(a, dtype=self.dtype) for a in parts)

    def __call__(self, Y: np.ndarray, shift: complex = 0.0) -> np.ndarray:
        Whi, WciT, den, Wh, WcT = self.parts
        if shift != 0.0:
            den = _divisor(self.pairs - shift, self.zero).astype(self.dtype)
        Y = Y.astype(self.dtype, copy=False)
        return Wh @ (((Whi @ Y) @ WciT) / den) @ WcT


class _SchurBlock:
    """``L_h R + R L_c^T = Y`` by Bartels-Stewart: with ``L_h = Q_h T_h Q_h^H`` and
    ``L_c = Q_c T_c Q_c^H`` (complex Schur forms), ``T_h S + S T_c^T = Q_h^H Y conj(Q_c)`` is
    solved column by column from the last (``T_c^T`` is lower triangular) and
    ``R = Q_h S Q_c^T``.  A zero pivot ``t_ii + t'_jj`` is divided by 1."""

    def __init__(self, hot: np.ndarray, cold: np.ndarray) -> None:
        self.T_h, self.Q_h = la.schur(hot, output="complex")
        T_c, self.Q_c = la.schur(cold, output="complex")
        self.U = np.ascontiguousarray(T_c.T)
        self.scale = max(
            float(np.abs(np.diag(self.T_h)).max() + np.abs(np.diag(self.U)).max()), 1e-300
        )

    def __call__(self, Y: np.ndarray, shift: complex = 0.0) -> np.ndarray:
        C = self.Q_h.conj().T @ Y @ self.Q_c.conj()
        T, U = self.T_h.copy(), self.U
        diagonal = np.diag(self.T_h)
        S = np.zeros(C.shape, complex)
        for j in range(C.shape[1] - 1, -1, -1):
            rhs = C[:, j] - S[:, j + 1 :] @ U[j + 1 :, j]
            pivots = _divisor(diagonal + U[j, j] - shift, ZERO_PAIR * self.scale)
            np.fill_diagonal(T, pivots)
            S[:, j] = la.solve_triangular(T, rhs, check_finite=False)
        return self.Q_h @ S @ self.Q_c.T


def _divisor(pairs: np.ndarray, zero: float) -> np.ndarray:
    """``pairs`` with the entries below ``zero`` in modulus replaced by 1 (zero pairs)."""
    return np.where(np.abs(pairs) < zero, 1.0, pairs)


def _ensemble_blocks(system: System, bath: str, factors=None) -> dict[int, _EnsembleBlock]:
    """``L_bath`` (jump terms times ``factors``) on each excitation-difference block
    ``delta`` and its eigendecomposition, rows and columns ordered by the row-major pair
    index ``a * 2^N + a'``."""
    H, jumps = system.ops.ensemble(bath)
    channels = [j for j, c in enumerate(system.ops.channels) if c.bath == bath]
    f = np.ones(len(system.ops.channels)) if factors is None else np.asarray(factors, float)
    one = sp.identity(H.shape[0], format="csr")
    L = -1j * (sp.kron(H, one) - sp.kron(one, H.conj()))
    for j, J in zip(channels, jumps, strict=True):
        L = L + f[j] * sp.kron(J, J.conj())
    L = sp.csr_matrix(L)
    out = {}
    for d, pairs in _difference_blocks(system.model.N).items():
        block = L[pairs][:, pairs].toarray()
        lam, W = la.eig(block, check_finite=False)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", la.LinAlgWarning)
                Wi = la.inv(W, check_finite=False)
            condition = float(np.linalg.norm(W) * np.linalg.norm(Wi))
        except la.LinAlgError:
            Wi, condition = None, math.inf
        if not math.isfinite(condition) or condition >= EIGEN_CONDITION:
            W = Wi = None
        out[d] = _EnsembleBlock(block, lam, W, Wi, condition)
    return out


def _difference_blocks(N: int) -> dict[int, np.ndarray]:
    """``{delta: pairs}``: the row-major ket-bra pair indices ``a * 2^N + a'`` of one
    ensemble with excitation difference ``n(a) - n(a') = delta``, for ``delta = -N..N``."""
    n = SpinSystem(N).excitations
    delta = (n[:, None] - n[None, :]).reshape(-1)
    return {d: np.flatnonzero(delta == d) for d in range(-N, N + 1)}


def _block_order(system: System, ensembles: dict) -> np.ndarray:
    """``perm`` with ``y[perm]`` the blocks ``R_delta`` (row-major, ``delta = -N..N``)
    concatenated, for a block vector ``y``."""
    N = system.model.N
    D = 1 << N
    spins, space = system.spins, system.space
    # excitation difference of each ket-bra pair, and its position inside its block
    diff = np.empty(D * D, np.int64)
    rank = np.empty(D * D, np.int64)
    for d, pairs in _difference_blocks(N).items():
        diff[pairs] = d
        rank[pairs] = np.arange(pairs.size)
    # block delta = -N..N: hot rows, cold columns, and where it starts
    n_cold = np.array([ensembles["c"][-d].matrix.shape[0] for d in range(-N, N + 1)])
    n_hot = np.array([ensembles["h"][d].matrix.shape[0] for d in range(-N, N + 1)])
    start = np.concatenate([[0], np.cumsum(n_hot * n_cold)[:-1]])
    target = np.empty(space.size, np.int64)
    for k, states in enumerate(spins.sectors):
        hot, cold = states // D, states % D  # the hot qubits are the high bits
        p = (hot[:, None] * D + hot[None, :]).reshape(-1)
        q = (cold[:, None] * D + cold[None, :]).reshape(-1)
        b = diff[p] + N
        target[space.offsets[k] : space.offsets[k + 1]] = start[b] + rank[p] * n_cold[b] + rank[q]
    perm = np.empty(space.size, np.int64)
    perm[target] = np.arange(space.size)
    return perm
