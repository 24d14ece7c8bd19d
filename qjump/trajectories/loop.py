"""The compiled trajectory loop: observation, channel choice, jump counting and records.

Owns the state record of a trajectory (:data:`STATE`), its schedule and outputs, and
:func:`advance`, which runs one trajectory with any propagator of :mod:`.propagators`.

One step of the loop
--------------------
1. If no jump is pending, draw ``r ~ U(0, 1)`` (the trajectory's own generator) and ask the
   propagator for the delay ``tau`` at which the squared norm of the no-jump evolution of
   the (normalised) reference state reaches ``r``; the propagator also says for how long
   (``segment``) it can evaluate the state.
2. Observe everything that falls in ``[t, min(t + tau, t + segment, t_stop))`` in time
   order: the conditional energy ``<psi|H_S|psi>/<psi|psi>`` at window edges (stochastic
   first law ``W = Delta E - Q_h - Q_c`` per window), the sum of
   ``psi_a conj(psi_b)/<psi|psi>`` on the quantity support on a regular grid
   (``sample_interval``, an unbiased estimate of the stationary time average), and the
   conditional value of every linear quantity at explicit observation times.
3. If the segment ends before the jump, move the reference state to its end (the pending
   target is rescaled, not redrawn); at ``t_stop`` do the same and return (the loop is
   resumable).
4. Otherwise jump: channel ``j`` with probability ``||L_j psi||^2 / sum_k ||L_k psi||^2``
   (a second uniform number), then count the jump per window, bath and kind after the
   burn-in (the heat from bath ``i`` is ``omega_i (absorptions - emissions)``, physics
   notes §3) and append it to the records if they are kept.

The propagator operations are compiled into :data:`advance` (one specialisation per
propagator type; :data:`advance_allocating` for propagators whose operations allocate).
Calls that LLVM does not inline receive the namedtuples by value, about 1.8 KB of array
descriptors at N = 2: the jump is inlined at numba's level and the observations are
called only when one is due.  numba's disk cache of a function is keyed on its own source
file only: after editing a propagator module, delete this package's
``__pycache__/*.nb[ic]`` files.
"""

from __future__ import annotations

import types
from collections import namedtuple

import numba as nb
import numpy as np

from .propagators.protocol import apply_jump, find_jump, jump_weights, move_reference, state_at

__all__ = [
    "STATE",
    "Outputs",
    "Schedule",
    "Scratch",
    "advance",
    "advance_allocating",
    "finish",
    "new_scratch",
    "new_state",
]

#: Loop state of one trajectory (a one-element structured array; resumable).
STATE = np.dtype(
    [
        ("t", np.float64),  # time of the reference state
        ("sector", np.int64),  # its excitation-number sector
        ("pending", np.float64),  # delay of the pending jump from t; < 0: not known yet
        ("target", np.float64),  # pending norm target relative to t; < 0: draw a new one
        ("segment", np.float64),  # delay up to which the propagator knows the state
        ("work_tau", np.float64),  # delay at which the propagator's cached state is valid
        ("next_sample", np.float64),  # time of the next grid sample
        ("n_samples", np.int64),
        ("next_edge", np.int64),  # index of the next window edge
        ("next_observe", np.int64),  # index of the next explicit observation time
        ("n_records", np.int64),
    ]
)

#: Observation schedule of a run (``observe_times`` sorted; may be empty).
Schedule = namedtuple("Schedule", "burn_in window n_windows sample_dt observe_times")

#: Output arrays of one trajectory (filled in place).
Outputs = namedtuple(
    "Outputs",
    [
        "counts",  # (n_windows, 2, 2) jumps per window, bath and kind
        "edge_energy",  # (n_windows + 1,) conditional energy at window edges
        "state_sum",  # sum over grid samples of rho on the support
        "rec_t",  # jump record buffer: times
        "rec_ch",  # jump record buffer: channels
        "weights",  # (n_support, n_quantities) quantity weights, or (0, n_q)
        "observed",  # (len(observe_times), n_quantities) conditional values
    ],
)


#: Scratch vectors of the loop: the state observed in the computational basis of a sector
#: (``dmax``) and the channel weights (``n_ch``), passed in so that the loop itself
#: allocates nothing (:data:`advance`).
Scratch = namedtuple("Scratch", "psi weights")


def new_scratch(sec) -> Scratch:
    """Scratch vectors for the sector data ``sec``."""
    return Scratch(np.zeros(int(sec.dims.max()), complex), np.zeros(sec.ch_bath.size))


