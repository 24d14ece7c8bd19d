"""The result shapes shared by exact and trajectory answers, and the operating regime.

:class:`Estimates` maps names to values with a standard error for each (zero for exact
answers).  Two kinds of answer use it, each with one shape for both methods:

* :class:`Result`: steady-state quantities (``Q_h``, ``W_nonloc``, ``C_loc``, ``pop_h1``...),
  from :func:`qjump.exact` and :func:`qjump.simulate`;
* :class:`CountingStatistics`: scaled cumulants of a bath's quanta and heat and the TUR ratio,
  from :func:`qjump.counting_statistics` and ``TrajectoryResult.counting_statistics()``.

Exact and trajectory answers of the same kind have the same keys, so
``traj.to_series() - exact.to_series()`` compares them.

Operating regimes (paper Sec. IV, physics notes §3), labelled relative to the *hotter* bath:

* ``engine``:       ``W < 0``, ``Q_hot > 0``, ``Q_cold < 0``; efficiency ``eta = -W/Q_hot``
  (``= 1 - omega_cold/omega_hot``).
* ``refrigerator``: ``W > 0``, ``Q_hot < 0``, ``Q_cold > 0``; ``COP_R = Q_cold/W``
  (``= omega_c/(omega_h - omega_c)``).
* ``accelerator``:  ``W > 0``, ``Q_hot > 0``, ``Q_cold < 0``; ``COP_A = Q_hot/W``
  (``= omega_h/(omega_c - omega_h)``; the paper prints the denominator reversed, a typo).
* ``none``: the currents vanish within tolerance (the Carnot point ``omega_h/T_h =
  omega_c/T_c``, equilibrium), or ``W`` does (``omega_h = omega_c``: plain conduction).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from .model import PaperModel

__all__ = [
    "CountingStatistics",
    "Estimates",
    "Result",
    "classify_regime",
    "current_tolerance",
    "entropy_production",
    "gallavotti_cohen_affinity",
    "tur_ratio",
]


def current_tolerance(model: PaperModel) -> float:
    """Absolute tolerance under which a current counts as zero.

    ``1e-9`` times the largest possible gross energy flux of the baths,
    ``max_i omega_i (2 n_i + 1) sum_n g_{i,n}^2``.
    """
    scale = 0.0
    for b in ("h", "c"):
        omega, _, nbar, g = model.bath(b)
        scale = max(scale, omega * (2 * nbar + 1) * float(np.sum(np.square(g))) * len(g))
    return 1e-9 * max(scale, 1e-300)


def entropy_production(model: PaperModel, Q_h: float, Q_c: float) -> float:
    """Entropy production rate ``sigma = -Q_h/T_h - Q_c/T_c`` (>= 0 by the second law).

    Returns ``inf`` when a bath temperature is zero.
    """
    if model.T_h == 0.0 or model.T_c == 0.0:
        return math.inf
    return -Q_h / model.T_h - Q_c / model.T_c


def gallavotti_cohen_affinity(model: PaperModel) -> float:
    """Affinity ``A = omega_c/T_c - omega_h/T_h`` of the hot-bath quanta (physics notes §6).

    Each quantum carried from the hot to the cold bath produces entropy ``A``; for
    ``independent`` and ``common`` dissipation the SCGF obeys ``theta(s) = theta(-A - s)``.

    Raises
    ------
    ValueError
        When a bath temperature is zero (the affinity is infinite).
    """
    if model.T_h == 0.0 or model.T_c == 0.0:
        raise ValueError("T_h, T_c: the affinity needs T_h > 0 and T_c > 0")
    return model.omega_c / model.T_c - model.omega_h / model.T_h


def classify_regime(
    model: PaperModel,
    Q_h: float,
    Q_c: float,
    W: float,
    *,
    tolerance: tuple[float, float, float] | None = None,
) -> str:
    """Operating regime relative to the hotter bath.

    Parameters
    ----------
    model : PaperModel
    Q_h, Q_c, W : float
        Steady-state currents (positive into the system).
    tolerance : (tol_Q_h, tol_Q_c, tol_W), optional
        Per-current thresholds below which a current counts as zero; default
        :func:`current_tolerance` for all three.  Trajectory results pass a few standard
        errors so that a sign is only claimed when it is resolved.
    """
    tol = (current_tolerance(model),) * 3 if tolerance is None else tolerance
    hot_is_h = model.T_h >= model.T_c
    Q_hot, Q_cold = (Q_h, Q_c) if hot_is_h else (Q_c, Q_h)
    t_hot, t_cold = (tol[0], tol[1]) if hot_is_h else (tol[1], tol[0])

    def sign(x: float, t: float) -> int:
        return 0 if abs(x) <= t else (1 if x > 0 else -1)

    s = (sign(W, tol[2]), sign(Q_hot, t_hot), sign(Q_cold, t_cold))
    return {
        (-1, 1, -1): "engine",
        (1, -1, 1): "refrigerator",
        (1, 1, -1): "accelerator",
    }.get(s, "none")


@dataclasses.dataclass(frozen=True)
class Estimates:
    """Named values of one model, each with a standard error, from one method.

    Attributes
    ----------
    model : PaperModel
    method : {"exact", "trajectories"}
    values : dict
        Name -> value (units: see the kind of answer).
    se : dict
        Name -> standard error (0 for exact answers, ``nan`` where none is available).
    info : dict
        Method details (residuals, simulated time, options, ...).
    """

    model: PaperModel
    method: str
    values: dict[str, float]
    se: dict[str, float]
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def __contains__(self, name: str) -> bool:
        return name in self.values

    @property
    def names(self) -> list[str]:
        return list(self.values)

    def to_series(self) -> pd.Series:
        """Values as a pandas Series indexed by name."""
        return pd.Series(self.values, name=self.method, dtype=float)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per name with ``value`` and ``se``."""
        return pd.DataFrame(
            {
                "quantity": list(self.values),
                "value": list(self.values.values()),
                "se": [self.se.get(k, 0.0) for k in self.values],
            }
        )

    def _values_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.values.items():
            out[k] = _json_float(v)
            if self.method != "exact":
                out[f"{k}_se"] = _json_float(self.se.get(k, 0.0))
        return out


