"""run_tasks: resume, crash safety (SIGKILL), corruption recovery, backends; progress bar."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sys
import textwrap

import pandas as pd
import pytest
from killing import echo_task, run_until_killed

from qjump.execution.backends import run_tasks
from qjump.execution.cache import TASK_FILE, Payload, Task, TaskStore

N_TASKS = 6


def task_args(n_tasks: int = N_TASKS, sleep: float = 0.0) -> list[dict]:
    return [{"n": 4 + i, "seed": 100 + i, "sleep": sleep, "tag": f"t{i}"} for i in range(n_tasks)]


def make_tasks(args_list: list[dict]) -> list[Task]:
    # "sleep" does not change the result, so it is left out of the key's params
    return [
        Task.make(
            "echo",
            echo_task,
            {k: v for k, v in a.items() if k not in ("seed", "sleep")},
            seed=a["seed"],
            args=a,
        )
        for a in args_list
    ]


def assert_same_results(a: dict[str, Payload], b: dict[str, Payload]) -> None:
    assert list(a) == list(b)
    for key in a:
        assert list(a[key].frames) == list(b[key].frames)
        for name in a[key].frames:
            pd.testing.assert_frame_equal(
                a[key].frames[name], b[key].frames[name], check_exact=True
            )
        strip = {k: v for k, v in a[key].meta.items() if k != "wall_time_s"}
        assert strip == {k: v for k, v in b[key].meta.items() if k != "wall_time_s"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, Payload]:
    """Uninterrupted serial run in a fresh store."""
    store = TaskStore(tmp_path_factory.mktemp("reference"))
    return run_tasks(make_tasks(task_args()), store, backend="serial", quiet=True)


class Recorder:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, key: str, payload: Payload) -> None:
        assert isinstance(payload, Payload)
        self.keys.append(key)


# -- basic runs and resume -------------------------------------------------------------------
def test_serial_run_and_resume(tmp_path, reference):
    tasks = make_tasks(task_args())
    store = TaskStore(tmp_path)
    rec = Recorder()
    out = run_tasks(tasks, store, backend="serial", quiet=True, on_result=rec)
    assert list(out) == [t.key for t in tasks]
    assert sorted(rec.keys) == sorted(t.key for t in tasks)
    assert all(out[k].meta["wall_time_s"] >= 0 for k in out)
    assert_same_results(out, reference)
    # the second run computes nothing
    rec2 = Recorder()
    again = run_tasks(tasks + tasks[:2], store, backend="serial", quiet=True, on_result=rec2)
    assert rec2.keys == []
    assert_same_results(again, reference)


def test_loky_matches_serial(tmp_path, reference):
    store = TaskStore(tmp_path)
    rec = Recorder()
    out = run_tasks(
        make_tasks(task_args()), store, backend="loky", n_jobs=2, quiet=True, on_result=rec
    )
    assert len(rec.keys) == N_TASKS
    assert_same_results(out, reference)


def test_bad_arguments(tmp_path):
    store = TaskStore(tmp_path)
    with pytest.raises(ValueError, match="unknown backend"):
        run_tasks([], store, backend="threads")
    with pytest.raises(ValueError, match="scheduler"):
        run_tasks([], store, backend="loky", scheduler="tcp://127.0.0.1:1")
    assert run_tasks([], store, quiet=True) == {}


def _fail_on_seed(n: int, seed: int, sleep: float = 0.0, tag: str = "x"):
    if seed == 102:
        raise RuntimeError("task failed")
    return echo_task(n=n, seed=seed, sleep=sleep, tag=tag)


def test_failing_task_keeps_finished_results(tmp_path, reference):
    tasks = make_tasks(task_args())
    failing = [Task(key=t.key, fn=_fail_on_seed, args=t.args) for t in tasks]
    store = TaskStore(tmp_path)
    with pytest.raises(RuntimeError, match="task failed"):
        run_tasks(failing, store, backend="serial", quiet=True)
    assert sorted(store.keys()) == sorted(t.key for t in tasks[:2])
    rec = Recorder()
    out = run_tasks(tasks, store, backend="serial", quiet=True, on_result=rec)
    assert sorted(rec.keys) == sorted(t.key for t in tasks[2:])
    assert_same_results(out, reference)


# -- corruption and progress -----------------------------------------------------------------
class TTYStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_damaged_results_are_recomputed_and_reported_in_one_line(tmp_path, reference, monkeypatch):
    tasks = make_tasks(task_args())
    store = TaskStore(tmp_path)
    run_tasks(tasks, store, backend="serial", quiet=True)
    truncated = store.path(tasks[1].key) / "samples.parquet"
    truncated.write_bytes(truncated.read_bytes()[:-10])
    (store.path(tasks[4].key) / TASK_FILE).unlink()  # a partial entry

    err = io.StringIO()  # not a terminal: notes only, no bar
    monkeypatch.setattr(sys, "stderr", err)
    rec = Recorder()
    fresh = TaskStore(tmp_path)
    out = run_tasks(tasks, fresh, backend="serial", on_result=rec)
    assert sorted(rec.keys) == sorted([tasks[1].key, tasks[4].key])
    assert sorted(p.key for p in fresh.problems) == sorted(rec.keys)
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue()
    warnings = [ln for ln in lines if ln.startswith("warning: damaged task result")]
    assert len(warnings) == 2 and all(ln.endswith("; recomputing") for ln in warnings)
    assert any("samples.parquet checksum mismatch" in ln for ln in warnings)
    assert lines == [*warnings, f"tasks: 4 found in {tmp_path}, 2 to run"]
    assert_same_results(out, reference)
    # repaired: a third run is clean, and quiet means silent
    quiet_err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet_err)
    (store.path(tasks[0].key) / TASK_FILE).unlink()
    third = TaskStore(tmp_path)
    rec3 = Recorder()
    run_tasks(tasks, third, backend="serial", quiet=True, on_result=rec3)
    assert rec3.keys == [tasks[0].key] and len(third.problems) == 1
    assert quiet_err.getvalue() == ""


def test_progress_bar_on_a_terminal(tmp_path, monkeypatch):
    tasks = make_tasks(task_args(3))
    run_tasks(tasks[:1], TaskStore(tmp_path), backend="serial", quiet=True)
    err = TTYStream()
    monkeypatch.setattr(sys, "stderr", err)
    run_tasks(tasks, TaskStore(tmp_path), backend="serial", label="echoes")
    text = err.getvalue()
    assert "echoes: 1 found in" in text and "2 to run" in text
    assert "\r" in text and "echoes:" in text and "3/3" in text


# -- SIGKILL and resume ----------------------------------------------------------------------
KILL_SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys

    from killing import echo_task

    from qjump.execution.backends import run_tasks
    from qjump.execution.cache import Task, TaskStore

    directory, k, args_list = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    tasks = [
        Task.make("echo", echo_task,
                  {key: v for key, v in a.items() if key not in ("seed", "sleep")},
                  seed=a["seed"], args=a)
        for a in args_list
    ]
    stored = []

    def hook(key, payload):
        stored.append(key)
        print(key, flush=True)
        if len(stored) == k:
            os.kill(os.getpid(), signal.SIGKILL)

    run_tasks(tasks, TaskStore(directory), backend="loky", n_jobs=2, quiet=True,
              on_result=hook)
    print("not killed", flush=True)
    """
)


