"""Study runner: a :class:`~qjump.studies.config.StudyConfig` as resumable tasks, tidy tables.

Owns the task functions (exact values and counting statistics per point, trajectory
estimates per point, the paper's optimum and Table I), their keys and seeds, and the outputs.

:func:`run_study` turns a study into tasks (:class:`qjump.execution.cache.Task`), runs them
with :func:`qjump.execution.backends.run_tasks` (resumable: each finished task is stored in
``<out>/cache/``), and writes

* ``results.parquet`` / ``results.csv``: one row per (scenario, point, quantity) with a
  column per swept parameter and ``exact``, ``trajectory``, ``se`` and ``z``;
* ``budget.csv``: the statistical budget of every trajectory point (trajectories, simulated
  time, jumps, wall time, whether a precision target was met);
* ``study.json``: the resolved configuration and run metadata;
* the figures and ``report.md`` (:func:`report_study`).

Seeds: trajectory point ``p`` (its rank among the study's trajectory points) of scenario
``s`` uses ``SeedSequence(seed, spawn_key=(s, p)).generate_state(1)[0]``; inside the point,
:func:`qjump.simulate` spawns one seed per trajectory.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..execution.backends import run_tasks
from ..execution.cache import Payload, Task, TaskStore
from ..model import PaperModel
from ..system.quantities import selection_for
from .config import (
    COUNTING_QUANTITIES,
    DEFAULT_QUANTITIES,
    ConfigError,
    StudyConfig,
    load_config,
)

__all__ = [
    "StudyConfig",
    "budget_table",
    "build_tasks",
    "default_out",
    "exact_task",
    "load_config",
    "optimum_task",
    "paper_inputs_missing",
    "point_budgets",
    "report_study",
    "run_study",
    "table1_task",
    "tidy_results",
    "trajectory_task",
    "written_files",
]

#: Currents whose formulas Table I classifies.
TABLE1_QUANTITIES = ("Q_h_loc", "Q_c_loc", "Q_h_nonloc", "Q_c_nonloc", "W_loc", "W_nonloc")
#: Matrix-element classes of Table I.
TABLE1_CLASSES = ("population", "same-bath coherence", "cross-bath coherence")
#: Cost unit of one exact task (about 128 points at N = 2; one point at N = 6).
EXACT_CHUNK_COST = 2048


# ----------------------------------------------------------------------------- task functions
def _value_names(result, quantities: list[str]) -> list[str]:
    if quantities == ["all"]:
        return list(result.values)
    return [q for q in quantities if q not in COUNTING_QUANTITIES]


def exact_task(
    models: list[dict], quantities: list[str], counting: bool
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Exact steady-state quantities (and counting statistics) of a list of models.

    Parameters
    ----------
    models : list of dict
        ``PaperModel`` keywords, one per point.
    quantities : list of str
        Names of :func:`qjump.exact` values, or ``["all"]``.
    counting : bool
        Add the hot-bath counting statistics (:func:`qjump.counting_statistics`): mean,
        diffusion and skewness of the quanta and of the heat (units ``omega_c`` per unit time
        for the heat mean, ``omega_c^2`` and ``omega_c^3`` for the diffusion and skewness)
        and the TUR ratio ``(D/J^2) sigma/2``.

    Returns
    -------
    frames : dict
        ``{"exact": DataFrame}`` in long form: ``index`` (position in `models`),
        ``quantity``, ``exact``, ``regime``, ``residual``.
    meta : dict
        Empty.
    """
    from ..liouville.fcs import counting_statistics
    from ..liouville.steady import exact

    rows = []
    for i, kw in enumerate(models):
        model = PaperModel(**kw)
        r = exact(model)
        vals = {q: float(r[q]) for q in _value_names(r, quantities)}
        if counting:
            st = counting_statistics(model, "h")
            vals.update({k: float(st.values[k]) for k in COUNTING_QUANTITIES})
        for q, v in vals.items():
            rows.append(
                {
                    "index": i,
                    "quantity": q,
                    "exact": v,
                    "regime": r.regime,
                    "residual": float(r.info["residual"]),
                }
            )
    return {"exact": pd.DataFrame(rows)}, {}


