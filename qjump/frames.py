"""Tidy DataFrame shapes of dynamics, waiting times and noise spectra, and the event types.

The exact (:mod:`qjump.liouville`) and trajectory (:mod:`qjump.trajectories`) forms of each
answer share one column layout and one row order, so ``traj["value"] - exact["value"]``
compares them.  Exact frames carry zero standard errors.

Dynamics (:data:`DYNAMICS_COLUMNS`), one row per time and linear quantity, ordered by time
then by the quantity order of :class:`qjump.system.quantities.QuantitySet`:

============  ==============================================================================
``time``      time since the preparation, in ``1/omega_c``
``quantity``  name of the linear quantity (``Q_h``, ``W``, ``pop_h1``, ...)
``value``     ``Tr[X_q rho(t)]``: currents in ``omega_c^2`` (energy per time, positive into
              the system), coherences and populations dimensionless, energy in ``omega_c``
``se``        standard error (0 for exact)
============  ==============================================================================

Waiting times (:data:`WAITING_COLUMNS`), one row per ordered pair of event types in the
order of :data:`EVENTS` (``from`` slow, ``to`` fast):

=================  =========================================================================
``from``, ``to``   event types ``A`` and ``B`` (:data:`EVENTS`)
``probability``    ``P(B|A)``: the next jump after an ``A`` jump is a ``B`` jump
``mean_delay``     mean time from the ``A`` jump to that ``B`` jump, given that it is ``B``
``*_se``           standard errors (0 for exact)
=================  =========================================================================

Waiting-time densities (:data:`DENSITY_COLUMNS`), one row per pair and delay bin:
``from, to, tau_lo, tau_hi, tau, density, density_se``.  ``density`` is the average of
``w_AB`` over ``[tau_lo, tau_hi]`` (``tau`` is the bin centre; a point value when
``tau_lo == tau_hi``), normalised so that ``sum_B int w_AB = 1``.

Noise spectra (:data:`NOISE_COLUMNS`), one row per angular frequency:
``bath, omega, quanta_noise, quanta_noise_se, heat_noise, heat_noise_se``; see
:mod:`qjump.liouville.noise` for the definition and normalisation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .system.quantities import CURRENTS

__all__ = [
    "DENSITY_COLUMNS",
    "DYNAMICS_COLUMNS",
    "EVENTS",
    "NOISE_COLUMNS",
    "WAITING_COLUMNS",
    "INITIAL_STATES",
    "check_events",
    "check_initial_state",
    "check_omega",
    "check_times",
    "dynamics_frame",
    "event_type",
    "quantity_order",
]

#: Event types: bath ``h``/``c``, then ``+`` (absorption: a quantum taken from the bath) or
#: ``-`` (emission into it), summed over sites.
EVENTS = ("h+", "h-", "c+", "c-")

#: Preparations of the dynamics: the ground state, each qubit thermal at its own bath's
#: temperature (a product state), or the exact steady state.
INITIAL_STATES = ("ground", "thermal", "steady")

DYNAMICS_COLUMNS = ["time", "quantity", "value", "se"]
WAITING_COLUMNS = ["from", "to", "probability", "probability_se", "mean_delay", "mean_delay_se"]
DENSITY_COLUMNS = ["from", "to", "tau_lo", "tau_hi", "tau", "density", "density_se"]
NOISE_COLUMNS = ["bath", "omega", "quanta_noise", "quanta_noise_se", "heat_noise", "heat_noise_se"]


def event_type(bath: str, kind: str) -> str:
    """Event type of a jump of ``bath`` (``"h"``/``"c"``) and ``kind``
    (``"absorption"``/``"emission"``), e.g. ``"h+"``."""
    return f"{bath}{'+' if kind == 'absorption' else '-'}"


def check_events(events: Iterable[str] | None, name: str = "events") -> tuple[str, ...]:
    """Validated event types (default: all of :data:`EVENTS`), in :data:`EVENTS` order."""
    if events is None:
        return EVENTS
    if isinstance(events, str):
        events = [e for e in events.split(",") if e.strip()]
    chosen = [str(e).strip() for e in events]
    for e in chosen:
        if e not in EVENTS:
            raise ValueError(f"{name}: unknown event type {e!r}; allowed: {', '.join(EVENTS)}")
    if not chosen:
        raise ValueError(f"{name}: give at least one event type of {', '.join(EVENTS)}")
    return tuple(e for e in EVENTS if e in chosen)


def quantity_order(names: Iterable[str]) -> list[str]:
    """The linear quantities in output order: the currents first, then the rest as given."""
    names = list(names)
    return [c for c in CURRENTS if c in names] + [n for n in names if n not in CURRENTS]


def check_times(times: Any, name: str = "times") -> np.ndarray:
    """Times as a float array: finite, ``>= 0`` and strictly increasing (at least one)."""
    try:
        t = np.asarray(times, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected numbers, got {times!r}") from None
    if t.size == 0:
        raise ValueError(f"{name}: give at least one time")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"{name}: must be finite and >= 0, got {_show(t)}")
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"{name}: must be strictly increasing, got {_show(t)}")
    return t


def check_omega(omega: Any, name: str = "omega") -> np.ndarray:
    """Angular frequencies as a float array: finite and ``>= 0`` (at least one)."""
    try:
        w = np.asarray(omega, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected numbers, got {omega!r}") from None
    if w.size == 0:
        raise ValueError(f"{name}: give at least one frequency")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name}: angular frequencies must be finite and >= 0, got {_show(w)}")
    return w


def check_initial_state(value: Any, name: str = "initial_state") -> str:
    """One of :data:`INITIAL_STATES`."""
    if value not in INITIAL_STATES:
        raise ValueError(f"{name}: unknown value {value!r}; allowed: {', '.join(INITIAL_STATES)}")
    return str(value)


def _show(x: np.ndarray) -> str:
    return ",".join(f"{v:g}" if math.isfinite(v) else str(v) for v in x[:12]) + (
        ",..." if x.size > 12 else ""
    )


def dynamics_frame(
    times: np.ndarray, names: list[str], values: np.ndarray, se: np.ndarray
) -> pd.DataFrame:
    """Long frame of :data:`DYNAMICS_COLUMNS` from ``(time, quantity)`` arrays."""
    n_t, n_q = values.shape
    frame = pd.DataFrame(
        {
            "time": np.repeat(np.asarray(times, dtype=float), n_q),
            "quantity": np.tile(np.asarray(names, dtype=object), n_t),
            "value": np.asarray(values, dtype=float).reshape(-1),
            "se": np.asarray(se, dtype=float).reshape(-1),
        }
    )
    return frame[DYNAMICS_COLUMNS]
