"""Every steady-state quantity of the paper as a linear functional ``Tr[X rho]``.

One mechanism serves the exact solver and the trajectories: each quantity ``q`` has a
Hermitian operator ``X_q``; the exact value is ``Tr[X_q rho_ss]`` and the trajectory value is
the time average of ``<psi|X_q|psi>/<psi|psi>`` along conditional states.  Both are computed by
:meth:`QuantitySet.evaluate` from a (time-averaged) block-diagonal state.

Currents (sign convention: positive = energy flowing *into* the system; units of
``omega_c^2`` when ``hbar = 1``, i.e. energy per unit time):

* ``Q_i = Tr[H0_i D_i(rho)]``: heat current from bath ``i``; local and non-local parts use
  ``D_loc`` and ``D_nonloc`` (Eqs. 22-26, 41, 43).
* ``W = sum_i Tr[H_I D_i(rho)]``: work current; ``W_loc``/``W_nonloc`` use the local and
  non-local parts (Eqs. 19-21, 27-28, 32, 34, 36, 38, 40, 42, 44, 45).
* First law (steady state): ``W + Q_h + Q_c = 0``.
* ``Q_i_flow = Tr[i[H0_i, H_I] rho]``: the energy per unit time that ensemble ``i`` passes
  on through the interaction.  Ensemble ``i``'s bare energy changes only by its own
  dissipator and by the interaction (``[H0_i, H0] = [H0_i, H_cas] = 0``, and the other bath's
  jump operators commute with ``H0_i``), so ``d<H0_i>/dt = Q_i - Q_i_flow``: in any steady
  state ``Q_i_flow = Q_i`` (Eqs. 22-23 with Eqs. 29, 31), and ``W_flow = -(Q_h_flow +
  Q_c_flow) = W``.  Trajectories use them as control variates of the jump-counted currents
  (:mod:`qjump.trajectories.ensemble`); away from the steady state they are the flows
  themselves, not the heat currents.

Coherence quantities (the paper's N = 2 forms, generalised to any N):

* ``C_loc = -sum_{(n,q)} <(s+_{h,n} s-_{c,q})_+>`` over interacting pairs: all ``(n, q)`` for
  all-to-all (Eq. 33), ``q = n`` for pairwise (Eq. 37).  ``(A B)_+ = A B + A^dag B^dag``.
* ``C_nonloc = sum_terms <s^z_{i,m} (s+_{i,n} s-_{i',q})_+>``, Eqs. (35) (typo corrected:
  the paper prints ``s^z`` where ``s^+`` belongs), (39), (46), (47).  The terms are those of
  the non-local work current, derived from ``<D_nonloc^dag(H_I)>``:
  ``W_nonloc^com = 1/2 sum_i sum_{m != n} g_m g_n sum_q Omega_{mq} <s^z_{i,m} (s+_{i,n}
  s-_{i',q})_+>`` and, for cascaded, the same with ``n < m`` and without the ``1/2``.
  Here ``q`` runs over the partners of site ``m`` in the other ensemble (for the cold bath
  the coupling is ``Omega_{qm}``).  Common and independent models use the common-bath terms
  (``m != n``), the cascaded model the cascaded terms (``n < m``).
* ``C_nonloc_product``: the same sum with each term factorised as
  ``<s^z_{i,m}> <(s+_{i,n} s-_{i',q})_+>``, Eqs. (48) and (49).  It is not linear in ``rho``;
  it is computed from the linear pieces ``sz_*`` and ``coh_*``.

Populations ``pop_h1 .. pop_cN`` are the excited-state probabilities of each TLS.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from .blocks import BlockSpace
from .operators import BATHS, ModelOperators

__all__ = ["CURRENTS", "QuantitySet", "order_values"]

#: The currents, in output order.
CURRENTS = (
    "Q_h",
    "Q_c",
    "W",
    "Q_h_loc",
    "Q_h_nonloc",
    "Q_c_loc",
    "Q_c_nonloc",
    "W_loc",
    "W_nonloc",
    "Q_h_flow",
    "Q_c_flow",
    "W_flow",
)


class QuantitySet:
    """The linear quantities of a model, as operators and as block-space functionals.

    Parameters
    ----------
    ops : ModelOperators
    space : BlockSpace, optional
    """

    def __init__(self, ops: ModelOperators, space: BlockSpace | None = None) -> None:
        self.ops = ops
        self.model = ops.model
        self.space = space if space is not None else BlockSpace(ops)

    # ------------------------------------------------------------------ term lists
    def partners(self, bath: str, m: int) -> list[int]:
        """Sites of the other ensemble that interact with site ``m`` of ``bath``."""
        if self.model.interaction == "pairwise":
            return [m]
        return list(range(self.model.N))

    @functools.cached_property
    def nonlocal_terms(self) -> list[tuple[str, int, int, int]]:
        """Terms ``(i, m, n, q)`` of ``C_nonloc``: ``<s^z_{i,m} (s+_{i,n} s-_{i',q})_+>``.

        Common-bath form (``m != n``) for independent and common dissipation, cascaded form
        (``n < m``) for cascaded dissipation.
        """
        N = self.model.N
        cascaded = self.model.dissipation == "cascaded"
        terms = []
        for i in BATHS:
            for m in range(N):
                for n in range(N):
                    if n == m or (cascaded and not n < m):
                        continue
                    for q in self.partners(i, m):
                        terms.append((i, m, n, q))
        return terms

    def cross_pair(self, n_h: int, q_c: int) -> sp.csr_matrix:
        """``(s+_{h,n} s-_{c,q})_+``: the cross-bath pair coherence operator."""
        A = self.ops.sp_("h", n_h) @ self.ops.sm("c", q_c)
        return (A + A.T).tocsr()

    def _term_operator(self, i: str, m: int, n: int, q: int) -> sp.csr_matrix:
        other = "c" if i == "h" else "h"
        A = self.ops.sp_(i, n) @ self.ops.sm(other, q)
        return (self.ops.sz(i, m) @ (A + A.T)).tocsr()

    # ------------------------------------------------------------------ operators
    @functools.cached_property
    def operators(self) -> dict[str, sp.csr_matrix]:
        """Name -> Hermitian operator ``X`` for every linear quantity (ordered)."""
        ops, m = self.ops, self.model
        X: dict[str, sp.csr_matrix] = {}
        for b in BATHS:
            for part in ("loc", "nonloc"):
                X[f"Q_{b}_{part}"] = ops.adjoint(ops.H0[b], b, part)
        for part in ("loc", "nonloc"):
            X[f"W_{part}"] = ops.adjoint(ops.H_I, "h", part) + ops.adjoint(ops.H_I, "c", part)
        X["Q_h"] = X["Q_h_loc"] + X["Q_h_nonloc"]
        X["Q_c"] = X["Q_c_loc"] + X["Q_c_nonloc"]
        X["W"] = X["W_loc"] + X["W_nonloc"]
        for b in BATHS:
            X[f"Q_{b}_flow"] = 1j * (ops.H0[b] @ ops.H_I - ops.H_I @ ops.H0[b])
        X["W_flow"] = -(X["Q_h_flow"] + X["Q_c_flow"])
        pairs = [(n, q) for n in range(m.N) for q in self.partners("h", n)]
        X["C_loc"] = -sum(self.cross_pair(n, q) for n, q in pairs)
        terms = self.nonlocal_terms
        dim = ops.spins.dim
        X["C_nonloc"] = sum((self._term_operator(*t) for t in terms), sp.csr_matrix((dim, dim)))
        X["energy"] = ops.H_S
        for b in BATHS:
            for n in range(m.N):
                X[f"pop_{b}{n + 1}"] = ops.spins.number(ops.qubit(b, n))
        # linear pieces of C_nonloc_product
        for b in BATHS:
            for n in range(m.N):
                X[f"sz_{b}{n + 1}"] = ops.sz(b, n)
        for n in range(m.N):
            for q in range(m.N):
                X[f"coh_h{n + 1}c{q + 1}"] = self.cross_pair(n, q)
        return {k: sp.csr_matrix(v, dtype=complex) for k, v in X.items()}

    @property
    def names(self) -> list[str]:
        """Names of the linear quantities, in order."""
        return list(self.operators)

    @functools.cached_property
    def support_functionals(self) -> tuple[np.ndarray, sp.csr_matrix]:
        """The block-vector positions any quantity reads, and the functionals on them.

        Returns
        -------
        support : ndarray of int64
            Sorted block-vector positions (what trajectories must record).
        F : scipy.sparse.csr_matrix, shape (n_quantities, len(support))
            ``(F @ x[support])[q] = Tr[X_q rho]``.

        Nothing of the block-vector size is allocated, so this serves trajectories of any
        ``N`` the operators fit in memory for.
        """
        rows, cols, vals = [], [], []
        for q, X in enumerate(self.operators.values()):
            pos, w = self.space.functional_entries(X)
            rows.append(np.full(pos.size, q, np.int64))
            cols.append(pos)
            vals.append(w)
        support, col = np.unique(np.concatenate(cols), return_inverse=True)
        F = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), col.ravel())),
            shape=(len(rows), support.size),
        )
        return support, F

    @property
    def support(self) -> np.ndarray:
        """Block-vector positions that any quantity reads (what trajectories must record)."""
        return self.support_functionals[0]

    @functools.cached_property
    def functionals(self) -> sp.csr_matrix:
        """Matrix ``F`` with ``(F @ x)[q] = Tr[X_q rho]`` for a block vector ``x``."""
        support, F = self.support_functionals
        return sp.csr_matrix(
            (F.data, support[F.indices], F.indptr), shape=(F.shape[0], self.space.size)
        )

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, x: np.ndarray) -> dict[str, float]:
        """Values of all linear quantities for a block vector ``x`` (full length)."""
        vals = self.functionals @ x
        return dict(zip(self.names, np.real(vals).tolist(), strict=True))

    def evaluate_support(self, xs: np.ndarray) -> np.ndarray:
        """Values for states given on :attr:`support` only.

        Parameters
        ----------
        xs : ndarray, shape (..., len(support))

        Returns
        -------
        ndarray, shape (..., n_quantities)
        """
        F = self.support_functionals[1]
        return np.real(F @ np.asarray(xs).T).T

    def product_form(self, values: dict[str, float] | dict[str, np.ndarray]):
        """``C_nonloc_product`` from the linear pieces (Eqs. 48-49 and their analogues)."""
        total = 0.0
        for i, m, n, q in self.nonlocal_terms:
            if i == "h":
                coh = values[f"coh_h{n + 1}c{q + 1}"]
            else:
                coh = values[f"coh_h{q + 1}c{n + 1}"]
            total = total + values[f"sz_{i}{m + 1}"] * coh
        return total


def order_values(values: dict, product: float) -> dict:
    """Output order: currents, coherence quantities, the rest."""
    out = {k: values[k] for k in CURRENTS}
    out["C_loc"] = values["C_loc"]
    out["C_nonloc"] = values["C_nonloc"]
    out["C_nonloc_product"] = product
    for k, v in values.items():
        if k not in out:
            out[k] = v
    return out
