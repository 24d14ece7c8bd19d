"""The paper's Figs. 2-4 drawn from a study: exact curves, trajectory points, regimes.

Owns the figure style (applied with ``matplotlib.rc_context``, never globally), the legends
that explain every line and marker, and :func:`save_figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .claim_table import PAPER_CLAIMS
from .claims import Claim, paper_eta_star
from .data import Study
from .tables import FIG2_SCENARIOS

__all__ = ["STYLE", "figure2", "figure3", "figure4", "save_figures"]

#: rcParams of the figures, applied inside ``matplotlib.rc_context`` only.
STYLE = {
    "font.family": "serif",
    "font.size": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": True,
    "axes.linewidth": 0.8,
    "lines.linewidth": 1.3,
    "savefig.dpi": 200,
    "axes.formatter.limits": (-3, 3),
    "axes.formatter.use_mathtext": True,
}
COLORS = {"independent": "#222222", "common": "#1f77b4", "cascaded": "#d62728"}
LINESTYLES = {"all-to-all": "-", "pairwise": "--"}
MARKERS = {"all-to-all": "o", "pairwise": "s"}
TYPES = {"all-to-all": "type 1 (all-to-all)", "pairwise": "type 2 (pairwise)"}
REGIMES = {
    "accelerator": ("A", "#fde9c9"),
    "engine": ("E", "#d9ecd0"),
    "refrigerator": ("R", "#d6e4f2"),
}
OPTIMUM_COLOR = "#2ca02c"
CURRENT_UNIT = r"$\hbar\omega_c^2$"
X_LABEL = r"$\omega_h/\omega_c$"
LATEX = {
    "W": r"$\dot W$",
    "Q_h": r"$\dot Q_h$",
    "Q_c": r"$\dot Q_c$",
    "W_loc": r"$\dot W_{\rm loc}$",
    "W_nonloc": r"$\dot W_{\rm nonloc}$",
    "C_loc": r"$C_{\rm loc}$",
    "C_nonloc": r"$C_{\rm nonloc}$",
    "C_nonloc_product": r"$\tilde C_{\rm nonloc}$",
}
CURRENT_NAMES = {
    "W": "work current",
    "Q_h": "heat current from the hot bath",
    "Q_c": "heat current from the cold bath",
}
SIGN = "positive into the system"


def _ylabel(quantities: Sequence[str]) -> str:
    names = " / ".join(LATEX[q] for q in quantities)
    if quantities[0].startswith("C_"):
        return f"{names} (dimensionless)"
    return f"{names} ({CURRENT_UNIT})"


def _scenario_handle(st: Study, s: str) -> Line2D:
    """Legend entry of one scenario: colour = dissipation, line style and symbol = type."""
    info = st.info[s]
    return Line2D(
        [],
        [],
        color=COLORS.get(info["dissipation"], "0.5"),
        ls=LINESTYLES.get(info["interaction"], "-"),
        marker=MARKERS.get(info["interaction"], "o"),
        mfc="white",
        ms=4,
        label=f"{s}: {info['dissipation']}, {TYPES.get(info['interaction'], '')}",
    )


def _method_handles(ax, marker: str = "o") -> list:
    """Legend entries for 'line = exact' and 'open symbol with bar = trajectories ± 1 SE'."""
    exact = Line2D([], [], color="0.3", label="exact steady state (line)")
    traj = ax.errorbar(
        [],
        [],
        yerr=[],
        fmt=marker,
        color="0.3",
        mfc="white",
        ms=3.5,
        elinewidth=1.0,
        capsize=2,
        label="trajectory mean ± 1 SE (open symbol, bar)",
    )
    return [exact, traj]


def _errorbars(ax, st: Study, s: str, q: str) -> None:
    p = st.points(s, q)
    if p.empty:
        return
    info = st.info[s]
    ax.errorbar(
        p["x"],
        p["trajectory"],
        yerr=p["se"],
        fmt=MARKERS.get(info["interaction"], "o"),
        color=COLORS.get(info["dissipation"], "0.5"),
        ms=3.5,
        mfc="white",
        mew=1.0,
        elinewidth=1.0,
        capsize=2,
        zorder=5,
    )


def _line(ax, st: Study, s: str, q: str, ls: str | None = None) -> None:
    info = st.info[s]
    x, v = st.curve(s, q)
    ax.plot(
        x,
        v,
        ls or LINESTYLES.get(info["interaction"], "-"),
        color=COLORS.get(info["dissipation"], "0.5"),
    )


def _shade(ax, st: Study, letters: bool) -> None:
    """Shade the operating regimes; each span reaches the neighbouring grid points (where
    the currents vanish and the regime is ``none``)."""
    r = st.rows(st.scenarios[0], "W")
    xs, regs = r["x"].to_numpy(), r["regime"].to_numpy()
    for regime, (letter, color) in REGIMES.items():
        idx = np.flatnonzero(regs == regime)
        if idx.size == 0:
            continue
        lo = 0.0 if idx[0] == 0 else xs[idx[0] - 1]
        hi = xs[min(idx[-1] + 1, xs.size - 1)]
        ax.axvspan(lo, hi, color=color, lw=0, zorder=0)
        if letters:
            ax.text(
                0.5 * (lo + hi),
                1.02,
                letter,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=9,
                fontweight="bold",
            )


def figure2(st: Study) -> Figure:
    """Fig. 2: local and non-local work currents and coherence quantities, com(2), cas(2).

    Panels (a) W_loc, (b) W_nonloc, (c) C_loc, (d) C_nonloc and its product form
    C~_nonloc (dotted, exact only); the legend sits below the panels.
    """
    scenarios = [s for s in FIG2_SCENARIOS if s in st.scenarios]
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(7.0, 5.6), layout="constrained")
        axes = fig.subplots(2, 2, sharex=True)
        panels = {
            ("W_loc",): "(a) local work current",
            ("W_nonloc",): "(b) non-local work current",
            ("C_loc",): "(c) local coherence quantity",
            ("C_nonloc", "C_nonloc_product"): "(d) non-local coherence quantity",
        }
        for ax, (qs, title) in zip(axes.flat, panels.items(), strict=True):
            for s in scenarios:
                for q in qs:
                    if not st.has(s, q):
                        continue
                    product = q == "C_nonloc_product"
                    _line(ax, st, s, q, ":" if product else "-")
                    if not product:
                        _errorbars(ax, st, s, q)
            ax.axhline(0, color="0.6", lw=0.5)
            ax.set_ylabel(_ylabel(qs))
            ax.set_title(title, loc="left", fontsize=9)
        for ax in axes[1]:
            ax.set_xlabel(X_LABEL)
        handles = [_scenario_handle(st, s) for s in scenarios]
        for h in handles:
            h.set_linestyle("-")
        handles += _method_handles(axes[0, 0], marker="s")
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                ls=":",
                label=r"(d) product form $\tilde C_{\rm nonloc}$, exact",
            )
        )
        fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
    return fig


def figure3(st: Study) -> Figure:
    """Fig. 3: W, Q_h, Q_c of every scenario with the regimes shaded (A accelerator,
    E engine, R refrigerator, from the exact currents); currents positive into the system."""
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(5.6, 8.2), layout="constrained")
        axes = fig.subplots(3, 1, sharex=True)
        for i, (ax, q) in enumerate(zip(axes, ("W", "Q_h", "Q_c"), strict=True)):
            _shade(ax, st, letters=i == 0)
            for s in st.scenarios:
                if st.has(s, q):
                    _line(ax, st, s, q)
                    _errorbars(ax, st, s, q)
            ax.axhline(0, color="0.4", lw=0.5)
            ax.set_ylabel(f"{LATEX[q]} ({CURRENT_UNIT})")
            ax.set_title(f"({'abc'[i]}) {CURRENT_NAMES[q]} ({SIGN})", loc="left", fontsize=9)
        axes[-1].set_xlabel(X_LABEL)
        axes[-1].set_xlim(0, st.x_max)
        handles = [_scenario_handle(st, s) for s in st.scenarios]
        handles += _method_handles(axes[0])
        handles += [
            Patch(color=color, label=f"{letter}: {regime}")
            for regime, (letter, color) in REGIMES.items()
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
    return fig


def figure4(st: Study, claims: Sequence[Claim] = PAPER_CLAIMS) -> Figure:
    """Fig. 4: power -W against efficiency eta = 1 - omega_c/omega_h in the engine window.

    Green dots: maximum power of each scenario (``optimum.csv``).  Dashed lines: the paper's
    efficiency at maximum power (the target of the Fig. 4 claims in ``claims``) and the
    Carnot efficiency ``1 - T_c/T_h``.
    """
    lo, hi = st.engine_window
    opt = st.optimum.set_index("scenario")
    eta_paper = paper_eta_star(claims)
    carnot = 1.0 - st.T_c / st.T_h
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(5.4, 4.6), layout="constrained")
        ax = fig.subplots()
        for s in st.scenarios:
            if not st.has(s, "W"):
                continue
            info = st.info[s]
            color = COLORS.get(info["dissipation"], "0.5")
            x, W = st.curve(s, "W")
            sel = (x >= lo) & (x <= hi)
            ax.plot(
                1.0 - 1.0 / x[sel], -W[sel], LINESTYLES.get(info["interaction"], "-"), color=color
            )
            p = st.points(s, "W")
            p = p[(p["x"] > lo) & (p["x"] < hi)]
            ax.errorbar(
                1.0 - 1.0 / p["x"],
                -p["trajectory"],
                yerr=p["se"],
                fmt=MARKERS.get(info["interaction"], "o"),
                color=color,
                ms=3.5,
                mfc="white",
                capsize=2,
                elinewidth=1.0,
            )
            if s in opt.index:
                ax.plot(
                    opt.loc[s, "eta_star"],
                    opt.loc[s, "power_star"],
                    "o",
                    color=OPTIMUM_COLOR,
                    ms=5,
                    zorder=6,
                )
        handles = [_scenario_handle(st, s) for s in st.scenarios]
        handles += _method_handles(ax)
        handles.append(
            Line2D(
                [],
                [],
                ls="None",
                marker="o",
                color=OPTIMUM_COLOR,
                ms=5,
                label=r"maximum power $(\eta^*, -\dot W^*)$ (exact)",
            )
        )
        if eta_paper is not None:
            handles.append(
                ax.axvline(
                    eta_paper,
                    color=OPTIMUM_COLOR,
                    ls="--",
                    lw=0.8,
                    label=rf"paper: $\eta^* \approx {eta_paper:g}$",
                )
            )
        handles.append(
            ax.axvline(
                carnot,
                color="0.3",
                ls="--",
                lw=0.8,
                label=rf"Carnot $\eta_C = 1 - T_c/T_h = {carnot:g}$",
            )
        )
        ax.set_xlabel(r"efficiency $\eta = 1-\omega_c/\omega_h$ (dimensionless)")
        ax.set_ylabel(rf"power $-\dot W$ ({CURRENT_UNIT})")
        ax.set_xlim(0, 1.0 - 1.0 / hi + 0.02)
        ax.set_ylim(bottom=0)
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
    return fig


def save_figures(
    st: Study, directory: str | Path, claims: Sequence[Claim] = PAPER_CLAIMS
) -> list[Path]:
    """Write ``fig2.png``, ``fig3.png`` and ``fig4.png`` into ``directory``.

    Returns
    -------
    list of Path
        The files written.
    """
    directory = Path(directory)
    figures = {"fig2.png": figure2(st), "fig3.png": figure3(st), "fig4.png": figure4(st, claims)}
    with mpl.rc_context(STYLE):
        for name, fig in figures.items():
            fig.savefig(directory / name)
    return [directory / name for name in figures]
