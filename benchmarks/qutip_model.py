"""QuTiP reference implementation of the two-ensemble quantum thermal machine.

This module is benchmark-only: QuTiP is *not* a dependency of ``qjump``. It is built
independently of the package, from the physical description of the model, so that it can
serve as a cross-check and as a performance reference.

Conventions
-----------
* 2N qubits ordered ``h1..hN, c1..cN``; qubit 0 (= h1) is the leftmost tensor factor.
* Single-qubit basis: ``|0>`` = ground (index 0), ``|1>`` = excited (index 1).
  ``sigma+ = |1><0|`` and ``sigma- = |0><1|``. Note that this is *not* QuTiP's own
  ``sigmap()``/``sigmam()`` convention (QuTiP's index 0 is "up"), so the operators are
  built explicitly here.
* ``hbar = kB = 1``.

Model
-----
``H_S = sum_n w_h s+_{h,n} s-_{h,n} + sum_n w_c s+_{c,n} s-_{c,n} + H_I`` with

* ``interaction="pairwise"`` (type 2): ``H_I = sum_n Omega (s+_{h,n} s-_{c,n} + h.c.)``
* ``interaction="all-to-all"`` (type 1): ``H_I = sum_{n,n'} Omega (s+_{h,n} s-_{c,n'} + h.c.)``

Dissipation for each bath ``i in {h, c}`` with ``n_i = 1/(exp(w_i/T_i) - 1)``:

* ``"independent"``: ``sqrt(n_i+1) g_{i,n} s-_{i,n}`` and ``sqrt(n_i) g_{i,n} s+_{i,n}``
* ``"common"``: ``sqrt(n_i+1) J-_i`` and ``sqrt(n_i) J+_i`` with ``J-_i = sum_n g_{i,n} s-_{i,n}``
* ``"cascaded"``: as ``"common"`` plus
  ``H_cas,i = (i/2) sum_{n<n'} g_{i,n} g_{i,n'} (s+_{i,n} s-_{i,n'} - s+_{i,n'} s-_{i,n})``
  added to ``H_S``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import qutip

DISSIPATIONS = ("independent", "common", "cascaded")
INTERACTIONS = ("pairwise", "all-to-all")

_INTERACTION_ALIASES = {
    "pairwise": "pairwise",
    "type2": "pairwise",
    "all-to-all": "all-to-all",
    "alltoall": "all-to-all",
    "all_to_all": "all-to-all",
    "type1": "all-to-all",
}
_DISSIPATION_ALIASES = {
    "independent": "independent",
    "ind": "independent",
    "common": "common",
    "com": "common",
    "cascaded": "cascaded",
    "cas": "cascaded",
}

# sigma+ = |1><0| (|1> = excited, index 1), sigma- = |0><1|.
_SP = qutip.Qobj(np.array([[0.0, 0.0], [1.0, 0.0]]))
_SM = _SP.dag()
_ID2 = qutip.qeye(2)


def default_couplings(N: int) -> np.ndarray:
    """Default system-bath couplings ``g_n = 0.5 + 0.05 (n - 1)`` for ``n = 1..N``."""
    return 0.5 + 0.05 * np.arange(N)


def bose_occupation(omega: float, T: float) -> float:
    """Bose-Einstein occupation ``1/(exp(omega/T) - 1)`` (0 for ``T == 0``)."""
    if T == 0:
        return 0.0
    return 1.0 / np.expm1(omega / T)


def site_op(op: qutip.Qobj, k: int, n_qubits: int) -> qutip.Qobj:
    """Embed the single-qubit operator ``op`` on qubit ``k`` (0 = leftmost) of ``n_qubits``."""
    ops = [_ID2] * n_qubits
    ops[k] = op
    return qutip.tensor(ops)


def ground_state(N: int) -> qutip.Qobj:
    """The all-ground product state ``|0...0>`` of the 2N qubits."""
    return qutip.basis([2] * (2 * N), [0] * (2 * N))


def _canonical(name: str, aliases: dict[str, str], kind: str) -> str:
    try:
        return aliases[name.lower()]
    except KeyError:
        choices = sorted(set(aliases.values()))
        raise ValueError(f"unknown {kind} {name!r}; expected one of {choices}") from None


class ThermalMachineModel:
    """All operators of the model, kept around for heat-current bookkeeping.

    Attributes
    ----------
    H : qutip.Qobj
        Total Hamiltonian ``H_S`` (including ``H_cas`` for cascaded dissipation).
    c_ops : list[qutip.Qobj]
        All collapse operators, hot bath first, then cold bath.
    c_ops_bath : dict[str, list[qutip.Qobj]]
        Collapse operators per bath (``"h"`` and ``"c"``).
    c_op_info : list[tuple[str, float]]
        For each entry of ``c_ops``: ``(bath, energy)`` where ``energy`` is the bare energy
        ``+-omega_i`` that the jump deposits into the system (+ for absorption). Lets a
        trajectory run estimate heat currents by counting jumps.
    H0 : dict[str, qutip.Qobj]
        Bare local Hamiltonians ``H0_h``, ``H0_c``.
    H_I : qutip.Qobj
        Interaction Hamiltonian.
    H_cas : dict[str, qutip.Qobj]
        Cascaded Hamiltonians per bath (zero operators unless ``dissipation="cascaded"``).
    """

    def __init__(
        self,
        N: int,
        dissipation: str = "common",
        interaction: str = "pairwise",
        omega_h: float = 1.5,
        omega_c: float = 1.0,
        T_h: float = 2.0,
        T_c: float = 1.0,
        Omega: float = 0.1,
        g_h: Sequence[float] | None = None,
        g_c: Sequence[float] | None = None,
    ):
        if N < 1:
            raise ValueError("N must be >= 1")
        self.N = N
        self.dissipation = _canonical(dissipation, _DISSIPATION_ALIASES, "dissipation")
        self.interaction = _canonical(interaction, _INTERACTION_ALIASES, "interaction")
        self.omega = {"h": float(omega_h), "c": float(omega_c)}
        self.T = {"h": float(T_h), "c": float(T_c)}
        self.Omega = float(Omega)
        self.g = {
            "h": np.asarray(default_couplings(N) if g_h is None else g_h, dtype=float),
            "c": np.asarray(default_couplings(N) if g_c is None else g_c, dtype=float),
        }
        for side in "hc":
            if self.g[side].shape != (N,):
                raise ValueError(f"g_{side} must have length N={N}")
        self.nbar = {s: bose_occupation(self.omega[s], self.T[s]) for s in "hc"}

        nq = 2 * N
        sp = {
            "h": [site_op(_SP, n, nq) for n in range(N)],
            "c": [site_op(_SP, N + n, nq) for n in range(N)],
        }
        sm = {s: [op.dag() for op in sp[s]] for s in "hc"}
        zero = 0 * site_op(_ID2, 0, nq)

        self.H0 = {
            s: self.omega[s] * sum(p * m for p, m in zip(sp[s], sm[s], strict=True)) for s in "hc"
        }

        if self.interaction == "pairwise":
            hop = sum(sp["h"][n] * sm["c"][n] for n in range(N))
        else:
            hop = sum(sp["h"][n] * sm["c"][m] for n in range(N) for m in range(N))
        self.H_I = self.Omega * (hop + hop.dag())

        self.H_cas = {s: zero for s in "hc"}
        self.c_ops_bath: dict[str, list[qutip.Qobj]] = {}
        self.c_op_info: list[tuple[str, float]] = []
        for s in "hc":
            g, nb = self.g[s], self.nbar[s]
            if self.dissipation == "independent":
                ops = [np.sqrt(nb + 1) * g[n] * sm[s][n] for n in range(N)]
                info = [(s, -self.omega[s])] * N
                if nb > 0:
                    ops += [np.sqrt(nb) * g[n] * sp[s][n] for n in range(N)]
                    info += [(s, self.omega[s])] * N
            else:
                J_minus = sum(g[n] * sm[s][n] for n in range(N))
                ops = [np.sqrt(nb + 1) * J_minus]
                info = [(s, -self.omega[s])]
                if nb > 0:
                    ops += [np.sqrt(nb) * J_minus.dag()]
                    info += [(s, self.omega[s])]
                if self.dissipation == "cascaded" and N > 1:
                    terms = [
                        g[n] * g[m] * (sp[s][n] * sm[s][m] - sp[s][m] * sm[s][n])
                        for n in range(N)
                        for m in range(n + 1, N)
                    ]
                    self.H_cas[s] = 0.5j * sum(terms)
            self.c_ops_bath[s] = ops
            self.c_op_info += info

        self.H = self.H0["h"] + self.H0["c"] + self.H_I + self.H_cas["h"] + self.H_cas["c"]
        self.c_ops = self.c_ops_bath["h"] + self.c_ops_bath["c"]

    # ------------------------------------------------------------------ observables
    def dissipator(self, bath: str, rho: qutip.Qobj) -> qutip.Qobj:
        """Lindblad dissipator ``D_i(rho) = sum_k L rho L^+ - {L^+ L, rho}/2`` of one bath."""
        out = 0 * rho
        for L in self.c_ops_bath[bath]:
            LdL = L.dag() * L
            out += L * rho * L.dag() - 0.5 * (LdL * rho + rho * LdL)
        return out

    def heat_currents(self, rho: qutip.Qobj) -> dict[str, float]:
        """Steady-state energy balance from a density matrix.

        Returns ``Q_h = Tr[H0_h D_h(rho)]``, ``Q_c = Tr[H0_c D_c(rho)]``,
        ``W = sum_i Tr[H_I D_i(rho)]`` and, for cascaded dissipation,
        ``W_cas = sum_i Tr[(H_cas,h + H_cas,c) D_i(rho)]``. In a steady state
        ``Q_h + Q_c + W + W_cas = 0`` (``d<H_S>/dt = 0``); ``balance`` holds that sum.
        """
        D = {s: self.dissipator(s, rho) for s in "hc"}
        Q_h = (self.H0["h"] * D["h"]).tr().real
        Q_c = (self.H0["c"] * D["c"]).tr().real
        W = sum((self.H_I * D[s]).tr().real for s in "hc")
        H_cas = self.H_cas["h"] + self.H_cas["c"]
        W_cas = sum((H_cas * D[s]).tr().real for s in "hc")
        return {
            "Q_h": float(Q_h),
            "Q_c": float(Q_c),
            "W": float(W),
            "W_cas": float(W_cas),
            "balance": float(Q_h + Q_c + W + W_cas),
        }


def build_qutip_model(
    N: int,
    dissipation: str = "common",
    interaction: str = "pairwise",
    omega_h: float = 1.5,
    **kwargs,
) -> tuple[qutip.Qobj, list[qutip.Qobj]]:
    """Return ``(H, c_ops)`` for the thermal machine as QuTiP ``Qobj``'s.

    Extra keyword arguments (``omega_c``, ``T_h``, ``T_c``, ``Omega``, ``g_h``, ``g_c``) are
    forwarded to :class:`ThermalMachineModel`; use that class directly to also get the
    per-bath operators needed for heat currents.
    """
    model = ThermalMachineModel(N, dissipation, interaction, omega_h=omega_h, **kwargs)
    return model.H, model.c_ops


def heat_current_hot(
    rho: qutip.Qobj,
    N: int,
    dissipation: str = "common",
    interaction: str = "pairwise",
    omega_h: float = 1.5,
    **kwargs,
) -> float:
    """``Q_h = Tr[H0_h D_h(rho)]`` for a density matrix of the model with these parameters."""
    model = ThermalMachineModel(N, dissipation, interaction, omega_h=omega_h, **kwargs)
    return model.heat_currents(rho)["Q_h"]


def _self_check() -> None:
    """Print steady-state heat currents for N=2 in all configurations."""
    for diss in DISSIPATIONS:
        for inter in INTERACTIONS:
            model = ThermalMachineModel(2, diss, inter)
            assert (model.H - model.H.dag()).norm() < 1e-12
            rho = qutip.steadystate(model.H, model.c_ops)
            cur = model.heat_currents(rho)
            values = " ".join(f"{k}={v:+.6e}" for k, v in cur.items())
            print(f"N=2 {diss:11s} {inter:10s} {values}")


if __name__ == "__main__":
    _self_check()