@pytest.mark.parametrize("k", [2])
def test_sigkill_then_resume_is_bit_identical(tmp_path, reference, k):
    args_list = task_args(sleep=0.05)
    tasks = make_tasks(args_list)
    directory = tmp_path / "killed"
    returncode, proc_stdout = run_until_killed(
        [KILL_SCRIPT, str(directory), str(k), json.dumps(args_list)],
        tmp_path / "stdout.txt",
        timeout=120,
    )
    assert returncode == -signal.SIGKILL, proc_stdout
    survivors = proc_stdout.split()
    assert len(survivors) == k and "not killed" not in proc_stdout

    store = TaskStore(directory)
    assert sorted(store.keys()) == sorted(survivors)
    assert sorted(p.name for p in directory.iterdir()) == sorted(survivors)  # no temporaries
    stamps = {key: os.stat(store.path(key) / TASK_FILE).st_mtime_ns for key in survivors}

    rec = Recorder()
    out = run_tasks(tasks, store, backend="serial", quiet=True, on_result=rec)
    # exactly the k stored tasks were skipped, all others computed once
    assert sorted(rec.keys) == sorted(t.key for t in tasks if t.key not in survivors)
    assert len(rec.keys) == N_TASKS - k
    assert {key: os.stat(store.path(key) / TASK_FILE).st_mtime_ns for key in survivors} == stamps
    assert store.problems == []
    assert_same_results(out, reference)


# -- dask ------------------------------------------------------------------------------------
def test_dask_matches_loky(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    tasks = make_tasks(task_args())
    loky_out = run_tasks(tasks, TaskStore(tmp_path / "loky"), backend="loky", n_jobs=2, quiet=True)
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
    ) as cluster:
        rec = Recorder()
        store = TaskStore(tmp_path / "dask")
        dask_out = run_tasks(
            tasks,
            store,
            backend="dask",
            scheduler=cluster.scheduler_address,
            quiet=True,
            on_result=rec,
        )
        assert len(rec.keys) == N_TASKS
        # resume with a partly emptied store
        for key in rec.keys[:3]:
            shutil.rmtree(store.path(key))
        rec2 = Recorder()
        resumed = run_tasks(
            tasks,
            store,
            backend="dask",
            scheduler=cluster.scheduler_address,
            quiet=True,
            on_result=rec2,
        )
        assert sorted(rec2.keys) == sorted(rec.keys[:3])
    assert_same_results(dask_out, loky_out)
    assert_same_results(resumed, reference)
    assert_same_results(loky_out, reference)
