"""The block-diagonal operator space of a model: index bookkeeping of the U(1) blocks.

A state that is block diagonal in the excitation number ``k`` (physics notes §4) is stored as
the concatenation of the row-major vectors of its blocks ``rho_k`` (the *block vector*:
``sum_k C(2N,k)^2 = C(4N,2N)`` entries instead of ``4^(2N)``).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from .operators import ModelOperators

__all__ = ["BlockSpace"]


class BlockSpace:
    """Index bookkeeping of the block-diagonal operator space of a model.

    Attributes
    ----------
    dims : list of int
        Sector dimensions ``d_k``.
    offsets : ndarray
        Start of block ``k`` in the block vector; ``offsets[-1]`` is the total size.
    """

    def __init__(self, ops: ModelOperators) -> None:
        self.ops = ops
        self.spins = ops.spins
        self.dims = self.spins.sector_dims
        sizes = np.array([d * d for d in self.dims], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.size = int(self.offsets[-1])

    def split(self, x: np.ndarray) -> list[np.ndarray]:
        """Block vector -> list of ``d_k x d_k`` blocks (views)."""
        return [
            x[self.offsets[k] : self.offsets[k + 1]].reshape(d, d) for k, d in enumerate(self.dims)
        ]

    def join(self, blocks: list[np.ndarray]) -> np.ndarray:
        """List of blocks -> block vector."""
        return np.concatenate([np.asarray(b).reshape(-1) for b in blocks])

    @functools.cached_property
    def trace_vector(self) -> np.ndarray:
        """``w`` with ``w @ x = Tr(rho)``."""
        w = np.zeros(self.size)
        for k, d in enumerate(self.dims):
            w[self.offsets[k] + np.arange(d) * (d + 1)] = 1.0
        return w

    def functional_entries(self, X: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
        """Block-vector positions and weights of ``Tr(X rho)`` for block-diagonal ``rho``.

        ``Tr(X rho) = sum_p weights[p] x[positions[p]]``; only the diagonal blocks of ``X``
        contribute.  Nothing of the block-vector size is allocated (``C(4N, 2N)`` entries:
        9e9 at ``N = 9``), so trajectories of large ``N`` can use it.
        """
        cols, vals = [np.zeros(0, np.int64)], [np.zeros(0, complex)]
        X = sp.csr_matrix(X)
        for k, d in enumerate(self.dims):
            blk = self.spins.block(X, k, k).tocoo()
            # Tr(X rho) = sum_ab X[b, a] rho[a, b];  rho[a, b] sits at offset + a*d + b
            cols.append(self.offsets[k] + blk.col.astype(np.int64) * d + blk.row)
            vals.append(blk.data.astype(complex))
        return np.concatenate(cols), np.concatenate(vals)

    def functional(self, X: sp.spmatrix) -> sp.csr_matrix:
        """Row vector ``f`` with ``f @ x = Tr(X rho)`` for block-diagonal ``rho``."""
        cols, vals = self.functional_entries(X)
        return sp.csr_matrix((vals, (np.zeros_like(cols), cols)), shape=(1, self.size))

    def full_matrix(self, x: np.ndarray) -> np.ndarray:
        """Dense ``4^N x 4^N`` density matrix of a block vector (small systems only)."""
        dim = self.spins.dim
        rho = np.zeros((dim, dim), dtype=complex)
        for k, blk in enumerate(self.split(x)):
            s = self.spins.sectors[k]
            rho[np.ix_(s, s)] = blk
        return rho
