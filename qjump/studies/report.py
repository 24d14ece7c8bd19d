"""Generic study report: agreement of trajectories with exact values, budget, metadata.

Owns ``report.md`` of studies without the paper's analysis: the share of trajectory values
within 2 and 3 standard errors of the exact ones, the largest ``|z|``, the statistical budget
and the run metadata.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["agreement_table", "write_report"]


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.{digits}g}"
    return f"{x:.{max(digits - 1, 1)}e}"


def agreement_table(results: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and quantity: trajectory points with an exact value and a finite ``z``,
    the share within 2 and 3 SE, and ``max |z|``."""
    d = results[np.isfinite(results["z"].to_numpy(float))]
    rows = []
    for (s, q), g in d.groupby(["scenario", "quantity"], sort=False):
        z = g["z"].abs()
        rows.append(
            {
                "scenario": s,
                "quantity": q,
                "points": len(g),
                "within_2se": float((z <= 2).mean()),
                "within_3se": float((z <= 3).mean()),
                "max_abs_z": float(z.max()),
            }
        )
    return pd.DataFrame(
        rows, columns=["scenario", "quantity", "points", "within_2se", "within_3se", "max_abs_z"]
    )


def _markdown(df: pd.DataFrame) -> list[str]:
    if df.empty:
        return ["(none)"]
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        lines.append(
            "| " + " | ".join(_fmt(v) if not isinstance(v, str) else v for v in row) + " |"
        )
    return lines


def write_report(
    directory: str | Path, results: pd.DataFrame, meta: Mapping[str, Any], budget: pd.DataFrame
) -> Path:
    """Write ``report.md`` of a study.

    Parameters
    ----------
    directory : path-like
    results : DataFrame
        ``results.parquet``.
    meta : mapping
        ``study.json``.
    budget : DataFrame
        ``budget.csv`` (may be empty).

    Returns
    -------
    Path
        ``report.md``.
    """
    directory = Path(directory)
    cfg = meta["config"]
    axes = cfg.get("axes", ["omega_h"])
    lines = [f"# Study `{cfg['name']}`", ""]
    lines += [
        f"Swept: {', '.join(axes)} ({len(cfg.get('points', []))} points; exact at "
        f"{len(cfg.get('exact_points', []))}, trajectories at "
        f"{len(cfg.get('trajectory_points', []))}); scenarios: "
        f"{', '.join(s['label'] for s in cfg['scenarios'])}.  Units: hbar = kB = 1, energies "
        "and rates in units of ω_c; currents are positive when energy flows into the system.",
        "",
    ]
    figs = sorted(p.name for p in directory.glob("quantities*.png"))
    for f in figs:
        lines += [f"![{f}]({f})", ""]
    agree = agreement_table(results)
    lines += ["## Trajectories against exact values", ""]
    if agree.empty:
        lines += [
            "No point has both an exact value and a trajectory estimate with a standard error.",
            "",
        ]
    else:
        z = results["z"].to_numpy(float)
        z = np.abs(z[np.isfinite(z)])
        lines += [
            f"Over all {z.size} comparisons: {100 * np.mean(z <= 2):.1f}% within 2 SE, "
            f"{100 * np.mean(z <= 3):.1f}% within 3 SE (Gaussian: 95.4% and 99.7%); "
            f"max |z| = {z.max():.2f}.  `z = (trajectory − exact)/SE`.",
            "",
        ]
        lines += _markdown(
            agree.assign(
                within_2se=lambda d: [f"{100 * v:.0f}%" for v in d["within_2se"]],
                within_3se=lambda d: [f"{100 * v:.0f}%" for v in d["within_3se"]],
            )
        )
        lines.append("")
    traj_only = results[results["trajectory"].notna() & results["exact"].isna()]
    if not traj_only.empty:
        lines += ["## Trajectory estimates without exact values", ""]
        cols = ["scenario", *axes, "quantity", "trajectory", "se"]
        lines += _markdown(traj_only[cols])
        lines.append("")
    lines += ["## Statistical budget", ""]
    if budget.empty:
        lines += ["No trajectory points.", ""]
    else:
        lines += [
            f"Total simulated time {_fmt(float(budget['t_total'].sum()))} (units of 1/ω_c), "
            f"{int(budget['jumps'].sum())} jumps, {_fmt(float(budget['wall_s'].sum()), 3)} s "
            "of task wall time.",
            "",
        ]
        lines += _markdown(budget)
        lines.append("")
    lines += ["## Run", ""]
    for key in (
        "config_file",
        "qjump_version",
        "backend",
        "tasks",
        "tasks_computed",
        "tasks_reused",
        "run_wall_s",
    ):
        if key in meta:
            v = meta[key]
            lines.append(f"- {key}: {v if isinstance(v, str) else _fmt(v, 4)}")
    lines += [
        f"- seed: {cfg['seed']}" + (" (quick profile)" if cfg.get("quick") else ""),
        f"- model defaults: {cfg['model']}",
        "",
    ]
    path = directory / "report.md"
    path.write_text("\n".join(lines))
    return path
