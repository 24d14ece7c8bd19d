"""The paper study (`qjump run runs/paper.toml`): quick profile end to end, resume after
SIGKILL, corruption recovery, configuration-sensitive keys, report re-drawing, dask."""

from __future__ import annotations

import json
import shutil
import signal
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from killing import run_until_killed
from pandas.testing import assert_frame_equal
from scipy import stats

import qjump
from qjump.cli import main
from qjump.execution.cache import TaskStore
from qjump.studies.config import DEFAULT_QUANTITIES
from qjump.studies.runner import StudyConfig, _z, build_tasks, load_config, run_study

ROOT = Path(__file__).resolve().parents[1]
PAPER_CONFIG = ROOT / "runs" / "paper.toml"
#: trajectories per point in the tests' quick profile: z = (estimate - exact)/SE is then
#: t-distributed with 63 degrees of freedom, close to normal (the paper profile's 8 would give
#: t with 7, whose tails make |z| > 5 a few-percent event among 234 rows)
QUICK_TRAJECTORIES = 64
OUTPUTS = (
    "results.parquet",
    "results.csv",
    "optimum.csv",
    "table1.csv",
    "study.json",
    "fig2.png",
    "fig3.png",
    "fig4.png",
    "report.md",
)
TABLES = ("optimum.csv", "table1.csv")


def n_tasks(config: Path, quick: bool = True) -> int:
    return sum(len(v) for v in build_tasks(load_config(config, quick=quick)).values())


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    """runs/paper.toml with QUICK_TRAJECTORIES trajectories per point in the quick profile
    (same simulated time per point, so the cost hardly changes)."""
    text = PAPER_CONFIG.read_text()
    old = "trajectory = { trajectories = 8,"
    assert text.count(old) == 1, "the quick profile of runs/paper.toml changed: update the test"
    path = tmp_path_factory.mktemp("config") / "paper.toml"
    path.write_text(text.replace(old, f"trajectory = {{ trajectories = {QUICK_TRAJECTORIES},"))
    return path


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, config) -> Path:
    """One uninterrupted quick run through the command line (the reference)."""
    out = tmp_path_factory.mktemp("quick") / "paper"
    rc = main(["run", str(config), "--quick", "--out", str(out), "--n-jobs", "2", "--quiet"])
    assert rc == 0
    return out


def read_results(directory: Path) -> pd.DataFrame:
    return pd.read_parquet(directory / "results.parquet")


def assert_same_outputs(a: Path, b: Path) -> None:
    """Bit-identical data (the tables carry no wall times; those live in study.json)."""
    assert_frame_equal(read_results(a), read_results(b), check_exact=True)
    for name in TABLES:
        assert_frame_equal(pd.read_csv(a / name), pd.read_csv(b / name), check_exact=True)


class Counter:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, key, payload) -> None:
        self.keys.append(key)


