"""Exact frequency-resolved noise of the quanta (and heat) exchanged with one bath.

Owns the noise spectrum ``S(omega)`` from the Liouvillian resolvent and its high-frequency
(shot-noise) limit.

Definition.  Count the net quanta ``K(t)`` taken from bath ``b``: ``nu_k = +1`` for each
absorption, ``-1`` for each emission, so the current is ``I(t) = sum_jumps nu_k
delta(t - t_jump)``.  In the steady state

    S(omega) = int_{-inf}^{inf} dtau exp(i omega tau) (<I(tau) I(0)> - <I>^2),

with ``omega`` an angular frequency in units of ``omega_c``.  Its zero-frequency value is the
diffusion ``lim Var(K)/t`` (``quanta_diffusion`` of :func:`qjump.counting_statistics`).

Derivation.  With ``J_nu = sum_k nu_k J_k`` and ``J_nu2 = sum_k nu_k^2 J_k`` (the jump
superoperators of bath ``b``), quantum-jump unravelling gives, for ``tau > 0``,
``<I(tau) I(0)> = Tr[J_nu exp(L tau) J_nu rho]``; equal-time jumps add the singular part
``Tr[J_nu2 rho] delta(tau)``.  Subtracting ``<I>^2 = Tr[J_nu rho]^2`` replaces
``exp(L tau)`` by ``exp(L tau) Q`` with ``Q = 1 - rho Tr[.]``, whose modes all decay, so

    S(omega) = Tr[J_nu2 rho] - 2 Re Tr[J_nu (L + i omega)^-1 Q J_nu rho].

At ``omega = 0``, ``(L)^-1 Q`` is the Drazin inverse and this is the second cumulant of
physics notes §6.  For ``omega -> inf`` the resolvent term vanishes like ``1/omega``, so
``S -> Tr[J_nu2 rho] = sum_k nu_k^2 Tr[J_k rho]``, the shot noise: the total jump rate of
bath ``b``.  For a single TLS with absorption and emission rates ``g+`` and ``g-`` (and
``G = g+ + g-``) the formula gives ``S(omega) = (2 g+ g- / G) omega^2 / (omega^2 + G^2)``.

A periodogram of the counting record over windows of length ``T`` (what
:mod:`qjump.trajectories.noise` computes) does not estimate ``S`` but its finite-window
version ``S_T(omega) = int_{-T}^{T} F(tau) (1 - |tau|/T) exp(i omega tau) dtau``.  With
``A = L + i omega`` on the range of ``Q``, ``int_0^T (1 - tau/T) exp(A tau) dtau =
-A^-1 + A^-2 (exp(A T) - 1) / T``, so

    S_T(omega) = Tr[J_nu2 rho] + 2 Re Tr[J_nu (-A^-1 + A^-2 (exp(A T) - 1)/T) Q J_nu rho].

``S_T`` differs from ``S`` by terms of order ``S(inf) tau_c / T``: the continuous part of
``F`` is of the size of the shot noise and has the opposite sign, so short windows bias the
periodogram upwards at low frequency by far more than ``S(0)`` itself suggests.

The heat carried by each quantum is ``omega_b``, so the heat noise is ``omega_b^2 S``.
The resolvent is applied with one sparse LU factorisation of ``L + i omega + e_0 w^T`` per
frequency (``w`` the trace functional): for traceless right-hand sides its solution is the
one of ``(L + i omega) y = x`` with ``Tr y = 0``, at every ``omega`` including 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..frames import NOISE_COLUMNS, check_omega
from ..model import PaperModel
from ..system.context import model_system
from .dynamics import propagate
from .fcs import BATHS
from .linalg import bordered_matrix
from .liouvillian import liouvillian
from .steady import steady_state
from .waiting import event_superoperators

__all__ = ["noise_spectrum", "shot_noise"]


def _check_bath(bath: str) -> str:
    if bath not in BATHS:
        raise ValueError(f"bath: expected 'h' or 'c', got {bath!r}")
    return bath


def shot_noise(model: PaperModel, bath: str = "h") -> float:
    """High-frequency limit ``S(inf) = sum_k nu_k^2 Tr[J_k rho]``: the jump rate of ``bath``."""
    _check_bath(bath)
    J = event_superoperators(model)
    rho = steady_state(model).vector
    w = model_system(model).space.trace_vector
    return float(np.real(w @ ((J[f"{bath}+"] + J[f"{bath}-"]) @ rho)))


def noise_spectrum(
    model: PaperModel, omega, bath: str = "h", *, window: float | None = None
) -> pd.DataFrame:
    """Exact noise spectrum of the net quanta (and heat) taken from ``bath``.

    Parameters
    ----------
    model : PaperModel
    omega : float or array_like
        Angular frequencies ``>= 0`` (units of ``omega_c``).  ``S`` is even in ``omega``.
    bath : {"h", "c"}
    window : float, optional
        If given, return the finite-window spectrum ``S_T`` of the module docstring with
        ``T = window``: the expectation of the trajectory periodogram with that window.

    Returns
    -------
    pandas.DataFrame
        :data:`qjump.frames.NOISE_COLUMNS`: ``quanta_noise`` is ``S(omega)`` of the module
        docstring (quanta^2 per unit time; ``S(0) = quanta_diffusion``), ``heat_noise =
        omega_b^2 S(omega)`` (units ``omega_c^3``); standard errors 0.
    """
    _check_bath(bath)
    omega = check_omega(omega)
    if window is not None and not (np.isfinite(window) and window > 0):
        raise ValueError(f"window: must be finite and > 0, got {window!r}")
    space = model_system(model).space
    L = liouvillian(model)
    J = event_superoperators(model)
    J_nu = (J[f"{bath}+"] - J[f"{bath}-"]).tocsr()
    rho = steady_state(model).vector.astype(complex)
    w = space.trace_vector
    shot = float(np.real(w @ ((J[f"{bath}+"] + J[f"{bath}-"]) @ rho)))
    x = J_nu @ rho
    x = x - rho * (w @ x)  # Q J_nu rho
    readout = J_nu.T @ w  # Tr[J_nu .]
    B = bordered_matrix(L, space)  # L + e_0 w^T
    eye = sp.identity(space.size, dtype=complex, format="csc")
    decayed = None if window is None else propagate(L, x, window)  # exp(L T) Q J_nu rho
    values = np.empty(omega.size)
    for i, om in enumerate(omega):
        lu = spla.splu((B + 1j * om * eye).tocsc())
        y = lu.solve(x)
        y = y - rho * (w @ y)  # A^-1 Q J_nu rho
        if window is not None:
            e = np.exp(1j * om * window) * decayed - x
            e = lu.solve(lu.solve(e))
            y = y - (e - rho * (w @ e)) / window
        values[i] = shot - 2.0 * float(np.real(readout @ y))
    omega_b = model.bath(bath)[0]
    return pd.DataFrame(
        {
            "bath": bath,
            "omega": omega,
            "quanta_noise": values,
            "quanta_noise_se": 0.0,
            "heat_noise": omega_b**2 * values,
            "heat_noise_se": 0.0,
        }
    )[NOISE_COLUMNS]
