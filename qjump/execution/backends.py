"""Run many independent, deterministic tasks with resume, on joblib backends.

:func:`run_tasks` skips every task whose result is already (validly) in the
:class:`~qjump.execution.cache.TaskStore`, runs the others on the chosen backend and writes each
result
to the store *in the parent process as soon as it arrives*
(``joblib.Parallel(return_as="generator_unordered")``), so a crash or ``SIGKILL`` loses only
the tasks in flight.  Results are collected by key, never by completion order, and every
returned payload is re-read from the store, so the output is identical whatever the backend
and whether a task was computed now or in an earlier, interrupted run.

Backends
--------
``"serial"``
    Plain loop in the calling process (debugging, tests).
``"loky"``
    joblib's default process pool; ``n_jobs`` defaults to ``os.cpu_count()``.
``"dask"``
    joblib's dask backend on a ``distributed`` cluster (extra ``qjump[dask]``); pass
    ``scheduler="tcp://HOST:PORT"`` (or a ``distributed.Client``).  The task functions must
    be importable on the workers (e.g. functions of the installed ``qjump`` package).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .cache import Payload, TaskStore
from .progress import Progress

__all__ = ["BACKENDS", "TaskLike", "echo_task", "run_tasks"]

BACKENDS = ("serial", "loky", "dask")

Frames = dict[str, pd.DataFrame]


class TaskLike(Protocol):
    """What :func:`run_tasks` needs from a task (e.g. :class:`qjump.execution.cache.Task`)."""

    @property
    def key(self) -> str: ...

    @property
    def fn(self) -> Callable[..., tuple[Frames, dict[str, Any]]]: ...

    @property
    def args(self) -> Mapping[str, Any]: ...


def echo_task(
    n: int = 5, seed: int = 0, sleep: float = 0.0, tag: str = "x"
) -> tuple[Frames, dict[str, Any]]:
    """Deterministic dummy task for self-tests of the task machinery.

    Lives in the package so that loky and dask workers can always import it.

    Parameters
    ----------
    n : int, optional
        Number of rows.
    seed : int, optional
        Seed of the generated random numbers.
    sleep : float, optional
        Seconds to sleep first (to emulate work).
    tag : str, optional
        Copied into a string column.

    Returns
    -------
    frames : dict of str to DataFrame
        ``{"samples": ..., "summary": ...}`` with float, int, bool, str and categorical
        columns, all determined by the arguments.
    meta : dict
        ``{"seed": seed, "n": n}``.
    """
    if sleep > 0:
        time.sleep(sleep)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    samples = pd.DataFrame(
        {
            "i": np.arange(n, dtype=np.int64),
            "x": x,
            "y": rng.random(n).astype(np.float32),
            "flag": x > 0,
            "tag": pd.Series([f"{tag}{k}" for k in range(n)], dtype="string"),
            "cat": pd.Categorical(["a" if v > 0 else "b" for v in x], categories=["a", "b"]),
        }
    )
    summary = pd.DataFrame(
        {"mean": [float(x.mean())], "std": [float(x.std(ddof=1)) if n > 1 else 0.0]},
        index=pd.Index([seed], name="seed"),
    )
    return {"samples": samples, "summary": summary}, {"seed": seed, "n": n}


def _execute(
    key: str, fn: Callable[..., tuple[Frames, dict[str, Any]]], args: dict[str, Any]
) -> tuple[str, Frames, dict[str, Any]]:
    """Worker side: run one task and time it (the wall time goes into meta only)."""
    t0 = time.perf_counter()
    result = fn(**args)
    wall = time.perf_counter() - t0
    try:
        frames, meta = result
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"task {key[:12]}: fn must return (frames, meta), got {type(result).__name__}"
        ) from exc
    meta = dict(meta or {})
    meta.setdefault("wall_time_s", wall)
    return key, dict(frames), meta


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "backend='dask' needs the 'distributed' package: pip install 'qjump[dask]'"
        ) from exc
    return distributed


def _iter_results(
    tasks: list[TaskLike],
    backend: str,
    n_jobs: int | None,
    scheduler: Any,
    batch_size: int | str,
) -> Iterator[tuple[str, Frames, dict[str, Any]]]:
    """Yield ``(key, frames, meta)`` in completion order."""
    if not tasks:
        return
    if backend == "serial":
        for task in tasks:
            yield _execute(task.key, task.fn, dict(task.args))
        return

    from joblib import Parallel, delayed, parallel_config

    calls = (delayed(_execute)(t.key, t.fn, dict(t.args)) for t in tasks)
    if backend == "loky":
        jobs = n_jobs if n_jobs is not None else (os.cpu_count() or 1)
        parallel = Parallel(
            n_jobs=min(jobs, len(tasks)) if jobs > 0 else jobs,
            backend="loky",
            return_as="generator_unordered",
            batch_size=batch_size,
        )
        yield from parallel(calls)
        return

    # backend == "dask"
    distributed = _import_distributed()
    if scheduler is None:
        try:
            client = distributed.get_client()
        except ValueError as exc:
            raise ValueError(
                "backend='dask' needs scheduler='tcp://HOST:PORT' (or a running Client)"
            ) from exc
        owned = False
    elif isinstance(scheduler, distributed.Client):
        client, owned = scheduler, False
    else:
        client, owned = distributed.Client(scheduler, set_as_default=False), True
    try:
        with parallel_config(backend="dask", client=client):
            parallel = Parallel(
                n_jobs=n_jobs if n_jobs is not None else -1,
                return_as="generator_unordered",
                batch_size=batch_size,
            )
            yield from parallel(calls)
    finally:
        if owned:
            client.close()


def run_tasks(
    tasks: Iterable[TaskLike],
    store: TaskStore,
    *,
    backend: str = "loky",
    n_jobs: int | None = None,
    scheduler: Any = None,
    quiet: bool = False,
    on_result: Callable[[str, Payload], None] | None = None,
    batch_size: int | str = 1,
    label: str = "tasks",
) -> dict[str, Payload]:
    """Run tasks, skipping those already in `store`, writing each result as it completes.

    Parameters
    ----------
    tasks : iterable of task
        Objects with ``.key`` (str), ``.fn`` (picklable top-level callable) and ``.args``
        (keyword arguments); ``fn(**args)`` returns ``(frames, meta)``.  Tasks with equal
        keys are run once.
    store : TaskStore
        Result store; valid stored results are reused, damaged ones are reported (see
        ``store.problems``) and recomputed.
    backend : {"loky", "dask", "serial"}, optional
        Execution backend.
    n_jobs : int, optional
        Number of workers (loky default: ``os.cpu_count()``; dask default: all workers).
    scheduler : str or distributed.Client, optional
        Dask scheduler address ``"tcp://HOST:PORT"`` or a client (``backend="dask"`` only;
        default: the current default client).
    quiet : bool, optional
        Silence the progress bar and notes.
    on_result : callable, optional
        ``on_result(key, payload)`` called in the parent right after a newly computed
        result has been durably stored (not for results loaded from the store).
    batch_size : int or "auto", optional
        Tasks per joblib batch.  Default 1: each result is stored as soon as it is done
        (``"auto"`` lets joblib group short tasks, delaying their storage).
    label : str, optional
        Label of the progress bar.

    Returns
    -------
    dict of str to Payload
        Payload of every task, keyed by task key, in the order of `tasks`; each payload is
        read back from the store, so fresh and resumed results are identical.

    Raises
    ------
    ValueError
        Unknown backend, or `scheduler` given for a non-dask backend.
    RuntimeError
        If a result just written cannot be read back from the store.
    Exception
        The first exception raised by a task (results completed before it are stored).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if scheduler is not None and backend != "dask":
        raise ValueError("scheduler is only used with backend='dask'")

    unique: dict[str, TaskLike] = {}
    for task in tasks:
        unique.setdefault(task.key, task)

    n_problems = len(store.problems)
    results: dict[str, Payload] = {}
    pending: list[TaskLike] = []
    for key, task in unique.items():
        payload = store.get(key)
        if payload is None:
            pending.append(task)
        else:
            results[key] = payload

    with Progress(len(unique), label=label, quiet=quiet, initial=len(results)) as bar:
        for problem in store.problems[n_problems:]:
            bar.note(f"warning: {problem}; recomputing")
        if results and pending:
            bar.note(f"{label}: {len(results)} found in {store.directory}, {len(pending)} to run")
        for key, frames, meta in _iter_results(pending, backend, n_jobs, scheduler, batch_size):
            store.put(key, frames, meta)
            payload = store.get(key)
            if payload is None:
                raise RuntimeError(f"task {key[:12]}: result could not be read back from {store}")
            results[key] = payload
            bar.advance(1)
            if on_result is not None:
                on_result(key, payload)
    return {key: results[key] for key in unique}
