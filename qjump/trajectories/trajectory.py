"""One quantum-jump trajectory: initial state, the compiled kernel, and its raw output.

A trajectory is fully determined by the model, the :class:`TrajectorySpec` and its own
``numpy.random.SeedSequence``.  The run's seed ``S`` gives trajectory ``i`` the child
``SeedSequence(S, spawn_key=(i,))`` (the ``i``-th child of ``SeedSequence(S).spawn``), so any
trajectory can be replayed alone with :func:`run_trajectory`.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from ..liouville.steady import steady_state
from ..model import PaperModel
from ..system.context import model_system
from .kernel import (
    LargeUnravelling,
    Unravelling,
    _observe,
    advance,
    advance_large,
    unravelling,
)

__all__ = ["INITIAL_STATES", "TrajectoryOutput", "TrajectorySpec", "run_trajectory",
           "trajectory_seed"]

INITIAL_STATES = ("thermal", "ground", "steady")


def trajectory_seed(seed: int, trajectory: int) -> np.random.SeedSequence:
    """Seed of trajectory ``trajectory`` of a run with seed ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=(trajectory,))


@dataclasses.dataclass(frozen=True)
class TrajectorySpec:
    """Time grid and options shared by all trajectories of a run.

    Attributes
    ----------
    t_final : float
        End time of each trajectory.
    burn_in : float
        Time discarded before measuring (``0 <= burn_in < t_final``).
    window : float
        Length of the counting windows; the measured interval ``[burn_in, t_final]`` is
        split into ``n_windows`` windows (the last one may be shorter).
    sample_interval : float
        Spacing of the grid on which conditional expectation values are sampled.
    initial_state : {"thermal", "ground", "steady"}
    records : bool
        Keep the raw jump records (after the burn-in).
    """

    t_final: float
    burn_in: float
    window: float
    sample_interval: float
    initial_state: str = "thermal"
    records: bool = False

    @property
    def n_windows(self) -> int:
        return max(1, math.ceil((self.t_final - self.burn_in) / self.window - 1e-12))

    @property
    def measured_time(self) -> float:
        return self.t_final - self.burn_in


@dataclasses.dataclass
class TrajectoryOutput:
    """Raw output of one trajectory.

    Attributes
    ----------
    counts : ndarray, shape (n_windows, 2, 2)
        Jumps per window, bath (0 = h, 1 = c) and kind (0 = emission, 1 = absorption).
    edge_energy : ndarray, shape (n_windows + 1,)
        Conditional energy ``<H_S>`` at the window edges.
    state_sum : ndarray
        Sum over samples of ``psi_a conj(psi_b)/<psi|psi>`` on the quantity support.
    n_samples : int
    record_time, record_channel : ndarray or None
        Raw jump records (time, channel index) when requested.
    """

    counts: np.ndarray
    edge_energy: np.ndarray
    state_sum: np.ndarray
    n_samples: int
    record_time: np.ndarray | None = None
    record_channel: np.ndarray | None = None


def _initial_state(model: PaperModel, spec: TrajectorySpec, rng: np.random.Generator):
    """Sector and computational-basis vector (within the sector) of the initial state."""
    un = unravelling(model)
    spins = model_system(model).spins
    if spec.initial_state == "steady":
        probs, states = _steady_eigenstates(model)
        i = int(np.searchsorted(np.cumsum(probs), rng.random() * probs.sum(), side="right"))
        k, vec = states[min(i, len(states) - 1)]
        return k, vec.astype(complex)
    if spec.initial_state == "ground":
        bits = np.zeros(model.n_qubits, dtype=np.int64)
    elif spec.initial_state == "thermal":
        p = np.array(
            [model.n_h / (2 * model.n_h + 1)] * model.N
            + [model.n_c / (2 * model.n_c + 1)] * model.N
        )
        bits = (rng.random(model.n_qubits) < p).astype(np.int64)
    else:  # validated earlier
        raise ValueError(f"initial_state: unknown value {spec.initial_state!r}")
    index = int(np.sum(bits << (model.n_qubits - 1 - np.arange(model.n_qubits))))
    k = int(bits.sum())
    vec = np.zeros(int(un.dims[k]), complex)
    vec[spins.position[index]] = 1.0
    return k, vec


@functools.lru_cache(maxsize=16)
def _steady_eigenstates(model: PaperModel):
    """Eigen-decomposition of the exact steady state (computed once per model and process)."""
    return steady_state(model).eigenstates()


