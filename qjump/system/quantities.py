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

__all__ = [
    "COUNTED",
    "CURRENTS",
    "ESSENTIAL",
    "SELECTIONS",
    "QuantitySet",
    "check_selection",
    "order_values",
    "selection_for",
]

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


#: Currents that trajectories count from jumps (physics notes §3, §5) rather than sample.
COUNTED = ("Q_h", "Q_c", "W")

#: The ``essential`` selection: the flows (control variates of the counted currents),
#: ``C_loc``, ``energy`` and the populations ``pop_*``.  Every operator in it is a sum of
#: ``O(N)`` (pairwise) or ``O(N^2)`` (all-to-all) one- and two-body terms, against ``O(N^3)``
#: three-body terms and all ``(2N)(2N - 1)/2`` pair coherences for ``all``.
ESSENTIAL = ("Q_h_flow", "Q_c_flow", "W_flow", "C_loc", "energy")

#: Named selections of quantities: ``all`` (every quantity of the module docstring) and
#: ``essential`` (:data:`ESSENTIAL` and the populations), for trajectories at large N.
SELECTIONS = ("all", "essential")


def check_selection(selection: str) -> str:
    """``selection`` if it names one of :data:`SELECTIONS`, else a one-line ``ValueError``."""
    if selection not in SELECTIONS:
        raise ValueError(
            f"quantities: unknown selection {selection!r}; allowed: {', '.join(SELECTIONS)}"
        )
    return selection


def _is_essential(name: str) -> bool:
    return name in ESSENTIAL or name.startswith("pop_")


def selection_for(names) -> str:
    """The smallest selection whose trajectory results hold every name in ``names``:
    ``essential`` when each is a counted current, in :data:`ESSENTIAL` or a population,
    else ``all``."""
    lean = all(n in COUNTED or _is_essential(n) for n in names)
    return "essential" if lean else "all"


class QuantitySet:
    """The linear quantities of a model, as operators and as block-space functionals.

    Parameters
    ----------
    ops : ModelOperators
    space : BlockSpace, optional
    selection : {"all", "essential"}
        Which quantities the set holds (:data:`SELECTIONS`); operators are built only for
        the selected ones.  With ``essential``, the trajectories still report the counted
        currents :data:`COUNTED` (and the entropy production), but not the local/non-local
        parts, ``C_nonloc`` or ``C_nonloc_product``.
    """

    def __init__(
        self, ops: ModelOperators, space: BlockSpace | None = None, selection: str = "all"
    ) -> None:
        self.ops = ops
        self.model = ops.model
        self.space = space if space is not None else BlockSpace(ops)
        self.selection = check_selection(selection)

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
    def names(self) -> list[str]:
        """Names of the selected linear quantities, in order (nothing is built)."""
        N = self.model.N
        everything = [
            *(f"Q_{b}_{part}" for b in BATHS for part in ("loc", "nonloc")),
            "W_loc",
            "W_nonloc",
            "Q_h",
            "Q_c",
            "W",
            "Q_h_flow",
            "Q_c_flow",
            "W_flow",
            "C_loc",
            "C_nonloc",
            "energy",
            *(f"pop_{b}{n + 1}" for b in BATHS for n in range(N)),
            *(f"sz_{b}{n + 1}" for b in BATHS for n in range(N)),
            *(f"coh_h{n + 1}c{q + 1}" for n in range(N) for q in range(N)),
        ]
        if self.selection == "all":
            return everything
        return [k for k in everything if _is_essential(k)]

    @functools.cached_property
    def operators(self) -> dict[str, sp.csr_matrix]:
        """Name -> Hermitian operator ``X`` for every selected quantity (ordered)."""
        built: dict[str, sp.spmatrix] = {}
        return {k: sp.csr_matrix(self._operator(k, built), dtype=complex) for k in self.names}

    def _operator(self, name: str, built: dict[str, sp.spmatrix]) -> sp.spmatrix:
        """Operator of ``name``, reusing (and adding to) the operators in ``built``."""
        if name in built:
            return built[name]
        ops = self.ops
        if name in ("Q_h", "Q_c", "W"):
            X = self._operator(f"{name}_loc", built) + self._operator(f"{name}_nonloc", built)
        elif name in ("W_loc", "W_nonloc"):
            part = name[2:]
            X = ops.adjoint(ops.H_I, "h", part) + ops.adjoint(ops.H_I, "c", part)
        elif name[:2] == "Q_" and name.endswith(("_loc", "_nonloc")):  # Q_h_loc ... Q_c_nonloc
            b, part = name[2], name[4:]
            X = ops.adjoint(ops.H0[b], b, part)
        elif name == "W_flow":
            X = -(self._operator("Q_h_flow", built) + self._operator("Q_c_flow", built))
        elif name.endswith("_flow"):
            H0 = ops.H0[name[2]]
            X = 1j * (H0 @ ops.H_I - ops.H_I @ H0)
        elif name == "C_loc":
            N = self.model.N
            pairs = [(n, q) for n in range(N) for q in self.partners("h", n)]
            X = -sum(self.cross_pair(n, q) for n, q in pairs)
        elif name == "C_nonloc":
            dim = ops.spins.dim
            terms = self.nonlocal_terms
            X = sum((self._term_operator(*t) for t in terms), sp.csr_matrix((dim, dim)))
        elif name == "energy":
            X = ops.H_S
        else:  # pop_b<n>, sz_b<n>, coh_h<n>c<q>
            kind, rest = name.split("_")
            if kind == "coh":
                n, q = (int(v) - 1 for v in rest[1:].split("c"))
                X = self.cross_pair(n, q)
            else:
                b, n = rest[0], int(rest[1:]) - 1
                X = ops.spins.number(ops.qubit(b, n)) if kind == "pop" else ops.sz(b, n)
        built[name] = X
        return X

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
        """``C_nonloc_product`` from the linear pieces (Eqs. 48-49 and their analogues);
        ``None`` when the selection lacks them (``essential``)."""
        if self.selection != "all":
            return None
        total = 0.0
        for i, m, n, q in self.nonlocal_terms:
            if i == "h":
                coh = values[f"coh_h{n + 1}c{q + 1}"]
            else:
                coh = values[f"coh_h{q + 1}c{n + 1}"]
            total = total + values[f"sz_{i}{m + 1}"] * coh
        return total


def order_values(values: dict, product: float | None) -> dict:
    """Output order: currents, coherence quantities, the rest (quantities a selection lacks,
    and ``C_nonloc_product`` when ``product`` is ``None``, are left out)."""
    out = {k: values[k] for k in CURRENTS if k in values}
    for k in ("C_loc", "C_nonloc"):
        if k in values:
            out[k] = values[k]
    if product is not None:
        out["C_nonloc_product"] = product
    for k, v in values.items():
        if k not in out:
            out[k] = v
    return out
