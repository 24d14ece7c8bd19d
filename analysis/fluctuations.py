"""Tables and figures of heat fluctuations: trajectories against exact FCS (physics notes §6).

Inputs are :class:`qjump.TrajectoryResult` objects (their ``.windows`` DataFrames,
schema in :mod:`qjump.trajectories.records`) or the DataFrames built here; outputs are pandas
DataFrames
or matplotlib Figures (created without pyplot, so nothing is shown and no global state or
backend is touched).  Signs and units as in
:mod:`qjump.trajectories.estimates`: heat is positive into the system, energies in units of
``omega_c``, times in ``1/omega_c``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qjump.liouville import fcs
from qjump.model import PaperModel
from qjump.trajectories import estimates as fl

__all__ = [
    "cumulant_figure",
    "cumulant_table",
    "heat_distribution_figure",
    "heat_distribution_table",
    "rate_function",
    "tur_exact_curve",
    "tur_figure",
    "tur_trajectory_table",
]

CUMULANTS = ("mean", "diffusion", "skewness")


# ---------------------------------------------------------------------------- cumulants
def cumulant_table(results: Iterable, bath: str = "h", quantity: str = "quanta") -> pd.DataFrame:
    """Trajectory against exact scaled cumulants, one row per run and cumulant.

    Parameters
    ----------
    results : iterable of TrajectoryResult
        Runs (each carries its model and window summaries).
    bath : {"h", "c"}
    quantity : {"quanta", "heat"}

    Returns
    -------
    pandas.DataFrame
        ``scenario, omega_h, cumulant, trajectory, se, exact, z`` with
        ``z = (trajectory - exact) / se``; ``cumulant`` is ``mean``, ``diffusion``
        (``lim Var/T``) or ``skewness`` (``lim k3/T``).
    """
    rows = []
    for r in results:
        est = r.counting_statistics(bath)
        ex = fcs.counting_statistics(r.model, bath)
        for c in CUMULANTS:
            name = f"{quantity}_{c}"
            val, se, ref = est[name], est.se[name], ex[name]
            rows.append(
                {
                    "scenario": r.model.label,
                    "omega_h": r.model.omega_h,
                    "cumulant": c,
                    "trajectory": val,
                    "se": se,
                    "exact": ref,
                    "z": (val - ref) / se if se > 0 else math.nan,
                }
            )
    return pd.DataFrame(rows)


def cumulant_figure(table: pd.DataFrame) -> Figure:
    """Error-bar plot of trajectory/exact for each cumulant and scenario.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`cumulant_table`.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per cumulant: ``trajectory/exact`` with ``se/|exact|`` error bars; the
        line at 1 is exact agreement.
    """
    fig = Figure(figsize=(4 * len(CUMULANTS), 3.6), layout="constrained")
    axes = fig.subplots(1, len(CUMULANTS))
    for ax, c in zip(np.atleast_1d(axes), CUMULANTS, strict=True):
        sub = table[table["cumulant"] == c]
        x = np.arange(len(sub))
        ratio = sub["trajectory"] / sub["exact"]
        err = sub["se"] / sub["exact"].abs()
        ax.errorbar(x, ratio, yerr=err, fmt="o", capsize=3, label="trajectory / exact ± SE/|exact|")
        ax.axhline(1.0, color="k", lw=0.8, label="exact agreement")
        ax.set_xticks(
            x, [f"{s}\n{w:g}" for s, w in zip(sub["scenario"], sub["omega_h"], strict=True)]
        )
        ax.set_xlabel(r"scenario and $\omega_h/\omega_c$")
        ax.set_ylabel("trajectory / exact (dimensionless)")
        ax.set_title(f"scaled {c}")
    fig.legend(
        *np.atleast_1d(axes)[0].get_legend_handles_labels(),
        loc="outside lower center",
        ncol=2,
        frameon=False,
    )
    return fig


# ---------------------------------------------------------------------------- distribution
def rate_function(
    model: PaperModel, x: np.ndarray, bath: str = "h", s_grid: np.ndarray | None = None
) -> np.ndarray:
    """Large-deviation rate function ``I(x) = sup_s [s x - theta(s)]`` of the quanta rate.

    Legendre transform of :func:`qjump.liouville.fcs.scgf` (quanta of ``bath`` per unit time) on a
    grid of counting fields, refined by a local quadratic fit around the grid maximum.
    Points ``x`` whose maximiser lies at the edge of the grid are ``nan``.

    Parameters
    ----------
    model : PaperModel
    x : array_like
        Rates ``K/tau`` (quanta per unit time).
    bath : {"h", "c"}
    s_grid : array_like, optional
        Counting fields (default ``linspace(-3, 3, 601)``).

    Returns
    -------
    numpy.ndarray
        ``I(x) >= 0``, zero at ``x = theta'(0)``.
    """
    s = np.linspace(-3.0, 3.0, 601) if s_grid is None else np.asarray(s_grid, float)
    theta = np.asarray(fcs.scgf(model, s, bath))
    x = np.atleast_1d(np.asarray(x, float))
    vals = s[None, :] * x[:, None] - theta[None, :]
    j = np.argmax(vals, axis=1)
    out = vals[np.arange(x.size), j]
    inner = (j > 0) & (j < s.size - 1)
    # parabolic refinement of the maximum between grid points
    jj = np.clip(j, 1, s.size - 2)
    y0, y1, y2 = (vals[np.arange(x.size), jj + d] for d in (-1, 0, 1))
    curv = y0 - 2 * y1 + y2
    with np.errstate(divide="ignore", invalid="ignore"):
        peak = y1 - (y2 - y0) ** 2 / (8 * curv)
    out = np.where(inner & (curv < 0), peak, out)
    return np.where(inner, out, np.nan)


def heat_distribution_table(result, tau: float, bath: str = "h") -> pd.DataFrame:
    """Trajectory ``P(Q, tau)`` of the heat from ``bath`` with the exact approximations.

    Parameters
    ----------
    result : TrajectoryResult
        A run with windows of length ``tau`` or a divisor of it (``simulate(window=...)``).
    tau : float
        Window length.
    bath : {"h", "c"}

    Returns
    -------
    pandas.DataFrame
        ``value`` (heat ``Q = omega k``), ``quanta`` (``k``), ``probability``, ``count``,
        ``se`` (binomial ``sqrt(p (1-p) / n)``; windows of one trajectory are correlated
        only weakly when ``tau`` exceeds the relaxation time), ``gaussian``
        (probability of ``k`` under a normal law with the exact mean ``J tau`` and variance
        ``D tau`` of the quanta) and ``large_deviation`` (``exp(-tau I(k/tau))`` from the
        Legendre transform of the exact SCGF, normalised over the observed ``k``; no
        prefactor, so only the shape is predicted).
    """
    model = result.model
    omega = model.bath(bath)[0]
    hist = fl.quanta_histogram(result, bath, tau)
    k = hist["value"].to_numpy(dtype=float)
    n = int(hist["count"].sum())
    p = hist["probability"].to_numpy()
    cum = fcs.cumulants(model, bath)
    mu, var = cum.mean * tau, cum.diffusion * tau
    gauss = np.exp(-((k - mu) ** 2) / (2 * var)) / math.sqrt(2 * math.pi * var)
    ld = np.exp(-tau * rate_function(model, k / tau, bath))
    ld = ld / np.nansum(ld)
    return pd.DataFrame(
        {
            "value": omega * k,
            "quanta": k.astype(np.int64),
            "probability": p,
            "count": hist["count"].to_numpy(),
            "se": np.sqrt(p * (1 - p) / max(n, 1)),
            "gaussian": gauss,
            "large_deviation": ld,
        }
    )


def heat_distribution_figure(table: pd.DataFrame, *, title: str = "", log: bool = True) -> Figure:
    """Trajectory heat distribution with the exact Gaussian and large-deviation overlays.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`heat_distribution_table`.
    title : str
    log : bool
        Logarithmic probability axis (shows the tails).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(
        table["value"],
        table["probability"],
        yerr=table["se"],
        fmt="o",
        ms=4,
        capsize=2,
        label="trajectories ± binomial SE",
    )
    ax.plot(
        table["value"],
        table["gaussian"],
        "-",
        label=r"exact Gaussian (mean $J\tau$, variance $D\tau$)",
    )
    ax.plot(
        table["value"],
        table["large_deviation"],
        "--",
        label=r"exact large deviation $e^{-\tau I(q)}$",
    )
    if log:
        ax.set_yscale("log")
        pos = table["probability"][table["probability"] > 0]
        ax.set_ylim(0.3 * pos.min(), 2 * pos.max())
    ax.set_xlabel(r"heat $Q$ from the bath over a window $\tau$ ($\hbar\omega_c$)")
    ax.set_ylabel(r"probability $P(Q, \tau)$ ($\tau$ in $1/\omega_c$)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower center")  # below the peak, between the tails
    return fig


