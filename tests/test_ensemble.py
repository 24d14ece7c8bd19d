"""Ensembles of trajectories: options, replay, precision targets, saved runs."""

from __future__ import annotations

import json
import math
import time

import joblib
import numpy as np
import pandas as pd
import pytest

import qjump
from qjump.trajectories import ensemble
from qjump.trajectories.ensemble import control_variate_mean, current_controls
from qjump.trajectories.options import TrajectoryOptions
from qjump.trajectories.trajectory import WallTimeExceeded

#: A single TLS pair at N = 1: cheap, with a unique steady state.
MODEL = qjump.PaperModel(N=1, dissipation="independent", omega_h=1.5, g_h=(0.5,), g_c=(0.5,))


def _run(**kw):
    base = {"t_final": 300.0, "trajectories": 6, "initial_state": "steady", "seed": 5}
    return qjump.simulate(MODEL, **{**base, **kw})


def test_options_are_frozen_and_validated():
    opts = TrajectoryOptions(t_final=100.0)
    with pytest.raises(AttributeError):
        opts.t_final = 3.0  # frozen
    assert opts.replace(seed=3).seed == 3
    bad = [
        ({"t_final": -1.0}, "t_final"),
        ({"t_final": None}, "t_final"),
        ({"t_final": 10.0, "trajectories": 0}, "trajectories"),
        ({"t_final": 10.0, "trajectories": 2.5}, "trajectories"),
        ({"t_final": 10.0, "seed": -1}, "seed"),
        ({"t_final": 10.0, "initial_state": "hot"}, "initial_state"),
        ({"t_final": 10.0, "backend": "gpu"}, "backend"),
        ({"t_final": 10.0, "n_jobs": 0}, "n_jobs"),
        ({"t_final": 10.0, "burn_in": 20.0}, "t_final"),
        ({"t_final": 10.0, "max_wall": 5.0}, "max_wall"),
        ({"t_final": 10.0, "target_rel_se": 0.1, "target_se": 0.1}, "target_se"),
        ({"t_final": 10.0, "sample_interval": math.inf}, "sample_interval"),
    ]
    for kw, name in bad:
        with pytest.raises(ValueError, match=name):
            TrajectoryOptions(**kw)


def test_negative_n_jobs_counts_workers_as_joblib_does():
    # the precision-target rounds size themselves by this count; -2 once meant every core
    cores = joblib.cpu_count()  # what joblib sees (cgroup quotas, affinity)
    assert TrajectoryOptions(t_final=10.0, n_jobs=-1).workers == cores
    assert TrajectoryOptions(t_final=10.0, n_jobs=-2).workers == max(cores - 1, 1)
    assert TrajectoryOptions(t_final=10.0, n_jobs=3).workers == 3


def test_result_carries_options_seed_and_versions():
    r = _run()
    assert r.options == TrajectoryOptions(
        t_final=300.0, trajectories=6, initial_state="steady", seed=5
    )
    import numba
    import scipy

    assert r.info["versions"] == {
        "qjump": qjump.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
    }
    # options object and keywords give the same run
    again = qjump.simulate(MODEL, r.options)
    pd.testing.assert_frame_equal(again.per_trajectory.drop(columns=[]), r.per_trajectory)


def test_replay_reproduces_a_trajectory_bit_for_bit():
    r = _run(records=True, window=50.0)
    for i in (0, 4):
        one = r.replay(i)
        pd.testing.assert_frame_equal(
            one.windows,
            r.windows[r.windows.trajectory == i].reset_index(drop=True),
            check_exact=True,
        )
        pd.testing.assert_frame_equal(
            one.records,
            r.records[r.records.trajectory == i].reset_index(drop=True),
            check_exact=True,
        )
        pd.testing.assert_frame_equal(
            one.per_trajectory,
            r.per_trajectory[r.per_trajectory.trajectory == i].reset_index(drop=True),
            check_exact=True,
        )
    with pytest.raises(ValueError, match="trajectory"):
        r.replay(6)


def test_wall_cap_also_governs_the_pilot():
    """A pilot far longer than --max-wall is cut short (one round per worker, then what fits)
    instead of running to completion: 256 pilot trajectories of 2e5 time units take about a
    minute serially here, the cap is 3 s."""
    r = _run(
        trajectories=256,
        t_final=2e5,
        target_rel_se=1e-4,
        max_wall=3.0,
        progress=False,
        n_jobs=1,
    )
    t = r.info["target"]
    assert t["stopped_by"] == "max_wall" and not t["met"]
    assert 1 <= len(r.per_trajectory) < 256
    # no goal without a complete pilot
    assert t["target_se"] is None


