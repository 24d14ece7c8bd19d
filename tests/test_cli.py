"""The command line: output keys, exit codes, error messages and resumable saves."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import qjump
from qjump.cli import main

EXACT_KEYS = [
    "Q_h",
    "Q_c",
    "W",
    "Q_h_loc",
    "Q_h_nonloc",
    "Q_c_loc",
    "Q_c_nonloc",
    "W_loc",
    "W_nonloc",
    "entropy_production",
    "regime",
    "C_loc",
    "C_nonloc",
    "C_nonloc_product",
]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_exact_json_matches_api(capsys):
    code, out, _ = run(
        capsys,
        "exact",
        "--N",
        "2",
        "--omega-h",
        "1.5",
        "--omega-c",
        "1",
        "--T-h",
        "2",
        "--T-c",
        "1",
        "--g-h",
        "0.5,0.55",
        "--g-c",
        "0.5,0.55",
        "--Omega",
        "0.1",
        "--interaction",
        "pairwise",
        "--dissipation",
        "cas",
        "--json",
    )
    assert code == 0
    d = json.loads(out)
    for k in EXACT_KEYS:
        assert k in d
    ex = qjump.exact(qjump.PaperModel(dissipation="cascaded"))
    assert d["Q_h"] == ex["Q_h"] and d["regime"] == ex.regime == "engine"


def test_exact_table_and_aliases(capsys):
    code, out, _ = run(capsys, "exact", "--dissipation", "ind", "--interaction", "1")
    assert code == 0
    assert "ind(1)" in out and "regime" in out


def test_all_to_all_matrix_and_zero_temperature(capsys):
    code, out, _ = run(
        capsys,
        "exact",
        "--interaction",
        "all-to-all",
        "--Omega",
        "0.1,0.2;0.3,0.1",
        "--dissipation",
        "ind",
        "--T-c",
        "0",
        "--json",
    )
    assert code == 0
    d = json.loads(out)
    assert d["model"]["Omega"] == [[0.1, 0.2], [0.3, 0.1]]
    assert d["entropy_production"] is None  # infinite at T = 0


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["exact", "--g-c=-0.5,0.5"], "-0.5"),
        (["exact", "--g-c", "-0.5,0.5"], "-0.5"),
        (["exact", "--g-h", "0.5"], "--g-h:"),
        (["exact", "--g-h", "0.5,abc"], "abc"),
        (["exact", "--N", "2.5"], "2.5"),
        (["exact", "--N", "0"], "--N:"),
        (["exact", "--omega-h", "nan"], "--omega-h:"),
        (["exact", "--T-h", "hot"], "--T-h"),
        (["exact", "--T-c", "-1"], "--T-c:"),
        (["exact", "--T-hot", "2"], "--T-hot"),
        (["exact", "--dissipation", "global"], "global"),
        (["exact", "--interaction", "3"], "--interaction:"),
        (["exact", "--Omega", "0.1,0.2,0.3"], "--Omega:"),
        (["fcs", "--bath", "x"], "--bath"),
        (["simulate", "--t-final", "100", "--trajectories", "0"], "--trajectories:"),
        (["simulate", "--t-final", "100", "--burn-in", "100"], "> --burn-in"),
        (["simulate", "--t-final", "100", "--burn-in", "1", "--seed", "-1"], "--seed:"),
        (["simulate", "--t-final", "100", "--burn-in", "1", "--n-jobs", "0"], "--n-jobs:"),
        (["simulate", "--t-final", "100", "--quantities", "most"], "--quantities"),
        (
            ["simulate", "--N", "10", "--t-final", "10", "--burn-in", "1", "--quiet"],
            "--quantities essential",
        ),
        (["run", "no/such/study.toml"], "no such file"),
        (["report", "no/such/dir"], "no results.parquet"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert "Traceback" not in err


def test_model_errors_name_the_flag_not_the_parameter(capsys):
    code, _, err = run(capsys, "exact", "--T-h", "-2")
    assert code == 2 and err.startswith("qjump exact: error: --T-h:") and "T_h" not in err


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"qjump {qjump.__version__}"


@pytest.mark.parametrize("command", ["exact", "simulate", "fcs", "run"])
def test_help_shows_defaults(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    if command == "run":
        assert "(default: -1)" in out and "(default: loky)" in out
    else:
        assert "--T-h T_H hot-bath temperature (default: 2.0)" in out
    if command == "simulate":
        assert "(default: 16)" in out and "(default: thermal)" in out


def test_closed_stdout_is_quiet():
    """`qjump exact --json | head -0`: the reader is gone before the first write."""
    import subprocess
    import sys

    code = "import sys; from qjump.cli import main; sys.exit(main(['exact', '--json']))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # no reader: the first write fails with EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait() == 141
    assert err == ""


def test_one_trajectory_warns_that_no_se_exists(capsys):
    code, out, err = run(
        capsys,
        "simulate",
        "--t-final",
        "50",
        "--trajectories",
        "1",
        "--initial-state",
        "steady",
        "--quiet",
    )
    assert code == 0
    assert "warning" in err and "--trajectories 1" in err.replace(
        "trajectories=1", "--trajectories 1"
    )
    assert "Traceback" not in err


def test_interrupted_run_says_how_to_resume(capsys, monkeypatch, tmp_path):
    import qjump.studies.runner as runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_study", interrupted)
    config = Path(__file__).resolve().parents[1] / "runs" / "paper.toml"
    code, _, err = run(capsys, "run", str(config), "--quick", "--out", str(tmp_path / "p"))
    assert code == 130
    assert f"Resume with: qjump run {config} --out {tmp_path / 'p'} --quick" in err


def test_negative_omega_is_allowed(capsys):
    code, out, _ = run(capsys, "exact", "--Omega", "-0.1", "--json")
    assert code == 0
    assert json.loads(out)["model"]["Omega"] == [-0.1, -0.1]


def test_simulate_json_keys(capsys):
    code, out, _ = run(
        capsys,
        "simulate",
        "--t-final",
        "400",
        "--trajectories",
        "8",
        "--initial-state",
        "steady",
        "--seed",
        "4",
        "--json",
        "--quiet",
    )
    assert code == 0
    d = json.loads(out)
    for k in ("Q_h", "Q_c", "W", "C_loc", "C_nonloc", "W_nonloc"):
        assert f"{k}_se" in d and d[f"{k}_se"] >= 0
    assert d["simulated_time"] == pytest.approx(8 * 400)
    assert d["jumps"] > 0 and d["wall_time_s"] > 0
    # the default model is an engine; a trajectory result claims the regime only when every
    # current's sign is resolved (beyond 3 SE), and then it must be the exact one
    resolved = all(abs(d[k]) > 3 * d[f"{k}_se"] for k in ("Q_h", "Q_c", "W"))
    assert d["regime"] == ("engine" if resolved else "none"), d


def test_simulate_essential_quantities_table(capsys):
    """``--quantities essential``: the table has the counted currents, flows, C_loc and the
    entropy production with SEs, and none of the local/non-local split."""
    code, out, _ = run(
        capsys,
        *("simulate", "--t-final", "300", "--trajectories", "4", "--initial-state", "steady"),
        *("--quantities", "essential", "--quiet"),
    )
    assert code == 0
    names = {line.split()[0] for line in out.splitlines()[1:] if line.startswith("  ")}
    assert {"Q_h", "Q_c", "W", "Q_h_flow", "C_loc", "pop_h1", "entropy_production"} <= names
    assert names.isdisjoint({"Q_h_loc", "W_nonloc", "C_nonloc", "C_nonloc_product"})


def test_save_writes_parquet_and_resumes(tmp_path, capsys):
    out_dir = tmp_path / "run"
    argv = [
        "simulate",
        "--t-final",
        "300",
        "--trajectories",
        "6",
        "--initial-state",
        "steady",
        "--seed",
        "9",
        "--records",
        "--save",
        str(out_dir),
        "--json",
        "--quiet",
    ]
    code, first, _ = run(capsys, *argv)
    assert code == 0
    for name in (
        "windows.parquet",
        "trajectories.parquet",
        "records.parquet",
        "metadata.json",
        "estimates.json",
    ):
        assert (out_dir / name).exists(), name
    meta = json.loads((out_dir / "metadata.json").read_text())
    assert meta["seed"] == 9 and meta["qjump_version"] == qjump.__version__
    assert meta["model"]["dissipation"] == "common"
    windows = pd.read_parquet(out_dir / "windows.parquet")
    records = pd.read_parquet(out_dir / "records.parquet")
    # simulate an interruption: one batch lost, the summaries not yet written
    batches = sorted(p for p in (out_dir / "batches").iterdir())
    assert len(batches) == 6
    kept = {p.name: (p / "task.json").stat().st_mtime_ns for p in batches[1:]}
    shutil.rmtree(batches[0])
    for name in ("windows.parquet", "records.parquet"):
        os.remove(out_dir / name)
    code, second, _ = run(capsys, *argv)
    assert code == 0
    # the surviving batches were reused, not rewritten
    for name, mtime in kept.items():
        assert (out_dir / "batches" / name / "task.json").stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(windows, pd.read_parquet(out_dir / "windows.parquet"))
    pd.testing.assert_frame_equal(records, pd.read_parquet(out_dir / "records.parquet"))
    a, b = json.loads(first), json.loads(second)
    assert a["Q_h"] == b["Q_h"] and a["C_loc"] == b["C_loc"]


def test_fcs_json(capsys):
    code, out, _ = run(capsys, "fcs", "--dissipation", "ind", "--scgf", "-0.2,0,0.2", "--json")
    assert code == 0
    d = json.loads(out)
    for k in (
        "quanta_mean",
        "quanta_diffusion",
        "quanta_skewness",
        "heat_mean",
        "heat_diffusion",
        "heat_skewness",
    ):
        assert k in d
    assert [s for s, _ in d["scgf"]] == [-0.2, 0.0, 0.2]
    ex = qjump.exact(qjump.PaperModel(dissipation="ind"))
    assert d["heat_mean"] == pytest.approx(ex["Q_h"], rel=1e-9)


def test_console_script_runs():
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("qjump")
    proc = subprocess.run([str(exe), "exact", "--N", "0"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "N" in proc.stderr


def test_save_refuses_a_different_run_unless_overwrite(tmp_path, capsys):
    base = [
        "simulate",
        "--t-final",
        "100",
        "--trajectories",
        "2",
        "--initial-state",
        "steady",
        "--save",
        str(tmp_path / "run"),
        "--json",
        "--quiet",
    ]
    assert run(capsys, *base, "--seed", "1")[0] == 0
    code, out, err = run(capsys, *base, "--seed", "2")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--overwrite" in err and "Traceback" not in err
    code, out, _ = run(capsys, *base, "--seed", "2", "--overwrite")
    assert code == 0
    meta = json.loads((tmp_path / "run" / "metadata.json").read_text())
    assert meta["seed"] == 2


def test_target_rel_se_reports_whether_it_was_met(capsys):
    code, out, _ = run(
        capsys,
        "simulate",
        "--t-final",
        "500",
        "--trajectories",
        "8",
        "--initial-state",
        "steady",
        "--target-rel-se",
        "0.5",
        "--max-wall",
        "120",
        "--json",
        "--quiet",
    )
    assert code == 0
    target = json.loads(out)["target"]
    assert target["quantity"] == "Q_h" and target["target_rel_se"] == 0.5
    assert isinstance(target["met"], bool) and target["stopped_by"] in ("target", "max_wall")
    if target["met"]:
        assert target["achieved_se"] <= target["target_se"]


def test_a_wall_cap_that_ends_before_any_trajectory_is_one_line(capsys):
    code, out, err = run(
        capsys,
        "simulate",
        "--N",
        "1",
        "--t-final",
        "1e7",
        "--trajectories",
        "2",
        "--n-jobs",
        "1",
        "--target-rel-se",
        "0.01",
        "--max-wall",
        "0.001",
        "--quiet",
    )
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "max_wall: no trajectory finished within 0.001 s" in err and "Traceback" not in err
