"""Quantum-jump trajectories for very large sectors (``N >= 7``): Krylov propagation.

For sectors too large for a dense eigendecomposition (``d > EIGEN_SECTOR_MAX``, i.e. the
``C(14, 7) = 3432`` and ``C(16, 8) = 12870`` sectors of ``N = 7, 8``) the no-jump state is
propagated with a restarted Arnoldi (Krylov) method on the sparse sector block ``H_k`` of
``H_eff``.  The algorithm is the same unravelling as :mod:`qjump.trajectories.kernel` (same jump
rule,
same channel choice, same observation grid); only the propagator differs.

Error control
-------------
From the normalised state ``psi`` an Arnoldi process builds an orthonormal basis ``Q_m`` and
the Hessenberg matrix ``H_m = Q_m^dag H_k Q_m`` (``m <= 30``), and for ``0 <= s <= h``

    psi(s) ~ Q_m exp(-i s H_m) e_1.

The a-posteriori estimate of Saad (1992) for the error of this approximation,

    err(h) = h_{m+1,m} |e_m^T h phi_1(-i h H_m) e_1|,   phi_1(z) = (e^z - 1)/z,

(evaluated exactly from the exponential of the augmented ``(m+1) x (m+1)`` matrix) is kept
below ``KRYLOV_TOL = 1e-9`` (absolute, for a unit-norm start) by halving the step ``h``; the
next step starts from ``2 h`` (adaptive step).  If the Arnoldi process breaks down
(``h_{m+1,m} ~ 0``) the subspace is invariant and the step is exact for any ``h``.

Within an accepted step everything is evaluated in the small subspace: ``H_m = W diag(mu)
W^-1`` gives the squared norm ``n(s) = ||W diag(exp(-i mu s)) W^-1 e_1||^2`` in ``O(m^2)``,
so the jump time (``n(s) = r``, with ``r`` the pending uniform target rescaled by the norms of
the earlier steps) is found by Brent's method on ``ln n(s) - ln r`` to ``1e-12`` absolute
in time, and samples at grid times inside the step are ``Q_m exp(-i s H_m) e_1``.  The
jump-time error is therefore dominated by the propagation error ``<= 1e-9`` per step.

This path is written in Python/NumPy (the per-step cost is dominated by ``m`` sparse
matrix-vector products of size ``d``), and is meant for runs that "complete and report" at
``N = 8``, not for high-statistics work.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import scipy.linalg as la
from scipy.optimize import brentq

from ..model import PaperModel
from ..system.context import model_system

__all__ = ["KRYLOV_TOL", "KrylovUnravelling", "krylov_unravelling", "run_trajectory_krylov"]

#: Bound on the a-posteriori Krylov error estimate per step (unit-norm start).
KRYLOV_TOL = 1e-9
#: Maximum Krylov dimension.
KRYLOV_M = 30


@dataclasses.dataclass(frozen=True, eq=False)
class KrylovUnravelling:
    """Sparse sector blocks of ``H_eff`` and the jump operators (no dense matrices)."""

    model: PaperModel
    dims: np.ndarray
    H: list  # sparse H_eff blocks per sector
    jumps: list  # jumps[k]: list of (channel index, k2, sparse block L_j^(k -> k2))
    ch_bath: np.ndarray
    ch_kind: np.ndarray
    ch_site: np.ndarray
    sup_ptr: np.ndarray
    sup_a: np.ndarray
    sup_b: np.ndarray
    sup_energy: np.ndarray
    support: np.ndarray
    omega: np.ndarray


@functools.lru_cache(maxsize=4)
def krylov_unravelling(model: PaperModel) -> KrylovUnravelling:
    """Build (and cache) the sparse arrays of the Krylov path."""
    from .kernel import ABSORPTION, EMISSION, _support_arrays

    ctx = model_system(model)
    ops, spins = ctx.ops, ctx.ops.spins
    dims = np.array(spins.sector_dims, dtype=np.int64)
    K = dims.size
    H = [spins.block(ops.H_eff, k, k).tocsr() for k in range(K)]
    jumps: list[list] = [[] for _ in range(K)]
    for j, _, k, k2, Lb in ops.jump_blocks():
        jumps[k].append((j, k2, Lb))
    sup_ptr, sup_a, sup_b, sup_energy, support = _support_arrays(ctx, dims)
    chans = ops.channels
    return KrylovUnravelling(
        model=model, dims=dims, H=H, jumps=jumps,
        ch_bath=np.array([0 if c.bath == "h" else 1 for c in chans], np.int64),
        ch_kind=np.array([ABSORPTION if c.kind == "absorption" else EMISSION for c in chans],
                         np.int64),
        ch_site=np.array([-1 if c.site is None else c.site for c in chans], np.int64),
        sup_ptr=sup_ptr, sup_a=sup_a, sup_b=sup_b, sup_energy=sup_energy, support=support,
        omega=np.array([model.omega_h, model.omega_c]),
    )


class _Step:
    """One Krylov subspace from a unit-norm ``psi``: ``psi(s) = Q exp(-i s Hm) e1``."""

    def __init__(self, H, psi: np.ndarray, m_max: int) -> None:
        d = psi.size
        m_max = min(m_max, d)
        Q = np.empty((m_max + 1, d), complex)
        Hm = np.zeros((m_max + 1, m_max), complex)
        Q[0] = psi
        m = m_max
        self.breakdown = False
        for j in range(m_max):
            w = H @ Q[j]
            for _ in range(2):  # re-orthogonalised Gram-Schmidt
                c = Q[: j + 1].conj() @ w
                w -= c @ Q[: j + 1]
                Hm[: j + 1, j] += c
            beta = np.linalg.norm(w)
            Hm[j + 1, j] = beta
            if beta < 1e-12:
                m = j + 1
                self.breakdown = True
                break
            Q[j + 1] = w / beta
        self.m = m
        self.Q = Q[:m]
        self.Hm = Hm[:m, :m]
        self.beta = 0.0 if self.breakdown else float(Hm[m, m - 1].real)
        mu, W = np.linalg.eig(self.Hm)
        self.mu = mu
        self.W = W
        self.c = np.linalg.solve(W, np.eye(m, 1, dtype=complex)[:, 0])

    def error(self, h: float) -> float:
        """Saad's a-posteriori error estimate of the step ``h``."""
        if self.breakdown:
            return 0.0
        m = self.m
        aug = np.zeros((m + 1, m + 1), complex)
        aug[:m, :m] = -1j * h * self.Hm
        aug[0, m] = 1.0  # top-right column of expm(aug) is h phi_1(-i h Hm) e1 / h
        col = la.expm(aug)[:m, m]
        return self.beta * h * abs(col[m - 1])

    def coeff(self, s: float) -> np.ndarray:
        return self.W @ (np.exp(-1j * self.mu * s) * self.c)

    def norm2(self, s: float) -> float:
        y = self.coeff(s)
        return float(np.vdot(y, y).real)

    def state(self, s: float) -> np.ndarray:
        return self.coeff(s) @ self.Q


