"""The paper analysis (``qjump.analysis.paper``): claim evaluation on synthetic curves, a study
whose grid lacks omega_h = 1 and 2, and no change to matplotlib's global state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from qjump.analysis import paper
from qjump.analysis.paper.claim_table import PAPER_CLAIMS
from qjump.analysis.paper.claims import (
    ACCELERATOR,
    ENGINE,
    CurrentsVanish,
    EfficiencyFormula,
    EtaAtMaxPower,
    Ordering,
    RegimeWindow,
    Verdict,
    evaluate,
)
from qjump.analysis.paper.data import Study
from qjump.analysis.paper.report import report_markdown

ROOT = Path(__file__).resolve().parents[1]
PAPER_RUN = ROOT / "runs" / "paper"


# -- a synthetic study with curves known in closed form --------------------------------------
def _regime(x: float) -> str:
    if np.isclose(x, 1.0) or np.isclose(x, 2.0):
        return "none"
    return "accelerator" if x < 1 else "engine" if x < 2 else "refrigerator"


#: exact curves per (scenario, quantity); Q_h/omega_h = -Q_c/omega_c and W = -(Q_h + Q_c)
CURVES = {
    ("a(1)", "Q_h"): lambda x: x,
    ("b(1)", "Q_h"): lambda x: x / 2,
    ("a(1)", "W"): lambda x: -(x - 1.0),
    ("b(1)", "W"): lambda x: -(x - 1.0) / 2,
    ("a(1)", "C_loc"): lambda x: x - 0.55,
    ("b(1)", "C_loc"): lambda x: 0.0 * x,
}
TRAJECTORY_X = 0.5
SE = 0.01


def synthetic_study(grid: np.ndarray, optimum: pd.DataFrame | None = None) -> Study:
    """Two scenarios on ``grid``; one trajectory point at x = 0.5 (exact + SE/2, SE = 0.01)."""
    rows = []
    for (s, q), f in CURVES.items():
        for x in grid:
            traj = np.isclose(x, TRAJECTORY_X)
            value = float(f(x))
            rows.append(
                {
                    "scenario": s,
                    "x": float(x),
                    "omega_c": 1.0,
                    "quantity": q,
                    "exact": value,
                    "trajectory": value + SE / 2 if traj else np.nan,
                    "se": SE if traj else np.nan,
                    "z": 0.5 if traj else np.nan,
                    "regime": _regime(x),
                    "t_total": 1e4 if traj else np.nan,
                }
            )
    scenarios = [
        {"label": "a(1)", "dissipation": "independent", "interaction": "all-to-all"},
        {"label": "b(1)", "dissipation": "common", "interaction": "all-to-all"},
    ]
    config = {
        "name": "synthetic",
        "quick": False,
        "seed": 1,
        "scenarios": scenarios,
        "model": {"N": 2, "omega_c": 1.0, "T_h": 2.0, "T_c": 1.0},
        "exact_grid": [float(x) for x in grid],
        "trajectory_grid": [TRAJECTORY_X],
        "trajectory": {"trajectories": 4, "target_rel_se": None},
        "analysis": {"engine_window": [1.0, 2.0], "table1_points": [], "se_criterion": 0.03},
    }
    meta = {
        "config": config,
        "qjump_version": "test",
        "backend": "serial",
        "tasks": 0,
        "tasks_computed": 0,
        "tasks_reused": 0,
        "run_wall_s": 0.0,
    }
    return Study(pd.DataFrame(rows), meta, optimum=optimum)


GRID = np.round(np.arange(1, 31) * 0.1, 12)  # 0.1, 0.2, ..., 3.0: contains x = 1 and 2
OPTIMUM = pd.DataFrame(
    {
        "scenario": ["a(1)", "b(1)"],
        "omega_h_star": [1.38, 1.41],
        "power_star": [0.1, 0.05],
        "eta_star": [0.276, 0.29],
    }
)


def _one(st: Study, claim) -> paper.ClaimResult:
    (result,) = evaluate(st, [claim])
    return result


def test_ordering_holds_fails_and_holds_on_part():
    st = synthetic_study(GRID)
    holds = _one(st, Ordering("s", "a(1)", "b(1)", "Q_h", ACCELERATOR, "p"))
    assert holds.verdict is Verdict.HOLDS
    # the trajectory evidence: the difference at x = 0.5 with the SEs added in quadrature
    assert holds.trajectory == (f"x=0.5: 0.25 ± {np.hypot(SE, SE):.2g}",)
    assert _one(st, Ordering("s", "b(1)", "a(1)", "Q_h", ACCELERATOR, "p")).verdict is (
        Verdict.FAILS
    )
    # C_loc^a - C_loc^b = x - 0.55 changes sign at 0.55, between the grid points 0.5 and 0.6
    part = _one(st, Ordering("s", "a(1)", "b(1)", "C_loc", ACCELERATOR, "p"))
    assert part.verdict is Verdict.PART
    assert part.detail == "x ∈ (0.550, 1.000)"
    # |W^a| > |W^b| in the engine window (1, T_h/T_c) although both W are negative there
    assert _one(st, Ordering("s", "a(1)", "b(1)", "W", ENGINE, "p", absolute=True)).verdict is (
        Verdict.HOLDS
    )
    assert _one(st, Ordering("s", "a(1)", "b(1)", "W", ENGINE, "p")).verdict is Verdict.FAILS


def test_other_claim_kinds_on_synthetic_curves():
    st = synthetic_study(GRID, OPTIMUM)
    # eta = -W/Q_h = 1 - 1/x in the engine window, by construction
    eta = EfficiencyFormula("s", ENGINE, "W", "Q_h", -1.0, lambda x: 1.0 - 1.0 / x, "c", "p")
    assert _one(st, eta).verdict is Verdict.HOLDS
    wrong = EfficiencyFormula("s", ENGINE, "W", "Q_h", -1.0, lambda x: 1.0 / x, "c", "p")
    assert _one(st, wrong).verdict is Verdict.FAILS
    boundary = CurrentsVanish("s", 1.0, ("W",), "c", "p", flowing=("Q_h",))
    assert _one(st, boundary).verdict is Verdict.HOLDS
    assert _one(st, RegimeWindow("s", "engine", "E", ENGINE, "p")).verdict is Verdict.HOLDS
    assert _one(st, RegimeWindow("s", "refrigerator", "R", ENGINE, "p")).verdict is (Verdict.FAILS)
    assert _one(st, EtaAtMaxPower("s", "a(1)", target=0.275)).verdict is Verdict.HOLDS
    assert _one(st, EtaAtMaxPower("s", "b(1)", target=0.275)).verdict is Verdict.FAILS
    assert _one(st, EtaAtMaxPower("s", "b(1)")).verdict is Verdict.NO_CLAIM


def test_claims_with_absent_inputs_are_not_evaluated():
    grid = GRID[~np.isclose(GRID, 1.0) & ~np.isclose(GRID, 2.0)]
    st = synthetic_study(grid)
    absent = [
        CurrentsVanish("s", 1.0, ("W",), "c", "p", flowing=("Q_h",)),  # x = 1 not on the grid
        Ordering("s", "a(1)", "zz(9)", "Q_h", ACCELERATOR, "p"),  # no such scenario
        Ordering("s", "a(1)", "b(1)", "Q_h", (3.5, 4.0), "p"),  # no grid point in the window
        EtaAtMaxPower("s", "a(1)", target=0.275),  # no optimum table
    ]
    results = evaluate(st, absent)
    assert [r.verdict for r in results] == [Verdict.NOT_EVALUATED] * len(absent)
    assert "x = 1" in results[0].detail and "zz(9)" in results[1].detail
    # the paper's own table on this study: the report appears, with unevaluated claims
    text = report_markdown(st)
    assert "not evaluated (inputs absent" in text
    assert "## Trajectories against exact values" in text


# -- the paper study without omega_h = 1, 2 --------------------------------------------------
@pytest.fixture(scope="module")
def paper_without_1_and_2(tmp_path_factory) -> Path:
    """The committed paper run with the grid points x = 1 and x = 2 removed."""
    out = tmp_path_factory.mktemp("no12") / "paper"
    shutil.copytree(PAPER_RUN, out)
    df = pd.read_parquet(out / "results.parquet")
    df[~np.isclose(df["x"], 1.0) & ~np.isclose(df["x"], 2.0)].to_parquet(out / "results.parquet")
    for name in ("report.md", "fig2.png", "fig3.png", "fig4.png"):
        (out / name).unlink()
    return out


@pytest.mark.slow
def test_study_without_omega_h_1_and_2_gets_a_report(paper_without_1_and_2):
    before = {k: repr(v) for k, v in mpl.rcParams.items()}
    path = paper.write_all(paper_without_1_and_2)
    assert {k: repr(v) for k, v in mpl.rcParams.items()} == before
    text = path.read_text()
    for name in ("fig2.png", "fig3.png", "fig4.png"):
        assert (paper_without_1_and_2 / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    claims = [line for line in text.splitlines() if line.startswith("| ") and "inputs" in line]
    assert len(claims) == 3
    assert all("not evaluated (inputs absent: x = " in c for c in claims)

    # every other claim has the verdict it has on the full grid
    full = evaluate(Study.read(PAPER_RUN), PAPER_CLAIMS)
    cut = evaluate(Study.read(paper_without_1_and_2), PAPER_CLAIMS)
    changed = [
        (f.claim, f.verdict, c.verdict)
        for f, c in zip(full, cut, strict=True)
        if f.verdict is not c.verdict
    ]
    assert len(changed) == 3
    assert all(c is Verdict.NOT_EVALUATED for _, _, c in changed)


# -- matplotlib's global state ---------------------------------------------------------------
def test_import_changes_neither_rcparams_nor_backend(tmp_path):
    script = textwrap.dedent(
        """
        import matplotlib
        before = {k: repr(v) for k, v in matplotlib.rcParams.items()}
        import qjump.analysis.fluctuations
        import qjump.analysis.paper
        after = {k: repr(v) for k, v in matplotlib.rcParams.items()}
        print(matplotlib.get_backend(), sorted(k for k in before if before[k] != after[k]))
        """
    )
    env = {**os.environ, "MPLBACKEND": "pdf"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # the installed package, not the source tree's qjump/
        check=True,
        timeout=120,
    ).stdout.split()
    assert out == ["pdf", "[]"]


def test_figures_explain_their_markers_and_lines():
    st = Study.read(PAPER_RUN)
    fig4 = paper.figure4(st)
    labels = [t.get_text() for legend in fig4.legends for t in legend.get_texts()]
    assert any("maximum power" in s for s in labels)
    assert any("0.275" in s for s in labels) and any("Carnot" in s for s in labels)
    assert any("± 1 SE" in s for s in labels)
    assert any("type 1" in s for s in labels) and any("type 2" in s for s in labels)
    for fig in (paper.figure2(st), paper.figure3(st), fig4):
        # legends live outside the axes, and every axis names its unit or says it has none
        assert fig.legends and not any(ax.get_legend() for ax in fig.axes)
        for ax in fig.axes:
            assert "omega_c" in ax.get_ylabel() or "dimensionless" in ax.get_ylabel()
