"""Waiting-time statistics estimated from the jump records of quantum-jump trajectories.

Owns the pairing of consecutive jumps into ``(A, B, tau)`` and the ratio estimators, with
standard errors over trajectories, of ``P(B|A)``, mean delays and densities ``w_AB(tau)``.

Estimators.  Within each trajectory, every jump of type ``A`` that has a successor in the
record contributes one pair ``(A, B, tau)``; the last jump of a trajectory has none and is
left out.  With ``n_A``, ``n_AB`` and ``s_AB`` (the summed delays) totalled over trajectories,

    P(B|A) = n_AB / n_A,   <tau>_AB = s_AB / n_AB,   w_AB(bin) = n_AB(bin) / (n_A width).

Trajectories are independent, so each ratio ``R = sum_j a_j / sum_j b_j`` gets the standard
error of a ratio estimator, ``SE^2 = M/(M-1) sum_j (a_j - R b_j)^2 / (sum_j b_j)^2`` over the
``M`` trajectories (``nan`` for ``M < 2``).  The records must come from the steady state (a
start from ``initial_state="steady"`` or a burn-in of several relaxation times); the exact
reference is :mod:`qjump.liouville.waiting`.  Times are in ``1/omega_c``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..frames import DENSITY_COLUMNS, EVENTS, WAITING_COLUMNS, check_events

__all__ = ["jump_pairs", "waiting_time_densities", "waiting_times"]


def _records(source) -> pd.DataFrame:
    records = getattr(source, "records", source)
    if not isinstance(records, pd.DataFrame):
        raise ValueError(
            "records: expected a jump-record DataFrame or a TrajectoryResult of "
            "simulate(..., records=True)"
        )
    missing = {"trajectory", "time", "bath", "kind"} - set(records.columns)
    if missing:
        raise ValueError(f"records: missing columns {sorted(missing)}")
    return records


def jump_pairs(source) -> pd.DataFrame:
    """Consecutive jumps of each trajectory as pairs.

    Parameters
    ----------
    source : TrajectoryResult or pandas.DataFrame
        A result of ``simulate(..., records=True)`` or its ``records`` frame (schema in
        :mod:`qjump.trajectories.records`).

    Returns
    -------
    pandas.DataFrame
        Columns ``trajectory``, ``from``, ``to`` (event types of :data:`qjump.frames.EVENTS`)
        and ``tau`` (delay), one row per jump that has a successor.
    """
    rec = _records(source).sort_values(["trajectory", "time"], kind="stable")
    traj = rec["trajectory"].to_numpy()
    code = _event_codes(rec)
    t = rec["time"].to_numpy(dtype=float)
    same = traj[1:] == traj[:-1]
    names = np.asarray(EVENTS, dtype=object)
    return pd.DataFrame(
        {
            "trajectory": traj[:-1][same],
            "from": names[code[:-1][same]],
            "to": names[code[1:][same]],
            "tau": (t[1:] - t[:-1])[same],
        }
    )


def _event_codes(rec: pd.DataFrame) -> np.ndarray:
    """Index into :data:`qjump.frames.EVENTS` of each record."""
    bath = rec["bath"].astype(str).to_numpy()
    kind = rec["kind"].astype(str).to_numpy()
    code = np.where(bath == "h", 0, 2) + np.where(kind == "absorption", 0, 1)
    bad = ~np.isin(bath, ["h", "c"]) | ~np.isin(kind, ["absorption", "emission"])
    if np.any(bad):
        raise ValueError("records: bath must be 'h'/'c' and kind 'absorption'/'emission'")
    return code.astype(np.int64)


def _ratio(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ratio estimates ``sum a / sum b`` over the first axis (trajectories) and their SE."""
    A, B = a.sum(axis=0), b.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        R = A / B
        M = a.shape[0]
        if M < 2:
            return R, np.full_like(R, np.nan)
        resid = a - R * b
        se = np.sqrt(M / (M - 1) * np.sum(resid**2, axis=0)) / B
    return R, se