def new_state(k0: int, sched: Schedule) -> np.ndarray:
    """Loop state at ``t = 0`` in sector ``k0``."""
    st = np.zeros(1, STATE)
    st["sector"] = k0
    st["pending"] = st["target"] = st["work_tau"] = -1.0
    st["segment"] = np.inf
    st["next_sample"] = sched.burn_in + 0.5 * sched.sample_dt
    return st


@nb.njit(cache=True, _nrt=False)
def _inverse_norm(psi, d):
    n = 0.0
    for a in range(d):
        n += psi[a].real ** 2 + psi[a].imag ** 2
    return 1.0 / n


@nb.njit(cache=True, _nrt=False)
def _accumulate(psi, d, lo, hi, sup_a, sup_b, acc):
    """``acc[p] += psi_a conj(psi_b) / <psi|psi>`` on the support entries ``p`` in ``lo:hi``."""
    inv_n = _inverse_norm(psi, d)
    for p in range(lo, hi):
        acc[p] += psi[sup_a[p]] * np.conj(psi[sup_b[p]]) * inv_n


@nb.njit(cache=True, _nrt=False)
def _energy(psi, d, lo, hi, sup_a, sup_b, sup_energy):
    """``<psi|H_S|psi> / <psi|psi>`` from the support entries ``lo:hi``."""
    inv_n = _inverse_norm(psi, d)
    energy = 0.0
    for p in range(lo, hi):
        energy += (sup_energy[p] * (psi[sup_a[p]] * np.conj(psi[sup_b[p]]) * inv_n)).real
    return energy


@nb.njit(cache=True, _nrt=False)
def _linear(psi, d, lo, hi, sup_a, sup_b, weights, values):
    """``values[q] += <psi|X_q|psi> / <psi|psi>`` from the support entries ``lo:hi`` (the
    weights of ``X_q`` on entry ``p`` are ``weights[p, q]``)."""
    inv_n = _inverse_norm(psi, d)
    for p in range(lo, hi):
        rho = psi[sup_a[p]] * np.conj(psi[sup_b[p]]) * inv_n
        for q in range(values.size):
            values[q] += (weights[p, q] * rho).real


@nb.njit(cache=True, _nrt=False)
def _edge_time(st, sched):
    """Time of the next window edge (``inf`` after the last one)."""
    if st.next_edge <= sched.n_windows:
        return sched.burn_in + st.next_edge * sched.window
    return np.inf


@nb.njit(cache=True, _nrt=False)
def _next_observation(st, sched):
    """Time of the first pending observation (grid sample, window edge or explicit time)."""
    t_edge = _edge_time(st, sched)
    times = sched.observe_times
    t_obs = times[st.next_observe] if st.next_observe < times.size else np.inf
    return min(st.next_sample, t_edge, t_obs)


@nb.njit(cache=True, _nrt=False)
def _observe_segment(st, t, t_end, prop, ws, sec, sched, out, psi):
    """All observations in the no-jump segment ``[t, t_end)``, in time order."""
    k = st.sector
    d = sec.dims[k]
    lo, hi = sec.sup_ptr[k], sec.sup_ptr[k + 1]
    while True:
        t_sample = st.next_sample
        e_idx = st.next_edge
        t_edge = _edge_time(st, sched)
        if t_edge <= t_sample and t_edge < t_end:
            state_at(prop, ws, sec, k, t_edge - t, psi)
            out.edge_energy[e_idx] = _energy(psi, d, lo, hi, sec.sup_a, sec.sup_b, sec.sup_energy)
            st.next_edge = e_idx + 1
        elif t_sample < t_end:
            state_at(prop, ws, sec, k, t_sample - t, psi)
            _accumulate(psi, d, lo, hi, sec.sup_a, sec.sup_b, out.state_sum)
            st.next_sample = t_sample + sched.sample_dt
            st.n_samples += 1
        else:
            break
    times = sched.observe_times
    while st.next_observe < times.size and times[st.next_observe] < t_end:
        state_at(prop, ws, sec, k, times[st.next_observe] - t, psi)
        _linear(psi, d, lo, hi, sec.sup_a, sec.sup_b, out.weights, out.observed[st.next_observe])
        st.next_observe += 1


@nb.njit(cache=True, _nrt=False)
def _pick_channel(weights, u):
    """Index ``j`` with ``sum_{i<j} w_i <= u < sum_{i<=j} w_i`` (last positive on round-off)."""
    jc = -1
    cum = 0.0
    for j in range(weights.size):
        if weights[j] > 0.0:
            jc = j
            cum += weights[j]
            if u < cum:
                break
    return jc