def trajectory_task(
    model: dict,
    t_final: float,
    trajectories: int,
    sample_interval: float,
    seed: int,
    initial_state: str = "steady",
    burn_in: float | None = 0.0,
    target: dict | None = None,
    quantities: list[str] | None = None,
    counting: bool = False,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Trajectory estimate of one model (one process).

    Parameters
    ----------
    model : dict
        ``PaperModel`` keywords.
    t_final : float
        Length of each trajectory (the first batch, with a precision target).
    trajectories : int
        Trajectories (per batch, with a precision target).
    sample_interval : float
    seed : int
    initial_state : {"steady", "ground", "thermal"}
    burn_in : float, optional
    target : dict, optional
        ``{"quantity", "rel_se" or "se", "max_wall", "max_time"}``: passed to
        :func:`qjump.simulate`, which adds trajectories until the standard error of
        ``quantity`` meets the target or a cap (wall seconds, measured time) is reached.  An
        absolute target looks at the SE only; a relative one at the SE against the running
        mean (a bias of about ``2 rel_se**2`` relative, see :func:`qjump.simulate`).  It works
        without any exact input (the running SE over independent trajectories), so also
        where no exact diffusion exists (large N).  With ``max_wall`` the result depends on
        the machine's speed, and a point that finishes no trajectory within it stops the
        study with :class:`~qjump.trajectories.trajectory.WallTimeExceeded`.
    quantities : list of str, optional
        Values to keep (default :data:`~qjump.studies.config.DEFAULT_QUANTITIES`;
        ``["all"]``: every value).
    counting : bool
        Add the hot-bath scaled cumulants and TUR ratio with standard errors
        (:meth:`TrajectoryResult.counting_statistics`).

    Returns
    -------
    frames : dict
        ``{"trajectory": DataFrame}`` with columns ``quantity``, ``trajectory``, ``se``,
        ``t_total`` (simulated time), ``trajectories``, ``jumps``, ``seed``.
    meta : dict
        ``target`` (the ``info["target"]`` of the result) when a target was given.
    """
    from ..trajectories.ensemble import simulate

    kw: dict[str, Any] = {}
    if target is not None:
        kw["target_quantity"] = target.get("quantity", "Q_h")
        if "rel_se" in target:
            kw["target_rel_se"] = target["rel_se"]
        else:
            kw["target_se"] = target["se"]
        for cap in ("max_wall", "max_time"):
            if cap in target:
                kw[cap] = target[cap]
    pm = PaperModel(**model)
    keep = list(DEFAULT_QUANTITIES if quantities is None else quantities)
    sampled = [q for q in keep if q not in COUNTING_QUANTITIES]
    sampled.append(kw.get("target_quantity", "Q_h"))
    r = simulate(
        pm,
        t_final=t_final,
        trajectories=trajectories,
        seed=seed,
        initial_state=initial_state,
        burn_in=burn_in,
        n_jobs=1,
        sample_interval=sample_interval,
        progress=False,
        # only what the study keeps is sampled (the shared values are bit-identical)
        quantities="all" if keep == ["all"] else selection_for(sampled),
        **kw,
    )
    names = _value_names(r, keep)
    vals = [float(r.values[q]) for q in names]
    ses = [float(r.se[q]) for q in names]
    if counting:
        st = r.counting_statistics("h")
        for k in COUNTING_QUANTITIES:
            names.append(k)
            vals.append(float(st.values[k]))
            ses.append(float(st.se.get(k, math.nan)))
    frame = pd.DataFrame({"quantity": names, "trajectory": vals, "se": ses})
    frame["t_total"] = float(r.info["simulated_time"])
    frame["trajectories"] = int(r.info.get("trajectories", trajectories))
    frame["jumps"] = int(r.info["jumps"])
    frame["seed"] = int(seed)
    meta = {}
    if target is not None and "target" in r.info:
        meta["target"] = {
            k: (v if not isinstance(v, float) or math.isfinite(v) else None)
            for k, v in r.info["target"].items()
        }
    return {"trajectory": frame}, meta


def optimum_task(model: dict, window: list[float]) -> tuple[dict[str, pd.DataFrame], dict]:
    """Maximum engine power ``-W`` in ``window`` and the efficiency there (Fig. 4).

    Uses :func:`scipy.optimize.minimize_scalar` (bounded) on the exact model.

    Returns
    -------
    frames : dict
        ``{"optimum": DataFrame}`` with one row: ``omega_h_star``, ``power_star``,
        ``eta_star`` (``= -W/Q_h`` at the optimum) and ``eta_formula`` (``1 - omega_c/
        omega_h``).
    meta : dict
        Number of function evaluations.
    """
    from scipy.optimize import minimize_scalar

    from ..liouville.steady import exact

    def neg_power(x: float) -> float:
        return float(exact(PaperModel(**model, omega_h=float(x)))["W"])  # W < 0 in the engine

    lo, hi = float(window[0]), float(window[1])
    res = minimize_scalar(neg_power, bounds=(lo, hi), method="bounded", options={"xatol": 1e-9})
    x = float(res.x)
    r = exact(PaperModel(**model, omega_h=x))
    omega_c = r.model.omega_c
    frame = pd.DataFrame(
        [
            {
                "omega_h_star": x,
                "power_star": -float(r["W"]),
                "eta_star": -float(r["W"]) / float(r["Q_h"]),
                "eta_formula": 1.0 - omega_c / x,
            }
        ]
    )
    return {"optimum": frame}, {"nfev": int(res.nfev)}


def _class_masks(ss) -> dict[str, np.ndarray]:
    """Boolean masks of the Table I matrix-element classes in the computational basis."""
    ops = ss.system.ops
    N = ss.model.N
    dim = ops.spins.dim
    occ = {}
    for b in ("h", "c"):
        bits = np.zeros(dim, dtype=np.int64)
        for n in range(N):
            q = ops.qubit(b, n)
            bits |= np.rint(ops.spins.number(q).diagonal().real).astype(np.int64) << n
        occ[b] = bits
    diff_h = occ["h"][:, None] != occ["h"][None, :]
    diff_c = occ["c"][:, None] != occ["c"][None, :]
    return {
        "population": np.eye(dim, dtype=bool),
        "same-bath coherence": diff_h ^ diff_c,
        "cross-bath coherence": diff_h & diff_c,
    }


def table1_task(
    model: dict, scenarios: list[dict], points: list[float]
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Table I numerically: which class of matrix elements each current's formula reads.

    For every scenario and ``omega_h`` in ``points`` the exact steady state is written in the
    computational basis (:meth:`SteadyState.full`).  Each class -- populations (diagonal),
    same-bath coherences (basis states differing in qubits of one ensemble only) and
    cross-bath coherences (differing in qubits of both) -- is set to zero in turn and each
    current ``Tr[X rho]`` (``X`` from :attr:`QuantitySet.operators`) is re-evaluated.

    Returns
    -------
    frames : dict
        ``{"table1": DataFrame}`` with columns ``scenario``, ``omega_h``, ``quantity``,
        ``class``, ``full`` (value on the steady state), ``removed`` (value with the class
        zeroed), ``change`` (``full - removed``, the class's contribution) and
        ``operator_norm`` (largest ``|X_ab|`` over the class: state-independent).
    meta : dict
        Empty.
    """
    from ..liouville.steady import steady_state

    rows = []
    for s in scenarios:
        for x in points:
            m = PaperModel(
                **model,
                omega_h=float(x),
                dissipation=s["dissipation"],
                interaction=s["interaction"],
            )
            ss = steady_state(m)
            rho = ss.full()
            masks = _class_masks(ss)
            ops = ss.system.quantities.operators
            for q in TABLE1_QUANTITIES:
                X = ops[q].toarray()
                full = float(np.real(np.sum(X.T * rho)))
                for cls in TABLE1_CLASSES:
                    mask = masks[cls]
                    removed = float(np.real(np.sum(X.T * np.where(mask, 0.0, rho))))
                    rows.append(
                        {
                            "scenario": m.label,
                            "omega_h": float(x),
                            "quantity": q,
                            "class": cls,
                            "full": full,
                            "removed": removed,
                            "change": full - removed,
                            "operator_norm": float(np.max(np.abs(X[mask]), initial=0.0)),
                        }
                    )
    return {"table1": pd.DataFrame(rows)}, {}


# ----------------------------------------------------------------------------- tasks
def _round_up(t: float, digits: int = 2) -> float:
    """Round ``t > 0`` up to ``digits`` significant digits (stable task keys)."""
    e = math.floor(math.log10(t)) - digits + 1
    return float(math.ceil(round(t / 10.0**e, 9)) * 10.0**e)


def point_budgets(config: StudyConfig, scenario: Mapping) -> list[float]:
    """Simulated time (all trajectories together) of each trajectory point of a scenario.

    Without ``trajectory.target_rel_se``: ``t_total * t_scale`` (``t_total`` after the
    overrides of the point).  With it, each point gets the time at which the predicted SE of
    ``Q_h``, ``Q_c`` and ``W`` is at most ``target_rel_se`` times the largest exact
    ``|value|`` of that current over the scenario's trajectory points.  The prediction uses
    the exact heat diffusion ``D`` of the hot bath
    (:func:`qjump.liouville.fcs.counting_statistics`): ``SE(Q_h) = sqrt(D/T)``, and since
    every quantum crosses between the ensembles, ``SE(Q_c) = (omega_c/omega_h) SE(Q_h)`` and
    ``SE(W) = |1 - omega_c/omega_h| SE(Q_h)``.  The time is multiplied by ``t_scale``,
    clipped to ``[t_min, t_max]`` and rounded up to two significant digits.
    """
    tr = config.trajectory
    idx = config.trajectory_points
    target = tr.get("target_rel_se")
    if target is None:
        return [float(config.trajectory_options(i)["t_total"]) * scenario["t_scale"] for i in idx]
    from ..liouville.fcs import counting_statistics
    from ..liouville.steady import exact

    models = [config.model_at(scenario, config.points[i]) for i in idx]
    vals = [exact(m) for m in models]
    D = [counting_statistics(m).heat_diffusion for m in models]
    scale = {q: max(abs(v[q]) for v in vals) for q in ("Q_h", "Q_c", "W")}
    out = []
    for m, d in zip(models, D, strict=True):
        r = m.omega_c / m.omega_h
        factors = {"Q_h": 1.0, "Q_c": r, "W": abs(1.0 - r)}
        t = max(f**2 * d / (float(target) * scale[q]) ** 2 for q, f in factors.items())
        t *= scenario["t_scale"]
        t = min(max(t, float(tr.get("t_min", 0.0)), 1.0), float(tr.get("t_max", math.inf)))
        out.append(_round_up(t))
    return out


def _exact_chunks(config: StudyConfig) -> list[list[int]]:
    """Consecutive exact points grouped into tasks of similar cost (``4**N`` per point)."""
    chunks: list[list[int]] = []
    cost = 0.0
    for i in config.exact_points:
        c = 4.0 ** config.point_N(config.points[i])
        if chunks and cost + c <= EXACT_CHUNK_COST:
            chunks[-1].append(i)
            cost += c
        else:
            chunks.append([i])
            cost = c
    return chunks


def build_tasks(config: StudyConfig) -> dict[str, list[Task]]:
    """All tasks of a study, grouped by kind (``trajectory``, ``exact``, and with the paper's
    analysis ``optimum`` and ``table1``); each key covers the parameters, seed, options and
    qjump version.  ``task.args`` of trajectory tasks carry ``scenario`` and ``point``
    indices in the label only; :func:`tidy_results` maps them back by position."""
    tasks: dict[str, list[Task]] = {"trajectory": [], "exact": []}
    quantities = list(config.quantities)
    for si, s in enumerate(config.scenarios):
        budgets = point_budgets(config, s)
        for rank, (pi, t_total) in enumerate(zip(config.trajectory_points, budgets, strict=True)):
            opts = config.trajectory_options(pi)
            M = int(opts["trajectories"])
            model = config.model_at(s, config.points[pi]).to_dict()
            seed = config.point_seed(si, rank)
            burn_in = float(opts.get("burn_in", 0.0)) if opts["initial_state"] != "steady" else 0.0
            t_final = burn_in + t_total / M
            key_opts = {
                "trajectories": M,
                "sample_interval": float(opts["sample_interval"]),
                "initial_state": opts["initial_state"],
                "burn_in": burn_in,
                "t_final": t_final,
            }
            args = {
                "model": model,
                "t_final": t_final,
                "trajectories": M,
                "sample_interval": key_opts["sample_interval"],
                "seed": seed,
            }
            if opts["initial_state"] != "steady":
                args["initial_state"] = opts["initial_state"]
                args["burn_in"] = burn_in
            extra = {}
            if "target" in opts:
                extra["target"] = opts["target"]
            if quantities != list(DEFAULT_QUANTITIES):
                extra["quantities"] = quantities
            if config.counting:
                extra["counting"] = True
            key_opts.update(extra)
            args.update({k: v for k, v in extra.items() if k != "quantities"})
            args["quantities"] = quantities
            tasks["trajectory"].append(
                Task.make(
                    "study-trajectory",
                    trajectory_task,
                    {"model": model},
                    seed,
                    key_opts,
                    args=args,
                    label=f"trajectory {s['label']} {config.describe(config.points[pi])}",
                )
            )
        for chunk in _exact_chunks(config):
            models = [config.model_at(s, config.points[i]).to_dict() for i in chunk]
            opts = {"quantities": quantities, "counting": config.counting}
            tasks["exact"].append(
                Task.make(
                    "study-exact-points",
                    exact_task,
                    {"models": models},
                    None,
                    opts,
                    args={"models": models, "quantities": quantities, "counting": config.counting},
                    label=f"exact {s['label']} ({len(chunk)} points)",
                )
            )
    if config.analysis["paper"]:
        tasks["optimum"], tasks["table1"] = [], []
        for s in config.scenarios:
            base = config.model_for(s, 1.0).to_dict()
            base.pop("omega_h")
            window = [float(v) for v in config.analysis["engine_window"]]
            tasks["optimum"].append(
                Task.make(
                    "study-optimum",
                    optimum_task,
                    {"model": base, "window": window},
                    None,
                    {"xatol": 1e-9},
                    args={"model": base, "window": window},
                    label=f"max power {s['label']}",
                )
            )
        points = [float(v) for v in config.analysis["table1_points"]]
        base = dict(config.model)
        scen = [
            {"dissipation": s["dissipation"], "interaction": s["interaction"]}
            for s in config.scenarios
        ]
        tasks["table1"].append(
            Task.make(
                "study-table1",
                table1_task,
                {"model": base, "scenarios": scen, "points": points},
                None,
                {"classes": list(TABLE1_CLASSES), "quantities": list(TABLE1_QUANTITIES)},
                args={"model": base, "scenarios": scen, "points": points},
                label="table I",
            )
        )
    return tasks


# ----------------------------------------------------------------------------- assembly
def _z(traj: np.ndarray, exact: np.ndarray, se: np.ndarray) -> np.ndarray:
    """``(trajectory - exact) / se``; 0 when both agree to 1e-12 (quantities that vanish
    exactly, where the trajectory value and its SE are rounding noise); NaN when either value
    is missing or the SE is zero while they differ."""
    diff = traj - exact
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / se, np.nan)
    z = np.where(np.abs(diff) <= 1e-12, 0.0, z)
    return np.where(np.isnan(traj) | np.isnan(exact), np.nan, z)


