"""Exact waiting-time statistics between consecutive quantum jumps in the steady state.

Owns the event superoperators ``J_A`` (:data:`qjump.frames.EVENTS`) and the functions of the
no-jump generator ``L0 = L - sum_A J_A`` that give ``P(B|A)``, mean delays and densities.

Theory.  Split the Liouvillian as ``L = L0 + sum_A J_A``, where ``J_A rho = sum_k L_k rho
L_k^dagger`` over the channels ``k`` of event type ``A`` (bath and direction, summed over
sites) and ``L0 rho = -i (H_eff rho - rho H_eff^dagger)``.  In the steady state ``rho`` the
rate of ``A`` jumps is ``r_A = Tr[J_A rho]``; right after one the state is ``J_A rho / r_A``,
and the probability density that the next jump is a ``B`` jump after a delay ``tau`` is

    w_AB(tau) = Tr[J_B exp(L0 tau) J_A rho] / Tr[J_A rho].

Integrating over ``tau`` (``L0`` is stable when no state is dark to every channel):

    P(B|A) = Tr[J_B (-L0)^-1 J_A rho] / Tr[J_A rho],
    <tau>_AB = Tr[J_B L0^-2 J_A rho] / (Tr[J_A rho] P(B|A)),

and ``sum_B P(B|A) = 1`` because ``Tr[(L0 + sum_B J_B) X] = 0`` for every ``X``.  ``L0`` is
block diagonal in the excitation number; every function of it is applied sector by sector in
the eigenbasis of ``H_eff`` (:class:`NoJumpFunctions`).
Times are in ``1/omega_c``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..frames import DENSITY_COLUMNS, EVENTS, WAITING_COLUMNS, check_events, event_type
from ..model import PaperModel
from ..system.context import model_system
from .liouvillian import block_liouvillian
from .steady import steady_state

__all__ = [
    "NoJumpFunctions",
    "event_rates",
    "event_superoperators",
    "waiting_time_densities",
    "waiting_times",
]


def event_superoperators(model: PaperModel) -> dict[str, sp.csr_matrix]:
    """``J_A`` on the block space for each event type of :data:`qjump.frames.EVENTS`.

    ``J_A rho = sum_k L_k rho L_k^dagger`` over the channels of bath ``A[0]`` and direction
    ``A[1]`` (``+`` absorption, ``-`` emission), built from the sector blocks of the jump
    operators (:class:`qjump.liouville.liouvillian.BlockLiouvillian`).  An event type without
    channels (zero rate, e.g. absorption from a bath at ``T = 0``) maps to the zero matrix.
    """
    liouv = block_liouvillian(model)
    types = [event_type(ch.bath, ch.kind) for ch in liouv.channels]
    return {e: liouv.jump_matrix(np.array([1.0 if t == e else 0.0 for t in types])) for e in EVENTS}


def event_rates(model: PaperModel) -> dict[str, float]:
    """Steady-state rate ``Tr[J_A rho]`` of each event type (jumps per unit time)."""
    rho = steady_state(model).vector
    w = model_system(model).space.trace_vector
    return {e: float(np.real(w @ (J @ rho))) for e, J in event_superoperators(model).items()}


class NoJumpFunctions:
    """Apply ``f(L0)`` to block vectors, sector by sector in the eigenbasis of ``H_eff``.

    In sector ``k``, ``H_eff = V diag(lambda) V^-1`` and ``L0 (V E_ab V^dagger) =
    mu_ab V E_ab V^dagger`` with ``mu_ab = -i (lambda_a - conj(lambda_b))``, so ``f(L0) Y =
    V (f(mu) * (V^-1 Y V^-dagger)) V^dagger``.

    Raises
    ------
    ValueError
        When ``H_eff`` has an eigenvalue with zero imaginary part: a state that never jumps,
        so ``L0`` is not invertible and waiting times can be infinite.
    """

    def __init__(self, model: PaperModel) -> None:
        liouv = block_liouvillian(model)
        self.space = liouv.space
        self.parts = []
        for k, H in enumerate(liouv.H):
            lam, V = np.linalg.eig(H.toarray())
            Vi = np.linalg.inv(V)
            scale = max(1.0, float(np.max(np.abs(lam))))
            if np.max(lam.imag) > -1e-12 * scale:
                raise ValueError(
                    f"model: {model.label} has a state in sector {k} that never jumps "
                    "(an eigenvalue of H_eff with zero decay rate); waiting times are not finite"
                )
            mu = -1j * (lam[:, None] - lam.conj()[None, :])
            self.parts.append((V, Vi, mu))

    def __call__(self, y: np.ndarray, f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``f(L0) y`` for a block vector ``y`` (``f`` acts elementwise on eigenvalues)."""
        out = np.empty(self.space.size, complex)
        for k, (V, Vi, mu) in enumerate(self.parts):
            a, b = self.space.offsets[k], self.space.offsets[k + 1]
            d = V.shape[0]
            Z = Vi @ y[a:b].reshape(d, d) @ Vi.conj().T
            out[a:b] = (V @ (f(mu) * Z) @ V.conj().T).reshape(-1)
        return out


