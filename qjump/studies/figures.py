"""Generic study figures: each requested quantity against the first swept parameter.

Owns ``quantities*.png``: one panel per quantity, one colour per scenario, exact values as
lines, trajectory estimates as points with +-1 SE bars; legends outside the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["AXIS_LABELS", "draw_quantities", "quantity_label"]

#: x-axis labels of the swept parameters (hbar = kB = 1, energies in units of omega_c).
AXIS_LABELS = {
    "omega_h": "ω_h (units of ω_c)",
    "omega_c": "ω_c",
    "T_h": "T_h (units of ω_c)",
    "T_c": "T_c (units of ω_c)",
    "Omega": "Ω (units of ω_c)",
    "N": "N (two-level systems per ensemble)",
    "g_h": "g_h",
    "g_c": "g_c",
    "g_scale": "coupling scale factor (g_h and g_c)",
    "g_h_scale": "hot coupling scale factor",
    "g_c_scale": "cold coupling scale factor",
}

_CURRENT_PREFIXES = ("Q_", "W")
_DIMENSIONLESS = ("C_loc", "C_nonloc", "C_nonloc_product", "tur_ratio")


def quantity_label(q: str) -> str:
    """Panel label of quantity ``q`` with its unit."""
    if q.startswith(_CURRENT_PREFIXES) or q == "heat_mean":
        return f"{q} (units of ω_c; > 0: energy into the system)"
    if q == "energy":
        return "energy (units of ω_c)"
    if q in _DIMENSIONLESS or q.startswith(("sz_", "coh_")):
        return f"{q} (dimensionless)"
    if q.startswith("quanta_"):
        return f"hot-bath {q} (quanta per unit time 1/ω_c)"
    if q.startswith("heat_"):
        return f"hot-bath {q} (units of ω_c)"
    return q


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _numeric(series: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """x positions and, for text-valued parameters (coupling vectors), tick labels."""
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float), None
    cats = list(dict.fromkeys(series.astype(str)))
    return series.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(float), cats


def draw_quantities(
    results: pd.DataFrame, config: Mapping[str, Any], directory: str | Path
) -> list[Path]:
    """Draw each quantity of ``config["plot"]`` against the first swept parameter.

    Exact values are lines, trajectory estimates points with +-1 SE error bars; one colour per
    scenario.  With several swept parameters, one file per combination of the others
    (``quantities_omega_h=1.5.png``, ...; the title names the combination); else
    ``quantities.png``.

    Parameters
    ----------
    results : DataFrame
        The study's ``results.parquet``.
    config : mapping
        The resolved configuration (``study.json["config"]``): ``axes``, ``plot``,
        ``scenarios``.
    directory : path-like
        Where to write the PNG files.

    Returns
    -------
    list of Path
        The files written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    directory = Path(directory)
    axes_names = list(config.get("axes", ["omega_h"]))
    xname, others = axes_names[0], axes_names[1:]
    plot = [q for q in config.get("plot", []) if q in set(results["quantity"])]
    if not plot:
        return []
    labels = [s["label"] for s in config["scenarios"]]
    colours = {lab: f"C{i % 10}" for i, lab in enumerate(labels)}
    if others:
        combos = list(results[others].drop_duplicates().itertuples(index=False, name=None))
    else:
        combos = [()]
    for old in directory.glob("quantities*.png"):
        old.unlink()
    written = []
    style = {"figure.dpi": 110, "font.size": 9, "axes.grid": True, "grid.alpha": 0.3}
    for combo in combos:
        sel = results
        for name, value in zip(others, combo, strict=True):
            sel = sel[sel[name] == value]
        ncol = min(len(plot), 3)
        nrow = int(np.ceil(len(plot) / ncol))
        with matplotlib.rc_context(style):
            fig, axs = plt.subplots(
                nrow,
                ncol,
                figsize=(4.2 * ncol, 3.2 * nrow + 0.9),
                squeeze=False,
                layout="constrained",
            )
            ticks = None
            for ax, q in zip(axs.flat, plot, strict=False):
                rows = sel[sel["quantity"] == q]
                span, _ = _numeric(rows[xname]) if len(rows) else (np.zeros(1), None)
                # trajectory points of the scenarios side by side (dodged by 1% of the range)
                step = 0.01 * (np.ptp(span) if np.ptp(span) > 0 else 1.0)
                for si, lab in enumerate(labels):
                    r = rows[rows["scenario"] == lab].sort_values(xname)
                    if r.empty:
                        continue
                    x, ticks_here = _numeric(r[xname])
                    ticks = ticks_here or ticks
                    ex = r["exact"].to_numpy(float)
                    ok = np.isfinite(ex)
                    marker = "" if ok.sum() > 12 else "."
                    ax.plot(x[ok], ex[ok], "-", marker=marker, ms=3, lw=1.3, color=colours[lab])
                    t = r["trajectory"].to_numpy(float)
                    has = np.isfinite(t)
                    if has.any():
                        se = np.nan_to_num(r["se"].to_numpy(float)[has])
                        ax.errorbar(
                            x[has] + (si - (len(labels) - 1) / 2) * step,
                            t[has],
                            yerr=se,
                            fmt="o",
                            ms=4,
                            capsize=2.5,
                            mfc="white",
                            mew=1.1,
                            color=colours[lab],
                            lw=1,
                        )
                ax.set_xlabel(AXIS_LABELS.get(xname, xname))
                ax.set_title(quantity_label(q), fontsize=8.5)
                if ticks is not None:
                    ax.set_xticks(range(len(ticks)), ticks, rotation=30)
            for ax in list(axs.flat)[len(plot) :]:
                ax.set_visible(False)
            handles = [plt.Line2D([], [], color=colours[lab], lw=2, label=lab) for lab in labels]
            handles += [
                plt.Line2D([], [], color="0.3", lw=1.3, label="exact (line)"),
                plt.Line2D(
                    [],
                    [],
                    color="0.3",
                    marker="o",
                    mfc="white",
                    ls="none",
                    label="trajectories ± 1 SE (offset sideways per scenario)",
                ),
            ]
            fig.legend(
                handles=handles,
                loc="outside lower center",
                ncol=min(len(handles), 8),
                frameon=False,
                fontsize=8,
            )
            title = config.get("name", "study")
            if others:
                title += ": " + ", ".join(
                    f"{n} = {_value(v)}" for n, v in zip(others, combo, strict=True)
                )
            fig.suptitle(title)
            name = "quantities.png"
            if others:
                tag = "_".join(f"{n}={_value(v)}" for n, v in zip(others, combo, strict=True))
                name = (
                    "quantities_"
                    + "".join(c if c.isalnum() or c in "=._-" else "-" for c in tag)
                    + ".png"
                )
            fig.savefig(directory / name)
            plt.close(fig)
        written.append(directory / name)
    return written