def _axis_cell(v: Any) -> Any:
    return ",".join(f"{x:g}" for x in v) if isinstance(v, tuple) else v


def tidy_results(
    config: StudyConfig, tasks: dict[str, list[Task]], payloads: Mapping[str, Payload]
) -> pd.DataFrame:
    """The tidy results table: one row per scenario, point and quantity.

    Columns: ``scenario``, ``dissipation``, ``interaction``, one column per swept parameter
    (vectors as comma-separated text), ``omega_c`` and ``x = omega_h/omega_c`` when
    ``omega_h`` is swept, ``quantity``, ``exact``, ``trajectory``, ``se``, ``z``, ``regime``
    (exact), ``t_total``, ``trajectories``, ``jumps``, ``seed``.  Missing values are NaN
    (no exact solve above ``[exact] max_N``; no trajectories off the trajectory points).
    """
    chunks = _exact_chunks(config)
    n_chunks, n_traj = len(chunks), len(config.trajectory_points)
    rows = []
    order: list[str] = []
    for si, s in enumerate(config.scenarios):
        exact: dict[int, pd.DataFrame] = {}
        for ci, chunk in enumerate(chunks):
            f = payloads[tasks["exact"][si * n_chunks + ci].key].frames["exact"]
            for idx, g in f.groupby("index", sort=False):
                exact[chunk[int(idx)]] = g
        traj: dict[int, pd.DataFrame] = {}
        for rank, pi in enumerate(config.trajectory_points):
            traj[pi] = payloads[tasks["trajectory"][si * n_traj + rank].key].frames["trajectory"]
        for pi, point in enumerate(config.points):
            e, t = exact.get(pi), traj.get(pi)
            if e is None and t is None:
                continue
            ev = {} if e is None else dict(zip(e["quantity"], e["exact"], strict=True))
            regime = "" if e is None else str(e["regime"].iloc[0])
            tv = (
                {}
                if t is None
                else {q: r for q, r in zip(t["quantity"], t.to_dict("records"), strict=True)}
            )
            names = list(dict.fromkeys([*ev, *tv]))
            order.extend(n for n in names if n not in order)
            for q in names:
                row: dict[str, Any] = {
                    "scenario": s["label"],
                    "dissipation": s["dissipation"],
                    "interaction": s["interaction"],
                }
                row.update({a: _axis_cell(point[a]) for a in config.axes})
                row["quantity"] = q
                row["exact"] = ev.get(q, math.nan)
                tr = tv.get(q, {})
                row["trajectory"] = tr.get("trajectory", math.nan)
                row["se"] = tr.get("se", math.nan)
                row["regime"] = regime
                for col in ("t_total", "trajectories", "jumps", "seed"):
                    row[col] = tr.get(col)
                rows.append(row)
    df = pd.DataFrame(rows)
    if "omega_h" in config.axes:
        pos = df.columns.get_loc("omega_h") + 1
        if "omega_c" not in config.axes:
            df.insert(pos, "omega_c", float(config.model.get("omega_c", 1.0)))
            pos += 1
        df.insert(pos, "x", df["omega_h"] / df["omega_c"])
    for col in ("exact", "trajectory", "se", "t_total"):
        df[col] = df[col].astype(float)
    for col in ("trajectories", "jumps", "seed"):
        df[col] = df[col].astype("Float64").astype("Int64")
    df["z"] = _z(df["trajectory"].to_numpy(), df["exact"].to_numpy(), df["se"].to_numpy())
    cols = [
        c
        for c in df.columns
        if c not in ("z", "regime", "t_total", "trajectories", "jumps", "seed")
    ]
    cols.insert(cols.index("se") + 1, "z")
    cols += ["regime", "t_total", "trajectories", "jumps", "seed"]
    df = df[cols]
    df["regime"] = df["regime"].astype(str)
    return df.reset_index(drop=True)