class _Setup:
    """Post-jump states ``J_A rho / r_A`` and the functionals ``Tr[J_B .]``."""

    def __init__(self, model: PaperModel) -> None:
        J = event_superoperators(model)
        rho = steady_state(model).vector.astype(complex)
        w = model_system(model).space.trace_vector
        self.f = NoJumpFunctions(model)
        self.rates = {e: float(np.real(w @ (J[e] @ rho))) for e in EVENTS}
        self.after = {e: J[e] @ rho / self.rates[e] for e in EVENTS if self.rates[e] > 0}
        self.readout = np.vstack([J[e].T @ w for e in EVENTS])  # rows: Tr[J_B .]

    def values(self, a: str, f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``Tr[J_B f(L0) J_A rho] / r_A`` for every ``B`` (nan if ``r_A = 0``)."""
        if a not in self.after:
            return np.full(len(EVENTS), np.nan)
        return np.real(self.readout @ self.f(self.after[a], f))


def waiting_times(model: PaperModel, *, events=None) -> pd.DataFrame:
    """Exact ``P(B|A)`` and mean delays for ordered pairs of event types (steady state).

    Parameters
    ----------
    model : PaperModel
    events : sequence of str, optional
        Event types to report (default all of :data:`qjump.frames.EVENTS`); the next jump is
        still any jump, so ``sum_B P(B|A) = 1`` only over all four types.

    Returns
    -------
    pandas.DataFrame
        :data:`qjump.frames.WAITING_COLUMNS`, zero standard errors.  ``A`` types that never
        occur give ``nan``; a ``B`` that never follows ``A`` gives probability 0 and a
        ``nan`` mean delay.
    """
    events = check_events(events)
    setup = _Setup(model)
    rows = []
    for a in events:
        prob = setup.values(a, lambda mu: -1.0 / mu)
        second = setup.values(a, lambda mu: 1.0 / mu**2)
        for b in events:
            i = EVENTS.index(b)
            p = prob[i]
            delay = second[i] / p if p > 0 else np.nan
            rows.append((a, b, p, 0.0, delay, 0.0))
    return pd.DataFrame(rows, columns=WAITING_COLUMNS)


def waiting_time_densities(model: PaperModel, *, tau=None, bins=None, events=None) -> pd.DataFrame:
    """Exact waiting-time densities ``w_AB(tau) = Tr[J_B exp(L0 tau) J_A rho] / Tr[J_A rho]``.

    Parameters
    ----------
    model : PaperModel
    tau : array_like, optional
        Delays ``>= 0`` at which to evaluate the density (``tau_lo = tau_hi = tau``).
    bins : array_like, optional
        Increasing bin edges: the density averaged over each bin,
        ``Tr[J_B L0^-1 (exp(L0 b) - exp(L0 a)) J_A rho] / (r_A (b - a))``, which is what a
        histogram of trajectory waiting times estimates.  Give ``tau`` or ``bins``.
    events : sequence of str, optional
        Event types (default all).

    Returns
    -------
    pandas.DataFrame
        :data:`qjump.frames.DENSITY_COLUMNS`, ``density_se = 0``; density in ``omega_c``
        (probability per unit delay).
    """
    events = check_events(events)
    if (tau is None) == (bins is None):
        raise ValueError("tau, bins: give exactly one of them")
    if bins is not None:
        edges = np.asarray(bins, dtype=float).reshape(-1)
        if edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0:
            raise ValueError(f"bins: need >= 2 increasing edges >= 0, got {bins!r}")
        lo, hi = edges[:-1], edges[1:]
    else:
        lo = np.asarray(tau, dtype=float).reshape(-1)
        if np.any(lo < 0) or not np.all(np.isfinite(lo)):
            raise ValueError(f"tau: delays must be finite and >= 0, got {tau!r}")
        hi = lo
    setup = _Setup(model)
    frames = []
    for a in events:
        vals = np.empty((lo.size, len(EVENTS)))
        for j, (t0, t1) in enumerate(zip(lo, hi, strict=True)):
            if t1 > t0:
                vals[j] = setup.values(
                    a, lambda mu, t0=t0, t1=t1: (np.exp(mu * t1) - np.exp(mu * t0)) / mu
                ) / (t1 - t0)
            else:
                vals[j] = setup.values(a, lambda mu, t0=t0: np.exp(mu * t0))
        for b in events:
            frames.append(
                pd.DataFrame(
                    {
                        "from": a,
                        "to": b,
                        "tau_lo": lo,
                        "tau_hi": hi,
                        "tau": 0.5 * (lo + hi),
                        "density": vals[:, EVENTS.index(b)],
                        "density_se": 0.0,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)[DENSITY_COLUMNS]