@dataclasses.dataclass(frozen=True)
class Result(Estimates):
    """Steady-state quantities of one model, exact or estimated from trajectories.

    ``values`` holds the currents (energy per unit time in units of ``omega_c``, positive
    into the system; definitions and equation numbers in :mod:`qjump.system.quantities`),
    the coherence quantities, ``energy``, populations and the linear pieces ``sz_*``,
    ``coh_*``; ``info`` the residual and relaxation time (exact) or the simulated time,
    jumps, wall time, burn-in and options (trajectories).
    """

    # ------------------------------------------------------------ thermodynamics
    @property
    def entropy_production(self) -> float:
        """``-Q_h/T_h - Q_c/T_c``; ``inf`` if a temperature is zero."""
        return entropy_production(self.model, self["Q_h"], self["Q_c"])

    @property
    def regime(self) -> str:
        """``engine``, ``refrigerator``, ``accelerator`` or ``none`` (see module doc).

        For trajectory results a current counts as zero unless it differs from zero by more
        than three standard errors.
        """
        tol = current_tolerance(self.model)
        tols = tuple(max(tol, 3.0 * self.se.get(k, 0.0)) for k in ("Q_h", "Q_c", "W"))
        return classify_regime(self.model, self["Q_h"], self["Q_c"], self["W"], tolerance=tols)

    @property
    def efficiency(self) -> float | None:
        """Engine efficiency ``-W/Q_hot``; ``None`` outside the engine regime."""
        if self.regime != "engine":
            return None
        Q_hot = self["Q_h"] if self.model.T_h >= self.model.T_c else self["Q_c"]
        return -self["W"] / Q_hot

    @property
    def cop(self) -> float | None:
        """``COP_R = Q_cold/W`` (refrigerator) or ``COP_A = Q_hot/W`` (accelerator)."""
        hot_is_h = self.model.T_h >= self.model.T_c
        Q_hot, Q_cold = (self["Q_h"], self["Q_c"]) if hot_is_h else (self["Q_c"], self["Q_h"])
        if self.regime == "refrigerator":
            return Q_cold / self["W"]
        if self.regime == "accelerator":
            return Q_hot / self["W"]
        return None

    # ------------------------------------------------------------ conversion
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping: each value with its ``_se`` twin (trajectories), then the
        entropy production (``None`` when infinite), regime, efficiency, COP and ``info``."""
        out = self._values_dict()
        sigma = self.entropy_production
        out["entropy_production"] = _json_float(sigma)
        if self.method != "exact":
            se = self.se.get("entropy_production", math.nan)
            out["entropy_production_se"] = _json_float(se) if math.isfinite(sigma) else None
        out["regime"] = self.regime
        out["efficiency"] = _json_float(self.efficiency)
        out["COP"] = _json_float(self.cop)
        out["carnot_efficiency"] = _json_float(carnot_efficiency(self.model))
        out["model"] = self.model.to_dict()
        out["method"] = self.method
        for k, v in self.info.items():
            out[k] = _json_float(v) if isinstance(v, float) else v
        return out


def carnot_efficiency(model: PaperModel) -> float | None:
    """``1 - T_cold/T_hot`` (``None`` if the hot temperature is zero)."""
    hot, cold = max(model.T_h, model.T_c), min(model.T_h, model.T_c)
    return None if hot == 0.0 else 1.0 - cold / hot


def _json_float(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclasses.dataclass(frozen=True)
class CountingStatistics(Estimates):
    """Scaled cumulants of the quanta and heat exchanged with one bath (physics notes §6).

    ``values`` (names also readable as attributes, e.g. ``stats.heat_diffusion``):

    * ``quanta_mean``, ``quanta_diffusion``, ``quanta_skewness``: the first three
      derivatives of the SCGF at ``s = 0``; the diffusion is ``lim Var(K)/t`` (no factor
      1/2) of the net quanta ``K`` taken from the bath, per unit time (``1/omega_c``);
    * ``heat_mean``, ``heat_diffusion``, ``heat_skewness``: the same for the heat
      ``omega_i K`` into the system (``omega_i``, ``omega_i^2``, ``omega_i^3`` times);
    * ``tur_ratio``: ``(D/J^2) sigma/2`` with ``J``, ``D`` the heat mean and diffusion and
      ``sigma = -Q_h/T_h - Q_c/T_c`` the entropy production (``nan`` if a temperature is 0
      or the current vanishes).  The classical bound is ``tur_ratio >= 1``.

    Attributes
    ----------
    bath : {"h", "c"}
    scgf : tuple of (s, theta) pairs or None
        Exact ``theta(s)`` of the quanta on a requested grid.
    """

    bath: str = "h"
    scgf: tuple[tuple[float, float], ...] | None = None

    def __getattr__(self, name: str) -> float:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping: each value (with its ``_se`` twin for trajectories), the bath,
        ``scgf`` as ``[s, theta]`` pairs (or ``None``), the method and ``info``."""
        out = self._values_dict()
        out["bath"] = self.bath
        out["scgf"] = None if self.scgf is None else [list(p) for p in self.scgf]
        out["method"] = self.method
        for k, v in self.info.items():
            out[k] = _json_float(v) if isinstance(v, float) else v
        return out


def tur_ratio(
    model: PaperModel, heat_mean: float, heat_diffusion: float, Q_h: float, Q_c: float
) -> float:
    """TUR ratio ``(D/J^2) sigma/2`` (``nan`` when undefined: a zero temperature or current)."""
    sigma = entropy_production(model, Q_h, Q_c)
    if heat_mean == 0.0 or not math.isfinite(sigma):
        return math.nan
    return heat_diffusion / heat_mean**2 * sigma / 2.0
