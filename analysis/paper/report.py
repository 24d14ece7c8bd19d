"""The text of a study's ``report.md``: run facts, the claims table, agreement, budget, Table I.

Owns the Markdown layout; the numbers come from :mod:`.claims` and :mod:`.tables`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .claim_table import PAPER_CLAIMS
from .claims import Claim, ClaimResult, Verdict, evaluate, verdict_counts
from .data import Study
from .tables import (
    ROUNDOFF,
    TABLE1_REL_TOL,
    agreement_summary,
    se_budget_table,
    table1_summary,
)

__all__ = ["claims_markdown", "report_markdown", "verdict_text"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _lines(lines: tuple[str, ...]) -> str:
    return "<br>".join(_cell(line) for line in lines) if lines else "—"


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def verdict_text(r: ClaimResult) -> str:
    """The verdict cell: ``**holds**``, ``**fails**``, ``**holds only on part**: x ∈ ...``,
    ``(no claim)`` or ``not evaluated (inputs absent: ...)``."""
    if r.verdict is Verdict.NOT_EVALUATED:
        return f"not evaluated (inputs absent: {r.detail})"
    if r.verdict is Verdict.NO_CLAIM:
        return r.verdict.value
    return f"**{r.verdict.value}**" + (f": {r.detail}" if r.detail else "")


def claims_markdown(results: Sequence[ClaimResult]) -> list[str]:
    """The claims table, one Markdown row per claim."""
    out = [
        "| # | section | claim | paper | ours (exact) | ours (trajectories) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(results, 1):
        out.append(
            f"| {i} | {r.section} | {_cell(r.claim)} | {_cell(r.paper)} | "
            f"{_lines(r.exact)} | {_lines(r.trajectory)} | {_cell(verdict_text(r))} |"
        )
    return out


def _roundoff_text(st: Study) -> str:
    t = st.results[st.results["se"] > 0]
    tiny = t[np.maximum(t["exact"].abs(), t["trajectory"].abs()) < ROUNDOFF]
    if tiny.empty:
        return ""
    groups = sorted({f"{r.quantity} {r.scenario}" for r in tiny.itertuples()})
    return (
        f"{len(tiny)} pairs ({', '.join(groups)}) vanish by symmetry: exact and "
        f"trajectory values are round-off (< {ROUNDOFF:g}) and their z-scores, although within "
        f"the statistics above (max |z| {tiny['z'].abs().max():.2f}), carry no information."
    )


def _budget_text(st: Study) -> str:
    tr = st.config["trajectory"]
    t = st.results.drop_duplicates(["scenario", "x"])["t_total"].dropna()
    how = (
        f"simulated time per point chosen from the exact heat diffusion for a predicted SE "
        f"of Q_h, Q_c, W of at most {100 * float(tr['target_rel_se']):g}% of each curve's "
        f"largest |value|"
        if tr.get("target_rel_se") is not None
        else "fixed simulated time per point (t_total × t_scale)"
    )
    if t.empty:
        return f"{how}: no trajectory points"
    wall = st.meta.get("trajectory_task_wall_s")
    return f"{how}: {t.min():.2g} to {t.max():.2g} per point, {t.sum():.3g} in total" + (
        f" (trajectory tasks took {wall:.0f} s of worker time)" if wall is not None else ""
    )


def _header(st: Study) -> list[str]:
    cfg, meta = st.config, st.meta
    grid = st.grid
    points = "[" + ", ".join(f"{v:g}" for v in st.trajectory_points) + "]"
    return [
        f"# Study `{cfg['name']}`{' (quick profile)' if cfg.get('quick') else ''}: "
        "the paper's Sec. III.C and IV, exact and from trajectories",
        "",
        f"qjump {meta['qjump_version']}, backend `{meta['backend']}`; {meta['tasks']} tasks "
        f"({meta['tasks_computed']} computed in the last run, {meta['tasks_reused']} reused "
        f"from the cache); last run took {meta['run_wall_s']:.0f} s of wall time. "
        f"Exact grid: {len(grid)} values of x = ω_h/ω_c from {grid[0]:g} to {grid[-1]:g}; "
        f"trajectory points x ∈ {points}; "
        f"{cfg['trajectory']['trajectories']} trajectories per point started in the exact "
        f"steady state (no burn-in); {_budget_text(st)}; study seed {cfg['seed']}. "
        f"Model: {json.dumps(cfg['model'])}.",
        "",
        *(
            [
                f"**Damaged cache files detected, reported and recomputed in the last run: "
                f"{len(meta['store_problems'])}** ({'; '.join(meta['store_problems'])}).",
                "",
            ]
            if meta.get("store_problems")
            else []
        ),
        "Figures: `fig2.png` (Fig. 2), `fig3.png` (Fig. 3 with the A/E/R regimes shaded), "
        "`fig4.png` (Fig. 4, green dots: maximum power; dashed lines: the paper's efficiency "
        "at maximum power and the Carnot efficiency). Lines are exact, open symbols are "
        "trajectory estimates ± 1 SE; colour marks the dissipation, line style and symbol "
        "the interaction type (solid/circle type 1, dashed/square type 2). Units: ħ = k_B = "
        "ω_c = 1; currents are energies per time, in units of ħω_c², times in "
        "1/ω_c. Data: `results.parquet`/`results.csv` (one row per point and quantity), "
        "`optimum.csv`, `table1.csv`.",
        "",
    ]


def _claims_section(st: Study, claims: Sequence[Claim]) -> list[str]:
    results = evaluate(st, claims)
    counts = verdict_counts(results)
    return [
        "## Claims of Sec. III.C and IV",
        "",
        "Claims are judged on the exact values (x = ω_h/ω_c; an ordering holds where the "
        "difference is > 0 on the grid inside the stated window, the end points of a range "
        "are interpolated linearly between grid points). Trajectory column: the same "
        "difference (or value) at the trajectory points in the window, ± SE. A claim whose "
        "inputs the study lacks (a scenario, a grid point, a window without grid points) "
        "is not evaluated. "
        f"Verdicts: {', '.join(f'{k}: {v}' for k, v in counts.items())}.",
        "",
        *claims_markdown(results),
        "",
        "Notes. COP_A: the paper prints ω_h/(ω_h − ω_c), which is negative in the whole "
        "accelerator window; Q_h/W equals the positive form ω_h/(ω_c − ω_h). "
        "Because every quantum crosses from one ensemble to the other, Q_h/ω_h = −Q_c/ω_c "
        "holds exactly, so η, COP_R and COP_A depend on ω_h/ω_c only.",
        "",
    ]


def _agreement_section(st: Study) -> list[str]:
    overall, per = agreement_summary(st)
    if not overall["rows"]:
        return ["## Trajectories against exact values", "", "No trajectory points.", ""]
    return [
        "## Trajectories against exact values",
        "",
        f"{overall['points']} trajectory points, {overall['rows']} (point, quantity) pairs "
        f"with a z-score: **{100 * overall['within_3']:.1f}% within 3 SE** "
        f"({100 * overall['within_2']:.1f}% within 2 SE), max |z| = "
        f"**{overall['max_abs_z']:.2f}**, {overall['beyond_5']} beyond 5 SE, "
        f"{overall['undefined_z']} undefined (SE = 0 with a non-zero difference).",
        "",
        _md_table(
            per.assign(
                within_3=per["within_3"].map(lambda v: f"{100 * v:.0f}%"),
                max_abs_z=per["max_abs_z"].map(lambda v: f"{v:.2f}"),
            )
        ),
        "",
        "Quantities whose operator vanishes in a scenario (the non-local currents for "
        "independent dissipation) have SE = 0 and z = 0. " + _roundoff_text(st),
        "",
    ]


def _budget_section(st: Study) -> list[str]:
    budget = se_budget_table(st)
    out = [
        "### Statistical budget",
        "",
        f"Criterion: at every trajectory point the SE of each plotted current is at most "
        f"{100 * st.se_criterion:.0f}% of the largest |value| "
        "of its exact curve. `t_needed` is the simulated time per point that would meet it "
        "(from SE² × t at the worst point).",
        "",
    ]
    if budget.empty:
        return [*out, "No trajectory points.", ""]
    cur = budget[budget["current"]]
    fails = cur[~cur["ok"]]
    out.append(
        f"Plotted currents: {int(cur['ok'].sum())}/{len(cur)} curves meet the criterion"
        + (
            "."
            if fails.empty
            else "; **not met** for "
            + ", ".join(
                f"{r.quantity} {r.scenario} ({100 * r.ratio:.1f}%)" for r in fails.itertuples()
            )
            + "."
        )
    )
    hard = fails[fails["quantity"] == "W_nonloc"]
    if not hard.empty:
        out += [
            "",
            "The non-local work of the type-2 models is one to two orders of magnitude "
            "smaller than the local work, while its trajectory estimator (the time average "
            "of the conditional expectation of its operator) fluctuates about as much; "
            "meeting the criterion would need "
            + ", ".join(f"{r.t_needed:.1e} ({r.scenario})" for r in hard.itertuples())
            + " time units per point. These points are plotted with their (large) "
            "error bars; their z-scores are in the table above.",
        ]
    out += [
        "",
        _md_table(
            budget.assign(
                max_abs_value=budget["max_abs_value"].map(lambda v: f"{v:.3e}"),
                max_se=budget["max_se"].map(lambda v: f"{v:.2e}"),
                ratio=budget["ratio"].map(lambda v: f"{100 * v:.2f}%"),
                t_total=budget["t_total"].map(lambda v: f"{v:.2e}"),
                t_needed=budget["t_needed"].map(lambda v: f"{v:.2e}"),
            )
        ),
        "",
    ]
    return out


def _table1_section(st: Study) -> list[str]:
    out = ["## Table I, numerically", ""]
    if st.table1.empty:
        return [*out, "Not evaluated (inputs absent: no `table1.csv`).", ""]
    t1, t1d = table1_summary(st)
    pts = st.table1_points
    out += [
        "In the computational basis, a *population* is a diagonal element of ρ, a *same-bath "
        "coherence* an element between basis states that differ only in qubits of one "
        "ensemble, a *cross-bath coherence* one between states that differ in qubits of both. "
        "Each class of the exact steady state was set to zero in turn and every current "
        "Tr[X ρ] re-evaluated (all scenarios, x ∈ " + str(pts) + "); ✓ marks a class whose "
        f"removal changes the current (relative change > {TABLE1_REL_TOL:g} in some scenario).",
        "",
        _md_table(t1.assign(agrees=t1["agrees"].map({True: "yes", False: "**no**"}))),
        "",
        _md_table(
            t1d.assign(
                max_abs_change=t1d["max_abs_change"].map(lambda v: f"{v:.2e}"),
                max_rel_change=t1d["max_rel_change"].map(
                    lambda v: "—" if not np.isfinite(v) else f"{v:.2e}"
                ),
            )
        ),
        "",
    ]
    w = t1[t1["current"] == "non-local work"].iloc[0]
    if not w["agrees"]:
        out.append(
            "The non-local work row differs from the paper: its formula reads "
            + ("only " if w["same-bath coherence"] == "" else "")
            + "cross-bath coherences. Its terms, e.g. <σ^z_{h,1} (σ^+_{h,2} σ^-_{c,1})_+>, "
            "are cross-bath coherences (σ^+_{h,2} σ^-_{c,1} flips one hot and one cold "
            "qubit) weighted by a population (σ^z is diagonal); removing the same-bath "
            "coherences leaves them unchanged. The paper's table also ticks the same-bath "
            "column for this row; we report the difference rather than change the "
            "definition."
        )
    else:
        out.append("All four rows agree with the paper's Table I.")
    others = t1[(t1["current"] != "non-local work") & ~t1["agrees"]]
    if not others.empty:
        out += ["", "Other rows that differ from the paper: " + ", ".join(others["current"]) + "."]
    out.append("")
    return out


def report_markdown(st: Study, claims: Sequence[Claim] = PAPER_CLAIMS) -> str:
    """The text of ``report.md``.

    Parameters
    ----------
    st : Study
    claims : sequence of claim specifications, optional
        Default: the paper's claims.
    """
    return "\n".join(
        [
            *_header(st),
            *_claims_section(st, claims),
            *_agreement_section(st),
            *_budget_section(st),
            *_table1_section(st),
        ]
    )
