"""Ensembles of quantum-jump trajectories: parallel runs and steady-state estimates.

:func:`simulate` spawns one ``SeedSequence`` child per trajectory *before* dispatch, runs the
trajectories in batches on joblib workers (BLAS limited to one thread per worker), and turns
the jump records into steady-state estimates with standard errors.  Results (jump records
included) do not depend on ``n_jobs``.

Estimators (``T = t_final - burn_in`` per trajectory, ``M`` trajectories):

* ``Q_i = omega_i (absorptions_i - emissions_i) / T``: jump counting (physics notes §3, §5);
* ``W = (E(t_final) - E(burn_in) - heat_h - heat_c) / T``: the stochastic first law with the
  conditional energy ``E = <psi|H_S|psi>/<psi|psi>``;
* every other linear quantity (local/non-local parts, coherences, populations): the time
  average of the conditional expectation value on a regular grid;
* ``C_nonloc_product``: the product form of the averaged pieces, with a jackknife error.

Each estimate is the mean over trajectories; its standard error is the sample standard
deviation over trajectories divided by ``sqrt(M)`` (so it needs ``M >= 2``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..execution.backends import run_tasks
from ..execution.cache import MemoryStore, Task, TaskStore
from ..liouville.steady import relaxation_time
from ..model import PaperModel
from ..results import Result
from ..system.context import model_system
from ..system.quantities import order_values
from .kernel import unravelling
from .records import record_frame, window_frame
from .trajectory import INITIAL_STATES, TrajectoryOutput, TrajectorySpec, run_trajectory

__all__ = ["TrajectoryResult", "default_burn_in", "simulate"]

#: Burn-in in units of the slowest relaxation time when none is given.
BURN_IN_RELAXATION_TIMES = 5.0
#: A burn-in shorter than this many relaxation times is flagged.
SHORT_BURN_IN = 3.0
#: Largest N for which the relaxation time (default burn-in, short burn-in flag) is computed.
MAX_N_RELAXATION = 4


@dataclasses.dataclass(frozen=True)
class TrajectoryResult(Result):
    """Trajectory estimates (a :class:`~qjump.results.Result`) plus the underlying data.

    Attributes
    ----------
    windows : pandas.DataFrame
        Window summaries, schema in :mod:`qjump.trajectories.records`.
    per_trajectory : pandas.DataFrame
        One row per trajectory: its own estimate of every quantity.
    records : pandas.DataFrame or None
        Raw jump records (``records=True``), schema in :mod:`qjump.trajectories.records`.
    """

    windows: pd.DataFrame | None = None
    per_trajectory: pd.DataFrame | None = None
    records: pd.DataFrame | None = None

    def cumulants(self) -> dict[str, float | None]:
        """Trajectory estimates of the hot-bath scaled cumulants with standard errors.

        Keys ``quanta_mean, quanta_mean_se, quanta_diffusion, ..., heat_skewness_se``
        (physics notes §6 names); estimators, bootstrap errors and the finite-``T`` bias
        are documented in :mod:`qjump.trajectories.estimates`.  Values that are not available (the
        standard errors with fewer than 8 trajectories) are ``None``, as in
        :meth:`to_dict`, so the mapping is JSON-ready.
        """
        from .estimates import scaled_cumulants

        out: dict[str, float | None] = {}
        for quantity in ("quanta", "heat"):
            est = scaled_cumulants(self.windows, "h", quantity).to_dict()
            out.update({k: v if math.isfinite(v) else None for k, v in est.items()})
        return out


def default_burn_in(model: PaperModel, initial_state: str) -> tuple[float, float | None]:
    """Default burn-in and the relaxation time it is based on.

    ``steady`` starts need none.  Otherwise ``5 / gap`` of the exact Liouvillian (physics
    notes §7: about 1900 for com(1) at the paper's parameters), available up to
    ``N = MAX_N_RELAXATION``; beyond, the burn-in must be given.
    """
    if initial_state == "steady":
        return 0.0, None
    if not _relaxation_time_affordable(model):
        raise ValueError(
            f"burn_in: no default for N={model.N}: the relaxation time that sets it needs an "
            f"exact spectral computation (feasible up to N={MAX_N_RELAXATION}); give burn_in "
            "explicitly"
        )
    tau = relaxation_time(model)
    return float(BURN_IN_RELAXATION_TIMES * tau), tau


def _relaxation_time_affordable(model: PaperModel) -> bool:
    return model.N <= MAX_N_RELAXATION


def _check_int(name: str, value: Any, minimum: int, allow_negative_jobs: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name}: expected an integer, got {value!r}")
    value = int(value)
    if allow_negative_jobs:
        if value == 0:
            raise ValueError(
                f"{name}: must be a positive number of workers or negative (-1 = all cores), "
                f"got {value}"
            )
        return value
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return value


def _check_time(name: str, value: Any, *, positive: bool) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(x) or (x <= 0 if positive else x < 0):
        what = "> 0" if positive else ">= 0"
        raise ValueError(f"{name}: must be finite and {what}, got {value!r}")
    return x


def make_spec(
    model: PaperModel,
    *,
    t_final: float,
    burn_in: float | None,
    initial_state: str,
    window: float | None,
    sample_interval: float,
    records: bool,
) -> tuple[TrajectorySpec, dict[str, Any]]:
    """Validate the time grid and options; choose the default burn-in and window."""
    if initial_state not in INITIAL_STATES:
        raise ValueError(
            f"initial_state: unknown value {initial_state!r}; allowed: {', '.join(INITIAL_STATES)}"
        )
    t_final = _check_time("t_final", t_final, positive=True)
    info: dict[str, Any] = {}
    if burn_in is None:
        burn_in, tau = default_burn_in(model, initial_state)
        if burn_in >= t_final:
            raise ValueError(
                f"t_final: {t_final:g} is not longer than the default burn-in {burn_in:.4g} "
                f"(5 relaxation times of {model.label}); give a longer t_final, an explicit "
                "burn_in, or initial_state='steady'"
            )
    else:
        burn_in = _check_time("burn_in", burn_in, positive=False)
        check = initial_state != "steady" and _relaxation_time_affordable(model)
        tau = relaxation_time(model) if check else None
    if not t_final > burn_in:
        raise ValueError(f"t_final: must be > burn_in ({burn_in:g}), got {t_final:g}")
    info["relaxation_time"] = tau
    if initial_state != "steady" and tau is not None and burn_in < SHORT_BURN_IN * tau:
        msg = (
            f"burn_in {burn_in:g} is shorter than {SHORT_BURN_IN:g} relaxation times "
            f"({SHORT_BURN_IN * tau:.4g}) of {model.label}: the estimates may be biased by the "
            "initial state; use a longer burn-in or initial_state='steady'"
        )
        warnings.warn(msg, stacklevel=3)
        info["burn_in_warning"] = msg
    measured = t_final - burn_in
    window = measured / 10.0 if window is None else _check_time("window", window, positive=True)
    sample_interval = _check_time("sample_interval", sample_interval, positive=True)
    spec = TrajectorySpec(
        t_final=t_final,
        burn_in=burn_in,
        window=min(window, measured),
        sample_interval=sample_interval,
        initial_state=initial_state,
        records=bool(records),
    )
    return spec, info


# ------------------------------------------------------------------------ batches
def batch_layout(trajectories: int) -> list[list[int]]:
    """Trajectory ids per batch: at most 64 batches, independent of ``n_jobs``."""
    n_batches = min(trajectories, 64)
    return [list(b) for b in np.array_split(np.arange(trajectories), n_batches)]


def run_batch(
    model: PaperModel,
    spec: TrajectorySpec,
    ids: list[int],
    seeds: list[np.random.SeedSequence],
) -> dict[str, pd.DataFrame]:
    """Run a batch of trajectories and summarise it (executed in a worker).

    Returns the frames ``windows``, ``per_trajectory`` and (with records) ``records``.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        outputs = [run_trajectory(model, spec, s) for s in seeds]
    frames = {
        "windows": window_frame(model, spec, ids, outputs),
        "per_trajectory": per_trajectory_frame(model, spec, ids, outputs),
    }
    if spec.records:
        frames["records"] = record_frame(model, ids, outputs)
    return frames


def per_trajectory_frame(
    model: PaperModel, spec: TrajectorySpec, ids: list[int], outputs: list[TrajectoryOutput]
) -> pd.DataFrame:
    """Each trajectory's own estimate of every linear quantity and of the currents."""
    q = model_system(model).quantities
    un = unravelling(model)
    # the unravelling sorted the support by sector; map back to the QuantitySet's order
    order = np.searchsorted(q.support, un.support)
    T = spec.measured_time
    rows = []
    for tid, out in zip(ids, outputs, strict=True):
        xs = np.zeros(q.support.size, complex)
        if out.n_samples:
            xs[order] = out.state_sum / out.n_samples
        vals = dict(zip(q.names, q.evaluate_support(xs), strict=True))
        c = out.counts.sum(axis=0)
        heat_h = model.omega_h * (c[0, 1] - c[0, 0])
        heat_c = model.omega_c * (c[1, 1] - c[1, 0])
        dE = out.edge_energy[-1] - out.edge_energy[0]
        vals["Q_h"] = heat_h / T
        vals["Q_c"] = heat_c / T
        vals["W"] = (dE - heat_h - heat_c) / T
        vals["trajectory"] = tid
        vals["jumps"] = int(c.sum())
        vals["samples"] = out.n_samples
        rows.append(vals)
    return pd.DataFrame(rows)


def estimate(
    model: PaperModel, per_trajectory: pd.DataFrame
) -> tuple[dict[str, float], dict[str, float]]:
    """Means and standard errors over trajectories (jackknife for the product form)."""
    q = model_system(model).quantities
    df = per_trajectory.sort_values("trajectory")
    M = len(df)
    cols = [c for c in q.names]
    means = {c: float(df[c].mean()) for c in cols}
    ses = {
        c: float(df[c].std(ddof=1) / math.sqrt(M)) if M > 1 else math.nan for c in cols
    }
    prod = float(q.product_form(means))
    if M > 1:
        sums = {c: df[c].to_numpy().sum() for c in cols}
        loo = {c: (sums[c] - df[c].to_numpy()) / (M - 1) for c in cols}
        jk = np.asarray(q.product_form(loo))
        prod_se = float(math.sqrt((M - 1) / M * np.sum((jk - jk.mean()) ** 2)))
    else:
        prod_se = math.nan
    values = order_values(means, prod)
    se = order_values(ses, prod_se)
    return values, se


def simulate(
    model: PaperModel,
    *,
    t_final: float,
    trajectories: int = 16,
    burn_in: float | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    initial_state: str = "thermal",
    window: float | None = None,
    sample_interval: float = 2.0,
    records: bool = False,
    progress: bool | None = None,
    save: str | os.PathLike | None = None,
) -> TrajectoryResult:
    """Estimate the steady state of ``model`` from quantum-jump trajectories.

    Parameters
    ----------
    model : PaperModel
    t_final : float
        Length of each trajectory (time units of ``1/omega_c``).
    trajectories : int
        Number of trajectories ``M >= 1`` (standard errors need ``M >= 2``).
    burn_in : float, optional
        Time discarded at the start of each trajectory.  Default: 0 for
        ``initial_state="steady"``, else 5 relaxation times of the model.  A burn-in shorter
        than 3 relaxation times is flagged (warning and ``info["burn_in_warning"]``).
    seed : int
        Run seed ``>= 0``; trajectory ``i`` uses ``SeedSequence(seed).spawn(M)[i]``.
    n_jobs : int
        joblib workers (loky); ``-1`` uses all cores.  Results do not depend on it.
    initial_state : {"thermal", "ground", "steady"}
        ``thermal``: a basis state drawn from the product of each TLS's thermal state at its
        own bath's temperature; ``ground``; ``steady``: an eigenvector of the exact steady
        state drawn with its eigenvalue as probability (no burn-in needed).
    window : float, optional
        Length of the counting windows (default: a tenth of the measured time).
    sample_interval : float
        Grid spacing for conditional expectation values (default 2).
    records : bool
        Keep the raw jump records (memory grows with the number of jumps).
    progress : bool, optional
        Progress bar on stderr; default on for runs with more than one batch when stderr is a
        terminal.
    save : path, optional
        Directory for the run's Parquet summaries and metadata (:func:`write_run`).  Each
        finished batch of trajectories is stored atomically under ``save/batches`` as it
        completes, keyed by the model, options, seed and qjump version, so an interrupted
        run resumes where it stopped when called again with the same arguments.

    Returns
    -------
    TrajectoryResult
        Same keys as :func:`qjump.exact`, each with a standard error; ``info`` holds
        ``simulated_time``, ``jumps``, ``wall_time_s``, ``burn_in``, ``trajectories``,
        ``seed`` and the relaxation time used for the burn-in.
    """
    t0 = time.perf_counter()
    M = _check_int("trajectories", trajectories, 1)
    seed = _check_int("seed", seed, 0)
    n_jobs = _check_int("n_jobs", n_jobs, 1, allow_negative_jobs=True)
    spec, info = make_spec(
        model,
        t_final=t_final,
        burn_in=burn_in,
        initial_state=initial_state,
        window=window,
        sample_interval=sample_interval,
        records=records,
    )
    seeds = np.random.SeedSequence(seed).spawn(M)
    tasks = []
    for ids in batch_layout(M):
        params = {"model": model.to_dict(), "spec": dataclasses.asdict(spec), "ids": ids}
        args = {"model": model, "spec": spec, "ids": ids, "seeds": [seeds[i] for i in ids]}
        tasks.append(Task.make("trajectory-batch", _batch_task, params, seed, args=args,
                               label=f"trajectories {ids[0]}-{ids[-1]}"))
    store = MemoryStore() if save is None else TaskStore(Path(save) / "batches")
    if progress is None:
        progress = len(tasks) > 1 and sys.stderr.isatty()
    payloads = run_tasks(
        tasks,
        store,
        backend="serial" if n_jobs == 1 else "loky",
        n_jobs=n_jobs,
        quiet=not progress,
        label="trajectory batches",
    )
    frames = [payloads[t.key].frames for t in tasks]
    result = assemble(model, spec, frames, seed=seed, t0=t0, info=info)
    if save is not None:
        write_run(Path(save), result)
    return result


def _batch_task(model, spec, ids, seeds):
    return run_batch(model, spec, ids, seeds), {}


def write_run(directory: Path, result: TrajectoryResult) -> None:
    """Write a run's summaries (Parquet) and metadata (JSON) atomically into ``directory``.

    Files: ``windows.parquet``, ``trajectories.parquet``, ``records.parquet`` (when kept),
    ``estimates.json`` and ``metadata.json`` (qjump version, model, run options, seed).
    """
    from .. import __version__

    directory.mkdir(parents=True, exist_ok=True)
    frames = {"windows": result.windows, "trajectories": result.per_trajectory}
    if result.records is not None:
        frames["records"] = result.records
    for name, df in frames.items():
        tmp = directory / f".{name}.parquet.tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, directory / f"{name}.parquet")
    meta = {
        "qjump_version": __version__,
        "model": result.model.to_dict(),
        "options": {k: result.info[k] for k in ("t_final", "burn_in", "initial_state",
                                                "trajectories")},
        "seed": result.info["seed"],
    }
    for name, obj in (("metadata", meta), ("estimates", result.to_dict())):
        tmp = directory / f".{name}.json.tmp"
        tmp.write_text(json.dumps(obj, indent=2, allow_nan=False))
        os.replace(tmp, directory / f"{name}.json")


def assemble(
    model: PaperModel,
    spec: TrajectorySpec,
    frames: list[dict[str, pd.DataFrame]],
    *,
    seed: int,
    t0: float,
    info: dict[str, Any],
) -> TrajectoryResult:
    """Combine batch frames into a :class:`TrajectoryResult`."""
    windows = pd.concat([f["windows"] for f in frames], ignore_index=True)
    per = pd.concat([f["per_trajectory"] for f in frames], ignore_index=True)
    per = per.sort_values("trajectory", ignore_index=True)
    windows = windows.sort_values(["trajectory", "window"], ignore_index=True)
    recs = None
    if spec.records:
        recs = pd.concat([f["records"] for f in frames], ignore_index=True)
        recs = recs.sort_values(["trajectory", "time"], ignore_index=True, kind="stable")
    values, se = estimate(model, per)
    info = dict(info)
    info.update(
        {
            "trajectories": len(per),
            "t_final": spec.t_final,
            "burn_in": spec.burn_in,
            "initial_state": spec.initial_state,
            "seed": seed,
            "simulated_time": spec.measured_time * len(per),
            "jumps": int(per["jumps"].sum()),
            "wall_time_s": time.perf_counter() - t0,
        }
    )
    return TrajectoryResult(
        model=model,
        method="trajectories",
        values=values,
        se=se,
        info=info,
        windows=windows,
        per_trajectory=per,
        records=recs,
    )