def _renamed(func, name: str):
    """A copy of ``func`` under another name: numba's disk cache keys its index on the
    qualified name, so two compilations of one function need two names."""
    copy = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__)
    copy.__qualname__ = name
    copy.__doc__ = func.__doc__
    return copy


def _advance(state, prop, ws, sec, sched, out, scratch, rng, t_stop, max_jumps):
    """Advance one trajectory to ``t_stop`` (resumable; see the module docstring).

    Returns 0 when ``t_stop`` is reached, 1 when the record buffer is full (grow
    ``out.rec_t``/``out.rec_ch`` and call again), 2 after ``max_jumps`` jumps in this call
    (call again; the caller may look at the clock in between).  Returning and calling again
    changes nothing: the trajectory is the same bit for bit however it is split.
    """
    st = state[0]
    psi, weights = scratch.psi, scratch.weights
    record = out.rec_t.size > 0
    jumps = 0
    while True:
        if jumps >= max_jumps:
            return 2
        t = st.t
        k = st.sector
        tau = st.pending
        if tau < 0.0:
            if st.target < 0.0:
                st.target = rng.random()
            tau, segment = find_jump(prop, ws, sec, st, k, t_stop - t)
            st.pending = tau
            st.segment = segment
            st.work_tau = tau
        else:
            st.work_tau = -1.0
        segment = st.segment
        t_jump = t + tau
        t_end = min(t_jump, t_stop, t + segment)
        # _observe_segment receives the namedtuples by value (about 1.8 KB of array
        # descriptors, copied at every call LLVM does not inline): call it only when an
        # observation is due, which is at fewer than half of the jumps at N = 2
        if _next_observation(st, sched) < t_end:
            _observe_segment(st, t, t_end, prop, ws, sec, sched, out, psi)
        if tau > segment:  # the state is known only up to the end of the segment
            move_reference(prop, ws, sec, st, k, segment)
            st.t = t + segment
            if st.t >= t_stop:
                return 0
            continue
        if t_jump >= t_stop:
            move_reference(prop, ws, sec, st, k, t_stop - t)
            st.t = t_stop
            return 0
        if record and st.n_records >= out.rec_t.size and t_jump >= sched.burn_in:
            return 1
        total = jump_weights(prop, ws, sec, st, k, tau, weights)
        jc = _pick_channel(weights, rng.random() * total)
        st.sector = apply_jump(prop, ws, sec, k, jc, weights[jc])
        st.t = t_jump
        st.pending = -1.0
        st.target = -1.0
        jumps += 1
        if t_jump >= sched.burn_in:
            w_idx = int((t_jump - sched.burn_in) / sched.window)
            if w_idx >= sched.n_windows:
                w_idx = sched.n_windows - 1
            out.counts[w_idx, sec.ch_bath[jc], sec.ch_kind[jc]] += 1
            if record:
                out.rec_t[st.n_records] = t_jump
                out.rec_ch[st.n_records] = jc
                st.n_records += 1


#: :func:`_advance` for propagators whose operations allocate nothing: compiled without
#: reference counting (see :mod:`.propagators.protocol`); about 20 % less time per jump at
#: N = 2 than with it, measured side by side.
advance = nb.njit(cache=True, _nrt=False)(_advance)
#: :func:`_advance` for propagators whose operations allocate (``krylov``).
advance_allocating = nb.njit(cache=True)(_renamed(_advance, "advance_allocating"))


@nb.njit(cache=True)
def finish(state, prop, ws, sec, sched, out, scratch):
    """Observations at ``t_stop`` itself (after :func:`advance` returned 0): the energy at
    the last window edge and explicit observation times equal to ``t_stop``."""
    st = state[0]
    k = st.sector
    d = sec.dims[k]
    lo, hi = sec.sup_ptr[k], sec.sup_ptr[k + 1]
    psi = scratch.psi
    state_at(prop, ws, sec, k, 0.0, psi)
    out.edge_energy[sched.n_windows] = _energy(psi, d, lo, hi, sec.sup_a, sec.sup_b, sec.sup_energy)
    times = sched.observe_times
    while st.next_observe < times.size and times[st.next_observe] <= st.t:
        _linear(psi, d, lo, hi, sec.sup_a, sec.sup_b, out.weights, out.observed[st.next_observe])
        st.next_observe += 1
