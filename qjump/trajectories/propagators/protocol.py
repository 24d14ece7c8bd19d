"""The propagator protocol: the five compiled operations the loop asks of a propagator.

Owns the generic function names; each propagator module registers its implementations for
its own data type with ``numba.extending.overload`` (dispatch on the namedtuple class).

Every operation takes the propagator's data ``prop`` (a namedtuple, read only), its
per-trajectory workspace ``ws`` (a namedtuple of arrays holding the *reference state* of the
trajectory, i.e. its state at the time ``st.t`` of the loop state record ``st``), the
:class:`~qjump.trajectories.sectors.SectorData` ``sec`` and the current sector ``k``.  The
reference state is normalised.  Delays ``s`` are measured from ``st.t``.

Speed: implementations that allocate nothing are compiled without reference counting
(numba ``_nrt=False``), and so is the loop that calls them
(:data:`~qjump.trajectories.loop.advance`); otherwise every call would pay two atomic
operations per array in the namedtuples it receives, several times the arithmetic of a jump
in a small sector.  A propagator whose operations allocate says so in its registry entry
(``allocates``) and runs in :data:`~qjump.trajectories.loop.advance_allocating`.
"""

from __future__ import annotations

__all__ = ["apply_jump", "find_jump", "jump_weights", "move_reference", "state_at"]


def find_jump(prop, ws, sec, st, k, t_left):
    """Delay ``tau`` of the next jump and length of the segment in which the state is known.

    Solves ``n(tau) = st.target`` for the squared norm ``n`` of the no-jump evolution of the
    reference state.  Returns ``(tau, segment)``: ``tau = inf`` if the norm stays above the
    target within ``segment`` (``inf`` for propagators valid at any delay, otherwise at most
    ``t_left``).  Leaves the state at ``tau`` in the workspace when the propagator caches it
    (and the loop sets ``st.work_tau = tau``).
    """
    raise NotImplementedError("compiled only; see the propagator modules")


def state_at(prop, ws, sec, k, s, psi):
    """Write the unnormalised state at delay ``s`` (within the segment) into ``psi`` (the
    computational basis of sector ``k``)."""
    raise NotImplementedError("compiled only; see the propagator modules")


def move_reference(prop, ws, sec, st, k, s):
    """Make the normalised state at delay ``s`` the reference state and update the pending
    jump (``st.pending``, ``st.target``) so that the jump keeps its time."""
    raise NotImplementedError("compiled only; see the propagator modules")


def jump_weights(prop, ws, sec, st, k, tau, weights):
    """``weights[j] = ||L_j psi(tau)||^2`` for every channel; returns their sum."""
    raise NotImplementedError("compiled only; see the propagator modules")


def apply_jump(prop, ws, sec, k, jc, weight):
    """Apply channel ``jc`` to the state at the jump (as left by :func:`jump_weights`); the
    normalised result becomes the reference state.  ``weight`` is the channel's weight from
    :func:`jump_weights`, ``||L_jc psi||^2``, the squared norm of the unnormalised result.
    Returns the new sector."""
    raise NotImplementedError("compiled only; see the propagator modules")