def budget_table(
    config: StudyConfig, tasks: dict[str, list[Task]], payloads: Mapping[str, Payload]
) -> pd.DataFrame:
    """One row per trajectory point: ``scenario``, the swept parameters, ``trajectories``,
    ``t_total`` (simulated time), ``jumps``, ``wall_s`` and the precision target outcome."""
    rows = []
    n_traj = len(config.trajectory_points)
    for si, s in enumerate(config.scenarios):
        for rank, pi in enumerate(config.trajectory_points):
            p = payloads[tasks["trajectory"][si * n_traj + rank].key]
            f = p.frames["trajectory"].iloc[0]
            row = {"scenario": s["label"]}
            row.update({a: _axis_cell(config.points[pi][a]) for a in config.axes})
            row.update(
                {
                    "trajectories": int(f["trajectories"]),
                    "t_total": float(f["t_total"]),
                    "jumps": int(f["jumps"]),
                    "seed": int(f["seed"]),
                    "wall_s": float(p.meta.get("wall_time_s", math.nan)),
                }
            )
            target = p.meta.get("target")
            if target is not None:
                row["target_met"] = bool(target.get("met"))
                row["stopped_by"] = target.get("stopped_by")
                row["achieved_rel_se"] = target.get("achieved_rel_se")
            rows.append(row)
    columns = ["scenario", *config.axes, "trajectories", "t_total", "jumps", "seed", "wall_s"]
    return pd.DataFrame(rows, columns=None if rows else columns)