def test_a_round_cut_by_the_wall_deadline_is_left_out_whole(monkeypatch):
    """The deadline abandons the round in flight; the result holds the earlier rounds only,
    exactly as they would be without a cap, and reports how many were abandoned."""
    real = ensemble.run_block
    calls = []

    def cut_third_round(model, spec, options, ids, store, progress, deadline=None):
        calls.append((ids, deadline))
        if len(calls) == 3:
            raise WallTimeExceeded("cut")
        return real(model, spec, options, ids, store, progress, deadline)

    monkeypatch.setattr(ensemble, "run_block", cut_third_round)
    r = _run(trajectories=4, target_se=1e-9, max_wall=3600.0, n_jobs=2, backend="serial")
    t = r.info["target"]
    assert t["stopped_by"] == "max_wall" and not t["met"] and t["rounds"] == 2
    # rounds: one trajectory per worker, then the rest of the pilot; the third is dropped
    assert [list(ids) for ids, _ in calls] == [[0, 1], [2, 3], [4, 5, 6, 7]]
    assert t["abandoned"] == 4
    # every round ran under the same wall-clock deadline, max_wall after the start
    deadlines = {d for _, d in calls}
    assert len(deadlines) == 1 and 0 < deadlines.pop() - time.time() <= 3600.0
    monkeypatch.undo()
    plain = _run(trajectories=4)
    pd.testing.assert_frame_equal(
        r.per_trajectory.reset_index(drop=True), plain.per_trajectory, check_exact=True
    )


def test_precision_target_extends_by_rounds_and_stops_on_the_se():
    plain = _run(trajectories=4)
    r = _run(trajectories=4, target_rel_se=0.15, t_final=None)
    t = r.info["target"]
    assert t["met"] and t["stopped_by"] == "target"
    # a met relative target is met against the reported value
    assert t["achieved_se"] <= t["target_se"]
    assert t["achieved_rel_se"] <= 0.15
    assert t["target_se"] == pytest.approx(0.15 * abs(r.values["Q_h"]), rel=1e-12)
    per = r.per_trajectory
    pilot = per[per.trajectory < 4]

    def estimate(first):
        # the reported estimator (counted Q_h with its control variates), recomputed here
        # from the per-trajectory values of the first `first` trajectories
        part = per[per.trajectory < first]
        return control_variate_mean(part["Q_h"], current_controls(part, "Q_h"))

    mean, se = estimate(len(per))
    assert t["achieved_se"] == pytest.approx(se, rel=1e-12) == r.se["Q_h"]
    assert mean == pytest.approx(r.values["Q_h"], rel=1e-12)
    # the rule, replayed: after each complete round, stop once SE <= 0.15 |mean| of every
    # trajectory so far, else add what the SE says is needed (at most doubling the run)
    done, rounds = 4, 1
    while True:
        mean, se = estimate(done)
        if se <= 0.15 * abs(mean):
            break
        done += max(1, min(done, math.ceil(done * (se / (0.15 * abs(mean))) ** 2) - done))
        rounds += 1
    assert (done, rounds) == (len(per), t["rounds"])
    assert t["rounds"] >= 2
    # the run before the target was met is the run without a target (ids continue)
    first = qjump.simulate(
        MODEL, r.options.replace(target_rel_se=None, trajectories=4, t_final=r.info["t_final"])
    )
    pd.testing.assert_frame_equal(
        pilot.reset_index(drop=True), first.per_trajectory, check_exact=True
    )
    assert plain.info["t_final"] == 300.0 and "target" not in plain.info


def test_precision_target_caps():
    r = _run(trajectories=2, target_se=1e-9, max_time=6 * 300.0)
    assert r.info["target"]["stopped_by"] == "max_time" and not r.info["target"]["met"]
    assert len(r.per_trajectory) * 300.0 <= 6 * 300.0
    # a deadline that ends before the first trajectories finish leaves nothing to report
    with pytest.raises(WallTimeExceeded, match="max_wall: no trajectory finished within 0.001 s"):
        _run(trajectories=2, t_final=1e7, target_se=1e-9, max_wall=1e-3)
    with pytest.raises(ValueError, match="target_quantity"):
        _run(target_se=1e-3, target_quantity="Q_x")


def test_one_trajectory_warns_that_no_se_is_available():
    with pytest.warns(UserWarning, match="no standard error"):
        r = _run(trajectories=1)
    assert math.isnan(r.se["Q_h"])


def test_save_refuses_a_different_run_and_overwrite_removes_stale_files(tmp_path):
    d = tmp_path / "run"
    first = _run(records=True, save=d)
    assert (d / "records.parquet").exists()
    meta = json.loads((d / "metadata.json").read_text())
    assert meta["complete"] and meta["seed"] == 5 and meta["options"]["records"]
    # the same run resumes from its batches and gives the same answer
    again = _run(records=True, save=d)
    pd.testing.assert_frame_equal(again.per_trajectory, first.per_trajectory, check_exact=True)
    with pytest.raises(ValueError, match="different run"):
        _run(seed=6, save=d)
    other = _run(seed=6, save=d, overwrite=True)
    assert not (d / "records.parquet").exists()
    assert json.loads((d / "metadata.json").read_text())["seed"] == 6
    stored = pd.read_parquet(d / "trajectories.parquet")
    pd.testing.assert_frame_equal(stored, other.per_trajectory, check_dtype=False)


def test_counting_statistics_have_one_shape():
    r = _run(trajectories=8, window=100.0)
    traj = r.counting_statistics("h")
    ex = qjump.counting_statistics(MODEL, "h")
    assert type(traj) is type(ex)
    diff = traj.to_series() - ex.to_series()
    assert list(diff.index) == list(ex.to_series().index)
    assert traj.method == "trajectories" and ex.method == "exact"
    assert ex.se["heat_mean"] == 0.0 and traj.se["heat_mean"] > 0