def _log_gap(s: float, step: _Step, log_target: float) -> float:
    return math.log(max(step.norm2(s), 1e-300)) - log_target


def run_trajectory_krylov(model: PaperModel, spec, seed: np.random.SeedSequence):
    """:func:`qjump.trajectories.trajectory.run_trajectory` for models with very large sectors."""
    from .trajectory import TrajectoryOutput, _initial_state

    un = krylov_unravelling(model)
    rng = np.random.default_rng(seed)
    k, psi = _initial_state(model, spec, rng)
    psi = psi / np.linalg.norm(psi)
    n_windows = spec.n_windows
    counts = np.zeros((n_windows, 2, 2), np.int64)
    edge_energy = np.zeros(n_windows + 1)
    acc = np.zeros(un.support.size, complex)
    rec_t: list[float] = []
    rec_ch: list[int] = []
    t = 0.0
    next_sample = spec.burn_in + 0.5 * spec.sample_interval
    n_samples = 0
    next_edge = 0
    target = rng.random()
    h = 0.5

    def observe(state: np.ndarray, k: int, energy: bool):
        lo, hi = un.sup_ptr[k], un.sup_ptr[k + 1]
        state = state / np.linalg.norm(state)
        rho = state[un.sup_a[lo:hi]] * np.conj(state[un.sup_b[lo:hi]])
        if energy:
            return float((un.sup_energy[lo:hi] * rho).real.sum())
        acc[lo:hi] += rho
        return 0.0

    while t < spec.t_final:
        step = _Step(un.H[k], psi, KRYLOV_M)
        h = min(2.0 * h, spec.t_final - t) if not step.breakdown else spec.t_final - t
        while step.error(h) > KRYLOV_TOL:
            h *= 0.5
        n_end = step.norm2(h)
        s_jump = math.inf
        if n_end <= target:
            s_jump = brentq(_log_gap, 0.0, h, args=(step, math.log(target)), xtol=1e-12,
                            rtol=4 * np.finfo(float).eps)
        s_end = min(s_jump, h)
        # observations inside [t, t + s_end)
        while True:
            t_edge = spec.burn_in + next_edge * spec.window if next_edge <= n_windows else math.inf
            if t_edge <= next_sample and t_edge < t + s_end:
                edge_energy[next_edge] = observe(step.state(t_edge - t), k, True)
                next_edge += 1
            elif next_sample < t + s_end:
                observe(step.state(next_sample - t), k, False)
                next_sample += spec.sample_interval
                n_samples += 1
            else:
                break
        if s_jump == math.inf:
            psi = step.state(h)
            target /= n_end
            psi /= math.sqrt(n_end)
            t += h
            continue
        pre = step.state(s_jump)
        t += s_jump
        ws = []
        outs = []
        for j, k2, Lb in un.jumps[k]:
            y = Lb @ pre
            ws.append(float(np.vdot(y, y).real))
            outs.append((j, k2, y))
        ws = np.asarray(ws)
        u01 = rng.random() * ws.sum()
        i = min(int(np.searchsorted(np.cumsum(ws), u01, side="right")), ws.size - 1)
        while ws[i] <= 0.0:
            i -= 1
        j, k, y = outs[i]
        psi = y / math.sqrt(ws[i])
        target = rng.random()
        if t >= spec.burn_in:
            w_idx = min(int((t - spec.burn_in) / spec.window), n_windows - 1)
            counts[w_idx, un.ch_bath[j], un.ch_kind[j]] += 1
            if spec.records:
                rec_t.append(t)
                rec_ch.append(j)
    edge_energy[n_windows] = observe(psi, k, True)
    return TrajectoryOutput(
        counts=counts,
        edge_energy=edge_energy,
        state_sum=acc,
        n_samples=n_samples,
        record_time=np.asarray(rec_t) if spec.records else None,
        record_channel=np.asarray(rec_ch, np.int16) if spec.records else None,
    )
