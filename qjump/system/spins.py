"""Sparse spin operators on ``2N`` qubits and the excitation-number (U(1)) sectors.

Conventions (used everywhere in qjump)
--------------------------------------
* Qubits are ordered ``h1..hN, c1..cN``; qubit ``q`` is the ``q``-th tensor factor from the
  left, so it is bit ``n_qubits - 1 - q`` of the basis index.
* ``|1>`` is the excited state, ``s+ = |1><0|``, ``s- = |0><1|``,
  ``s^z = |1><1| - |0><0| = [s+, s-]``.
* Every Hamiltonian of the model and every ``L^dagger L`` conserves the total excitation
  number ``k`` (physics notes §4); each jump changes it by one.  Sector ``k`` holds the
  ``C(2N, k)`` basis states with ``k`` excitations, in increasing basis index.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

__all__ = ["SpinSystem"]


class SpinSystem:
    """Sparse operators and U(1) sectors of ``n_qubits`` spins-1/2.

    Parameters
    ----------
    n_qubits : int
        Number of qubits (``2N`` for the paper model).
    """

    def __init__(self, n_qubits: int) -> None:
        self.n_qubits = int(n_qubits)
        self.dim = 1 << self.n_qubits
        idx = np.arange(self.dim, dtype=np.int64)
        bits = (idx[:, None] >> (self.n_qubits - 1 - np.arange(self.n_qubits))) & 1
        #: ``occupation[b, q]`` is 1 when qubit ``q`` is excited in basis state ``b``.
        self.occupation = bits.astype(np.int8)
        #: total excitation number of each basis state
        self.excitations = bits.sum(axis=1).astype(np.int64)
        #: ``sectors[k]``: basis indices with ``k`` excitations (sorted)
        self.sectors = [np.flatnonzero(self.excitations == k) for k in range(self.n_qubits + 1)]
        #: position of each basis state inside its sector
        self.position = np.empty(self.dim, dtype=np.int64)
        for s in self.sectors:
            self.position[s] = np.arange(s.size)

    @property
    def sector_dims(self) -> list[int]:
        """Dimensions ``C(n_qubits, k)`` of the sectors ``k = 0..n_qubits``."""
        return [s.size for s in self.sectors]

    @functools.cache  # noqa: B019 - one small object per model
    def lower(self, q: int) -> sp.csr_matrix:
        """``s-`` on qubit ``q`` (real, sparse CSR)."""
        bit = 1 << (self.n_qubits - 1 - q)
        cols = np.flatnonzero(self.occupation[:, q] == 1)
        rows = cols ^ bit
        data = np.ones(cols.size)
        return sp.csr_matrix((data, (rows, cols)), shape=(self.dim, self.dim))

    def raise_(self, q: int) -> sp.csr_matrix:
        """``s+`` on qubit ``q``."""
        return self.lower(q).T.tocsr()

    def number(self, q: int) -> sp.csr_matrix:
        """``s+ s-`` on qubit ``q`` (the excited-state projector)."""
        return sp.diags(self.occupation[:, q].astype(float)).tocsr()

    def sigma_z(self, q: int) -> sp.csr_matrix:
        """``s^z = 2 s+ s- - 1`` on qubit ``q``."""
        return sp.diags(2.0 * self.occupation[:, q] - 1.0).tocsr()

    def block(self, op: sp.spmatrix, k_out: int, k_in: int) -> sp.csr_matrix:
        """The block of ``op`` mapping sector ``k_in`` to sector ``k_out``."""
        op = sp.csr_matrix(op)
        return op[self.sectors[k_out]][:, self.sectors[k_in]].tocsr()