# -- quick profile end to end ----------------------------------------------------------------
@pytest.mark.slow
def test_quick_outputs_exist_and_parse(quick_run, config):
    for name in OUTPUTS:
        assert (quick_run / name).is_file(), name
    for name in ("fig2.png", "fig3.png", "fig4.png"):
        assert (quick_run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    df = read_results(quick_run)
    csv = pd.read_csv(quick_run / "results.csv")
    assert len(csv) == len(df) and list(csv.columns) == list(df.columns)
    for col in (
        "scenario",
        "dissipation",
        "interaction",
        "omega_h",
        "quantity",
        "exact",
        "trajectory",
        "se",
        "z",
    ):
        assert col in df.columns
    assert not any(pd.api.types.is_complex_dtype(t) for t in df.dtypes)
    cfg = load_config(config, quick=True)
    assert set(df["scenario"]) == {s["label"] for s in cfg.scenarios}
    assert set(df["quantity"]) == set(DEFAULT_QUANTITIES)
    # one row per (scenario, point, quantity), on the whole exact grid
    assert len(df) == len(cfg.scenarios) * len(cfg.exact_grid) * len(DEFAULT_QUANTITIES)
    assert not df.duplicated(["scenario", "omega_h", "quantity"]).any()
    # trajectory values exactly at the trajectory grid
    traj = df[df["trajectory"].notna()]
    assert sorted(set(traj["omega_h"])) == cfg.trajectory_grid
    # first law on the exact values
    wide = df.pivot_table(index=["scenario", "omega_h"], columns="quantity", values="exact")
    assert np.max(np.abs(wide["W"] + wide["Q_h"] + wide["Q_c"])) < 1e-14
    meta = json.loads((quick_run / "study.json").read_text())
    assert meta["tasks"] == n_tasks(config) and meta["tasks_computed"] == meta["tasks"]


@pytest.mark.slow
def test_quick_z_scores_are_sane(quick_run):
    """z = (trajectory - exact)/SE over every row with an SE: most within 3 SE, and the largest
    |z| below the Bonferroni threshold of the t distribution with M - 1 degrees of freedom at
    a family-wise false-alarm rate of 1e-4 (rows are correlated, which only makes Bonferroni
    conservative)."""
    df = read_results(quick_run)
    traj = df[df["trajectory"].notna()]
    assert (traj["trajectories"] == QUICK_TRAJECTORIES).all()
    z = traj["z"]
    assert z.notna().all(), traj[z.isna()]
    rows = len(z)
    threshold = stats.t.isf(1e-4 / (2 * rows), df=QUICK_TRAJECTORIES - 1)
    print(
        f"{rows} rows, max |z| = {z.abs().max():.2f} (threshold {threshold:.2f}), "
        f"share within 3 SE {(z.abs() <= 3).mean():.3f}"
    )
    assert z.abs().max() < threshold, traj.loc[z.abs().idxmax()]
    # P(|t_63| > 3) = 0.4 %: about one row in 234 is expected outside 3 SE
    assert (z.abs() <= 3).mean() >= 0.95
    # z follows its definition, including the rule for values that agree to 1e-12
    diff = traj["trajectory"] - traj["exact"]
    pos = traj[(traj["se"] > 0) & (diff.abs() > 1e-12)]
    assert np.allclose(pos["z"], (pos["trajectory"] - pos["exact"]) / pos["se"], rtol=1e-12)
    agree = traj[diff.abs() <= 1e-12]
    assert (agree["z"] == 0).all()
    zero = traj[traj["se"] == 0]
    assert (zero["z"] == 0).all() and ((zero["trajectory"] - zero["exact"]).abs() <= 1e-12).all()
    assert df.loc[df["trajectory"].isna(), "z"].isna().all()


def test_z_rule():
    z = _z(
        np.array([1.0, 1.0, 1.0, np.nan]),
        np.array([0.5, 1.0 + 1e-13, 2.0, 1.0]),
        np.array([0.25, 0.0, 0.0, 0.0]),
    )
    assert z[0] == 2.0 and z[1] == 0.0 and np.isnan(z[2]) and np.isnan(z[3])
    # rounding noise around an exactly vanishing quantity (a tiny SE) is agreement
    z = _z(np.array([1e-16, 0.0]), np.array([0.0, np.nan]), np.array([1e-18, 1e-18]))
    assert z[0] == 0.0 and np.isnan(z[1])


@pytest.mark.slow
def test_quick_report_has_claim_table(quick_run):
    text = (quick_run / "report.md").read_text()
    assert "## Claims of Sec. III.C and IV" in text
    assert "| # | section | claim | paper | ours (exact) | ours (trajectories) | verdict |" in text
    for needle in (
        "COP_A",
        "COP_R",
        "1 − ω_c/ω_h",
        "η at maximum power",
        "Table I",
        "within 3 SE",
        "W_loc^cas(2)",
    ):
        assert needle in text, needle
    # the known outcomes, judged on exact values
    claims = [line for line in text.splitlines() if line.startswith("| ") and "**" in line]
    assert len(claims) >= 30
    assert any("Q_c^com(2) > Q_c^ind(2)" in c and "**fails**" in c for c in claims)
    assert any("accelerator (A)" in c and "**holds**" in c for c in claims)
    t1 = [line for line in text.splitlines() if line.startswith("| non-local work |")][0]
    assert "**no**" in t1


@pytest.mark.slow
def test_rerun_skips_every_task(quick_run, config, tmp_path):
    before = read_results(quick_run)
    counter = Counter()
    run_study(config, out=quick_run, quick=True, n_jobs=2, quiet=True, on_result=counter)
    assert counter.keys == []
    meta = json.loads((quick_run / "study.json").read_text())
    assert meta["tasks_computed"] == 0 and meta["tasks_reused"] == meta["tasks"]
    assert_frame_equal(read_results(quick_run), before, check_exact=True)


@pytest.mark.slow
def test_report_redraws_without_recomputing(quick_run, tmp_path, monkeypatch):
    copy = tmp_path / "copy"
    shutil.copytree(quick_run, copy, ignore=shutil.ignore_patterns("cache"))
    for name in ("report.md", "fig2.png", "fig3.png", "fig4.png"):
        (copy / name).unlink()

    def forbidden(*args, **kwargs):
        raise AssertionError("report must not solve a model")

    import qjump.liouville.steady as steady_mod
    import qjump.trajectories.ensemble as ensemble_mod

    monkeypatch.setattr(steady_mod, "steady_state", forbidden)
    monkeypatch.setattr(steady_mod, "exact", forbidden)
    monkeypatch.setattr(ensemble_mod, "simulate", forbidden)
    assert main(["report", str(copy)]) == 0
    assert (copy / "report.md").read_text() == (quick_run / "report.md").read_text()
    for name in ("fig2.png", "fig3.png", "fig4.png"):
        assert (copy / name).stat().st_size > 10_000


# -- resume after SIGKILL --------------------------------------------------------------------
KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from qjump.studies.runner import run_study

    config, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    stored = []

    def hook(key, payload):
        stored.append(key)
        print(key, flush=True)
        if len(stored) == k:
            os.kill(os.getpid(), signal.SIGKILL)

    run_study(config, out=out, quick=True, n_jobs=2, quiet=True, on_result=hook)
    print("not killed", flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_identical(quick_run, config, tmp_path):
    k = 7
    out = tmp_path / "killed"
    rc, text = run_until_killed(
        [KILL_SCRIPT, str(config), str(out), str(k)], tmp_path / "stdout.txt", timeout=300
    )
    assert rc == -signal.SIGKILL, text
    survivors = text.split()
    assert len(survivors) == k and "not killed" not in text
    store = TaskStore(out / "cache")
    assert sorted(store.keys()) == sorted(survivors)
    assert not (out / "results.parquet").exists()

    counter = Counter()
    run_study(config, out=out, quick=True, n_jobs=2, quiet=True, on_result=counter)
    assert len(counter.keys) == n_tasks(config) - k
    assert not set(counter.keys) & set(survivors)
    assert_same_outputs(out, quick_run)


# -- corruption ------------------------------------------------------------------------------
@pytest.mark.slow
def test_corrupt_task_file_is_recomputed_and_reported(quick_run, config, tmp_path, capsys):
    out = tmp_path / "corrupt"
    shutil.copytree(quick_run, out)
    keys = list(TaskStore(out / "cache").keys())
    victim = out / "cache" / keys[len(keys) // 2]
    frame = next(victim.glob("*.parquet"))
    raw = bytearray(frame.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    frame.write_bytes(bytes(raw))
    counter = Counter()
    run_study(config, out=out, quick=True, n_jobs=2, quiet=False, on_result=counter)
    assert counter.keys == [victim.name]
    assert victim.with_name(victim.name + ".corrupt").exists()
    meta = json.loads((out / "study.json").read_text())
    assert len(meta["store_problems"]) == 1 and victim.name[:12] in meta["store_problems"][0]
    assert "damaged" in capsys.readouterr().err
    assert "recomputed" in (out / "report.md").read_text()
    assert_same_outputs(out, quick_run)


# -- keys --------------------------------------------------------------------------------------
def _keys(cfg: StudyConfig) -> dict[str, list[str]]:
    return {k: [t.key for t in v] for k, v in build_tasks(cfg).items()}


@pytest.mark.slow
def test_changed_configuration_or_version_changes_task_keys(monkeypatch):
    import tomllib

    raw = tomllib.loads(PAPER_CONFIG.read_text())
    base = _keys(StudyConfig(raw, quick=True))

    hot = dict(raw, model=dict(raw["model"], T_h=2.5))
    changed = _keys(StudyConfig(hot, quick=True))
    for kind in base:
        assert not set(base[kind]) & set(changed[kind]), kind

    seed = _keys(StudyConfig(dict(raw, seed=raw["seed"] + 1), quick=True))
    assert not set(base["trajectory"]) & set(seed["trajectory"])
    assert seed["exact"] == base["exact"]

    more = dict(
        raw, quick=dict(raw["quick"], trajectory=dict(raw["quick"]["trajectory"], trajectories=9))
    )
    assert not set(base["trajectory"]) & set(_keys(StudyConfig(more, quick=True))["trajectory"])

    assert _keys(StudyConfig(raw, quick=True)) == base  # deterministic
    monkeypatch.setattr(qjump, "__version__", "999.0")
    newer = _keys(StudyConfig(raw, quick=True))
    for kind in base:
        assert not set(base[kind]) & set(newer[kind]), kind


def test_trajectory_seeds_are_distinct_and_deterministic():
    cfg = load_config(PAPER_CONFIG)
    seeds = [
        cfg.point_seed(s, p)
        for s in range(len(cfg.scenarios))
        for p in range(len(cfg.trajectory_grid))
    ]
    assert len(set(seeds)) == len(seeds)
    assert seeds == [
        load_config(PAPER_CONFIG).point_seed(s, p)
        for s in range(len(cfg.scenarios))
        for p in range(len(cfg.trajectory_grid))
    ]


def test_bad_configuration_is_rejected(tmp_path):
    import tomllib

    raw = tomllib.loads(PAPER_CONFIG.read_text())
    with pytest.raises(ValueError, match="omega_h"):
        StudyConfig(dict(raw, model=dict(raw["model"], omega_h=1.0)))
    with pytest.raises(ValueError, match="scenario"):
        StudyConfig(dict(raw, scenario=[]))
    with pytest.raises(ValueError, match="target_rel_se"):
        StudyConfig(dict(raw, trajectory=dict(raw["trajectory"], target_rel_se=2.0)))


# -- dask --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_dask_matches_loky(quick_run, config, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        rc = main(
            [
                "run",
                str(config),
                "--quick",
                "--out",
                str(tmp_path / "dask"),
                "--backend",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
                "--quiet",
            ]
        )
    assert rc == 0
    assert_same_outputs(tmp_path / "dask", quick_run)


# -- general studies: any swept parameter, strict input ----------------------------------------
def write_study(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


TINY = """
    seed = 5
    quantities = ["Q_h", "Q_c", "W", "C_nonloc"]
    [model]
    omega_c = 1.0
    [trajectory]
    trajectories = 4
    t_total = 400
    [[scenario]]
    dissipation = "common"
    interaction = "pairwise"
    [[scenario]]
    dissipation = "independent"
    interaction = "all-to-all"
"""


def run_tiny(tmp_path: Path, sweep: str, extra: str = "", **kw) -> Path:
    cfg = write_study(tmp_path, TINY + textwrap.dedent(sweep) + textwrap.dedent(extra))
    return run_study(cfg, out=tmp_path / "out", backend="serial", quiet=True, **kw)


def check_exact_rows(df: pd.DataFrame, cfg: StudyConfig) -> None:
    """Every exact value equals qjump.exact at its point (same solver, same model)."""
    for s in cfg.scenarios:
        for i in cfg.exact_points:
            point = cfg.points[i]
            sel = df[df["scenario"] == s["label"]]
            for name, value in point.items():
                sel = sel[sel[name] == value]
            ref = qjump.exact(cfg.model_at(s, point))
            got = dict(zip(sel["quantity"], sel["exact"], strict=True))
            for q in ("Q_h", "Q_c", "W", "C_nonloc"):
                assert abs(got[q] - ref[q]) <= 1e-12 * max(1.0, abs(ref[q])), (s, point, q)


@pytest.mark.slow
def test_omega_h_grid_without_regime_boundaries_gets_generic_report(tmp_path, capsys):
    """The paper analysis is switched on but its inputs (omega_h = 1, 2) are missing."""
    out = run_tiny(
        tmp_path,
        """
        [sweep]
        exact = [0.5, 1.5, 2.5]
        trajectory = [1.5]
        [analysis]
        paper = true
        [trajectory.target]
        quantity = "Q_h"
        rel_se = 0.5
        max_time = 4000
    """,
    )
    text = (out / "report.md").read_text()
    assert "# Study `study`" in text and "within 2 SE" in text and "Claims" not in text
    assert "## Statistical budget" in text and "qjump_version" in text
    df = read_results(out)
    assert len(df) == 2 * 3 * 4
    check_exact_rows(df, load_config(tmp_path / "study.toml"))
    assert (out / "quantities.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / "fig2.png").exists()
    # the precision target: extended in rounds, capped by the measured time
    budget = pd.read_csv(out / "budget.csv")
    assert len(budget) == 2 and budget["stopped_by"].isin(["target", "max_time"]).all()
    assert (budget["t_total"] <= 4000 + 400).all()
    met = budget["stopped_by"] == "target"
    assert (budget["target_met"] == met).all()


@pytest.mark.slow
def test_omega_sweep_runs_to_a_report(tmp_path):
    out = run_tiny(
        tmp_path,
        """
        [sweep.axes.Omega]
        exact = { start = 0.05, stop = 0.25, num = 3 }
        trajectory = [0.15]
        [sweep.axes.T_h]
        exact = [2.0, 3.0]
        trajectory = [3.0]
    """,
    )
    df = read_results(out)
    cfg = load_config(tmp_path / "study.toml")
    assert cfg.axes == ["Omega", "T_h"] and len(cfg.points) == 6
    assert {"Omega", "T_h", "quantity", "exact", "trajectory", "se", "z"} <= set(df.columns)
    assert len(df) == 2 * 6 * 4
    check_exact_rows(df, cfg)
    traj = df[df["trajectory"].notna()]
    assert set(zip(traj["Omega"], traj["T_h"], strict=True)) == {(0.15, 3.0)}
    assert (traj["se"] > 0).all()
    # z against exact within a generous bound (4 trajectories, short runs)
    assert (traj["z"].abs() < 6).all(), traj
    # one figure per value of the second axis, legends explain lines and markers
    assert sorted(p.name for p in out.glob("quantities*.png")) == [
        "quantities_T_h=2.png",
        "quantities_T_h=3.png",
    ]
    budget = pd.read_csv(out / "budget.csv")
    assert len(budget) == 2 and (budget["t_total"] == 400).all()
    assert budget["seed"].nunique() == 2
    assert "## Trajectories against exact values" in (out / "report.md").read_text()


@pytest.mark.slow
def test_n_sweep_with_trajectory_only_points_runs_to_a_report(tmp_path):
    out = run_tiny(
        tmp_path,
        """
        [sweep]
        points = [{ N = 1 }, { N = 2, trajectory = false }, { N = 3, exact = false }]
    """,
        """
        [exact]
        max_N = 2
        [[trajectory.override]]
        when = { N = 3 }
        initial_state = "ground"
        burn_in = 50.0
        t_total = 200
    """,
    )
    df = read_results(out)
    cfg = load_config(tmp_path / "study.toml")
    assert cfg.exact_points == [0, 1] and cfg.trajectory_points == [0, 2]
    n3 = df[df["N"] == 3]
    assert n3["exact"].isna().all() and n3["trajectory"].notna().all() and n3["z"].isna().all()
    assert df[df["N"] == 2]["trajectory"].isna().all()
    check_exact_rows(df, cfg)
    text = (out / "report.md").read_text()
    assert "## Trajectory estimates without exact values" in text


def test_counting_statistics_rows_match_the_fcs_api():
    from qjump.studies.runner import exact_task

    model = qjump.PaperModel(N=2, omega_h=1.5, dissipation="cascaded")
    frames, _ = exact_task([model.to_dict()], ["Q_h", "Q_c"], True)
    got = dict(zip(frames["exact"]["quantity"], frames["exact"]["exact"], strict=True))
    st = qjump.counting_statistics(model)
    for k in (
        "quanta_mean",
        "quanta_diffusion",
        "quanta_skewness",
        "heat_mean",
        "heat_diffusion",
        "heat_skewness",
    ):
        assert got[k] == getattr(st, k)
    ex = qjump.exact(model)
    sigma = -ex["Q_h"] / model.T_h - ex["Q_c"] / model.T_c
    tur = st.heat_diffusion / st.heat_mean**2 * sigma / 2.0
    assert abs(got["tur_ratio"] - tur) <= 1e-12 * abs(tur)
    assert 1.0 <= got["tur_ratio"] < 2.0
    assert abs(got["heat_mean"] - got["Q_h"]) <= 1e-9 * abs(got["Q_h"])


def test_seeds_differ_per_point_and_scenario(tmp_path):
    cfg_path = write_study(
        tmp_path,
        TINY
        + """
[sweep.axes.Omega]
exact = [0.1, 0.2]
trajectory = [0.1, 0.2]
""",
    )
    tasks = build_tasks(load_config(cfg_path))["trajectory"]
    seeds = [t.args["seed"] for t in tasks]
    assert len(seeds) == 4 and len(set(seeds)) == 4


@pytest.mark.parametrize(
    "text,needle",
    [
        ("seeed = 3\n", "seeed: unknown key; did you mean 'seed'?"),
        ("[model]\nT_hot = 2\n", "[model] T_hot: unknown key; did you mean 'T_h'?"),
        ("[model]\nT_h = 'hot'\n", "[model] T_h: expected a real number, got 'hot'"),
        ("[trajectory]\nt_totl = 5\n", "[trajectory] t_totl: unknown key; did you mean 't_total'?"),
        (
            "[[scenario]]\ndisipation = 'common'\ninteraction = 'pairwise'\n",
            "[[scenario]] #1 disipation: unknown key; did you mean 'dissipation'?",
        ),
        ("[[scenario]]\ndissipation = 'global'\ninteraction = 'pairwise'\n", "'global'"),
        (
            "[sweep.axes.Omgea]\nexact = [0.1]\ntrajectory = [0.1]\n",
            "[sweep.axes] Omgea: unknown parameter; did you mean 'Omega'?",
        ),
        ("[sweep]\nparameter = 'T_hot'\nexact = [1.0]\n", "did you mean 'T_h'?"),
        ("[sweep]\nexact = { start = 0.1, stop = 3 }\n", "missing num"),
        ("[sweep]\nexact = [0.5, -1.0]\n", "omega_h values must be > 0"),
        ("[trajectory]\ntrajectories = 1\n", "[trajectory] trajectories: must be >= 2"),
        ("[trajectory]\nt_total = '1e5'\n", "[trajectory] t_total: expected a number"),
        ("[model]\nN = 3\ng_h = [0.5, 0.5]\n", "g_h"),
        ("[model]\nN = 'two'\n", "[model] N: expected an integer, got 'two'"),
        ("scenarios = 'some'\n", 'scenarios: only "all" is allowed'),
        ("[sweep.axes.dissipation]\nexact = ['common']\n", "swept by [[scenario]] tables"),
        ("quantities = ['Q_hot']\n", "did you mean 'Q_h'?"),
        ("[model\nN = 2\n", "study.toml:1:"),
        ("name = 'x'\nseed = \n", "line 2, column"),
    ],
)
def test_bad_study_file_is_one_line_exit_2(tmp_path, capsys, text, needle):
    path = write_study(tmp_path, text)
    code = main(["run", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0] and str(path) in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_study_file(tmp_path, capsys):
    code = main(["run", str(tmp_path / "nope.toml")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == f"qjump run: error: {tmp_path / 'nope.toml'}: no such file"


def test_run_ends_with_the_paths_it_wrote(tmp_path, capsys):
    cfg = write_study(tmp_path, TINY + "[sweep]\nexact = [1.5]\ntrajectory = []\n")
    code = main(["run", str(cfg), "--out", str(tmp_path / "o"), "--backend", "serial", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    for name in ("report.md", "results.csv", "results.parquet", "quantities.png"):
        assert str(tmp_path / "o" / name) in out


def test_report_of_the_committed_paper_run_keeps_the_claims(tmp_path):
    copy = tmp_path / "paper"
    shutil.copytree(ROOT / "runs" / "paper", copy, ignore=shutil.ignore_patterns("cache"))
    (copy / "report.md").unlink()
    assert main(["report", str(copy)]) == 0
    assert "## Claims of Sec. III.C and IV" in (copy / "report.md").read_text()


@pytest.mark.parametrize("path", sorted((ROOT / "runs").glob("*.toml")), ids=lambda p: p.name)
def test_committed_study_files_are_valid(path):
    for quick in (False, True):
        cfg = load_config(path, quick=quick)
        assert cfg.points and cfg.scenarios
    assert build_tasks(load_config(path, quick=True))["exact"]


def test_trajectory_task_samples_only_what_the_study_keeps(monkeypatch):
    """A study that keeps only counted currents, flows, C_loc or populations samples the
    essential selection; its rows equal those of a run that samples everything."""
    from qjump.studies import runner
    from qjump.trajectories import ensemble

    seen = []
    original = ensemble.simulate

    def spy(model, options=None, **kw):
        seen.append(kw.get("quantities"))
        return original(model, options, **kw)

    monkeypatch.setattr(ensemble, "simulate", spy)
    model = qjump.PaperModel().to_dict()
    kw = dict(t_final=300.0, trajectories=4, sample_interval=2.0, seed=7)
    lean, _ = runner.trajectory_task(model, quantities=["Q_h", "W", "C_loc"], **kw)
    full, _ = runner.trajectory_task(model, quantities=["Q_h", "W", "C_loc", "C_nonloc"], **kw)
    assert seen == ["essential", "all"]
    lean, full = lean["trajectory"], full["trajectory"]
    assert_frame_equal(lean, full[full["quantity"] != "C_nonloc"].reset_index(drop=True))
