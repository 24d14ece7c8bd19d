"""Independent, dense transcription of the paper (numpy only; no qjump code is used here).

Everything below is written directly from the equations of
``shared/paper/steady-state-coherence-paper.md``:

* the system Hamiltonian, Eqs. (1), (7), (29) (type 1, all-to-all) and (31) (type 2, pairwise);
* the master equation Eq. (4) with the local dissipator Eq. (10), the simultaneous
  ("common") non-local dissipator Eq. (11) and the cascaded non-local dissipator Eq. (15);
  the independent model keeps Eq. (10) only (Sec. IV);
* the explicit current formulas (25), (26), (27)-(28), (32), (34), (36), (38), (42), (43),
  (44), (45) and the coherence quantities (33), (35), (37), (39), (46), (47), (48), (49).

Typos of the paper corrected here (physics notes §3):

* Eq. (35): inside ``(...)_+`` the first operator is ``s^+_{i,nbar}``, not ``s^z``.
* Eq. (45): the second term's operator is ``(s^+_{c,1} s^-_{h,2})_+``.
* Eq. (27)-(28): ``F_{i,n} = [H_I, s^-_{i,n}]`` (the paper writes ``sigma_{i,n}``).

Conventions: qubits ``h1..hN, c1..cN``, qubit 0 is the leftmost Kronecker factor,
``|1>`` excited, ``s+ = |1><0|``, ``s- = |0><1|``, ``s^z = |1><1| - |0><0|``.
Superoperators use row-major vectorisation, ``vec(A X B) = (A kron B^T) vec(X)``.
"""

from __future__ import annotations

import math

import numpy as np

# single-qubit operators in the basis (|0>, |1>)
_SP = np.array([[0.0, 0.0], [1.0, 0.0]])  # |1><0|
_SM = _SP.T.copy()  # |0><1|
_SZ = np.diag([-1.0, 1.0])
_I2 = np.eye(2)


def bose(omega: float, T: float) -> float:
    """``n = 1/(exp(omega/T) - 1)``; 0 at ``T = 0``."""
    if T == 0.0:
        return 0.0
    return 1.0 / math.expm1(omega / T)


def site_op(op: np.ndarray, q: int, n_qubits: int) -> np.ndarray:
    """``I x ... x op (position q) x ... x I`` (dense)."""
    out = np.array([[1.0]])
    for k in range(n_qubits):
        out = np.kron(out, op if k == q else _I2)
    return out


