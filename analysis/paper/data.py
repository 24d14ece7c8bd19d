"""Read access to a finished study: the tables that :mod:`qjump.studies.runner` writes.

Owns :class:`Study` (curves, trajectory points and metadata by scenario and quantity) and
:class:`InputsAbsent`, raised when an analysis asks for data the study does not hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qjump.model import PaperModel

__all__ = ["InputsAbsent", "Study"]


class InputsAbsent(LookupError):
    """The study lacks a scenario, quantity, grid point or table that an analysis needs."""


class Study:
    """The stored tables of a finished study.

    Every abscissa is ``x = omega_h / omega_c``; values are exact on the fine grid, with
    trajectory estimates (``trajectory``, ``se``, ``z``) on the trajectory points.

    Parameters
    ----------
    results : pandas.DataFrame
        One row per (scenario, grid point, quantity); columns ``scenario``, ``x``,
        ``quantity``, ``exact``, ``trajectory``, ``se``, ``z``, ``regime``, ``t_total``,
        ``omega_c``.
    meta : dict
        ``study.json``: the resolved configuration under ``"config"`` and the run facts.
    optimum : pandas.DataFrame, optional
        ``optimum.csv``: maximum power per scenario (``eta_star``, ``power_star``,
        ``omega_h_star``).
    table1 : pandas.DataFrame, optional
        ``table1.csv``: current changes when a coherence class is removed.
    directory : path-like, optional
        Where the tables were read from (and the figures and report are written).
    """

    def __init__(
        self,
        results: pd.DataFrame,
        meta: dict[str, Any],
        optimum: pd.DataFrame | None = None,
        table1: pd.DataFrame | None = None,
        directory: str | Path | None = None,
    ) -> None:
        self.results = results
        self.meta = meta
        self.optimum = (
            optimum
            if optimum is not None
            else pd.DataFrame(columns=["scenario", "omega_h_star", "power_star", "eta_star"])
        )
        self.table1 = (
            table1
            if table1 is not None
            else pd.DataFrame(
                columns=["scenario", "omega_h", "quantity", "class", "full", "removed", "change"]
            )
        )
        self.directory = Path(directory) if directory is not None else None
        self.config = meta["config"]
        self.scenarios = [s["label"] for s in self.config["scenarios"]]
        self.info = {s["label"]: s for s in self.config["scenarios"]}
        self.omega_c = float(results["omega_c"].iloc[0])
        defaults = PaperModel()
        model = self.config.get("model", {})
        self.T_h = float(model.get("T_h", defaults.T_h))
        self.T_c = float(model.get("T_c", defaults.T_c))
        self.x_min = float(results["x"].min())
        self.x_max = float(results["x"].max())
        self._by = dict(tuple(results.groupby(["scenario", "quantity"], sort=False)))

    @classmethod
    def read(cls, directory: str | Path) -> Study:
        """Read ``results.parquet``, ``study.json`` and, if present, ``optimum.csv`` and
        ``table1.csv`` from a study's output directory."""
        directory = Path(directory)
        optional = {}
        for name in ("optimum", "table1"):
            path = directory / f"{name}.csv"
            optional[name] = pd.read_csv(path) if path.exists() else None
        return cls(
            pd.read_parquet(directory / "results.parquet"),
            json.loads((directory / "study.json").read_text()),
            directory=directory,
            **optional,
        )

    @property
    def grid(self) -> np.ndarray:
        """The exact grid: every x in the results, sorted."""
        return np.unique(self.results["x"].to_numpy())

    @property
    def trajectory_points(self) -> np.ndarray:
        """The x values with trajectory estimates, sorted."""
        return np.unique(self.results.loc[self.results["trajectory"].notna(), "x"].to_numpy())

    @property
    def engine_window(self) -> tuple[float, float]:
        """``(lo, hi)`` of x drawn in Fig. 4 (``[analysis] engine_window``)."""
        lo, hi = self.config["analysis"]["engine_window"]
        return float(lo), float(hi)

    @property
    def se_criterion(self) -> float:
        """Required SE / max|curve| at every trajectory point (``[analysis] se_criterion``)."""
        return float(self.config["analysis"]["se_criterion"])

    @property
    def table1_points(self) -> list[float]:
        """x values of the Table I analysis (``[analysis] table1_points``)."""
        return [float(v) for v in self.config["analysis"]["table1_points"]]

    @property
    def carnot_x(self) -> float:
        """``T_h / T_c``: the x at which every current vanishes (Carnot point)."""
        return self.T_h / self.T_c

    def has(self, scenario: str, quantity: str) -> bool:
        """True if the study holds ``quantity`` for ``scenario``."""
        return (scenario, quantity) in self._by

    def present(self, *labels: str) -> bool:
        """True if all scenario labels are in the study."""
        return all(lab in self.scenarios for lab in labels)

    def rows(self, scenario: str, quantity: str) -> pd.DataFrame:
        """Rows of one scenario and quantity, sorted by ``x``.

        Raises
        ------
        InputsAbsent
            If the study does not hold them.
        """
        if (scenario, quantity) not in self._by:
            raise InputsAbsent(f"{quantity} of {scenario} not in the study")
        return self._by[(scenario, quantity)].sort_values("x")

    def curve(self, scenario: str, quantity: str) -> tuple[np.ndarray, np.ndarray]:
        """Exact ``(x, value)`` on the exact grid."""
        r = self.rows(scenario, quantity)
        return r["x"].to_numpy(), r["exact"].to_numpy()

    def points(self, scenario: str, quantity: str) -> pd.DataFrame:
        """Trajectory rows (``x``, ``exact``, ``trajectory``, ``se``, ``z``); may be empty."""
        r = self.rows(scenario, quantity)
        return r[r["trajectory"].notna()]

    def at(self, scenario: str, quantity: str, x: float) -> pd.Series:
        """The row of one scenario and quantity at grid point ``x``.

        Raises
        ------
        InputsAbsent
            If ``x`` is not on the study's exact grid.
        """
        r = self.rows(scenario, quantity)
        hit = r[np.isclose(r["x"], x, rtol=1e-9, atol=1e-12)]
        if hit.empty:
            raise InputsAbsent(f"x = {x:g} not on the exact grid")
        return hit.iloc[0]

    def optimum_of(self, scenario: str) -> pd.Series:
        """The maximum-power row of ``scenario`` (``optimum.csv``)."""
        opt = self.optimum.set_index("scenario")
        if scenario not in opt.index:
            raise InputsAbsent(f"no maximum-power point of {scenario}")
        return opt.loc[scenario]
