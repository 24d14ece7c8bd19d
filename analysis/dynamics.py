"""Figures of relaxation dynamics, waiting-time densities and noise spectra: trajectories
against exact values, for several scenarios at once.

Inputs are the tidy frames of :mod:`qjump.frames` with an extra ``scenario`` column (the
paper's label, e.g. ``"com(2)"``); outputs are matplotlib :class:`~matplotlib.figure.Figure`
objects drawn inside :func:`matplotlib.rc_context` (no global state changes, no backend is
chosen here).  Units: time in ``1/omega_c``, currents in ``omega_c^2`` (energy
``hbar omega_c`` per time ``1/omega_c``), frequencies in ``omega_c``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

__all__ = ["noise_figure", "relaxation_figure", "waiting_time_figure"]

STYLE = {"font.size": 9, "axes.titlesize": 9, "legend.fontsize": 7, "figure.dpi": 110}
DISSIPATIONS = ("ind", "com", "cas")
DISSIPATION_NAMES = {"ind": "independent", "com": "common", "cas": "cascaded"}
INTERACTION_COLOURS = {"1": "tab:blue", "2": "tab:orange"}
INTERACTION_NAMES = {"1": "all-to-all (1)", "2": "pairwise (2)"}
LABELS = {
    "Q_h": r"$Q_h(t)$ ($\omega_c^2$)",
    "Q_c": r"$Q_c(t)$ ($\omega_c^2$)",
    "W": r"$W(t)$ ($\omega_c^2$)",
    "energy": r"$\langle H_S\rangle(t)$ ($\omega_c$)",
    "C_loc": r"$C_{loc}(t)$",
    "C_nonloc": r"$C_{nonloc}(t)$",
    "pop_h1": r"excited population $h_1$",
}


def _parse(label: str) -> tuple[str, str]:
    """``"com(2)"`` -> ``("com", "2")``."""
    return label[:3], label[4]


def _interaction_handles() -> list:
    return [
        Line2D([], [], color=c, lw=2, label=f"interaction {INTERACTION_NAMES[i]}")
        for i, c in INTERACTION_COLOURS.items()
    ]


def relaxation_figure(
    exact: pd.DataFrame,
    trajectories: pd.DataFrame | None = None,
    *,
    quantities: Sequence[str] = ("Q_h", "W"),
    steady: pd.DataFrame | None = None,
    title: str | None = None,
) -> Figure:
    """Relaxation of linear quantities: exact lines, trajectory bands (mean +- 2 SE).

    Parameters
    ----------
    exact, trajectories : pandas.DataFrame
        Dynamics frames (:data:`qjump.frames.DYNAMICS_COLUMNS`) with a ``scenario`` column.
    quantities : sequence of str
        One row of panels per quantity; one column per dissipation model, one colour per
        interaction type.
    steady : pandas.DataFrame, optional
        Columns ``scenario, quantity, value``: steady-state values, drawn dotted.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Log time axis (``t > 0`` only).
    """
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(10, 2.6 * len(quantities) + 1.0), layout="constrained")
        axes = fig.subplots(len(quantities), 3, squeeze=False, sharex=True)
        for col, diss in enumerate(DISSIPATIONS):
            for row, q in enumerate(quantities):
                ax = axes[row, col]
                lo, hi = np.inf, -np.inf
                for label in sorted(set(exact["scenario"])):
                    d, inter = _parse(label)
                    if d != diss:
                        continue
                    colour = INTERACTION_COLOURS[inter]
                    e = exact[(exact["scenario"] == label) & (exact["quantity"] == q)]
                    e = e[e["time"] > 0]
                    ax.plot(e["time"], e["value"], color=colour, lw=1.3, label=f"{label} exact")
                    lo, hi = min(lo, e["value"].min()), max(hi, e["value"].max())
                    if trajectories is not None:
                        r = trajectories[
                            (trajectories["scenario"] == label) & (trajectories["quantity"] == q)
                        ]
                        r = r[r["time"] > 0]
                        if len(r):
                            ax.fill_between(
                                r["time"],
                                r["value"] - 2 * r["se"],
                                r["value"] + 2 * r["se"],
                                color=colour,
                                alpha=0.25,
                                lw=0,
                                label=f"{label} trajectories (mean ± 2 SE)",
                            )
                    if steady is not None:
                        s = steady[(steady["scenario"] == label) & (steady["quantity"] == q)]
                        if len(s):
                            ax.axhline(
                                float(s["value"].iloc[0]),
                                color=colour,
                                ls=":",
                                lw=1,
                                label=f"{label} steady state",
                            )
                ax.set_xscale("log")
                ax.set_ylabel(LABELS.get(q, q))
                if row == 0:
                    ax.set_title(f"{DISSIPATION_NAMES[diss]} dissipation")
                if row == len(quantities) - 1:
                    ax.set_xlabel(r"time $t$ ($1/\omega_c$)")
                if np.isfinite(lo) and hi > lo:
                    pad = 0.3 * (hi - lo)
                    ax.set_ylim(lo - pad, hi + pad)
        handles = [
            *_interaction_handles(),
            Line2D([], [], color="k", lw=1.3, label="exact (Liouvillian)"),
            Patch(color="k", alpha=0.25, label="trajectories: mean ± 2 SE (clipped to the axes)"),
            Line2D([], [], color="k", ls=":", lw=1, label="steady state"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=5)
        if title:
            fig.suptitle(title)
    return fig


def waiting_time_figure(
    exact: pd.DataFrame,
    trajectories: pd.DataFrame | None = None,
    *,
    pairs: Sequence[tuple[str, str]] = (("h+", "h-"), ("h-", "h+"), ("c+", "c-"), ("c-", "c+")),
    title: str | None = None,
) -> Figure:
    """Waiting-time densities ``w_AB(tau)``: exact lines, trajectory histograms with error bars.

    Parameters
    ----------
    exact, trajectories : pandas.DataFrame
        Density frames (:data:`qjump.frames.DENSITY_COLUMNS`) with a ``scenario`` column;
        the exact frame may be point values or bin averages.
    pairs : sequence of (A, B)
        Ordered pairs of event types, one colour each.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One panel per scenario (rows: dissipation models, columns: interaction types), log
        density axis.
    """
    colours = matplotlib.colormaps["tab10"].colors
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(9, 9.5), layout="constrained")
        axes = fig.subplots(3, 2, squeeze=False, sharex=True)
        for label in sorted(set(exact["scenario"])):
            d, inter = _parse(label)
            ax = axes[DISSIPATIONS.index(d), int(inter) - 1]
            for i, (a, b) in enumerate(pairs):
                e = exact[(exact["scenario"] == label) & (exact["from"] == a) & (exact["to"] == b)]
                ax.plot(e["tau"], e["density"], color=colours[i], lw=1.2, label=f"{a} → {b} exact")
                if trajectories is not None:
                    r = trajectories[
                        (trajectories["scenario"] == label)
                        & (trajectories["from"] == a)
                        & (trajectories["to"] == b)
                    ]
                    r = r[r["density"] > 0]
                    ax.errorbar(
                        r["tau"],
                        r["density"],
                        yerr=r["density_se"],
                        fmt="o",
                        ms=2.5,
                        color=colours[i],
                        elinewidth=0.8,
                        label=f"{a} → {b} trajectories (± 1 SE)",
                    )
            ax.set_yscale("log")
            ax.set_title(f"{label}: {DISSIPATION_NAMES[d]}, {INTERACTION_NAMES[inter]}")
            ax.set_ylabel(r"$w_{AB}(\tau)$ ($\omega_c$)")
            ax.set_xlabel(r"delay $\tau$ to the next jump ($1/\omega_c$)")
        handles = [
            Line2D([], [], color=colours[i], lw=2, label=f"{a} → {b}")
            for i, (a, b) in enumerate(pairs)
        ]
        handles += [
            Line2D([], [], color="k", lw=1.2, label="exact (Liouvillian)"),
            Line2D(
                [],
                [],
                color="k",
                marker="o",
                ms=3,
                ls="none",
                label="trajectories: histogram ± 1 SE",
            ),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=6)
        if title:
            fig.suptitle(title)
    return fig


def noise_figure(
    exact: pd.DataFrame,
    trajectories: pd.DataFrame | None = None,
    *,
    windowed: pd.DataFrame | None = None,
    diffusion: pd.DataFrame | None = None,
    title: str | None = None,
) -> Figure:
    """Noise spectra ``S(omega)`` of the hot-bath quanta, exact against trajectories.

    Parameters
    ----------
    exact : pandas.DataFrame
        Noise frames (:data:`qjump.frames.NOISE_COLUMNS`) with a ``scenario`` column.
    trajectories : pandas.DataFrame, optional
        Periodogram estimates (markers with 1-SE error bars).
    windowed : pandas.DataFrame, optional
        The exact finite-window spectra ``S_T`` that the periodogram estimates (dashed).
    diffusion : pandas.DataFrame, optional
        Columns ``scenario, quanta_diffusion``: ``S(0)`` from counting statistics (marker at
        the left edge).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One panel per dissipation model, log frequency and noise axes.
    """
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(10, 4.2), layout="constrained")
        axes = fig.subplots(1, 3, squeeze=False)[0]
        for label in sorted(set(exact["scenario"])):
            d, inter = _parse(label)
            ax = axes[DISSIPATIONS.index(d)]
            colour = INTERACTION_COLOURS[inter]
            e = exact[exact["scenario"] == label]
            e = e[e["omega"] > 0]
            ax.plot(
                e["omega"], e["quanta_noise"], color=colour, lw=1.3, label=f"{label} exact S(ω)"
            )
            if windowed is not None:
                w = windowed[(windowed["scenario"] == label) & (windowed["omega"] > 0)]
                ax.plot(
                    w["omega"],
                    w["quanta_noise"],
                    color=colour,
                    lw=1,
                    ls="--",
                    label=f"{label} exact, finite window",
                )
            if trajectories is not None:
                r = trajectories[(trajectories["scenario"] == label) & (trajectories["omega"] > 0)]
                ax.errorbar(
                    r["omega"],
                    r["quanta_noise"],
                    yerr=r["quanta_noise_se"],
                    fmt="o",
                    ms=3,
                    color=colour,
                    elinewidth=0.8,
                    label=f"{label} trajectories (± 1 SE)",
                )
            if diffusion is not None:
                s0 = diffusion[diffusion["scenario"] == label]
                if len(s0):
                    ax.plot(
                        [float(np.min(e["omega"]))],
                        [float(s0["quanta_diffusion"].iloc[0])],
                        marker="<",
                        color=colour,
                        ls="none",
                        label=f"{label} S(0) = quanta_diffusion",
                    )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{DISSIPATION_NAMES[d]} dissipation")
            ax.set_xlabel(r"angular frequency $\omega$ ($\omega_c$)")
            ax.set_ylabel(r"$S(\omega)$ of hot-bath quanta ($\omega_c$)")
        handles = [
            *_interaction_handles(),
            Line2D([], [], color="k", lw=1.3, label="exact S(ω)"),
            Line2D(
                [],
                [],
                color="k",
                lw=1,
                ls="--",
                label="exact, finite window (what the periodogram estimates)",
            ),
            Line2D(
                [],
                [],
                color="k",
                marker="o",
                ms=3,
                ls="none",
                label="trajectories: periodogram ± 1 SE",
            ),
            Line2D(
                [],
                [],
                color="k",
                marker="<",
                ls="none",
                label="S(0) = quanta_diffusion (counting statistics)",
            ),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=3)
        if title:
            fig.suptitle(title)
    return fig
