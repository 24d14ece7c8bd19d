"""Studies: TOML-described sweeps of exact and trajectory tasks, resumable, with a report.

A study (e.g. ``runs/paper.toml``) lists the model defaults, the scenarios (dissipation x
interaction), a fine exact grid and a coarser trajectory grid of ``omega_h`` values, the
statistical budget of every trajectory point and the study seed.  :func:`run_study` turns it
into tasks (:class:`qjump.execution.cache.Task`), runs them with
:func:`qjump.execution.backends.run_tasks`
(resumable: each finished task is stored atomically in ``<out>/cache/``), and writes

* ``results.parquet`` / ``results.csv``: one row per (scenario, ``omega_h``, quantity) with
  the exact value, the trajectory estimate, its standard error and ``z``;
* ``optimum.csv`` (efficiency at maximum power per scenario) and ``table1.csv`` (the
  coherence-class analysis of Table I);
* ``study.json`` (the resolved configuration and run metadata);
* the figures ``fig2.png``, ``fig3.png``, ``fig4.png`` and ``report.md``
  (:mod:`qjump.analysis.paper`).

:func:`report_study` re-draws the figures and the report from those files only.

TOML format
-----------
::

    name = "paper"
    seed = 20240501                  # study seed (trajectory seeds derive from it)

    [model]                          # PaperModel defaults shared by all scenarios
    N = 2
    omega_c = 1.0
    ...

    [sweep]                          # omega_h grids: a list or {start, stop, num}
    exact = { start = 0.05, stop = 3.0, num = 119 }
    trajectory = [0.25, 0.5, ...]    # added to the exact grid if missing

    [trajectory]                     # budget per trajectory point
    trajectories = 16
    t_total = 2.5e6                  # simulated time, all trajectories together, or
    target_rel_se = 0.02             # choose it per point from the exact heat diffusion
    t_min = 1e5                      # (see point_budgets), clipped to [t_min, t_max]
    t_max = 2e7
    sample_interval = 2.0

    [[scenario]]                     # one table per scenario
    dissipation = "common"
    interaction = "pairwise"
    t_scale = 2.0                    # optional multiplier of the budget

    [analysis]                       # options of the derived quantities and the report
    engine_window = [1.0, 2.0]
    table1_points = [0.5, 1.5, 2.5]
    se_criterion = 0.03

    [quick]                          # overrides for --quick (same structure, merged)
    sweep.exact = { start = 0.1, stop = 3.0, num = 30 }
    trajectory.t_total = 1e5

Seeds: the trajectory point ``p`` of scenario ``s`` uses
``SeedSequence(seed, spawn_key=(s, p)).generate_state(1)[0]``.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..execution.backends import run_tasks
from ..execution.cache import Payload, Task, TaskStore
from ..model import PaperModel
from ..system.quantities import CURRENTS

__all__ = [
    "QUANTITIES",
    "StudyConfig",
    "exact_task",
    "load_config",
    "optimum_task",
    "report_study",
    "run_study",
    "table1_task",
    "tidy_results",
    "trajectory_task",
]

#: Quantities kept in the results table (the paper's currents and coherence quantities).
QUANTITIES = (*CURRENTS, "C_loc", "C_nonloc", "C_nonloc_product", "energy")

#: Currents whose formulas Table I classifies.
TABLE1_QUANTITIES = ("Q_h_loc", "Q_c_loc", "Q_h_nonloc", "Q_c_nonloc", "W_loc", "W_nonloc")
#: Matrix-element classes of Table I.
TABLE1_CLASSES = ("population", "same-bath coherence", "cross-bath coherence")

_DEFAULT_ANALYSIS = {
    "engine_window": [1.0, 2.0],
    "table1_points": [0.5, 1.5, 2.5],
    "se_criterion": 0.03,
}
_DEFAULT_TRAJECTORY = {"trajectories": 16, "t_total": 1e6, "sample_interval": 2.0}


# ----------------------------------------------------------------------------- config
def _merge(base: dict, override: Mapping) -> dict:
    """Recursive dict merge (``override`` wins; lists and scalars are replaced)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _grid(name: str, spec: Any) -> list[float]:
    """A list of ``omega_h`` values from a list or ``{start, stop, num}`` (rounded to 1e-10)."""
    if isinstance(spec, Mapping):
        try:
            start, stop, num = float(spec["start"]), float(spec["stop"]), int(spec["num"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"sweep.{name}: expected a list or {{start, stop, num}}, got {spec!r}"
            ) from None
        values = np.linspace(start, stop, num)
    else:
        try:
            values = np.asarray([float(v) for v in spec])
        except (TypeError, ValueError):
            raise ValueError(f"sweep.{name}: expected numbers, got {spec!r}") from None
    values = sorted({round(float(v), 10) for v in values})
    if not values or min(values) <= 0:
        raise ValueError(f"sweep.{name}: needs positive omega_h values, got {spec!r}")
    return values


class StudyConfig:
    """A resolved study: model defaults, scenarios, grids, budgets and analysis options.

    Parameters
    ----------
    raw : dict
        The parsed TOML document.
    quick : bool, optional
        Apply the ``[quick]`` overrides.
    path : path-like, optional
        The TOML file (used for the default output directory).

    Attributes
    ----------
    name : str
    seed : int
    model : dict
        ``PaperModel`` keyword defaults.
    scenarios : list of dict
        ``{"dissipation", "interaction", "t_scale", "label"}`` per scenario.
    exact_grid, trajectory_grid : list of float
        ``omega_h`` values (the exact grid contains the trajectory grid).
    trajectory : dict
        ``trajectories``, ``t_total``, ``sample_interval``.
    analysis : dict
        ``engine_window``, ``table1_points``, ``se_criterion``.
    """

    def __init__(self, raw: Mapping, *, quick: bool = False, path: Path | None = None) -> None:
        raw = dict(raw)
        self.raw = copy.deepcopy(raw)
        quick_over = raw.pop("quick", {}) or {}
        doc = _merge(raw, quick_over) if quick else raw
        self.quick = bool(quick)
        self.path = path
        self.name = str(doc.get("name", path.stem if path else "study"))
        seed = doc.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        self.model = dict(doc.get("model", {}))
        for bad in ("omega_h", "dissipation", "interaction"):
            if bad in self.model:
                raise ValueError(f"model.{bad}: set by the sweep/scenarios, not in [model]")
        PaperModel(**self.model)  # validate early
        scen = doc.get("scenario", [])
        if not scen:
            raise ValueError("scenario: at least one [[scenario]] table is needed")
        self.scenarios = []
        for s in scen:
            m = PaperModel(**self.model, dissipation=s["dissipation"],
                           interaction=s["interaction"])
            t_scale = float(s.get("t_scale", 1.0))
            if not t_scale > 0:
                raise ValueError(f"scenario.t_scale: must be > 0, got {t_scale!r}")
            self.scenarios.append({
                "dissipation": m.dissipation,
                "interaction": m.interaction,
                "t_scale": t_scale,
                "label": m.label,
            })
        labels = [s["label"] for s in self.scenarios]
        if len(set(labels)) != len(labels):
            raise ValueError(f"scenario: duplicate scenarios {labels}")
        sweep = doc.get("sweep", {})
        self.trajectory_grid = _grid("trajectory", sweep.get("trajectory", []) or [1.5])
        exact = _grid("exact", sweep.get("exact", self.trajectory_grid))
        self.exact_grid = sorted(set(exact) | set(self.trajectory_grid))
        self.trajectory = _merge(_DEFAULT_TRAJECTORY, doc.get("trajectory", {}))
        if int(self.trajectory["trajectories"]) < 2:
            raise ValueError("trajectory.trajectories: must be >= 2 (standard errors)")
        if not float(self.trajectory["t_total"]) > 0:
            raise ValueError("trajectory.t_total: must be > 0")
        target = self.trajectory.get("target_rel_se")
        if target is not None and not 0 < float(target) < 1:
            raise ValueError(f"trajectory.target_rel_se: must be in (0, 1), got {target!r}")
        self.analysis = _merge(_DEFAULT_ANALYSIS, doc.get("analysis", {}))

    def model_for(self, scenario: Mapping, omega_h: float) -> PaperModel:
        """The :class:`PaperModel` of ``scenario`` at ``omega_h``."""
        return PaperModel(**self.model, omega_h=float(omega_h),
                          dissipation=scenario["dissipation"],
                          interaction=scenario["interaction"])

    def point_seed(self, scenario_index: int, point_index: int) -> int:
        """Deterministic seed of one trajectory point."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(scenario_index, point_index))
        return int(ss.generate_state(1)[0])

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration (JSON-ready)."""
        return {
            "name": self.name,
            "quick": self.quick,
            "seed": self.seed,
            "model": self.model,
            "scenarios": self.scenarios,
            "exact_grid": self.exact_grid,
            "trajectory_grid": self.trajectory_grid,
            "trajectory": self.trajectory,
            "analysis": self.analysis,
        }


def load_config(path: str | os.PathLike, *, quick: bool = False) -> StudyConfig:
    """Read a study TOML file.

    Parameters
    ----------
    path : path-like
        The TOML file.
    quick : bool, optional
        Apply its ``[quick]`` overrides.

    Returns
    -------
    StudyConfig
    """
    path = Path(path)
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    return StudyConfig(raw, quick=quick, path=path)


# ----------------------------------------------------------------------------- task functions
def exact_task(model: dict, grid: list[float]) -> tuple[dict[str, pd.DataFrame], dict]:
    """Exact steady-state quantities of one scenario on an ``omega_h`` grid.

    Parameters
    ----------
    model : dict
        ``PaperModel`` keywords without ``omega_h``.
    grid : list of float
        ``omega_h`` values.

    Returns
    -------
    frames : dict
        ``{"exact": DataFrame}``: one row per grid point with ``omega_h``, every quantity of
        :data:`QUANTITIES`, the exact ``regime`` and the solver ``residual``.
    meta : dict
        Empty.
    """
    from ..liouville.steady import exact

    rows = []
    for x in grid:
        r = exact(PaperModel(**model, omega_h=float(x)))
        row = {"omega_h": float(x)}
        row.update({q: float(r[q]) for q in QUANTITIES})
        row["regime"] = r.regime
        row["residual"] = float(r.info["residual"])
        rows.append(row)
    return {"exact": pd.DataFrame(rows)}, {}


def trajectory_task(
    model: dict, t_final: float, trajectories: int, sample_interval: float, seed: int
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Trajectory estimate of one model (steady-state start, no burn-in, one process).

    Returns
    -------
    frames : dict
        ``{"trajectory": DataFrame}`` with columns ``quantity``, ``trajectory``, ``se``,
        ``t_total`` (simulated time), ``trajectories``, ``jumps``, ``seed``.
    meta : dict
        Empty (the runner adds the wall time).
    """
    from ..trajectories.ensemble import simulate

    r = simulate(
        PaperModel(**model), t_final=t_final, trajectories=trajectories, seed=seed,
        initial_state="steady", burn_in=0, n_jobs=1, sample_interval=sample_interval,
        progress=False,
    )
    frame = pd.DataFrame({
        "quantity": list(QUANTITIES),
        "trajectory": [float(r.values[q]) for q in QUANTITIES],
        "se": [float(r.se[q]) for q in QUANTITIES],
    })
    frame["t_total"] = float(r.info["simulated_time"])
    frame["trajectories"] = int(trajectories)
    frame["jumps"] = int(r.info["jumps"])
    frame["seed"] = int(seed)
    return {"trajectory": frame}, {}


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
    res = minimize_scalar(neg_power, bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-9})
    x = float(res.x)
    r = exact(PaperModel(**model, omega_h=x))
    omega_c = r.model.omega_c
    frame = pd.DataFrame([{
        "omega_h_star": x,
        "power_star": -float(r["W"]),
        "eta_star": -float(r["W"]) / float(r["Q_h"]),
        "eta_formula": 1.0 - omega_c / x,
    }])
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
            bits |= (np.rint(ops.spins.number(q).diagonal().real).astype(np.int64) << n)
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
            m = PaperModel(**model, omega_h=float(x), dissipation=s["dissipation"],
                           interaction=s["interaction"])
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
                    rows.append({
                        "scenario": m.label,
                        "omega_h": float(x),
                        "quantity": q,
                        "class": cls,
                        "full": full,
                        "removed": removed,
                        "change": full - removed,
                        "operator_norm": float(np.max(np.abs(X[mask]), initial=0.0)),
                    })
    return {"table1": pd.DataFrame(rows)}, {}


# ----------------------------------------------------------------------------- tasks
def _model_without(config: StudyConfig, scenario: Mapping) -> dict:
    m = config.model_for(scenario, 1.0).to_dict()
    m.pop("omega_h")
    return m


def _round_up(t: float, digits: int = 2) -> float:
    """Round ``t > 0`` up to ``digits`` significant digits (stable task keys)."""
    e = math.floor(math.log10(t)) - digits + 1
    return float(math.ceil(round(t / 10.0**e, 9)) * 10.0**e)


def point_budgets(config: StudyConfig, scenario: Mapping) -> list[float]:
    """Simulated time (all trajectories together) of each trajectory point of a scenario.

    Without ``trajectory.target_rel_se``: ``t_total * t_scale`` everywhere.  With it, each
    point gets the time at which the predicted SE of ``Q_h``, ``Q_c`` and ``W`` is at most
    ``target_rel_se`` times the largest exact ``|value|`` of that current over the
    trajectory grid.  The prediction uses the exact heat diffusion ``D`` of the hot bath
    (:func:`qjump.liouville.fcs.counting_statistics`): ``SE(Q_h) = sqrt(D/T)``, and since every
    quantum
    crosses between the ensembles, ``SE(Q_c) = (omega_c/omega_h) SE(Q_h)`` and
    ``SE(W) = |1 - omega_c/omega_h| SE(Q_h)``.  The time is multiplied by ``t_scale``,
    clipped to ``[t_min, t_max]`` and rounded up to two significant digits.
    """
    tr = config.trajectory
    grid = config.trajectory_grid
    target = tr.get("target_rel_se")
    if target is None:
        return [float(tr["t_total"]) * scenario["t_scale"]] * len(grid)
    from ..liouville.fcs import counting_statistics
    from ..liouville.steady import exact

    models = [config.model_for(scenario, x) for x in grid]
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


def build_tasks(config: StudyConfig) -> dict[str, list[Task]]:
    """All tasks of a study, grouped by kind (``trajectory``, ``exact``, ``optimum``,
    ``table1``); each key covers the parameters, seed, options and qjump version."""
    traj_opts = {
        "trajectories": int(config.trajectory["trajectories"]),
        "sample_interval": float(config.trajectory["sample_interval"]),
        "initial_state": "steady",
        "burn_in": 0.0,
    }
    tasks: dict[str, list[Task]] = {"trajectory": [], "exact": [], "optimum": [], "table1": []}
    for si, s in enumerate(config.scenarios):
        base = _model_without(config, s)
        M = traj_opts["trajectories"]
        budgets = point_budgets(config, s)
        for pi, (x, t_total) in enumerate(zip(config.trajectory_grid, budgets, strict=True)):
            model = config.model_for(s, x).to_dict()
            seed = config.point_seed(si, pi)
            opts = dict(traj_opts, t_final=t_total / M)
            tasks["trajectory"].append(Task.make(
                "study-trajectory", trajectory_task, {"model": model}, seed, opts,
                args={"model": model, "t_final": t_total / M, "trajectories": M,
                      "sample_interval": traj_opts["sample_interval"], "seed": seed},
                label=f"trajectory {s['label']} omega_h={x:g}",
            ))
        grid = list(config.exact_grid)
        tasks["exact"].append(Task.make(
            "study-exact", exact_task, {"model": base, "grid": grid}, None,
            {"quantities": list(QUANTITIES)},
            args={"model": base, "grid": grid}, label=f"exact {s['label']}",
        ))
        window = [float(v) for v in config.analysis["engine_window"]]
        tasks["optimum"].append(Task.make(
            "study-optimum", optimum_task, {"model": base, "window": window}, None,
            {"xatol": 1e-9}, args={"model": base, "window": window},
            label=f"max power {s['label']}",
        ))
    points = [float(v) for v in config.analysis["table1_points"]]
    base = dict(config.model)
    scen = [{"dissipation": s["dissipation"], "interaction": s["interaction"]}
            for s in config.scenarios]
    tasks["table1"].append(Task.make(
        "study-table1", table1_task, {"model": base, "scenarios": scen, "points": points},
        None, {"classes": list(TABLE1_CLASSES), "quantities": list(TABLE1_QUANTITIES)},
        args={"model": base, "scenarios": scen, "points": points}, label="table I",
    ))
    return tasks


# ----------------------------------------------------------------------------- assembly
def _z(traj: np.ndarray, exact: np.ndarray, se: np.ndarray) -> np.ndarray:
    diff = traj - exact
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / se, np.nan)
    z = np.where((se == 0) & (np.abs(diff) <= 1e-12), 0.0, z)
    return np.where(np.isnan(traj), np.nan, z)


def tidy_results(
    config: StudyConfig, tasks: dict[str, list[Task]], payloads: Mapping[str, Payload]
) -> pd.DataFrame:
    """The tidy results table: one row per scenario, ``omega_h`` and quantity.

    Columns: ``scenario``, ``dissipation``, ``interaction``, ``omega_h``, ``omega_c``,
    ``x`` (``omega_h/omega_c``), ``quantity``, ``exact``, ``trajectory``, ``se``, ``z``,
    ``regime`` (exact), ``t_total``, ``trajectories``, ``jumps``, ``seed``.
    """
    frames = []
    n_points = len(config.trajectory_grid)
    for si, s in enumerate(config.scenarios):
        ex = payloads[tasks["exact"][si].key].frames["exact"]
        long = ex.melt(id_vars=["omega_h", "regime"], value_vars=list(QUANTITIES),
                       var_name="quantity", value_name="exact")
        trs = []
        for pi, x in enumerate(config.trajectory_grid):
            t = payloads[tasks["trajectory"][si * n_points + pi].key].frames["trajectory"]
            t = t.copy()
            t.insert(0, "omega_h", float(x))
            trs.append(t)
        if trs:
            long = long.merge(pd.concat(trs, ignore_index=True), on=["omega_h", "quantity"],
                              how="left")
        long.insert(0, "scenario", s["label"])
        long.insert(1, "dissipation", s["dissipation"])
        long.insert(2, "interaction", s["interaction"])
        frames.append(long)
    df = pd.concat(frames, ignore_index=True)
    omega_c = float(config.model_for(config.scenarios[0], 1.0).omega_c)
    df["omega_c"] = omega_c
    df["x"] = df["omega_h"] / omega_c
    for col in ("trajectory", "se", "t_total"):
        if col not in df:
            df[col] = np.nan
        df[col] = df[col].astype(float)
    for col in ("trajectories", "jumps", "seed"):
        if col not in df:
            df[col] = pd.NA
        df[col] = df[col].astype("Int64")
    df["z"] = _z(df["trajectory"].to_numpy(), df["exact"].to_numpy(), df["se"].to_numpy())
    qorder = {q: i for i, q in enumerate(QUANTITIES)}
    sorder = {s["label"]: i for i, s in enumerate(config.scenarios)}
    df = df.sort_values(
        by=["scenario", "omega_h", "quantity"],
        key=lambda c: c.map(sorder) if c.name == "scenario"
        else (c.map(qorder) if c.name == "quantity" else c),
        kind="mergesort",
    ).reset_index(drop=True)
    cols = ["scenario", "dissipation", "interaction", "omega_h", "omega_c", "x", "quantity",
            "exact", "trajectory", "se", "z", "regime", "t_total", "trajectories", "jumps",
            "seed"]
    df = df[cols]
    df["regime"] = df["regime"].astype(str)
    return df


def _frame_of(tasks: list[Task], payloads: Mapping[str, Payload], name: str,
              labels: list[str] | None = None) -> pd.DataFrame:
    parts = []
    for i, t in enumerate(tasks):
        f = payloads[t.key].frames[name].copy()
        if labels is not None:
            f.insert(0, "scenario", labels[i])
        parts.append(f)
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------- entry points
def default_out(config_path: str | os.PathLike, quick: bool) -> Path:
    """``runs/paper.toml`` -> ``runs/paper`` (``runs/paper-quick`` with ``--quick``)."""
    p = Path(config_path)
    return p.with_name(p.stem + ("-quick" if quick else ""))


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
        The study TOML file.
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
    """
    t0 = time.perf_counter()
    cfg = load_config(config, quick=quick)
    out = default_out(config, quick) if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    store = TaskStore(out / "cache", on_problem=lambda p: problems.append(str(p)))
    tasks = build_tasks(cfg)
    # longest first: trajectory tasks by budget, then the cheap exact/derived ones
    order = sorted(tasks["trajectory"], key=lambda t: -t.args["t_final"])
    order += tasks["exact"] + tasks["optimum"] + tasks["table1"]
    computed: list[str] = []

    def hook(key: str, payload: Payload) -> None:
        computed.append(key)
        if on_result is not None:
            on_result(key, payload)

    if backend == "dask" and n_jobs == -1:
        n_jobs = None
    payloads = run_tasks(order, store, backend=backend, n_jobs=n_jobs, scheduler=scheduler,
                         quiet=quiet, on_result=hook, label=f"study {cfg.name}")
    results = tidy_results(cfg, tasks, payloads)
    labels = [s["label"] for s in cfg.scenarios]
    optimum = _frame_of(tasks["optimum"], payloads, "optimum", labels)
    table1 = _frame_of(tasks["table1"], payloads, "table1")
    results.to_parquet(out / "results.parquet", index=False)
    results.to_csv(out / "results.csv", index=False)
    optimum.to_csv(out / "optimum.csv", index=False)
    table1.to_csv(out / "table1.csv", index=False)
    traj_wall = sum(float(payloads[t.key].meta.get("wall_time_s", 0.0))
                    for t in tasks["trajectory"])
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
    (out / "study.json").write_text(json.dumps(meta, indent=2) + "\n")
    if problems and not quiet:
        for p in problems:
            print(f"qjump run: recomputed a damaged task result: {p}", file=sys.stderr)
    report_study(out)
    return out


def report_study(directory: str | os.PathLike) -> Path:
    """Re-draw the figures and ``report.md`` of a finished study from its stored tables.

    Parameters
    ----------
    directory : path-like
        The study output directory (with ``results.parquet``, ``optimum.csv``,
        ``table1.csv`` and ``study.json``).

    Returns
    -------
    Path
        The path of ``report.md``.
    """
    from ..analysis import paper

    directory = Path(directory)
    if not (directory / "results.parquet").exists():
        raise ValueError(f"{directory}: no results.parquet (run `qjump run` first)")
    return paper.write_all(directory)
