"""run_tasks: resume, crash safety (SIGKILL), corruption recovery, backends; progress bar."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import textwrap

import pandas as pd
import pytest
from killing import run_until_killed

from qjump.execution.backends import echo_task, run_tasks
from qjump.execution.cache import Payload, Task, TaskStore
from qjump.execution.progress import Progress, format_duration

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
            pd.testing.assert_frame_equal(a[key].frames[name], b[key].frames[name],
                                          check_exact=True)
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
    out = run_tasks(make_tasks(task_args()), store, backend="loky", n_jobs=2, quiet=True,
                    on_result=rec)
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


# -- corruption ------------------------------------------------------------------------------
def test_corrupt_result_is_recomputed_and_reported(tmp_path, reference):
    tasks = make_tasks(task_args())
    store = TaskStore(tmp_path)
    run_tasks(tasks, store, backend="serial", quiet=True)
    victim, garbage = store.path(tasks[1].key), store.path(tasks[4].key)
    raw = victim.read_bytes()
    victim.write_bytes(raw[:-10])  # truncated
    garbage.write_bytes(b"\x00garbage" * 50)

    err = io.StringIO()
    rec = Recorder()
    fresh = TaskStore(tmp_path)
    sys_stderr, sys.stderr = sys.stderr, err
    try:
        out = run_tasks(tasks, fresh, backend="serial", on_result=rec)
    finally:
        sys.stderr = sys_stderr
    assert sorted(rec.keys) == sorted([tasks[1].key, tasks[4].key])
    assert sorted(p.key for p in fresh.problems) == sorted(rec.keys)
    assert err.getvalue().count("warning: corrupt task result") == 2
    assert_same_results(out, reference)
    # repaired: a third run is clean
    third = TaskStore(tmp_path)
    rec3 = Recorder()
    run_tasks(tasks, third, backend="serial", quiet=True, on_result=rec3)
    assert rec3.keys == [] and third.problems == []


# -- SIGKILL and resume ----------------------------------------------------------------------
KILL_SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys

    from qjump.execution.backends import echo_task, run_tasks
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
        tmp_path / "stdout.txt", timeout=120,
    )
    assert returncode == -signal.SIGKILL, proc_stdout
    survivors = proc_stdout.split()
    assert len(survivors) == k and "not killed" not in proc_stdout

    store = TaskStore(directory)
    assert sorted(store.keys()) == sorted(survivors)
    assert not [p for p in directory.iterdir() if not p.name.endswith(".qjt")]
    stamps = {key: os.stat(store.path(key)).st_mtime_ns for key in survivors}

    rec = Recorder()
    out = run_tasks(tasks, store, backend="serial", quiet=True, on_result=rec)
    # exactly the k stored tasks were skipped, all others computed once
    assert sorted(rec.keys) == sorted(t.key for t in tasks if t.key not in survivors)
    assert len(rec.keys) == N_TASKS - k
    assert {key: os.stat(store.path(key)).st_mtime_ns for key in survivors} == stamps
    assert store.problems == []
    assert_same_results(out, reference)


# -- dask ------------------------------------------------------------------------------------
def test_dask_matches_loky(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    tasks = make_tasks(task_args())
    loky_out = run_tasks(tasks, TaskStore(tmp_path / "loky"), backend="loky", n_jobs=2,
                         quiet=True)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
    ) as cluster:
        rec = Recorder()
        store = TaskStore(tmp_path / "dask")
        dask_out = run_tasks(tasks, store, backend="dask", scheduler=cluster.scheduler_address,
                             quiet=True, on_result=rec)
        assert len(rec.keys) == N_TASKS
        # resume with a partly emptied store
        for key in rec.keys[:3]:
            store.path(key).unlink()
        rec2 = Recorder()
        resumed = run_tasks(tasks, store, backend="dask", scheduler=cluster.scheduler_address,
                            quiet=True, on_result=rec2)
        assert sorted(rec2.keys) == sorted(rec.keys[:3])
    assert_same_results(dask_out, loky_out)
    assert_same_results(resumed, reference)
    assert_same_results(loky_out, reference)


# -- progress bar ----------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class TTYStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_format_duration():
    assert format_duration(0) == "0:00"
    assert format_duration(75.4) == "1:15"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(None) == "?" and format_duration(float("nan")) == "?"


def test_progress_quiet_writes_nothing():
    stream = io.StringIO()
    with Progress(10, quiet=True, stream=stream) as bar:
        bar.advance(3)
        bar.note("hello")
    assert stream.getvalue() == ""


def test_progress_non_tty_prints_lines_every_5_percent_or_10_s():
    clock, stream = FakeClock(), io.StringIO()
    with Progress(100, label="jobs", stream=stream, clock=clock) as bar:
        for _ in range(12):
            clock.t += 0.1
            bar.advance(1)
        clock.t += 11.0  # no new 5 % step, but 10 s passed
        bar.advance(0)
        bar.note("a message")
        clock.t += 1.0
        bar.advance(88)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert lines[0].startswith("jobs 0/100 (0%)")
    assert [ln.split()[1] for ln in lines if ln.startswith("jobs")] == [
        "0/100", "5/100", "10/100", "12/100", "100/100"]
    assert "a message" in lines
    assert "remaining 88" in lines[3] and "elapsed 0:12" in lines[3]
    assert "ETA 1:29" in lines[3]  # 88 remaining at 12 tasks / 12.2 s
    assert lines[-1].startswith("jobs 100/100 (100%) | remaining 0")


def test_progress_tty_rate_limited_redraw_and_note():
    clock, stream = FakeClock(), TTYStream()
    with Progress(4, stream=stream, clock=clock, initial=1, min_interval=0.2) as bar:
        bar.advance(1)  # too soon after the initial draw: not drawn
        clock.t = 1.0
        bar.advance(1)
        assert bar.eta() == pytest.approx(0.5)  # 2 new tasks in 1 s, 1 remaining
        bar.note("between")
    out = stream.getvalue()
    assert out.count("\r[") == 4  # initial, t=1, redraw after note, final
    assert "2/4" not in out
    assert "\rbetween\n" in out
    assert "3/4 (75%) | remaining 1" in out and out.endswith("\n")