def _frame_of(
    tasks: list[Task], payloads: Mapping[str, Payload], name: str, labels: list[str] | None = None
) -> pd.DataFrame:
    parts = []
    for i, t in enumerate(tasks):
        f = payloads[t.key].frames[name].copy()
        if labels is not None:
            f.insert(0, "scenario", labels[i])
        parts.append(f)
    return pd.concat(parts, ignore_index=True)


def paper_inputs_missing(config: Mapping) -> str | None:
    """Why the paper's analysis cannot run on a study (``None`` when it can).

    ``config`` is the resolved configuration of ``study.json``.  The analysis needs the
    switch ``[analysis] paper = true`` (a ``study.json`` without ``axes`` is an omega_h
    paper study and has it implicitly), the single axis ``omega_h``, the regime boundaries
    ``omega_h = omega_c`` and ``2 omega_c`` on the exact grid and at least one trajectory
    point.
    """
    if not config.get("analysis", {}).get("paper", "axes" not in config):
        return "not requested ([analysis] paper = false)"
    if config.get("axes", ["omega_h"]) != ["omega_h"]:
        return "needs the single sweep axis omega_h"
    oc = float(config.get("model", {}).get("omega_c", 1.0))
    grid = np.asarray(config.get("exact_grid", []), dtype=float)
    lacking = [f"{b:g}" for b in (oc, 2 * oc) if not np.any(np.isclose(grid, b))]
    if lacking:
        return f"the exact grid lacks omega_h = {' and '.join(lacking)}"
    if not config.get("trajectory_grid"):
        return "no trajectory points"
    return None


