"""The model's Hamiltonians and the three dissipation models as Lindblad jump operators.

Physics notes §2 (checked against the paper's Eqs. 10, 11 and 15 in the tests):

================  ==========================================================  =============
model             jump operators of bath ``i``                                 extra H
================  ==========================================================  =============
``independent``   ``sqrt(n_i+1) g_{i,n} s-_{i,n}``, ``sqrt(n_i) g_{i,n} s+_{i,n}``  none
``common``        ``sqrt(n_i+1) J-_i``, ``sqrt(n_i) J+_i``, ``J-_i = sum g s-``  none
``cascaded``      the same collective operators                               ``H_cas,i``
================  ==========================================================  =============

with ``H_cas,i = (i/2) sum_{n<n'} g_{i,n} g_{i,n'} (s+_{i,n} s-_{i,n'} - s+_{i,n'} s-_{i,n})``
(TLS 1 meets the bath ancilla first).

Each bath's dissipator splits as ``D_i = D_loc^(i) + D_nonloc^(i)`` (Eqs. 10, 11, 14-15).
``D_loc`` is the independent model's dissipator; ``D_nonloc`` is the rest (zero for
``independent``).  :meth:`ModelOperators.adjoint` applies ``D^dagger`` to an operator, which
gives heat ``Tr[H0_i D(rho)] = <D^dagger(H0_i)>`` and work ``<D^dagger(H_I)>``.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import scipy.sparse as sp

from ..model import PaperModel
from .spins import SpinSystem

__all__ = ["Channel", "ModelOperators"]

BATHS = ("h", "c")


@dataclasses.dataclass(frozen=True)
class Channel:
    """One jump channel: ``operator`` is the full jump operator ``L`` (rate included).

    Attributes
    ----------
    bath : {"h", "c"}
    kind : {"emission", "absorption"}
        Emission lowers the excitation number (a quantum goes to the bath), absorption raises
        it (a quantum comes from the bath).
    site : int or None
        Index ``n`` (0-based) of the TLS for independent dissipation; ``None`` for a
        collective operator.
    operator : scipy.sparse.csr_matrix
    """

    bath: str
    kind: str
    site: int | None
    operator: sp.csr_matrix

    @property
    def quanta(self) -> int:
        """Net quanta taken from the bath by this jump: +1 absorption, -1 emission."""
        return 1 if self.kind == "absorption" else -1

    @property
    def name(self) -> str:
        """``"h"`` or ``"c"``, then ``+``/``-``, then the site or ``J``: e.g. ``"h-1"``."""
        sign = "+" if self.kind == "absorption" else "-"
        where = "J" if self.site is None else str(self.site + 1)
        return f"{self.bath}{sign}{where}"


class ModelOperators:
    """Sparse operators of a :class:`~qjump.model.PaperModel` in the full ``2^(2N)`` space.

    Only Hilbert-space operators are built here (dimension ``4^N``); nothing of size
    ``4^(2N)`` is formed.
    """

    def __init__(self, model: PaperModel) -> None:
        self.model = model
        self.spins = SpinSystem(model.n_qubits)

    # ----------------------------------------------------------------- site bookkeeping
    def qubit(self, bath: str, n: int) -> int:
        """Qubit index of TLS ``n`` (0-based) of ensemble ``bath``."""
        return n if bath == "h" else self.model.N + n

    def sm(self, bath: str, n: int) -> sp.csr_matrix:
        """``s-_{bath,n}``."""
        return self.spins.lower(self.qubit(bath, n))

    def sp_(self, bath: str, n: int) -> sp.csr_matrix:
        """``s+_{bath,n}``."""
        return self.spins.raise_(self.qubit(bath, n))

    def sz(self, bath: str, n: int) -> sp.csr_matrix:
        """``s^z_{bath,n}``."""
        return self.spins.sigma_z(self.qubit(bath, n))

    # ----------------------------------------------------------------- Hamiltonians
    @functools.cached_property
    def H0(self) -> dict[str, sp.csr_matrix]:
        """Bare Hamiltonians ``H0_i = omega_i sum_n s+_{i,n} s-_{i,n}`` per ensemble, Eq. (7)."""
        m = self.model
        out = {}
        for b in BATHS:
            omega = m.bath(b)[0]
            out[b] = omega * sum(
                (self.spins.number(self.qubit(b, n)) for n in range(m.N)),
                sp.csr_matrix((self.spins.dim, self.spins.dim)),
            )
        return out

    @functools.cached_property
    def H_I(self) -> sp.csr_matrix:
        """Interaction ``sum Omega_{nn'} (s+_{h,n} s-_{c,n'} + h.c.)``, Eqs. (29) and (31)."""
        m = self.model
        Om = m.Omega_matrix
        H = sp.csr_matrix((self.spins.dim, self.spins.dim))
        for n in range(m.N):
            for q in range(m.N):
                if Om[n, q] != 0.0:
                    hop = self.sp_("h", n) @ self.sm("c", q)
                    H = H + Om[n, q] * (hop + hop.T)
        return H.tocsr()

    @functools.cached_property
    def H_S(self) -> sp.csr_matrix:
        """System Hamiltonian ``H_S = H0_h + H0_c + H_I``, Eq. (1)."""
        return (self.H0["h"] + self.H0["c"] + self.H_I).tocsr()

    @functools.cached_property
    def H_cas(self) -> dict[str, sp.csr_matrix]:
        """Cascade Hamiltonians ``H_cas,i`` (zero unless the model is cascaded).

        ``H_cas,i = (i/2) sum_{n<n'} g_n g_n' (s+_n s-_n' - s+_n' s-_n)``; with it,
        ``D_coll(rho) - i[H_cas, rho]`` equals Eq. (10) + Eq. (15).
        """
        m = self.model
        dim = self.spins.dim
        out = {}
        for b in BATHS:
            H = sp.csr_matrix((dim, dim), dtype=complex)
            if m.dissipation == "cascaded":
                g = m.bath(b)[3]
                for n in range(m.N):
                    for n2 in range(n + 1, m.N):
                        A = self.sp_(b, n) @ self.sm(b, n2)
                        H = H + 0.5j * g[n] * g[n2] * (A - A.T)
            out[b] = H.tocsr()
        return out

    @functools.cached_property
    def H_total(self) -> sp.csr_matrix:
        """Generator of the coherent part: ``H_S + H_cas,h + H_cas,c``."""
        return (self.H_S + self.H_cas["h"] + self.H_cas["c"]).tocsr()

    # ----------------------------------------------------------------- jump operators
    def _channels(self, collective: bool) -> list[Channel]:
        m = self.model
        out: list[Channel] = []
        for b in BATHS:
            _, _, nbar, g = m.bath(b)
            rates = (("emission", math.sqrt(nbar + 1.0)), ("absorption", math.sqrt(nbar)))
            for kind, amp in rates:
                if amp == 0.0:
                    continue
                op_of = self.sm if kind == "emission" else self.sp_
                if collective:
                    L = sum(
                        (g[n] * op_of(b, n) for n in range(m.N)),
                        sp.csr_matrix((self.spins.dim, self.spins.dim)),
                    )
                    if L.nnz:
                        out.append(Channel(b, kind, None, (amp * L).tocsr()))
                else:
                    for n in range(m.N):
                        if g[n] != 0.0:
                            out.append(Channel(b, kind, n, (amp * g[n] * op_of(b, n)).tocsr()))
        return out

    @functools.cached_property
    def channels(self) -> list[Channel]:
        """The model's jump channels (physics notes §2); zero-rate channels are omitted."""
        return self._channels(collective=self.model.dissipation != "independent")

    @functools.cached_property
    def local_channels(self) -> list[Channel]:
        """Channels of the local dissipators ``D_loc`` (Eq. 10): the independent model's."""
        return self._channels(collective=False)

    def jump_blocks(self):
        """Sector blocks of the jump operators.

        Yields
        ------
        j, channel, k, k2, block
            For every channel ``j`` and sector ``k`` it connects: the non-zero block of
            ``L_j`` mapping sector ``k`` to ``k2 = k + 1`` (absorption) or ``k - 1``
            (emission), as CSR with explicit zeros removed and sorted indices.
        """
        K = self.spins.n_qubits + 1
        for j, ch in enumerate(self.channels):
            for k in range(K):
                k2 = k + ch.quanta
                if not 0 <= k2 < K:
                    continue
                block = self.spins.block(ch.operator, k2, k)
                block.eliminate_zeros()
                if block.nnz:
                    block.sort_indices()
                    yield j, ch, k, k2, block

    # ----------------------------------------------------------------- adjoint dissipators
    def adjoint(self, X: sp.spmatrix, bath: str, part: str = "total") -> sp.csr_matrix:
        """Heisenberg-picture dissipator ``D^dagger(X)`` of one bath.

        Parameters
        ----------
        X : sparse matrix
            Operator in the full space.
        bath : {"h", "c"}
        part : {"total", "loc", "nonloc"}
            ``total`` is the whole bath dissipator (for ``cascaded`` it includes
            ``-i[H_cas, .]``), ``loc`` its local part, Eq. (10), ``nonloc`` the rest,
            Eq. (11) or (15).

        Returns
        -------
        scipy.sparse.csr_matrix
            ``sum_j (L_j^dag X L_j - 1/2 {L_j^dag L_j, X}) [+ i [H_cas, X]]``.
        """
        if part == "loc":
            return _lindblad_adjoint(X, [c for c in self.local_channels if c.bath == bath])
        if part == "nonloc":
            return (self.adjoint(X, bath, "total") - self.adjoint(X, bath, "loc")).tocsr()
        if part != "total":
            raise ValueError(f"part: expected 'total', 'loc' or 'nonloc', got {part!r}")
        out = _lindblad_adjoint(X, [c for c in self.channels if c.bath == bath])
        Hc = self.H_cas[bath]
        if Hc.nnz:
            out = out + 1j * (Hc @ X - X @ Hc)
        return sp.csr_matrix(out)

    @functools.cached_property
    def decay(self) -> sp.csr_matrix:
        """``Gamma = sum_j L_j^dagger L_j`` over all channels."""
        dim = self.spins.dim
        G = sp.csr_matrix((dim, dim), dtype=complex)
        for c in self.channels:
            G = G + c.operator.conj().T @ c.operator
        return G.tocsr()

    def ensemble(self, bath: str) -> tuple[sp.csr_matrix, list[sp.csr_matrix]]:
        """The no-jump generator and jump operators of ``bath`` on its own ensemble.

        Bath ``i`` acts on ensemble ``i`` only: ``H0_i``, ``H_cas,i`` and every ``L_j`` of
        bath ``i`` are ``A (x) 1`` (hot) or ``1 (x) A`` (cold), and this returns the ``A``
        (dimension ``2^N``): ``H_i = H0_i + H_cas,i - (i/2) sum_j l_j^dag l_j`` and the
        ``l_j``.  The Liouvillian is then ``L_h (x) 1 + 1 (x) L_c - i[H_I, .]``
        (:mod:`qjump.liouville.decoupled`).
        """
        if bath not in BATHS:
            raise ValueError(f"bath: expected 'h' or 'c', got {bath!r}")
        D = 1 << self.model.N
        # the hot qubits are the high bits: the other ensemble in its ground state
        rows = np.arange(D) * D if bath == "h" else np.arange(D)

        def part(op: sp.spmatrix) -> sp.csr_matrix:
            return sp.csr_matrix(op)[rows][:, rows].tocsr()

        jumps = [part(c.operator) for c in self.channels if c.bath == bath]
        H = part(self.H0[bath]) + part(self.H_cas[bath])
        for J in jumps:
            H = H - 0.5j * (J.conj().T @ J)
        return sp.csr_matrix(H, dtype=complex), jumps

    @functools.cached_property
    def H_eff(self) -> sp.csr_matrix:
        """Non-Hermitian no-jump generator ``H_eff = H_S + H_cas - (i/2) Gamma``."""
        return (self.H_total - 0.5j * self.decay).tocsr()


def _lindblad_adjoint(X: sp.spmatrix, channels: list[Channel]) -> sp.csr_matrix:
    X = sp.csr_matrix(X, dtype=complex)
    out = sp.csr_matrix(X.shape, dtype=complex)
    for c in channels:
        L = c.operator
        Ld = L.conj().T
        LdL = Ld @ L
        out = out + Ld @ X @ L - 0.5 * (LdL @ X + X @ LdL)
    return out.tocsr()
