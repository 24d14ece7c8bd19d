"""Summary tables of a study: trajectory-vs-exact agreement, statistical budget, Table I.

Owns the statistics the report prints besides the claims, and the paper's Table I.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .data import Study

__all__ = [
    "CLASSES",
    "FIG2_QUANTITIES",
    "FIG2_SCENARIOS",
    "FIG3_QUANTITIES",
    "PAPER_TABLE1",
    "PLOTTED_CURRENTS",
    "ROUNDOFF",
    "TABLE1_REL_TOL",
    "TABLE1_ROWS",
    "agreement_summary",
    "se_budget_table",
    "table1_summary",
]

FIG2_SCENARIOS = ("com(2)", "cas(2)")
FIG2_QUANTITIES = ("W_loc", "W_nonloc", "C_loc", "C_nonloc", "C_nonloc_product")
FIG3_QUANTITIES = ("W", "Q_h", "Q_c")
#: Currents whose SE at every trajectory point must meet the study's ``se_criterion``.
PLOTTED_CURRENTS = ("W", "Q_h", "Q_c", "W_loc", "W_nonloc")

CLASSES = ("population", "same-bath coherence", "cross-bath coherence")
#: The paper's Table I: which matrix-element classes each current reads.
PAPER_TABLE1 = {
    "local heat": {"population"},
    "non-local heat": {"same-bath coherence"},
    "local work": {"cross-bath coherence"},
    "non-local work": {"same-bath coherence", "cross-bath coherence"},
}
#: Relative change of a current above which removing a class counts as "reads it".
TABLE1_REL_TOL = 1e-9
#: |value| under which an exact and a trajectory value are both round-off.
ROUNDOFF = 1e-14
TABLE1_ROWS = {
    "local heat": ("Q_h_loc", "Q_c_loc"),
    "non-local heat": ("Q_h_nonloc", "Q_c_nonloc"),
    "local work": ("W_loc",),
    "non-local work": ("W_nonloc",),
}


def agreement_summary(st: Study) -> tuple[dict[str, Any], pd.DataFrame]:
    """Trajectory-vs-exact agreement: overall numbers and a per-quantity table.

    Returns
    -------
    overall : dict
        ``rows`` (pairs with a z-score), ``points``, ``within_2``, ``within_3`` (shares),
        ``max_abs_z``, ``beyond_5``, ``undefined_z``.
    per : pandas.DataFrame
        ``quantity, n, within_3, max_abs_z``.
    """
    r = st.results[st.results["z"].notna()]
    az = r["z"].abs()
    points = st.results[st.results["trajectory"].notna()]
    overall = {
        "rows": int(len(r)),
        "points": int(points[["scenario", "x"]].drop_duplicates().shape[0]),
        "within_3": float((az <= 3).mean()) if len(r) else math.nan,
        "within_2": float((az <= 2).mean()) if len(r) else math.nan,
        "max_abs_z": float(az.max()) if len(r) else math.nan,
        "beyond_5": int((az > 5).sum()),
        "undefined_z": int(points["z"].isna().sum()),
    }
    per = (
        r.assign(az=az)
        .groupby("quantity", sort=False)
        .agg(
            n=("az", "size"),
            within_3=("az", lambda a: float((a <= 3).mean())),
            max_abs_z=("az", "max"),
        )
        .reset_index()
    )
    return overall, per


def se_budget_table(st: Study) -> pd.DataFrame:
    """Largest SE over the trajectory points relative to the curve's largest |value|.

    Returns
    -------
    pandas.DataFrame
        One row per plotted (scenario, quantity) with trajectory points: ``figure``,
        ``scenario``, ``quantity``, ``max_abs_value``, ``max_se``, ``ratio``,
        ``current``, ``ok`` (``ratio <= se_criterion``), ``t_total`` and ``t_needed``
        (simulated time per point that would meet the criterion, from SE² t at the worst
        point).
    """
    crit = st.se_criterion
    todo = [(s, q, "Fig. 3") for s in st.scenarios for q in FIG3_QUANTITIES]
    todo += [(s, q, "Fig. 2") for s in FIG2_SCENARIOS if s in st.scenarios for q in FIG2_QUANTITIES]
    rows = []
    for s, q, fig in todo:
        if not st.has(s, q):
            continue
        _, v = st.curve(s, q)
        p = st.points(s, q)
        if p.empty:
            continue
        scale = float(np.max(np.abs(v)))
        worst = float(p["se"].max()) / scale if scale > 0 else math.nan
        needed = (
            float((p["se"] ** 2 * p["t_total"]).max()) / (crit * scale) ** 2
            if scale > 0
            else math.nan
        )
        rows.append(
            {
                "figure": fig,
                "scenario": s,
                "quantity": q,
                "max_abs_value": scale,
                "max_se": float(p["se"].max()),
                "ratio": worst,
                "current": q in PLOTTED_CURRENTS,
                "ok": bool(worst <= crit),
                "t_total": float(p["t_total"].max()),
                "t_needed": needed,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "figure",
            "scenario",
            "quantity",
            "max_abs_value",
            "max_se",
            "ratio",
            "current",
            "ok",
            "t_total",
            "t_needed",
        ],
    )


def table1_summary(st: Study, rel_tol: float = TABLE1_REL_TOL) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Which matrix-element classes each current reads (ours vs the paper's Table I).

    Returns
    -------
    summary : DataFrame
        One row per Table I row: ours / paper per class and whether they agree.
    detail : DataFrame
        Largest |contribution| of each class per current, over scenarios and points.
    """
    t = st.table1
    scale = t.groupby("quantity")["full"].apply(lambda v: float(np.max(np.abs(v))))
    t = t.assign(rel=t["change"].abs() / t["quantity"].map(scale).replace(0, np.nan))
    detail = (
        t.groupby(["quantity", "class"], sort=False)
        .agg(
            max_abs_change=("change", lambda v: float(np.max(np.abs(v)))),
            max_rel_change=("rel", "max"),
            scenarios=(
                "scenario",
                lambda s: ", ".join(sorted(set(s[t.loc[s.index, "rel"] > rel_tol]))) or "none",
            ),
        )
        .reset_index()
    )
    rows = []
    for row, qs in TABLE1_ROWS.items():
        d = detail[detail["quantity"].isin(qs)]
        ours = {
            cls
            for cls in CLASSES
            if (d.loc[d["class"] == cls, "max_rel_change"].fillna(0) > rel_tol).any()
        }
        rows.append(
            {
                "current": row,
                **{cls: ("✓" if cls in ours else "") for cls in CLASSES},
                "paper": ", ".join(c for c in CLASSES if c in PAPER_TABLE1[row]),
                "agrees": ours == PAPER_TABLE1[row],
            }
        )
    return pd.DataFrame(rows), detail