# ----------------------------------------------------------------------------- entry points
def default_out(config_path: str | os.PathLike, quick: bool) -> Path:
    """``runs/paper.toml`` -> ``runs/paper`` (``runs/paper-quick`` with ``--quick``)."""
    p = Path(config_path)
    return p.with_name(p.stem + ("-quick" if quick else ""))


def written_files(directory: str | os.PathLike) -> list[Path]:
    """The outputs of a study directory (not its task cache), sorted."""
    directory = Path(directory)
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


def run_study(
    config: str | os.PathLike,
    out: str | os.PathLike | None = None,
    quick: bool = False,
    backend: str = "loky",
    scheduler: Any = None,
    n_jobs: int | None = -1,
    quiet: bool = False,
    on_result: Callable[[str, Payload], None] | None = None,
) -> Path:
    """Run a study: every task (resumable), then the tables, figures and report.

    Parameters
    ----------
    config : path-like
        The study TOML file (format: :mod:`qjump.studies.config`).
    out : path-like, optional
        Output directory; default: next to the TOML, named after its stem
        (``runs/paper.toml`` -> ``runs/paper/``; ``runs/paper-quick/`` with `quick`).
    quick : bool, optional
        Apply the ``[quick]`` overrides (CI profile).
    backend : {"loky", "dask", "serial"}, optional
        :func:`qjump.execution.backends.run_tasks` backend.
    scheduler : str, optional
        Dask scheduler address (``backend="dask"``).
    n_jobs : int, optional
        Workers (``-1``: all cores; dask: all workers when ``None`` or ``-1``).
    quiet : bool, optional
        No progress bar or notes on stderr.
    on_result : callable, optional
        Passed to :func:`run_tasks`: ``on_result(key, payload)`` after each newly stored task.

    Returns
    -------
    Path
        The output directory.

    Raises
    ------
    ConfigError
        A bad study file (one line; a :class:`ValueError`).
    """
    t0 = time.perf_counter()
    cfg = load_config(config, quick=quick)
    out = default_out(config, quick) if out is None else Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    store = TaskStore(out / "cache", on_problem=lambda p: problems.append(str(p)))
    tasks = build_tasks(cfg)
    # longest first: trajectory tasks by budget, then the exact and derived ones
    order = sorted(tasks["trajectory"], key=lambda t: -t.args["t_final"] * t.args["trajectories"])
    order += [t for kind, ts in tasks.items() if kind != "trajectory" for t in ts]
    computed: list[str] = []

    def hook(key: str, payload: Payload) -> None:
        computed.append(key)
        if on_result is not None:
            on_result(key, payload)

    if backend == "dask" and n_jobs == -1:
        n_jobs = None
    payloads = run_tasks(
        order,
        store,
        backend=backend,
        n_jobs=n_jobs,
        scheduler=scheduler,
        quiet=quiet,
        on_result=hook,
        label=f"study {cfg.name}",
    )
    results = tidy_results(cfg, tasks, payloads)
    results.to_parquet(out / "results.parquet", index=False)
    results.to_csv(out / "results.csv", index=False)
    budget = budget_table(cfg, tasks, payloads)
    budget.to_csv(out / "budget.csv", index=False)
    if cfg.analysis["paper"]:
        labels = [s["label"] for s in cfg.scenarios]
        _frame_of(tasks["optimum"], payloads, "optimum", labels).to_csv(
            out / "optimum.csv", index=False
        )
        _frame_of(tasks["table1"], payloads, "table1").to_csv(out / "table1.csv", index=False)
    traj_wall = sum(
        float(payloads[t.key].meta.get("wall_time_s", 0.0)) for t in tasks["trajectory"]
    )
    meta = {
        "config": cfg.to_dict(),
        "config_file": str(config),
        "qjump_version": __version__,
        "backend": backend,
        "tasks": len(order),
        "tasks_computed": len(computed),
        "tasks_reused": len(order) - len(computed),
        "store_problems": problems,
        "trajectory_task_wall_s": traj_wall,
        "run_wall_s": time.perf_counter() - t0,
    }
    (out / "study.json").write_text(json.dumps(meta, indent=2, default=_json_default) + "\n")
    report_study(out, quiet=quiet)
    return out


