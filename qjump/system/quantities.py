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

Generator controls (trajectories only; not reported as results):

* ``gen_<A> = Tr[L^dag(A) rho]`` for a few observables ``A`` of the machine
  (:data:`CONTROL_OBSERVABLES`): the bare energies ``H0_h``, ``H0_c`` and their squares, the
  total spin ``S_i^2`` of each ensemble (conserved by common dissipation with equal couplings,
  so slow when they differ), each bath's jump-rate operator ``Gamma_i = sum_{j in bath i}
  L_j^dag L_j`` (Eq. 9's channels), ``H_I`` and the flow operator ``i[H0_h, H_I]``.
  ``L^dag(A) = i[H_S, A] + D_h^dag(A) + D_c^dag(A)`` is the adjoint generator of Eq. (4) (the
  cascaded ``H_cas`` sits in ``D_i^dag``).  In any steady state ``Tr[L^dag(A) rho_ss] =
  Tr[A L(rho_ss)] = 0``, so their time averages along stationary trajectories have mean zero
  and serve as control variates of the currents (:mod:`qjump.trajectories.ensemble`).
  Operators that are linearly dependent on earlier ones (``H0_i^2``, ``S_i^2`` and
  ``Gamma_i`` at N = 1) are left out; above :data:`CONTROLS_MAX_N` none is sampled.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.sparse as sp

from .blocks import BlockSpace
from .operators import BATHS, ModelOperators

__all__ = [
    "CONTROLS_MAX_N",
    "CONTROL_OBSERVABLES",
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

#: Observables ``A`` whose generator ``L^dag(A)`` is sampled as a control (``gen_<A>``, see
#: the module docstring): ``H0_i``, ``H0_i^2`` (``_sq``), the total spin ``S_i^2`` of ensemble
#: ``i``, the jump-rate operator ``Gamma_i`` of bath ``i``, ``H_I`` and the hot flow operator
#: ``i[H0_h, H_I]``.
CONTROL_OBSERVABLES = (
    "H0_h",
    "H0_c",
    "H0_h_sq",
    "H0_c_sq",
    "S2_h",
    "S2_c",
    "Gamma_h",
    "Gamma_c",
    "H_I",
    "flow_h",
)
#: Largest N whose trajectories sample the generator controls.  Their operators hold
#: four-body terms (``L^dag(Gamma_i)``, ``L^dag(S_i^2)``): at N = 6, common dissipation and pairwise
#: interaction, 5.1e5 support entries (19 % of the block space), 28 % for cascaded all-to-all.
CONTROLS_MAX_N = 6
#: Relative tolerance below which a control operator counts as a combination of earlier ones
#: (relative to ``||A|| (max |H_S| + max |decay|)``, the scale of ``L^dag(A)``).
_DEPENDENT = 1e-9


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
    controls : bool
        Whether the set also samples the generator controls (:attr:`control_names`): the
        trajectories' sets do, the exact solver's does not.
    """

    def __init__(
        self,
        ops: ModelOperators,
        space: BlockSpace | None = None,
        selection: str = "all",
        controls: bool = False,
    ) -> None:
        self.ops = ops
        self.model = ops.model
        self.space = space if space is not None else BlockSpace(ops)
        self.selection = check_selection(selection)
        self.controls = bool(controls)

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
    def control_names(self) -> list[str]:
        """Names ``gen_<A>`` of the generator controls (module docstring), in the order of
        :data:`CONTROL_OBSERVABLES`, without those linearly dependent on earlier ones; empty
        above :data:`CONTROLS_MAX_N`."""
        if self.model.N > CONTROLS_MAX_N:
            return []
        kept: list[str] = []
        basis: list[sp.csr_matrix] = []  # orthonormal (Frobenius) span of the kept operators
        rate = abs(self.ops.H_S).max() + abs(self.ops.decay).max()
        for a in CONTROL_OBSERVABLES:
            X = self._generator(a)
            R = X.copy()
            for B in basis:
                R = R - _inner(B, R) * B
            norm = math.sqrt(abs(_inner(R, R)))
            # generator scale ||A|| * rate: L^dag(A) vanishes to round-off for a conserved A
            A = sp.csr_matrix(self.control_observable(a))
            if norm > _DEPENDENT * math.sqrt(abs(_inner(A, A))) * rate:
                kept.append(f"gen_{a}")
                basis.append(sp.csr_matrix(R / norm))
        return kept

    @property
    def sampled_names(self) -> list[str]:
        """Every quantity the set's functionals evaluate: :attr:`names`, then (with
        ``controls``) :attr:`control_names`."""
        return [*self.names, *(self.control_names if self.controls else [])]

    def control_observable(self, name: str) -> sp.spmatrix:
        """The observable ``A`` of :data:`CONTROL_OBSERVABLES` called ``name``."""
        ops = self.ops
        zero = sp.csr_matrix((ops.spins.dim, ops.spins.dim), dtype=complex)
        if name in ("H0_h", "H0_c"):
            return ops.H0[name[-1]]
        if name in ("H0_h_sq", "H0_c_sq"):
            H0 = ops.H0[name[3]]
            return H0 @ H0
        if name in ("S2_h", "S2_c"):  # S^2 = S+ S- + Sz^2 - Sz, S+- = sum_n s+-_n
            b = name[-1]
            Sm = sum((ops.sm(b, n) for n in range(self.model.N)), zero)
            Sz = 0.5 * sum((ops.sz(b, n) for n in range(self.model.N)), zero)
            return Sm.conj().T @ Sm + Sz @ Sz - Sz
        if name in ("Gamma_h", "Gamma_c"):
            chans = [c.operator for c in ops.channels if c.bath == name[-1]]
            return sum((L.conj().T @ L for L in chans), zero)
        if name == "H_I":
            return ops.H_I
        H0 = ops.H0["h"]  # flow_h
        return 1j * (H0 @ ops.H_I - ops.H_I @ H0)

    def _generator(self, name: str) -> sp.csr_matrix:
        """``L^dag(A)`` for the observable ``A`` called ``name`` (cached; Hermitian part, to
        remove round-off): ``i[H_S, A] + D_h^dag(A) + D_c^dag(A)``."""
        cache = self.__dict__.setdefault("_generators", {})
        if name not in cache:
            A = sp.csr_matrix(self.control_observable(name), dtype=complex)
            H = self.ops.H_S
            X = 1j * (H @ A - A @ H) + self.ops.adjoint(A, "h") + self.ops.adjoint(A, "c")
            X = sp.csr_matrix(0.5 * (X + X.conj().T))
            X.eliminate_zeros()
            cache[name] = X
        return cache[name]

    @functools.cached_property
    def operators(self) -> dict[str, sp.csr_matrix]:
        """Name -> Hermitian operator ``X`` for every sampled quantity (ordered as
        :attr:`sampled_names`: the selected quantities, then the generator controls)."""
        built: dict[str, sp.spmatrix] = {}
        out = {k: sp.csr_matrix(self._operator(k, built), dtype=complex) for k in self.names}
        out.update((k, self._generator(k[4:])) for k in self.sampled_names[len(self.names) :])
        return out

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
        """Values of the selected linear quantities (:attr:`names`, not the controls) for a
        block vector ``x`` (full length)."""
        vals = self.functionals[: len(self.names)] @ x
        return dict(zip(self.names, np.real(vals).tolist(), strict=True))

    def evaluate_support(self, xs: np.ndarray) -> np.ndarray:
        """Values for states given on :attr:`support` only.

        Parameters
        ----------
        xs : ndarray, shape (..., len(support))

        Returns
        -------
        ndarray, shape (..., len(sampled_names))
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


def _inner(A: sp.spmatrix, B: sp.spmatrix) -> complex:
    """Frobenius inner product ``Tr[A^dag B]`` of two sparse operators."""
    return complex(A.conj().multiply(B).sum())
