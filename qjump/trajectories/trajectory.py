"""One quantum-jump trajectory: options, initial state, the loop driver and its raw output.

Owns :func:`run_trajectory` (the public way to run or replay one trajectory) and the choice
of propagator.  A trajectory is fully determined by the model, the :class:`TrajectorySpec`,
its own ``numpy.random.SeedSequence`` and the propagator.  The run's seed ``S`` gives
trajectory ``i`` the child ``SeedSequence(S, spawn_key=(i,))`` (the ``i``-th child of
``SeedSequence(S).spawn``), so ``run_trajectory(model, spec, trajectory_seed(S, i))`` replays
trajectory ``i`` of a run bit for bit.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import numpy as np

from ..liouville.dynamics import thermal_excitation
from ..liouville.steady import steady_state
from ..model import PaperModel
from ..system.context import model_system
from .loop import Outputs, Schedule, advance, advance_allocating, finish, new_scratch, new_state
from .propagators import PROPAGATORS
from .sectors import quantity_weights, sector_data

__all__ = [
    "INITIAL_STATES",
    "PROPAGATOR_NAMES",
    "TrajectoryOutput",
    "TrajectorySpec",
    "WallTimeExceeded",
    "choose_propagator",
    "run_trajectory",
    "trajectory_seed",
]

INITIAL_STATES = ("thermal", "ground", "steady")
PROPAGATOR_NAMES = ("auto", *PROPAGATORS)
#: ``propagator="auto"``: dense jump matrices up to this sector dimension (``N <= 3``; measured:
#: sparse jumps are as fast at N = 3 and faster from N = 4, see RESULTS-throughput.md) ...
AUTO_DENSE_MAX = 20
#: ... and dense eigendecompositions up to this one (``N <= 5``), Krylov beyond (measured: at
#: N = 6 Krylov steps are faster per time unit and need no minute-long eigendecompositions).
AUTO_EIGEN_MAX = 252
#: With a deadline, the compiled loop hands control back to look at the clock every
#: ``DEADLINE_CHECK_WORK // dmax`` jumps (at least one), ``dmax`` the largest sector: about
#: 0.03-0.2 s of work at N = 2-10 on the machine of ``benchmarks/RESULTS-scaling.md``.
DEADLINE_CHECK_WORK = 200_000


class WallTimeExceeded(RuntimeError):
    """A trajectory was abandoned at its wall-clock ``deadline`` (:func:`run_trajectory`)."""


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
    quantities : {"all", "essential"}
        Which linear quantities are sampled (:data:`qjump.system.quantities.SELECTIONS`).
    """

    t_final: float
    burn_in: float
    window: float
    sample_interval: float
    initial_state: str = "thermal"
    records: bool = False
    quantities: str = "all"

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
        Sum over samples of ``psi_a conj(psi_b)/<psi|psi>`` on the support of the selected
        quantities (``spec.quantities``).
    n_samples : int
    record_time, record_channel : ndarray or None
        Raw jump records (time, channel index) when requested.
    observed : ndarray, shape (len(observe_times), n_quantities), or None
        Conditional expectation value ``<psi|X|psi>/<psi|psi>`` of every sampled linear
        quantity (the order of ``sampled_names`` of ``model_system(model).quantity_set(
        spec.quantities, controls=True)``: the selected quantities, then the generator
        controls) at the requested times.
    """

    counts: np.ndarray
    edge_energy: np.ndarray
    state_sum: np.ndarray
    n_samples: int
    record_time: np.ndarray | None = None
    record_channel: np.ndarray | None = None
    observed: np.ndarray | None = None


def choose_propagator(model: PaperModel, propagator: str = "auto") -> str:
    """Name of the propagator used for ``model`` (``"auto"``: by the largest sector).

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if propagator not in PROPAGATOR_NAMES:
        raise ValueError(
            f"propagator: unknown value {propagator!r}; use one of {', '.join(PROPAGATOR_NAMES)}"
        )
    if propagator != "auto":
        return propagator
    dmax = math.comb(2 * model.N, model.N)  # the largest sector, k = N of 2N qubits
    if dmax <= AUTO_DENSE_MAX:
        return "eigen"
    return "eigen-large" if dmax <= AUTO_EIGEN_MAX else "krylov"


def _initial_state(model: PaperModel, spec: TrajectorySpec, rng: np.random.Generator):
    """Sector and computational-basis vector (within the sector) of the initial state."""
    spins = model_system(model).spins
    if spec.initial_state == "steady":
        probs, states = _steady_eigenstates(model)
        i = int(np.searchsorted(np.cumsum(probs), rng.random() * probs.sum(), side="right"))
        k, vec = states[min(i, len(states) - 1)]
        return k, vec.astype(complex)
    if spec.initial_state == "ground":
        bits = np.zeros(model.n_qubits, dtype=np.int64)
    elif spec.initial_state == "thermal":
        bits = (rng.random(model.n_qubits) < thermal_excitation(model)).astype(np.int64)
    else:  # validated earlier
        raise ValueError(f"initial_state: unknown value {spec.initial_state!r}")
    index = int(np.sum(bits << (model.n_qubits - 1 - np.arange(model.n_qubits))))
    k = int(bits.sum())
    vec = np.zeros(int(spins.sector_dims[k]), complex)
    vec[spins.position[index]] = 1.0
    return k, vec


