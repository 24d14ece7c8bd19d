"""Run many independent, deterministic tasks with resume, on joblib backends.

:func:`run_tasks` skips every task whose result is already (validly) in the
:class:`~qjump.execution.cache.TaskStore`, runs the others on the chosen backend and writes
each result to the store *in the parent process as soon as it arrives*
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
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from .cache import MemoryStore, Payload, Task, TaskStore

__all__ = ["BACKENDS", "run_tasks"]

BACKENDS = ("serial", "loky", "dask")

Frames = dict[str, pd.DataFrame]


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


def _iter_results(
    tasks: list[Task],
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

    try:  # backend == "dask"
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("backend='dask' needs 'distributed': pip install 'qjump[dask]'") from exc
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
    tasks: Iterable[Task],
    store: TaskStore | MemoryStore,
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
    tasks : iterable of Task
        ``task.fn(**task.args)`` returns ``(frames, meta)``; `fn` must be a picklable
        top-level function.  Tasks with equal keys are run once.  Each result is stored
        with its task's ``spec``.
    store : TaskStore or MemoryStore
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
        No progress bar and no notes.  Otherwise a tqdm bar (:mod:`tqdm.auto`: a widget in
        a notebook) is drawn when stderr is a terminal, and every damaged entry found is
        reported in one line on stderr.
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

    unique: dict[str, Task] = {}
    for task in tasks:
        unique.setdefault(task.key, task)

    n_problems = len(store.problems)
    results: dict[str, Payload] = {}
    pending: list[Task] = []
    for key, task in unique.items():
        payload = store.get(key)
        if payload is None:
            pending.append(task)
        else:
            results[key] = payload

    notes = [f"warning: {problem}; recomputing" for problem in store.problems[n_problems:]]
    if results and pending:
        notes.append(f"{label}: {len(results)} found in {store.directory}, {len(pending)} to run")
    # disable=None: a bar on a terminal or in a notebook, none when stderr is redirected
    with tqdm(
        total=len(unique),
        initial=len(results),
        desc=label,
        unit="task",
        disable=True if quiet else None,
        file=sys.stderr,
    ) as bar:
        for note in [] if quiet else notes:
            bar.write(note, file=sys.stderr)
        for key, frames, meta in _iter_results(pending, backend, n_jobs, scheduler, batch_size):
            store.put(key, frames, meta, unique[key].spec)
            payload = store.get(key)
            if payload is None:
                raise RuntimeError(f"task {key[:12]}: result could not be read back from {store}")
            results[key] = payload
            bar.update(1)
            if on_result is not None:
                on_result(key, payload)
    return {key: results[key] for key in unique}