def _json_default(x: Any) -> Any:
    if isinstance(x, tuple):
        return list(x)
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def report_study(directory: str | os.PathLike, quiet: bool = True) -> Path:
    """Re-draw the figures and ``report.md`` of a finished study from its stored tables.

    The generic figure (:func:`qjump.studies.figures.draw_quantities`) is always drawn.
    The paper's figures and claims report (:func:`qjump.analysis.paper.write_all`) are
    written when the study switches them on and their inputs are present
    (:func:`paper_inputs_missing`); otherwise the generic report
    (:func:`qjump.studies.report.write_report`).

    Parameters
    ----------
    directory : path-like
        The study output directory (with ``results.parquet`` and ``study.json``).
    quiet : bool, optional
        No note on stderr when a requested paper analysis is skipped.

    Returns
    -------
    Path
        The path of ``report.md``.
    """
    from .figures import draw_quantities
    from .report import write_report

    directory = Path(directory)
    for name in ("results.parquet", "study.json"):
        if not (directory / name).exists():
            raise ConfigError(f"{directory}: no {name} (run `qjump run STUDY.toml` first)")
    meta = json.loads((directory / "study.json").read_text())
    config = meta["config"]
    results = pd.read_parquet(directory / "results.parquet")
    draw_quantities(results, config, directory)
    reason = paper_inputs_missing(config)
    if reason is None:
        from ..analysis import paper

        return paper.write_all(directory)
    if config.get("analysis", {}).get("paper") and not quiet:
        print(
            f"qjump run: paper analysis skipped: {reason}; writing the generic report",
            file=sys.stderr,
        )
    budget = directory / "budget.csv"
    return write_report(
        directory, results, meta, pd.read_csv(budget) if budget.exists() else pd.DataFrame()
    )