@functools.lru_cache(maxsize=16)
def _steady_eigenstates(model: PaperModel):
    """Eigen-decomposition of the exact steady state (computed once per model and process)."""
    return steady_state(model).eigenstates()


def run_trajectory(
    model: PaperModel,
    spec: TrajectorySpec,
    seed: np.random.SeedSequence,
    *,
    propagator: str = "auto",
    observe_times: np.ndarray | None = None,
    deadline: float | None = None,
) -> TrajectoryOutput:
    """Run (or replay) one trajectory (see the module docstring and :mod:`.loop`).

    Parameters
    ----------
    model : PaperModel
    spec : TrajectorySpec
    seed : numpy.random.SeedSequence
        The trajectory's own seed (:func:`trajectory_seed` for trajectory ``i`` of a run).
    propagator : {"auto", "eigen", "eigen-large", "krylov"}
        How the state evolves between jumps (:mod:`.propagators`); ``"auto"`` picks
        ``eigen`` up to sector dimension 20 (``N <= 3``), ``eigen-large`` up to 252
        (``N <= 5``) and ``krylov`` beyond.  All give the same jumps up to round-off
        (``krylov``: jump times to ~1e-9).
    observe_times : array_like, optional
        Sorted times in ``[0, t_final]`` at which the conditional expectation value of every
        linear quantity is recorded (``TrajectoryOutput.observed``); it draws no random
        numbers, so the trajectory is the same with or without it.
    deadline : float, optional
        Wall-clock time (``time.time()``, seconds since the epoch) after which the trajectory
        is abandoned with :class:`WallTimeExceeded`.  The clock is read between chunks of
        jumps (:data:`DEADLINE_CHECK_WORK`); a trajectory that finishes is the same bit for
        bit with or without a deadline.

    Raises
    ------
    WallTimeExceeded
        When ``deadline`` passes before the trajectory reaches ``t_final``.
    """
    name = choose_propagator(model, propagator)
    times = np.zeros(0) if observe_times is None else np.asarray(observe_times, float)
    if (
        times.ndim != 1
        or np.any(np.diff(times) < 0)
        or (times.size and (times[0] < 0 or times[-1] > spec.t_final))
    ):
        raise ValueError(
            "observe_times: must be a sorted one-dimensional array of times in "
            f"[0, t_final={spec.t_final:g}]"
        )
    sec = sector_data(model, spec.quantities)
    kind = PROPAGATORS[name]
    prop = kind.build(model)
    rng = np.random.default_rng(seed)
    k0, vec = _initial_state(model, spec, rng)
    ws = kind.workspace(prop, sec)
    kind.prepare(prop, ws, sec, k0, vec)
    n_windows = spec.n_windows
    sched = Schedule(spec.burn_in, spec.window, n_windows, spec.sample_interval, times)
    n_q = len(model_system(model).quantity_set(spec.quantities, controls=True).sampled_names)
    cap = 0
    if spec.records:
        # generous bound on the jump rate: (2 n_i + 1) (sum_n g_{i,n})^2 summed over baths
        rate = sum((2 * model.bath(b)[2] + 1) * sum(model.bath(b)[3]) ** 2 for b in "hc")
        cap = int(1024 + 1.5 * rate * spec.measured_time)
    out = Outputs(
        counts=np.zeros((n_windows, 2, 2), np.int64),
        edge_energy=np.zeros(n_windows + 1),
        state_sum=np.zeros(sec.support.size, complex),
        rec_t=np.zeros(cap),
        rec_ch=np.zeros(cap, np.int16),
        weights=(
            quantity_weights(model, spec.quantities) if times.size else np.zeros((0, n_q), complex)
        ),
        observed=np.zeros((times.size, n_q)),
    )
    state = new_state(k0, sched)
    scratch = new_scratch(sec)
    chunk = np.iinfo(np.int64).max
    if deadline is not None:
        chunk = max(1, DEADLINE_CHECK_WORK // int(sec.dims.max()))
    loop = advance_allocating if kind.allocates else advance
    while status := loop(state, prop, ws, sec, sched, out, scratch, rng, spec.t_final, chunk):
        if status == 1:
            out = out._replace(
                rec_t=np.concatenate([out.rec_t, np.zeros(out.rec_t.size)]),
                rec_ch=np.concatenate([out.rec_ch, np.zeros(out.rec_ch.size, np.int16)]),
            )
        elif time.time() > deadline:
            raise WallTimeExceeded(
                f"trajectory abandoned at t = {float(state['t'][0]):.6g} of "
                f"t_final = {spec.t_final:g}: its wall-clock deadline passed"
            )
    finish(state, prop, ws, sec, sched, out, scratch)
    n_rec = int(state["n_records"][0])
    return TrajectoryOutput(
        counts=out.counts,
        edge_energy=out.edge_energy,
        state_sum=out.state_sum,
        n_samples=int(state["n_samples"][0]),
        record_time=out.rec_t[:n_rec].copy() if spec.records else None,
        record_channel=out.rec_ch[:n_rec].copy() if spec.records else None,
        observed=out.observed if observe_times is not None else None,
    )