def anti(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return A @ B + B @ A


def comm(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return A @ B - B @ A


def dag(A: np.ndarray) -> np.ndarray:
    return A.conj().T


class PaperReference:
    """The paper's model written out densely.

    Parameters are plain numbers (no qjump objects): ``Omega`` is a length-N vector
    ``Omega_n`` for ``interaction="pairwise"`` (Eq. 31) or an ``N x N`` matrix
    ``Omega_{nn'}`` for ``"all-to-all"`` (Eq. 29).
    """

    def __init__(self, N, omega_h, omega_c, T_h, T_c, g_h, g_c, Omega, interaction, dissipation):
        assert interaction in ("pairwise", "all-to-all")
        assert dissipation in ("independent", "common", "cascaded")
        self.N = int(N)
        self.nq = 2 * self.N
        self.dim = 2**self.nq
        self.omega = {"h": float(omega_h), "c": float(omega_c)}
        self.T = {"h": float(T_h), "c": float(T_c)}
        self.g = {"h": np.asarray(g_h, float), "c": np.asarray(g_c, float)}
        self.nbar = {i: bose(self.omega[i], self.T[i]) for i in "hc"}
        self.interaction = interaction
        self.dissipation = dissipation
        if interaction == "pairwise":
            self.Omega = np.asarray(Omega, float).reshape(self.N)
        else:
            self.Omega = np.asarray(Omega, float).reshape(self.N, self.N)
        # sigma operators, 1-based site indices as in the paper
        self._ops = {}
        for i, off in (("h", 0), ("c", self.N)):
            for n in range(1, self.N + 1):
                q = off + n - 1
                self._ops[("+", i, n)] = site_op(_SP, q, self.nq)
                self._ops[("-", i, n)] = site_op(_SM, q, self.nq)
                self._ops[("z", i, n)] = site_op(_SZ, q, self.nq)

    @classmethod
    def from_model(cls, model) -> PaperReference:
        """Read the plain parameters of a ``qjump.PaperModel`` (only its fields)."""
        return cls(
            model.N,
            model.omega_h,
            model.omega_c,
            model.T_h,
            model.T_c,
            list(model.g_h),
            list(model.g_c),
            np.array(model.Omega, dtype=float),
            model.interaction,
            model.dissipation,
        )

    # -------------------------------------------------------------- operators
    def sp(self, i, n):
        return self._ops[("+", i, n)]

    def sm(self, i, n):
        return self._ops[("-", i, n)]

    def sz(self, i, n):
        return self._ops[("z", i, n)]

    def gamma_minus(self, i, k, l):
        """``gamma^-_{i,kl} = g_{i,k} g_{i,l} (n_i + 1)`` (1-based k, l)."""
        return self.g[i][k - 1] * self.g[i][l - 1] * (self.nbar[i] + 1.0)

    def gamma_plus(self, i, k, l):
        """``gamma^+_{i,kl} = g_{i,k} g_{i,l} n_i``."""
        return self.g[i][k - 1] * self.g[i][l - 1] * self.nbar[i]

    def H0(self, i):
        """``sum_n H_{S_{i,n}} = sum_n omega_i s+_{i,n} s-_{i,n}``, Eq. (7)."""
        return sum(self.omega[i] * self.sp(i, n) @ self.sm(i, n) for n in range(1, self.N + 1))

    def H_I(self):
        """Eq. (29) (all-to-all) or Eq. (31) (pairwise)."""
        H = np.zeros((self.dim, self.dim))
        rng = range(1, self.N + 1)
        if self.interaction == "pairwise":
            for n in rng:
                H = H + self.Omega[n - 1] * (
                    self.sp("h", n) @ self.sm("c", n) + self.sm("h", n) @ self.sp("c", n)
                )
        else:
            for n in rng:
                for n2 in rng:
                    H = H + self.Omega[n - 1, n2 - 1] * (
                        self.sp("h", n) @ self.sm("c", n2) + self.sm("h", n) @ self.sp("c", n2)
                    )
        return H

    def H_S(self):
        """Eq. (1)."""
        return self.H0("h") + self.H0("c") + self.H_I()

    # -------------------------------------------------------------- dissipators (maps)
    def D_loc(self, i, rho):
        """Eq. (10)."""
        out = np.zeros_like(rho, dtype=complex)
        for n in range(1, self.N + 1):
            sp_, sm_ = self.sp(i, n), self.sm(i, n)
            out += self.gamma_minus(i, n, n) * (sm_ @ rho @ sp_ - 0.5 * anti(sp_ @ sm_, rho))
            out += self.gamma_plus(i, n, n) * (sp_ @ rho @ sm_ - 0.5 * anti(sm_ @ sp_, rho))
        return out

    def D_nonloc_common(self, i, rho):
        """Eq. (11): sum over n' != n."""
        out = np.zeros_like(rho, dtype=complex)
        for n in range(1, self.N + 1):
            for n2 in range(1, self.N + 1):
                if n2 == n:
                    continue
                gm, gp = self.gamma_minus(i, n, n2), self.gamma_plus(i, n, n2)
                out += gm * (
                    self.sm(i, n) @ rho @ self.sp(i, n2)
                    - 0.5 * anti(self.sp(i, n) @ self.sm(i, n2), rho)
                )
                out += gp * (
                    self.sp(i, n) @ rho @ self.sm(i, n2)
                    - 0.5 * anti(self.sm(i, n) @ self.sp(i, n2), rho)
                )
        return out

    def D_nonloc_cascaded(self, i, rho):
        """Eq. (15): sum over n' > n."""
        out = np.zeros_like(rho, dtype=complex)
        for n in range(1, self.N + 1):
            for n2 in range(n + 1, self.N + 1):
                gm, gp = self.gamma_minus(i, n, n2), self.gamma_plus(i, n, n2)
                out += gm * (
                    self.sm(i, n) @ comm(rho, self.sp(i, n2))
                    + comm(self.sm(i, n2), rho) @ self.sp(i, n)
                )
                out += gp * (
                    self.sp(i, n) @ comm(rho, self.sm(i, n2))
                    + comm(self.sp(i, n2), rho) @ self.sm(i, n)
                )
        return out

    def D_nonloc(self, i, rho):
        if self.dissipation == "common":
            return self.D_nonloc_common(i, rho)
        if self.dissipation == "cascaded":
            return self.D_nonloc_cascaded(i, rho)
        return np.zeros_like(rho, dtype=complex)

    def D(self, i, rho):
        return self.D_loc(i, rho) + self.D_nonloc(i, rho)

    def rhs(self, rho):
        """Eq. (4): ``-i[H_S, rho] + sum_i D_loc^(i) + D_nonloc^(i)``."""
        return -1j * comm(self.H_S(), rho) + self.D("h", rho) + self.D("c", rho)

    # -------------------------------------------------------------- superoperators
    def liouvillian_by_columns(self):
        """Dense Liouvillian built by applying Eq. (4) to every matrix unit ``E_ab``.

        Column ``a*dim + b`` is ``vec(L(E_ab))`` (row-major).  Independent of any
        Kronecker-product identity; use for N <= 2.
        """
        d = self.dim
        L = np.zeros((d * d, d * d), dtype=complex)
        H = self.H_S()
        for a in range(d):
            for b in range(d):
                E = np.zeros((d, d), dtype=complex)
                E[a, b] = 1.0
                L[:, a * d + b] = (-1j * comm(H, E) + self.D("h", E) + self.D("c", E)).reshape(-1)
        return L

    def liouvillian(self):
        """Dense Liouvillian of Eq. (4) via ``vec(A X B) = (A kron B^T) vec(X)``."""
        d = self.dim
        eye = np.eye(d)

        def lr(A, B):  # X -> A X B
            return np.kron(A, B.T)

        H = self.H_S()
        L = -1j * (lr(H, eye) - lr(eye, H))
        for i in "hc":
            for n in range(1, self.N + 1):
                sp_, sm_ = self.sp(i, n), self.sm(i, n)
                gm, gp = self.gamma_minus(i, n, n), self.gamma_plus(i, n, n)
                L += gm * (lr(sm_, sp_) - 0.5 * lr(sp_ @ sm_, eye) - 0.5 * lr(eye, sp_ @ sm_))
                L += gp * (lr(sp_, sm_) - 0.5 * lr(sm_ @ sp_, eye) - 0.5 * lr(eye, sm_ @ sp_))
            for n in range(1, self.N + 1):
                for n2 in range(1, self.N + 1):
                    gm, gp = self.gamma_minus(i, n, n2), self.gamma_plus(i, n, n2)
                    if self.dissipation == "common" and n2 != n:
                        A, B = self.sp(i, n) @ self.sm(i, n2), self.sm(i, n) @ self.sp(i, n2)
                        L += gm * (
                            lr(self.sm(i, n), self.sp(i, n2)) - 0.5 * lr(A, eye) - 0.5 * lr(eye, A)
                        )
                        L += gp * (
                            lr(self.sp(i, n), self.sm(i, n2)) - 0.5 * lr(B, eye) - 0.5 * lr(eye, B)
                        )
                    elif self.dissipation == "cascaded" and n2 > n:
                        for g_, a, b in ((gm, "-", "+"), (gp, "+", "-")):
                            Xn = self._ops[(a, i, n)]  # s^-_n (or s^+_n)
                            Yn2 = self._ops[(b, i, n2)]  # s^+_n' (or s^-_n')
                            Xn2 = self._ops[(a, i, n2)]  # s^-_n'
                            Yn = self._ops[(b, i, n)]  # s^+_n
                            # Xn [rho, Yn2] + [Xn2, rho] Yn
                            L += g_ * (
                                lr(Xn, Yn2) - lr(Xn @ Yn2, eye) + lr(Xn2, Yn) - lr(eye, Yn @ Xn2)
                            )
        return L

    def steady_state(self):
        """Normalised null vector of the dense Liouvillian (N <= 2).

        Returns ``(rho, singular_values)``; the two smallest singular values tell whether
        the null space is one-dimensional.
        """
        L = self.liouvillian()
        _, s, vh = np.linalg.svd(L)
        x = vh[-1].conj()
        rho = x.reshape(self.dim, self.dim)
        rho = rho / np.trace(rho)
        rho = 0.5 * (rho + dag(rho))
        return rho, s

    # -------------------------------------------------------------- thermodynamics by definition
    def heat_by_definition(self, rho, i, part="total"):
        """``Tr[H0_i D(rho)]`` with the paper's dissipators (energy into the system)."""
        D = {"loc": self.D_loc, "nonloc": self.D_nonloc, "total": self.D}[part]
        return float(np.real(np.trace(self.H0(i) @ D(i, rho))))

    def work_by_definition(self, rho, part="total"):
        D = {"loc": self.D_loc, "nonloc": self.D_nonloc, "total": self.D}[part]
        HI = self.H_I()
        return float(np.real(sum(np.trace(HI @ D(i, rho)) for i in "hc")))

    # -------------------------------------------------------------- explicit formulas
    @staticmethod
    def ev(rho, X):
        return np.trace(X @ rho)

    def plus(self, A, B):
        """``(A B)_+ = A B + A^dag B^dag`` for ``A = s^+_mu``, ``B = s^-_nu``."""
        return A @ B + dag(A) @ dag(B)

    def Q_loc_eq25(self, rho, i):
        """Eq. (25)."""
        tot = 0.0
        for n in range(1, self.N + 1):
            tot += self.gamma_plus(i, n, n) * self.ev(
                rho, self.sm(i, n) @ self.sp(i, n)
            ) - self.gamma_minus(i, n, n) * self.ev(rho, self.sp(i, n) @ self.sm(i, n))
        return float(np.real(self.omega[i] * tot))

    def Q_nonloc_eq26(self, rho, i):
        """Eq. (26) (common bath): ``1/2 omega_i sum_{n' != n} (g+ - g-) <(s+_n s-_n')_+>``."""
        tot = 0.0
        for n in range(1, self.N + 1):
            for n2 in range(1, self.N + 1):
                if n2 != n:
                    tot += (self.gamma_plus(i, n, n2) - self.gamma_minus(i, n, n2)) * self.ev(
                        rho, self.plus(self.sp(i, n), self.sm(i, n2))
                    )
        return float(np.real(0.5 * self.omega[i] * tot))

    def Q_nonloc_eq43(self, rho, i):
        """Eq. (43) (cascaded): ``omega_i sum_{n' > n} (g+ - g-) <(s+_n s-_n')_+>``."""
        tot = 0.0
        for n in range(1, self.N + 1):
            for n2 in range(n + 1, self.N + 1):
                tot += (self.gamma_plus(i, n, n2) - self.gamma_minus(i, n, n2)) * self.ev(
                    rho, self.plus(self.sp(i, n), self.sm(i, n2))
                )
        return float(np.real(self.omega[i] * tot))

    def F(self, i, n):
        """``F_{i,n} = [H_I, s^-_{i,n}]`` (Eqs. 27-28)."""
        return comm(self.H_I(), self.sm(i, n))

    def W_loc_eq27(self, rho):
        """Eq. (27)."""
        tot = 0.0
        for i in "hc":
            for n in range(1, self.N + 1):
                Fn = self.F(i, n)
                tot += self.gamma_minus(i, n, n) * self.ev(
                    rho, self.sp(i, n) @ Fn
                ) - self.gamma_plus(i, n, n) * self.ev(rho, Fn @ self.sp(i, n))
        return float(np.real(0.5 * tot + np.conj(0.5 * tot)))

    def W_nonloc_eq28(self, rho):
        """Eq. (28) (common bath, n != n')."""
        tot = 0.0
        for i in "hc":
            for n in range(1, self.N + 1):
                for n2 in range(1, self.N + 1):
                    if n2 == n:
                        continue
                    F2 = self.F(i, n2)
                    tot += self.gamma_minus(i, n, n2) * self.ev(
                        rho, self.sp(i, n) @ F2
                    ) - self.gamma_plus(i, n, n2) * self.ev(rho, F2 @ self.sp(i, n))
        return float(np.real(0.5 * tot + np.conj(0.5 * tot)))

    def W_nonloc_eq42(self, rho):
        """Eq. (42) (cascaded, n' > n, no factor 1/2)."""
        tot = 0.0
        for i in "hc":
            for n in range(1, self.N + 1):
                for n2 in range(n + 1, self.N + 1):
                    F2 = self.F(i, n2)
                    tot += self.gamma_minus(i, n, n2) * self.ev(
                        rho, self.sp(i, n) @ F2
                    ) - self.gamma_plus(i, n, n2) * self.ev(rho, F2 @ self.sp(i, n))
        return float(np.real(tot + np.conj(tot)))

    # ---- N = 2 explicit forms -------------------------------------------------------
    def _Gam(self, n, n2):
        """``Gamma_{h n c n'} = g-_{h,nn} + g+_{h,nn} + g-_{c,n'n'} + g+_{c,n'n'}``."""
        return (
            self.gamma_minus("h", n, n)
            + self.gamma_plus("h", n, n)
            + self.gamma_minus("c", n2, n2)
            + self.gamma_plus("c", n2, n2)
        )

    def _pair(self, rho, i, n, j, m):
        """``<(s^+_{i,n} s^-_{j,m})_+>``."""
        return float(np.real(self.ev(rho, self.plus(self.sp(i, n), self.sm(j, m)))))

    def _zpair(self, rho, iz, nz, i, n, j, m):
        """``<s^z_{iz,nz} (s^+_{i,n} s^-_{j,m})_+>``."""
        return float(
            np.real(self.ev(rho, self.sz(iz, nz) @ self.plus(self.sp(i, n), self.sm(j, m))))
        )

    def _Om1(self, n, n2):
        return self.Omega[n - 1, n2 - 1]

    def W_loc_eq32(self, rho):
        """Eq. (32), type 1, N = 2."""
        O = self._Om1
        return -0.5 * (
            O(1, 1) * self._Gam(1, 1) * self._pair(rho, "h", 1, "c", 1)
            + O(2, 2) * self._Gam(2, 2) * self._pair(rho, "h", 2, "c", 2)
            + O(1, 2) * self._Gam(1, 2) * self._pair(rho, "h", 1, "c", 2)
            + O(2, 1) * self._Gam(2, 1) * self._pair(rho, "h", 2, "c", 1)
        )

    def W_loc_eq36(self, rho):
        """Eq. (36), type 2, N = 2."""
        O = self.Omega
        return -0.5 * (
            O[0] * self._Gam(1, 1) * self._pair(rho, "h", 1, "c", 1)
            + O[1] * self._Gam(2, 2) * self._pair(rho, "h", 2, "c", 2)
        )

    def _dg(self, i):
        return self.gamma_minus(i, 1, 2) - self.gamma_plus(i, 1, 2)

    def W_nonloc_eq34(self, rho):
        """Eq. (34), common, type 1, N = 2."""
        O, z = self._Om1, self._zpair
        h = (
            O(1, 1) * z(rho, "h", 1, "h", 2, "c", 1)
            + O(1, 2) * z(rho, "h", 1, "h", 2, "c", 2)
            + O(2, 1) * z(rho, "h", 2, "h", 1, "c", 1)
            + O(2, 2) * z(rho, "h", 2, "h", 1, "c", 2)
        )
        c = (
            O(1, 1) * z(rho, "c", 1, "c", 2, "h", 1)
            + O(2, 1) * z(rho, "c", 1, "c", 2, "h", 2)
            + O(1, 2) * z(rho, "c", 2, "c", 1, "h", 1)
            + O(2, 2) * z(rho, "c", 2, "c", 1, "h", 2)
        )
        return 0.5 * self._dg("h") * h + 0.5 * self._dg("c") * c

    def W_nonloc_eq38(self, rho):
        """Eq. (38), common, type 2, N = 2."""
        O, z = self.Omega, self._zpair
        h = O[0] * z(rho, "h", 1, "h", 2, "c", 1) + O[1] * z(rho, "h", 2, "h", 1, "c", 2)
        c = O[0] * z(rho, "c", 1, "c", 2, "h", 1) + O[1] * z(rho, "c", 2, "c", 1, "h", 2)
        return 0.5 * self._dg("h") * h + 0.5 * self._dg("c") * c

    def W_nonloc_eq44(self, rho):
        """Eq. (44), cascaded, type 1, N = 2."""
        O, z = self._Om1, self._zpair
        h = O(2, 1) * z(rho, "h", 2, "h", 1, "c", 1) + O(2, 2) * z(rho, "h", 2, "h", 1, "c", 2)
        c = O(1, 2) * z(rho, "c", 2, "c", 1, "h", 1) + O(2, 2) * z(rho, "c", 2, "c", 1, "h", 2)
        return self._dg("h") * h + self._dg("c") * c

    def W_nonloc_eq45(self, rho):
        """Eq. (45), cascaded, type 2, N = 2 (second operator corrected to (s+_c1 s-_h2)_+)."""
        z = self._zpair
        O2 = self.Omega[1]
        return O2 * self._dg("h") * z(rho, "h", 2, "h", 1, "c", 2) + O2 * self._dg("c") * z(
            rho, "c", 2, "c", 1, "h", 2
        )

    # ---- coherence quantities ----------------------------------------------------------
    def C_loc_eq33(self, rho):
        """Eq. (33): ``-2 sum_{n,n'} Re <s+_{h,n} s-_{c,n'}>``."""
        return float(
            -2
            * sum(
                np.real(self.ev(rho, self.sp("h", n) @ self.sm("c", n2)))
                for n in (1, 2)
                for n2 in (1, 2)
            )
        )

    def C_loc_eq37(self, rho):
        """Eq. (37): ``-2 sum_n Re <s+_{h,n} s-_{c,n}>``."""
        return float(
            -2 * sum(np.real(self.ev(rho, self.sp("h", n) @ self.sm("c", n))) for n in (1, 2))
        )

    @staticmethod
    def _other(i):
        return "c" if i == "h" else "h"

    def C_nonloc_eq35(self, rho):
        """Eq. (35) corrected.

        ``sum_{i!=i'} sum_{n!=nbar, n'} <s^z_{i,n} (s+_{i,nbar} s-_{i',n'})_+>``.
        """
        return sum(
            self._zpair(rho, i, n, i, nb, self._other(i), n2)
            for i in "hc"
            for n in (1, 2)
            for nb in (1, 2)
            if nb != n
            for n2 in (1, 2)
        )

    def C_nonloc_eq39(self, rho):
        """Eq. (39): ``sum_{i!=i'} sum_{n!=nbar} <s^z_{i,n} (s+_{i,nbar} s-_{i',n})_+>``."""
        return sum(
            self._zpair(rho, i, n, i, nb, self._other(i), n)
            for i in "hc"
            for n in (1, 2)
            for nb in (1, 2)
            if nb != n
        )

    def C_nonloc_eq46(self, rho):
        """Eq. (46): ``sum_{i!=i'} sum_n <s^z_{i,2} (s+_{i,1} s-_{i',n})_+>``."""
        return sum(self._zpair(rho, i, 2, i, 1, self._other(i), n) for i in "hc" for n in (1, 2))

    def C_nonloc_eq47(self, rho):
        """Eq. (47): ``sum_{i!=i'} <s^z_{i,2} (s+_{i,1} s-_{i',2})_+>``."""
        return sum(self._zpair(rho, i, 2, i, 1, self._other(i), 2) for i in "hc")

    def _zprod(self, rho, iz, nz, i, n, j, m):
        return float(np.real(self.ev(rho, self.sz(iz, nz)))) * self._pair(rho, i, n, j, m)

    def C_product_eq48(self, rho):
        """Eq. (48): ``sum_{i!=i'} sum_{n!=nbar} <s^z_{i,n}> <(s+_{i,nbar} s-_{i',n})_+>``."""
        return sum(
            self._zprod(rho, i, n, i, nb, self._other(i), n)
            for i in "hc"
            for n in (1, 2)
            for nb in (1, 2)
            if nb != n
        )

    def C_product_eq49(self, rho):
        """Eq. (49): ``sum_{i!=i'} <s^z_{i,2}> <(s+_{i,1} s-_{i',2})_+>``."""
        return sum(self._zprod(rho, i, 2, i, 1, self._other(i), 2) for i in "hc")

    def C_product_type1_common(self, rho):
        """Factorised analogue of Eq. (35) (the paper gives no product form for type 1)."""
        return sum(
            self._zprod(rho, i, n, i, nb, self._other(i), n2)
            for i in "hc"
            for n in (1, 2)
            for nb in (1, 2)
            if nb != n
            for n2 in (1, 2)
        )

    def C_product_type1_cascaded(self, rho):
        """Factorised analogue of Eq. (46)."""
        return sum(self._zprod(rho, i, 2, i, 1, self._other(i), n) for i in "hc" for n in (1, 2))

    # -------------------------------------------------------------- counting statistics
    def jump_terms(self, i, rho):
        """Sandwich terms of bath ``i``'s dissipator: ``(emission, absorption)`` maps.

        Read off Eqs. (10), (11) and (15): every term of the form ``s^-_n rho s^+_n'``
        (weight ``gamma^-_{i,nn'}``) moves a quantum into bath ``i`` (emission), every
        ``s^+_n rho s^-_n'`` (weight ``gamma^+_{i,nn'}``) takes one out (absorption).  Eq. (10)
        has ``n = n'``; Eq. (11) adds all ``n != n'``; Eq. (15) adds, for ``n' > n``,
        ``s^-_n rho s^+_n' + s^-_n' rho s^+_n`` (from ``s^-_n [rho, s^+_n'] + [s^-_n', rho]
        s^+_n``), i.e. again all ``n != n'``.
        """
        emit = np.zeros_like(rho, dtype=complex)
        absorb = np.zeros_like(rho, dtype=complex)
        pairs = [(n, n) for n in range(1, self.N + 1)]
        if self.dissipation == "common":
            pairs += [
                (n, n2) for n in range(1, self.N + 1) for n2 in range(1, self.N + 1) if n2 != n
            ]
        elif self.dissipation == "cascaded":
            for n in range(1, self.N + 1):
                for n2 in range(n + 1, self.N + 1):
                    pairs += [(n, n2), (n2, n)]
        for n, n2 in pairs:
            emit += self.gamma_minus(i, n, n2) * (self.sm(i, n) @ rho @ self.sp(i, n2))
            absorb += self.gamma_plus(i, n, n2) * (self.sp(i, n) @ rho @ self.sm(i, n2))
        return emit, absorb

    def tilted_parts_by_columns(self, bath="h"):
        """``(L, J_emit, J_absorb)`` as dense matrices, column by column (row-major vec).

        The tilted generator of the net quanta absorbed from ``bath`` is
        ``L(s) = L + (e^{-s} - 1) J_emit + (e^{s} - 1) J_absorb``.
        """
        d = self.dim
        L = self.liouvillian_by_columns()
        Je = np.zeros((d * d, d * d), dtype=complex)
        Ja = np.zeros((d * d, d * d), dtype=complex)
        for a in range(d):
            for b in range(d):
                E = np.zeros((d, d), dtype=complex)
                E[a, b] = 1.0
                emit, absorb = self.jump_terms(bath, E)
                Je[:, a * d + b] = emit.reshape(-1)
                Ja[:, a * d + b] = absorb.reshape(-1)
        return L, Je, Ja


class TiltedReference:
    """SCGF of the net quanta absorbed from one bath, from :class:`PaperReference` (N <= 2).

    ``theta(s)`` is the eigenvalue of ``L(s)`` with the largest real part (dense
    diagonalisation on the excitation-conserving operators, no shift-invert); cumulants
    are central finite differences of ``theta`` on a 9-point stencil.
    """

    def __init__(self, ref: PaperReference, bath: str = "h"):
        self.ref = ref
        self.bath = bath
        L, Je, Ja = ref.tilted_parts_by_columns(bath)
        # Operators |a><b| with equal excitation numbers of a and b span an invariant
        # subspace that holds the steady state; theta(s) is the top eigenvalue there.
        # ``leak`` (the largest entry mapping that subspace out of itself) must be zero.
        n_exc = np.array([bin(a).count("1") for a in range(ref.dim)])
        inside = (n_exc[:, None] == n_exc[None, :]).reshape(-1)
        self.leak = max(float(np.abs(M[~inside][:, inside]).max()) for M in (L, Je, Ja))
        self.L, self.Je, self.Ja = (M[inside][:, inside] for M in (L, Je, Ja))

    def generator(self, s: float) -> np.ndarray:
        return self.L + math.expm1(-s) * self.Je + math.expm1(s) * self.Ja

    def scgf(self, s) -> np.ndarray:
        s = np.atleast_1d(np.asarray(s, float))
        return np.array([np.max(np.linalg.eigvals(self.generator(x)).real) for x in s])

    def cumulants(self, h: float = 0.02) -> tuple[float, float, float]:
        """``theta'(0), theta''(0), theta'''(0)`` from a 9-point central stencil."""
        j = np.arange(-4, 5, dtype=float)
        theta = self.scgf(j * h)
        V = np.vander(j, increasing=True).T
        out = []
        for order in (1, 2, 3):
            rhs = np.zeros(j.size)
            rhs[order] = math.factorial(order)
            out.append(float(np.linalg.solve(V, rhs) @ theta / h**order))
        return tuple(out)