# ---------------------------------------------------------------------------- TUR
def tur_exact_curve(model: PaperModel, omega_h: Sequence[float], bath: str = "h") -> pd.DataFrame:
    """Exact TUR ratio ``(D/J^2) sigma/2`` across ``omega_h``
    (``tur_ratio`` of :func:`qjump.counting_statistics`).

    Returns
    -------
    pandas.DataFrame
        ``omega_h, ratio``.
    """
    vals = [
        fcs.counting_statistics(model.replace(omega_h=float(w)), bath).tur_ratio for w in omega_h
    ]
    return pd.DataFrame({"omega_h": np.asarray(omega_h, float), "ratio": vals})


def tur_trajectory_table(results: Iterable, bath: str = "h") -> pd.DataFrame:
    """Trajectory TUR ratios (``TrajectoryResult.counting_statistics``) with
    exact.

    Returns
    -------
    pandas.DataFrame
        ``scenario, omega_h, ratio, se, exact``.
    """
    rows = []
    for r in results:
        t = r.counting_statistics(bath)
        rows.append(
            {
                "scenario": r.model.label,
                "omega_h": r.model.omega_h,
                "ratio": t.tur_ratio,
                "se": t.se["tur_ratio"],
                "exact": fcs.counting_statistics(r.model, bath).tur_ratio,
            }
        )
    return pd.DataFrame(rows)


def tur_figure(
    exact: pd.DataFrame, trajectories: pd.DataFrame | None = None, *, title: str = ""
) -> Figure:
    """TUR ratio across ``omega_h``: exact line, trajectory points with error bars.

    A violation (ratio < 1) is claimed only from the exact line (physics notes §6); the
    trajectory points scatter around it.

    Parameters
    ----------
    exact : pandas.DataFrame
        From :func:`tur_exact_curve`.
    trajectories : pandas.DataFrame, optional
        From :func:`tur_trajectory_table`.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(exact["omega_h"], exact["ratio"], "-", label="exact")
    if trajectories is not None and len(trajectories):
        ax.errorbar(
            trajectories["omega_h"],
            trajectories["ratio"],
            yerr=trajectories["se"],
            fmt="o",
            capsize=3,
            label="trajectories ± 1 SE",
        )
    ax.axhline(1.0, color="k", lw=0.8, ls=":", label="classical bound (TUR ratio = 1)")
    ax.set_xlabel(r"$\omega_h$ ($\omega_c$)")
    ax.set_ylabel(r"TUR ratio $(D/J^2)\,\sigma/2$ (dimensionless)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig
