"""Study configuration: the strict TOML schema of ``qjump run`` and its resolved form.

Owns reading a study file (missing file, syntax errors, unknown keys, types) and turning it
into :class:`StudyConfig`: scenarios, sweep points, budgets and analysis options.

TOML format
-----------
::

    name = "omega-sweep"
    seed = 7                          # study seed; every trajectory point derives its own
    quantities = ["Q_h", "Q_c", "W"]  # rows of the results table ("all": every exact value)
    plot = ["Q_h", "W"]               # panels of the figure (default: the first quantities)
    counting = true                   # exact counting statistics + trajectory cumulants

    [model]                           # PaperModel keywords shared by every point
    N = 2
    T_h = 2.0

    [sweep]                           # one omega_h axis: a list or {start, stop, num}
    exact = { start = 0.05, stop = 3.0, num = 119 }
    trajectory = [0.5, 1.5, 2.5]      # a subset (added to the exact grid if missing)
    parameter = "omega_h"             # the swept parameter (default omega_h)

    [sweep.axes.Omega]                # or several axes: their product grid
    exact = { start = 0.0, stop = 0.3, num = 16 }
    trajectory = [0.1, 0.2]

    [sweep]                           # or explicit points (the same keys in each)
    points = [{ N = 1 }, { N = 5, exact = false }, { N = 6, trajectory = false }]

    [exact]
    max_N = 4                         # no exact solve above this N (trajectories only)

    [trajectory]                      # budget of one trajectory point
    trajectories = 16
    t_total = 1e6                     # measured time of all trajectories together (each
                                      # runs burn_in + t_total / trajectories), or
    target_rel_se = 0.02              # plan it from the exact heat diffusion (point_budgets)
    t_min = 1e5                       #   clipped to [t_min, t_max]
    t_max = 2e7
    sample_interval = 2.0
    initial_state = "steady"          # "ground"/"thermal" need a burn_in (and no exact
                                      # solve: above max_N only these are possible)
    burn_in = 1500.0
    target = { quantity = "Q_h", rel_se = 0.05, max_wall = 600, max_time = 1e7 }
                                      # add trajectories until the SE of the
                                      # quantity meets rel_se (or se) or a cap is reached

    [[trajectory.override]]           # budget changes on matching points
    when = { N = 6 }
    t_total = 1.2e4

    [[scenario]]                      # dissipation x interaction (or scenarios = "all")
    dissipation = "common"
    interaction = "pairwise"
    t_scale = 2.0                     # multiplier of the budget

    [analysis]
    paper = true                      # the paper's claims, Figs. 2-4 and Table I
    engine_window = [1.0, 2.0]
    table1_points = [0.5, 1.5, 2.5]
    se_criterion = 0.03

    [quick]                           # overrides for --quick (same structure, merged)
    trajectory.t_total = 1e5

Swept parameters: ``omega_h``, ``omega_c``, ``T_h``, ``T_c``, ``Omega`` (a scalar), ``N``,
``g_h`` / ``g_c`` (vectors), ``g_scale`` / ``g_h_scale`` / ``g_c_scale`` (factors multiplying
the couplings of ``[model]`` or the default couplings of each ``N``).  Dissipation and
interaction are swept by the scenarios.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
import numbers
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..model import DISSIPATIONS, INTERACTIONS, PaperModel, default_couplings
from ..system.quantities import CURRENTS

__all__ = [
    "AXES",
    "DEFAULT_QUANTITIES",
    "COUNTING_QUANTITIES",
    "ConfigError",
    "StudyConfig",
    "load_config",
]

#: Quantities kept by default (the paper's currents and coherence quantities).
DEFAULT_QUANTITIES = (*CURRENTS, "C_loc", "C_nonloc", "C_nonloc_product", "energy")
#: Hot-bath counting statistics added by ``counting = true`` (exact: full counting statistics;
#: trajectories: scaled cumulants of the counting windows).
COUNTING_QUANTITIES = (
    "quanta_mean",
    "quanta_diffusion",
    "quanta_skewness",
    "heat_mean",
    "heat_diffusion",
    "heat_skewness",
    "tur_ratio",
)
#: Parameters a sweep can vary.
AXES = (
    "omega_h",
    "omega_c",
    "T_h",
    "T_c",
    "Omega",
    "N",
    "g_h",
    "g_c",
    "g_scale",
    "g_h_scale",
    "g_c_scale",
)
MODEL_KEYS = (
    "N",
    "omega_h",
    "omega_c",
    "T_h",
    "T_c",
    "g_h",
    "g_c",
    "Omega",
    "dissipation",
    "interaction",
)
_VECTOR_AXES = ("g_h", "g_c")
_SCALE_AXES = {"g_scale": ("g_h", "g_c"), "g_h_scale": ("g_h",), "g_c_scale": ("g_c",)}
_TOP = (
    "name",
    "description",
    "seed",
    "quantities",
    "plot",
    "counting",
    "scenarios",
    "model",
    "sweep",
    "exact",
    "trajectory",
    "scenario",
    "analysis",
    "quick",
)
_SWEEP = ("exact", "trajectory", "parameter", "axes", "points")
_AXIS = ("exact", "trajectory")
_EXACT = ("max_N",)
_TRAJECTORY = (
    "trajectories",
    "t_total",
    "target_rel_se",
    "t_min",
    "t_max",
    "sample_interval",
    "initial_state",
    "burn_in",
    "target",
    "override",
)
_TARGET = ("quantity", "rel_se", "se", "max_wall", "max_time")
_OVERRIDE = ("when", "trajectories", "t_total", "burn_in", "initial_state")
_SCENARIO = ("dissipation", "interaction", "t_scale")
_ANALYSIS = ("paper", "engine_window", "table1_points", "se_criterion")
_DEFAULT_ANALYSIS = {
    "paper": False,
    "engine_window": [1.0, 2.0],
    "table1_points": [0.5, 1.5, 2.5],
    "se_criterion": 0.03,
}
_DEFAULT_TRAJECTORY = {
    "trajectories": 16,
    "t_total": 1e6,
    "sample_interval": 2.0,
    "initial_state": "steady",
}
#: Largest N of the default exact solves (block solver; larger N: trajectories only).
DEFAULT_EXACT_MAX_N = 4


class ConfigError(ValueError):
    """A bad study file: one line naming the file, the key as written and what is allowed."""


# ----------------------------------------------------------------------------- helpers
def _where(section: str, key: str) -> str:
    return f"{section} {key}".strip() if section else key


def _check_keys(table: Any, allowed: tuple[str, ...], section: str) -> None:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{section or 'file'}: expected a table, got {table!r}")
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"
            raise ConfigError(f"{_where(section, str(key))}: unknown key; {hint}")


def _real(
    value: Any,
    where: str,
    *,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ConfigError(f"{where}: must be finite, got {value!r}")
    if minimum is not None and (x <= minimum if strict else x < minimum):
        raise ConfigError(f"{where}: must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    if maximum is not None and x >= maximum:
        raise ConfigError(f"{where}: must be < {maximum:g}, got {value!r}")
    return x


def _int(value: Any, where: str, *, minimum: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{where}: must be >= {minimum}, got {value!r}")
    return int(value)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def _merge(base: dict, override: Mapping) -> dict:
    """Recursive dict merge (``override`` wins; lists and scalars are replaced)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _axis_value(name: str, value: Any, where: str) -> Any:
    """One value of a swept parameter, checked for its type."""
    if name == "N":
        return _int(value, where, minimum=1)
    if name in _VECTOR_AXES:
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: expected a list of couplings, got {value!r}")
        return tuple(_real(v, where) for v in value)
    x = _real(value, where)
    return round(x, 10)


def _grid(name: str, spec: Any, where: str) -> list[Any]:
    """The values of one axis from a list or ``{start, stop, num}``, sorted and unique."""
    if isinstance(spec, Mapping):
        _check_keys(spec, ("start", "stop", "num"), where)
        missing = [k for k in ("start", "stop", "num") if k not in spec]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)} in {{start, stop, num}}")
        start = _real(spec["start"], f"{where}.start")
        stop = _real(spec["stop"], f"{where}.stop")
        num = _int(spec["num"], f"{where}.num", minimum=1)
        if name == "N" or name in _VECTOR_AXES:
            raise ConfigError(f"{where}: {name} needs an explicit list of values")
        spec = [float(v) for v in np.linspace(start, stop, num)]
    if not isinstance(spec, list):
        raise ConfigError(f"{where}: expected a list or {{start, stop, num}}, got {spec!r}")
    values = [_axis_value(name, v, where) for v in spec]
    if name in _VECTOR_AXES:
        return list(dict.fromkeys(values))
    return sorted(set(values))


# ----------------------------------------------------------------------------- config
class StudyConfig:
    """A resolved study: scenarios, sweep points, budgets and analysis options.

    Parameters
    ----------
    raw : dict
        The parsed TOML document.
    quick : bool, optional
        Apply the ``[quick]`` overrides.
    path : path-like, optional
        The TOML file (used for the default name).

    Raises
    ------
    ConfigError
        A one-line message naming the key as written in the file (``[model] T_hot``).

    Attributes
    ----------
    name : str
    seed : int
    model : dict
        ``PaperModel`` keywords shared by every point (swept parameters removed).
    axes : list of str
        Swept parameters; the first is the x axis of the figures.
    points : list of dict
        Every point: ``{axis: value}``, in grid order.
    exact_points, trajectory_points : list of int
        Indices into :attr:`points` with an exact solve / with trajectories.
    scenarios : list of dict
        ``{"dissipation", "interaction", "t_scale", "label"}`` per scenario.
    exact_grid, trajectory_grid : list of float
        With the single axis ``omega_h``: its exact and trajectory values.
    trajectory : dict
        Budget options (see the module docstring).
    quantities, plot : list of str
    counting : bool
    analysis : dict
    exact_max_N : int
    """

    def __init__(self, raw: Mapping, *, quick: bool = False, path: Path | None = None) -> None:
        _check_keys(raw, _TOP, "")
        raw = dict(raw)
        self.raw = copy.deepcopy(raw)
        quick_over = raw.pop("quick", {}) or {}
        _check_keys(quick_over, tuple(k for k in _TOP if k != "quick"), "[quick]")
        doc = _merge(raw, quick_over) if quick else raw
        self.quick = bool(quick)
        self.path = path
        name = doc.get("name", path.stem if path else "study")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"name: expected a non-empty string, got {name!r}")
        self.name = name
        self.seed = _int(doc.get("seed", 0), "seed", minimum=0)
        self._read_quantities(doc)
        self._read_model_and_scenarios(doc)
        self._read_sweep(doc.get("sweep", {}))
        self._read_exact(doc.get("exact", {}))
        self._read_trajectory(doc.get("trajectory", {}))
        self._read_analysis(doc.get("analysis", {}))
        # every model must build: report the first bad point with its coordinates
        for p in self.points:
            for s in self.scenarios:
                try:
                    self.model_at(s, p)
                except (TypeError, ValueError) as exc:
                    key = str(exc).split(":")[0]
                    if key in self.model:
                        raise ConfigError(f"[model] {exc}") from None
                    raise ConfigError(f"[sweep] point {self.describe(p)}: {exc}") from None

    # -- sections
    def _read_quantities(self, doc: Mapping) -> None:
        self.counting = _bool(doc.get("counting", False), "counting")
        q = doc.get("quantities", list(DEFAULT_QUANTITIES))
        if q == "all":
            self.quantities = ["all"]
        else:
            if not isinstance(q, list) or not q or not all(isinstance(v, str) for v in q):
                raise ConfigError(f'quantities: expected a list of names or "all", got {q!r}')
            allowed = (*DEFAULT_QUANTITIES, *COUNTING_QUANTITIES)
            for v in q:
                if v not in allowed and not v.startswith(("sz_", "coh_")):
                    close = difflib.get_close_matches(v, allowed, n=1)
                    hint = f"did you mean '{close[0]}'?" if close else "see qjump exact --json"
                    raise ConfigError(f"quantities: unknown quantity {v!r}; {hint}")
                if v in COUNTING_QUANTITIES and not self.counting:
                    raise ConfigError(f"quantities: {v!r} needs counting = true")
            self.quantities = [v for v in q if v not in COUNTING_QUANTITIES]
        if self.counting:
            self.quantities = [
                *self.quantities,
                *[c for c in COUNTING_QUANTITIES if c not in self.quantities],
            ]
        plot = doc.get("plot")
        if plot is None:
            base = [
                v for v in ("Q_h", "Q_c", "W") if v in self.quantities or "all" in self.quantities
            ]
            plot = base + (["heat_diffusion", "tur_ratio"] if self.counting else [])
            plot = plot or [v for v in self.quantities if v != "all"][:4]
        if not isinstance(plot, list) or not all(isinstance(v, str) for v in plot):
            raise ConfigError(f"plot: expected a list of quantity names, got {plot!r}")
        for v in plot:
            if "all" not in self.quantities and v not in self.quantities:
                raise ConfigError(f"plot: {v!r} is not among quantities {self.quantities}")
        self.plot = list(plot)

    def _read_model_and_scenarios(self, doc: Mapping) -> None:
        model = doc.get("model", {})
        _check_keys(model, MODEL_KEYS, "[model]")
        self.model = dict(model)
        if "N" in self.model:  # needed before any model is built (exact max_N, couplings)
            self.model["N"] = _int(self.model["N"], "[model] N", minimum=1)
        scen = doc.get("scenario")
        shorthand = doc.get("scenarios")
        if shorthand is not None:
            if shorthand != "all":
                raise ConfigError(f'scenarios: only "all" is allowed, got {shorthand!r}')
            if scen:
                raise ConfigError('scenarios: give either scenarios = "all" or [[scenario]]')
            scen = [
                {"dissipation": d, "interaction": i} for d in DISSIPATIONS for i in INTERACTIONS
            ]
        if scen is None:
            scen = [
                {
                    "dissipation": self.model.pop("dissipation", "common"),
                    "interaction": self.model.pop("interaction", "pairwise"),
                }
            ]
        else:
            for bad in ("dissipation", "interaction"):
                if bad in self.model:
                    raise ConfigError(
                        f"[model] {bad}: set by the [[scenario]] tables; remove it from [model]"
                    )
        if not isinstance(scen, list) or not scen:
            raise ConfigError("scenario: at least one [[scenario]] table is needed")
        self.scenarios = []
        for k, s in enumerate(scen, start=1):
            where = f"[[scenario]] #{k}"
            _check_keys(s, _SCENARIO, where)
            for key in ("dissipation", "interaction"):
                if key not in s:
                    raise ConfigError(f"{where}: missing key '{key}'")
            try:
                m = PaperModel(dissipation=s["dissipation"], interaction=s["interaction"])
            except ValueError as exc:
                raise ConfigError(f"{where} {exc}") from None
            t_scale = _real(s.get("t_scale", 1.0), f"{where} t_scale", minimum=0, strict=True)
            self.scenarios.append(
                {
                    "dissipation": m.dissipation,
                    "interaction": m.interaction,
                    "t_scale": t_scale,
                    "label": m.label,
                }
            )
        labels = [s["label"] for s in self.scenarios]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"scenario: duplicate scenarios {labels}")

    def _read_sweep(self, sweep: Any) -> None:
        _check_keys(sweep, _SWEEP, "[sweep]")
        forms = [k for k in ("axes", "points") if k in sweep]
        if len(forms) > 1 or (forms and ({"exact", "trajectory", "parameter"} & set(sweep))):
            raise ConfigError("[sweep]: use one form: exact/trajectory (one axis), axes, or points")
        self.exact_grid: list[float] = []
        self.trajectory_grid: list[float] = []
        if "points" in sweep:
            self._read_points(sweep["points"])
        else:
            if "axes" in sweep:
                axes = sweep["axes"]
                if not isinstance(axes, Mapping) or not axes:
                    raise ConfigError("[sweep.axes]: expected tables like [sweep.axes.Omega]")
                specs = {}
                for name, spec in axes.items():
                    self._check_axis_name(name, f"[sweep.axes] {name}")
                    where = f"[sweep.axes.{name}]"
                    _check_keys(spec, _AXIS, where)
                    specs[name] = spec
            else:
                name = sweep.get("parameter", "omega_h")
                self._check_axis_name(name, "[sweep] parameter", value=True)
                specs = {name: {k: sweep[k] for k in _AXIS if k in sweep}}
            self._read_axes(specs)
        for name in self.axes:
            if name in self.model:
                raise ConfigError(f"[model] {name}: swept by [sweep]; remove it from [model]")
            for parts in _SCALE_AXES.get(name, ()):
                if parts in self.axes:
                    raise ConfigError(f"[sweep] {name}: cannot be combined with a {parts} axis")

    def _check_axis_name(self, name: Any, where: str, value: bool = False) -> None:
        if name in AXES:
            return
        if name in ("dissipation", "interaction"):
            raise ConfigError(f"{where}: {name} is swept by [[scenario]] tables")
        close = difflib.get_close_matches(str(name), AXES, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(AXES)}"
        what = f"unknown parameter {name!r}" if value else "unknown parameter"
        raise ConfigError(f"{where}: {what}; {hint}")

    def _read_axes(self, specs: Mapping[str, Mapping]) -> None:
        exact_vals, traj_vals = {}, {}
        single = len(specs) == 1
        for name, spec in specs.items():
            where = f"[sweep] {name}" if single else f"[sweep.axes.{name}]"
            if "trajectory" in spec:
                t = _grid(
                    name,
                    spec["trajectory"],
                    f"{where} trajectory" if single else f"{where} trajectory",
                )
            else:
                t = []
            e = _grid(name, spec["exact"], f"{where} exact") if "exact" in spec else list(t)
            if not e and not t:
                if single and name == "omega_h" and not specs[name]:
                    e = t = [1.5]
                else:
                    raise ConfigError(f"{where}: give exact and/or trajectory values")
            if not single and not t:
                raise ConfigError(
                    f"{where} trajectory: needs at least one value (or [] on "
                    "every axis for an exact-only study)"
                )
            merged = list(dict.fromkeys([*e, *t]))
            exact_vals[name] = merged if name in _VECTOR_AXES else sorted(merged)
            traj_vals[name] = t
            self._positive_axis(name, exact_vals[name], where)
        self.axes = list(specs)
        self.points = [
            dict(zip(self.axes, combo, strict=True))
            for combo in itertools.product(*exact_vals.values())
        ]
        self.exact_points = list(range(len(self.points)))
        traj = set(itertools.product(*traj_vals.values()))
        self.trajectory_points = [i for i, p in enumerate(self.points) if tuple(p.values()) in traj]
        if self.axes == ["omega_h"]:
            self.exact_grid = [p["omega_h"] for p in self.points]
            self.trajectory_grid = [self.points[i]["omega_h"] for i in self.trajectory_points]

    def _positive_axis(self, name: str, values: list[Any], where: str) -> None:
        if name in ("omega_h", "omega_c") or name in _SCALE_AXES:
            bad = [v for v in values if v <= 0]
            if bad:
                raise ConfigError(f"{where}: {name} values must be > 0, got {bad[0]!r}")
        if name in ("T_h", "T_c"):
            bad = [v for v in values if v < 0]
            if bad:
                raise ConfigError(f"{where}: {name} values must be >= 0, got {bad[0]!r}")

    def _read_points(self, points: Any) -> None:
        if not isinstance(points, list) or not points:
            raise ConfigError("[sweep] points: expected a list of tables like { N = 3 }")
        axes: list[str] | None = None
        self.points, self.exact_points, self.trajectory_points = [], [], []
        for k, p in enumerate(points, start=1):
            where = f"[sweep] points #{k}"
            if not isinstance(p, Mapping):
                raise ConfigError(f"{where}: expected a table like {{ N = 3 }}, got {p!r}")
            names = [n for n in p if n not in ("exact", "trajectory")]
            for n in names:
                self._check_axis_name(n, f"{where} {n}")
            if axes is None:
                axes = names
            elif set(names) != set(axes):
                raise ConfigError(
                    f"{where}: every point needs the same parameters {axes}, got {names}"
                )
            point = {n: _axis_value(n, p[n], f"{where} {n}") for n in axes}
            self._positive_axis_point(point, where)
            if point in self.points:
                raise ConfigError(f"{where}: duplicate point {point}")
            self.points.append(point)
            if _bool(p.get("exact", True), f"{where} exact"):
                self.exact_points.append(k - 1)
            if _bool(p.get("trajectory", True), f"{where} trajectory"):
                self.trajectory_points.append(k - 1)
        self.axes = list(axes or [])
        if not self.axes:
            raise ConfigError("[sweep] points: each point needs a parameter, e.g. { N = 3 }")

    def _positive_axis_point(self, point: Mapping, where: str) -> None:
        for n, v in point.items():
            self._positive_axis(n, [v] if n not in _VECTOR_AXES else [], where)

    def _read_exact(self, exact: Any) -> None:
        _check_keys(exact, _EXACT, "[exact]")
        self.exact_max_N = _int(exact.get("max_N", DEFAULT_EXACT_MAX_N), "[exact] max_N", minimum=1)
        self.exact_points = [
            i for i in self.exact_points if self.point_N(self.points[i]) <= self.exact_max_N
        ]

    def _read_trajectory(self, tr: Any) -> None:
        _check_keys(tr, _TRAJECTORY, "[trajectory]")
        tr = _merge(_DEFAULT_TRAJECTORY, tr)
        w = "[trajectory]"
        tr["trajectories"] = _int(tr["trajectories"], f"{w} trajectories", minimum=2)
        tr["t_total"] = _real(tr["t_total"], f"{w} t_total", minimum=0, strict=True)
        tr["sample_interval"] = _real(
            tr["sample_interval"], f"{w} sample_interval", minimum=0, strict=True
        )
        for key in ("t_min", "t_max"):
            if key in tr:
                tr[key] = _real(tr[key], f"{w} {key}", minimum=0, strict=True)
        if "target_rel_se" in tr:
            tr["target_rel_se"] = _real(
                tr["target_rel_se"], f"{w} target_rel_se", minimum=0, strict=True, maximum=1
            )
        self._check_initial(tr, w)
        if "target" in tr:
            tr["target"] = self._read_target(tr["target"])
        overrides = tr.get("override", [])
        if not isinstance(overrides, list):
            raise ConfigError(f"{w} override: expected [[trajectory.override]] tables")
        for k, o in enumerate(overrides, start=1):
            where = f"[[trajectory.override]] #{k}"
            _check_keys(o, _OVERRIDE, where)
            when = o.get("when")
            if not isinstance(when, Mapping) or not when:
                raise ConfigError(
                    f"{where} when: expected a table of swept values, e.g. {{ N = 6 }}"
                )
            for n, v in when.items():
                if n not in self.axes:
                    raise ConfigError(
                        f"{where} when: {n!r} is not a swept parameter ({', '.join(self.axes)})"
                    )
                when[n] = _axis_value(n, v, f"{where} when.{n}")
            if "trajectories" in o:
                o["trajectories"] = _int(o["trajectories"], f"{where} trajectories", minimum=2)
            if "t_total" in o:
                o["t_total"] = _real(o["t_total"], f"{where} t_total", minimum=0, strict=True)
            self._check_initial(o, where)
        tr["override"] = overrides
        self.trajectory = tr
        if "target_rel_se" in tr:
            no_exact = [i for i in self.trajectory_points if i not in self.exact_points]
            if no_exact:
                raise ConfigError(
                    f"{w} target_rel_se: plans budgets from exact diffusion, "
                    f"which point {self.describe(self.points[no_exact[0]])} "
                    "lacks; use [trajectory] target = {...} instead"
                )
        for i in self.trajectory_points:
            opts = self.trajectory_options(i)
            if opts["initial_state"] == "steady" and i not in self.exact_points:
                raise ConfigError(
                    f"{w} initial_state: 'steady' needs the exact steady state, not computed at "
                    f"{self.describe(self.points[i])} (above [exact] max_N = "
                    f'{self.exact_max_N}); use "ground" with a burn_in'
                )
            if opts["initial_state"] != "steady" and opts.get("burn_in") is None:
                raise ConfigError(
                    f"{w} burn_in: needed with initial_state = {opts['initial_state']!r} "
                    f"(at {self.describe(self.points[i])})"
                )

    def _check_initial(self, tr: dict, where: str) -> None:
        if "initial_state" in tr and tr["initial_state"] not in ("steady", "ground", "thermal"):
            raise ConfigError(
                f'{where} initial_state: expected "steady", "ground" or '
                f'"thermal", got {tr["initial_state"]!r}'
            )
        if "burn_in" in tr:
            tr["burn_in"] = _real(tr["burn_in"], f"{where} burn_in", minimum=0)

    def _read_target(self, target: Any) -> dict:
        where = "[trajectory] target"
        _check_keys(target, _TARGET, where)
        out = {"quantity": target.get("quantity", "Q_h")}
        if not isinstance(out["quantity"], str):
            raise ConfigError(f"{where}.quantity: expected a quantity name")
        if ("rel_se" in target) == ("se" in target):
            raise ConfigError(f"{where}: give exactly one of rel_se and se")
        if "rel_se" in target:
            out["rel_se"] = _real(
                target["rel_se"], f"{where}.rel_se", minimum=0, strict=True, maximum=1
            )
        else:
            out["se"] = _real(target["se"], f"{where}.se", minimum=0, strict=True)
        for cap in ("max_wall", "max_time"):
            if cap in target:
                out[cap] = _real(target[cap], f"{where}.{cap}", minimum=0, strict=True)
        return out

    def _read_analysis(self, analysis: Any) -> None:
        _check_keys(analysis, _ANALYSIS, "[analysis]")
        a = _merge(_DEFAULT_ANALYSIS, analysis)
        a["paper"] = _bool(a["paper"], "[analysis] paper")
        for key in ("engine_window", "table1_points"):
            v = a[key]
            if not isinstance(v, list) or not v:
                raise ConfigError(f"[analysis] {key}: expected a list of numbers, got {v!r}")
            a[key] = [_real(x, f"[analysis] {key}", minimum=0, strict=True) for x in v]
        if len(a["engine_window"]) != 2 or a["engine_window"][0] >= a["engine_window"][1]:
            raise ConfigError(
                f"[analysis] engine_window: expected [low, high], got {a['engine_window']}"
            )
        a["se_criterion"] = _real(
            a["se_criterion"], "[analysis] se_criterion", minimum=0, strict=True
        )
        if a["paper"] and self.axes != ["omega_h"]:
            raise ConfigError(
                "[analysis] paper: the paper's analysis needs the single sweep "
                f"axis omega_h, got {self.axes}"
            )
        self.analysis = a

    # -- points
    def point_N(self, point: Mapping) -> int:
        """``N`` at ``point`` (swept or from ``[model]``)."""
        return int(point.get("N", self.model.get("N", 2)))

    def describe(self, point: Mapping) -> str:
        """``Omega=0.1, N=2`` (for messages and labels)."""
        return ", ".join(f"{k}={_fmt(v)}" for k, v in point.items())

    def model_at(self, scenario: Mapping, point: Mapping) -> PaperModel:
        """The :class:`PaperModel` of ``scenario`` at ``point``."""
        kw = dict(self.model)
        for name, value in point.items():
            if name in _SCALE_AXES:
                continue
            kw[name] = list(value) if name in _VECTOR_AXES else value
        N = int(kw.get("N", 2))
        for name, parts in _SCALE_AXES.items():
            if name in point:
                for g in parts:
                    base = kw.get(g, default_couplings(N))
                    kw[g] = [float(point[name]) * float(x) for x in base]
        return PaperModel(
            **kw, dissipation=scenario["dissipation"], interaction=scenario["interaction"]
        )

    def model_for(self, scenario: Mapping, omega_h: float) -> PaperModel:
        """The model of ``scenario`` at ``omega_h`` (studies with the single axis omega_h)."""
        return self.model_at(scenario, {"omega_h": float(omega_h)})

    def trajectory_options(self, point_index: int) -> dict[str, Any]:
        """``[trajectory]`` with the overrides whose ``when`` matches the point."""
        point = self.points[point_index]
        opts = {k: v for k, v in self.trajectory.items() if k != "override"}
        for o in self.trajectory.get("override", []):
            if all(point.get(n) == v for n, v in o["when"].items()):
                opts.update({k: v for k, v in o.items() if k != "when"})
        return opts

    def point_seed(self, scenario_index: int, point_index: int) -> int:
        """Seed of trajectory point ``point_index`` (its rank among the trajectory points)
        of scenario ``scenario_index``: ``SeedSequence(seed, spawn_key=(s, p))``."""
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
            "axes": self.axes,
            "points": [
                {k: list(v) if isinstance(v, tuple) else v for k, v in p.items()}
                for p in self.points
            ],
            "exact_points": self.exact_points,
            "trajectory_points": self.trajectory_points,
            "exact_grid": self.exact_grid,
            "trajectory_grid": self.trajectory_grid,
            "exact_max_N": self.exact_max_N,
            "quantities": self.quantities,
            "plot": self.plot,
            "counting": self.counting,
            "trajectory": self.trajectory,
            "analysis": self.analysis,
        }


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return ",".join(f"{x:g}" for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


_TOML_POSITION = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$")


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

    Raises
    ------
    ConfigError
        One line starting with the file name: a missing file, a TOML syntax error (with
        line and column) or a bad key or value.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a study TOML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_POSITION.match(str(exc))
        if m:
            raise ConfigError(
                f"{path}:{m['line']}:{m['col']}: TOML syntax error: "
                f"{m['msg']} (line {m['line']}, column {m['col']})"
            ) from None
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    try:
        return StudyConfig(raw, quick=quick, path=path)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