def _pair_arrays(source):
    pairs = jump_pairs(source)
    traj_ids = np.unique(_records(source)["trajectory"].to_numpy())
    j = np.searchsorted(traj_ids, pairs["trajectory"].to_numpy())
    code = {e: i for i, e in enumerate(EVENTS)}
    a = pairs["from"].map(code).to_numpy(dtype=np.int64)
    b = pairs["to"].map(code).to_numpy(dtype=np.int64)
    return traj_ids.size, j, a, b, pairs["tau"].to_numpy(dtype=float)


def waiting_times(source, *, events=None) -> pd.DataFrame:
    """``P(B|A)`` and mean delays with standard errors over trajectories.

    Parameters
    ----------
    source : TrajectoryResult or pandas.DataFrame
        Steady-state jump records (see :func:`jump_pairs`).
    events : sequence of str, optional
        Event types to report (default all of :data:`qjump.frames.EVENTS`).

    Returns
    -------
    pandas.DataFrame
        :data:`qjump.frames.WAITING_COLUMNS`, same rows as
        :func:`qjump.liouville.waiting.waiting_times`.
    """
    events = check_events(events)
    M, j, a, b, tau = _pair_arrays(source)
    K = len(EVENTS)
    n_a = np.bincount(j * K + a, minlength=M * K).reshape(M, K).astype(float)
    idx = (j * K + a) * K + b
    n_ab = np.bincount(idx, minlength=M * K * K).reshape(M, K, K).astype(float)
    s_ab = np.bincount(idx, weights=tau, minlength=M * K * K).reshape(M, K, K)
    prob, prob_se = _ratio(n_ab, n_a[:, :, None] * np.ones((1, 1, K)))
    delay, delay_se = _ratio(s_ab, n_ab)
    rows = []
    for x in events:
        ia = EVENTS.index(x)
        for y in events:
            ib = EVENTS.index(y)
            rows.append((x, y, prob[ia, ib], prob_se[ia, ib], delay[ia, ib], delay_se[ia, ib]))
    return pd.DataFrame(rows, columns=WAITING_COLUMNS)


def waiting_time_densities(source, bins, *, events=None) -> pd.DataFrame:
    """Histogram estimates of ``w_AB`` averaged over delay bins, with standard errors.

    Parameters
    ----------
    source : TrajectoryResult or pandas.DataFrame
        Steady-state jump records (see :func:`jump_pairs`).
    bins : array_like
        Increasing bin edges ``>= 0``.  Delays beyond the last edge are counted in ``n_A``
        but in no bin, so ``sum_B int w_AB`` over the bins is ``<= 1``.
    events : sequence of str, optional

    Returns
    -------
    pandas.DataFrame
        :data:`qjump.frames.DENSITY_COLUMNS`, same rows as
        ``qjump.liouville.waiting.waiting_time_densities(model, bins=bins)``.
    """
    events = check_events(events)
    edges = np.asarray(bins, dtype=float).reshape(-1)
    if edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0:
        raise ValueError(f"bins: need >= 2 increasing edges >= 0, got {bins!r}")
    nb = edges.size - 1
    M, j, a, b, tau = _pair_arrays(source)
    K = len(EVENTS)
    n_a = np.bincount(j * K + a, minlength=M * K).reshape(M, K).astype(float)
    k = np.searchsorted(edges, tau, side="right") - 1
    inside = (k >= 0) & (k < nb)
    idx = ((j * K + a) * K + b) * nb + k
    h = np.bincount(idx[inside], minlength=M * K * K * nb).reshape(M, K, K, nb).astype(float)
    width = np.diff(edges)
    dens, dens_se = _ratio(h, n_a[:, :, None, None] * width[None, None, None, :])
    frames = []
    for x in events:
        ia = EVENTS.index(x)
        for y in events:
            ib = EVENTS.index(y)
            frames.append(
                pd.DataFrame(
                    {
                        "from": x,
                        "to": y,
                        "tau_lo": edges[:-1],
                        "tau_hi": edges[1:],
                        "tau": 0.5 * (edges[:-1] + edges[1:]),
                        "density": dens[ia, ib],
                        "density_se": dens_se[ia, ib],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)[DENSITY_COLUMNS]
