"""Noise spectrum of the quanta exchanged with one bath, estimated from jump records.

Owns the windowed periodogram of the counting record and its standard error over
trajectories; the exact reference and the definition of ``S(omega)`` are in
:mod:`qjump.liouville.noise`.

Estimator.  The measured interval of each trajectory is cut into windows of length ``T``
(a partial last window is dropped).  In a window starting at ``t0`` the counting record of
bath ``b`` (``nu = +1`` absorption, ``-1`` emission) has the Fourier sum

    X(omega) = sum_jumps nu_k exp(i omega (t_k - t0)) - I int_0^T exp(i omega s) ds,

where ``I`` is the mean current of all trajectories together, and the periodogram is
``P(omega) = |X(omega)|^2 / T``.  Its expectation is ``int F(tau) (1 - |tau|/T)
exp(i omega tau) dtau`` with ``F`` the current correlation function: ``S(omega)`` up to a
bias of order ``tau_c / T``, with ``tau_c`` the correlation time of the current (the
relaxation time of the model, physics notes §7; about 4 for independent dissipation, a few
hundred for common dissipation).  Each trajectory's periodograms are averaged over its
windows; the estimate is the mean over trajectories and its standard error the standard
deviation over trajectories divided by ``sqrt(M)`` (``nan`` for ``M < 2``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..frames import NOISE_COLUMNS, check_omega

__all__ = ["noise_spectrum", "periodograms"]


def periodograms(
    records: pd.DataFrame,
    omega,
    bath: str,
    *,
    t_start: float,
    t_end: float,
    window: float,
    trajectories=None,
) -> np.ndarray:
    """Window-averaged periodogram of each trajectory.

    Parameters
    ----------
    records : pandas.DataFrame
        Jump records (schema in :mod:`qjump.trajectories.records`) covering ``[t_start, t_end]``.
    omega : array_like
        Angular frequencies ``>= 0``.
    bath : {"h", "c"}
    t_start, t_end : float
        Measured interval of every trajectory (the burn-in and ``t_final`` of the run).
    window : float
        Window length ``T``, ``0 < T <= t_end - t_start``.
    trajectories : array_like, optional
        Trajectory ids (default: those in ``records``; give them so that trajectories
        without jumps of ``bath`` count too).

    Returns
    -------
    ndarray, shape (n_trajectories, n_omega)
    """
    if bath not in ("h", "c"):
        raise ValueError(f"bath: expected 'h' or 'c', got {bath!r}")
    omega = check_omega(omega)
    measured = float(t_end) - float(t_start)
    if not (math.isfinite(window) and 0 < window <= measured):
        raise ValueError(
            f"window: must be > 0 and <= the measured time {measured:g}, got {window!r}"
        )
    n_w = int(math.floor(measured / window + 1e-9))
    ids = (
        np.unique(records["trajectory"].to_numpy())
        if trajectories is None
        else (np.asarray(trajectories))
    )
    M = ids.size
    rec = records[records["bath"].astype(str) == bath]
    t = rec["time"].to_numpy(dtype=float) - t_start
    nu = np.where(rec["kind"].astype(str).to_numpy() == "absorption", 1.0, -1.0)
    rate = float(nu.sum()) / (M * measured)  # the mean current I of all trajectories
    win = np.floor(t / window).astype(np.int64)
    keep = (win >= 0) & (win < n_w)
    j = np.searchsorted(ids, rec["trajectory"].to_numpy())[keep]
    win, nu, phase_t = win[keep], nu[keep], (t - np.floor(t / window) * window)[keep]
    slot = j * n_w + win
    out = np.empty((M, omega.size))
    for i, om in enumerate(omega):
        re = np.bincount(slot, weights=nu * np.cos(om * phase_t), minlength=M * n_w)
        im = np.bincount(slot, weights=nu * np.sin(om * phase_t), minlength=M * n_w)
        if om == 0.0:
            mean_re, mean_im = rate * window, 0.0
        else:
            mean_re = rate * math.sin(om * window) / om
            mean_im = rate * (1.0 - math.cos(om * window)) / om
        p = ((re - mean_re) ** 2 + (im - mean_im) ** 2) / window
        out[:, i] = p.reshape(M, n_w).mean(axis=1)
    return out


def noise_spectrum(result, omega, bath: str = "h", *, window: float) -> pd.DataFrame:
    """Trajectory estimate of the noise spectrum of the net quanta (and heat) of ``bath``.

    Parameters
    ----------
    result : TrajectoryResult
        A run of ``simulate(..., records=True)`` in the steady state (``initial_state=
        "steady"`` or a burn-in of several relaxation times).
    omega : array_like
        Angular frequencies ``>= 0`` (units of ``omega_c``).
    bath : {"h", "c"}
    window : float
        Window length of the periodogram; choose it much longer than the relaxation time
        and than ``1/omega`` of interest (see the module docstring for the bias).

    Returns
    -------
    pandas.DataFrame
        :data:`qjump.frames.NOISE_COLUMNS`, same rows as
        :func:`qjump.liouville.noise.noise_spectrum`; ``heat_noise = omega_b^2 quanta_noise``.
    """
    records = getattr(result, "records", None)
    if records is None:
        raise ValueError("result: needs the jump records of simulate(..., records=True)")
    omega = check_omega(omega)
    info = result.info
    ids = np.arange(int(info["trajectories"]))
    p = periodograms(
        records,
        omega,
        bath,
        t_start=info["burn_in"],
        t_end=info["t_final"],
        window=window,
        trajectories=ids,
    )
    M = p.shape[0]
    mean = p.mean(axis=0)
    se = p.std(axis=0, ddof=1) / math.sqrt(M) if M > 1 else np.full(omega.size, np.nan)
    omega_b = result.model.bath(bath)[0]
    return pd.DataFrame(
        {
            "bath": bath,
            "omega": omega,
            "quanta_noise": mean,
            "quanta_noise_se": se,
            "heat_noise": omega_b**2 * mean,
            "heat_noise_se": omega_b**2 * se,
        }
    )[NOISE_COLUMNS]