def run_trajectory(
    model: PaperModel, spec: TrajectorySpec, seed: np.random.SeedSequence
) -> TrajectoryOutput:
    """Run one trajectory (see module docstring).

    Models with sectors above :data:`qjump.trajectories.kernel.EIGEN_SECTOR_MAX` (``N >= 7``) are
    propagated by the Krylov path of :mod:`qjump.trajectories.krylov`.
    """
    un = unravelling(model)
    if not isinstance(un, (Unravelling, LargeUnravelling)):
        from .krylov import run_trajectory_krylov

        return run_trajectory_krylov(model, spec, seed)
    rng = np.random.default_rng(seed)
    k0, vec = _initial_state(model, spec, rng)
    d0 = int(un.dims[k0])
    large = isinstance(un, LargeUnravelling)
    dmax = int(un.dims.max())
    phi = np.zeros(dmax, complex)
    if large:
        phi[:d0] = un.sector("Vinv", k0) @ vec
        phi[:d0] /= math.sqrt((phi[:d0].conj() @ un.sector("G", k0) @ phi[:d0]).real)
    else:
        phi[:d0] = un.Vinv[k0, :d0, :d0] @ vec
        phi[:d0] /= math.sqrt((phi[:d0].conj() @ un.G[k0, :d0, :d0] @ phi[:d0]).real)
    n_windows = spec.n_windows
    state = np.array(
        [0.0, spec.burn_in + 0.5 * spec.sample_interval, 0.0, 0.0, -1.0, 0.0, -1.0]
    )
    kstate = np.array([k0], dtype=np.int64)
    counts = np.zeros((n_windows, 2, 2), np.int64)
    edge_energy = np.zeros(n_windows + 1)
    acc = np.zeros(un.support.size, complex)
    cap = 0
    if spec.records:
        # generous bound on the jump rate: (2 n_i + 1) (sum_n g_{i,n})^2 summed over baths
        rate = sum((2 * model.bath(b)[2] + 1) * sum(model.bath(b)[3]) ** 2 for b in "hc")
        cap = int(1024 + 1.5 * rate * spec.measured_time)
    rec_t = np.zeros(cap)
    rec_ch = np.zeros(cap, np.int16)
    while True:
        if large:
            status = advance_large(
                state, kstate, phi, rng, spec.t_final, spec.burn_in, spec.window, n_windows,
                spec.sample_interval, un.dims, un.loff, un.moff, un.lam, un.V, un.Vinv, un.G, un.S,
                un.dark, un.ch_bath, un.ch_kind, un.valid, un.rp_off, un.rp, un.nz_off, un.ix,
                un.val, un.sup_ptr, un.sup_a, un.sup_b, un.sup_energy, counts, edge_energy,
                acc, rec_t, rec_ch,
            )
        else:
            status = advance(
                state, kstate, phi, rng, spec.t_final, spec.burn_in, spec.window, n_windows,
                spec.sample_interval, un.dims, un.lam, un.V, un.G, un.S, un.dark, un.ch_bath,
                un.ch_kind, un.P, un.A, un.valid, un.sup_ptr, un.sup_a, un.sup_b,
                un.sup_energy, counts, edge_energy, acc, rec_t, rec_ch,
            )
        if status == 0:
            break
        rec_t = np.concatenate([rec_t, np.zeros(rec_t.size)])
        rec_ch = np.concatenate([rec_ch, np.zeros(rec_ch.size, np.int16)])
    # energy at the final edge (t_final): phi is normalised at t_final
    k = int(kstate[0])
    psi = np.empty(dmax, complex)
    lam_k = un.sector("lam", k) if large else un.lam[k]
    V_k = un.sector("V", k) if large else un.V[k]
    edge_energy[n_windows] = _observe(
        phi, lam_k, V_k, int(un.dims[k]), 0.0, psi, un.sup_ptr[k], un.sup_ptr[k + 1],
        un.sup_a, un.sup_b, acc, un.sup_energy, 1,
    )
    n_rec = int(state[5])
    return TrajectoryOutput(
        counts=counts,
        edge_energy=edge_energy,
        state_sum=acc,
        n_samples=int(state[2]),
        record_time=rec_t[:n_rec].copy() if spec.records else None,
        record_channel=rec_ch[:n_rec].copy() if spec.records else None,
    )
