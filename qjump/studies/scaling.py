"""Scaling study: currents and coherence quantities against N (``runs/scaling.toml``).

Exact values (:func:`qjump.liouville.steady.exact`) are used where the block solver is cheap
(``N <= N_exact``); beyond that, quantum-jump trajectories started in the ground state with
a burn-in.  Trajectory estimates come straight from
:func:`qjump.trajectories.trajectory.run_trajectory`
(not :func:`qjump.simulate`, whose default burn-in needs the exact relaxation time,
i.e. an exact solve, which is what we avoid at large N).

Two estimators of the heat current are reported for trajectories:

* ``Q_h``: counted hot-bath quanta, ``omega_h (absorptions - emissions) / T`` (the engine's
  definition; its variance is the shot noise ``D/T``), and
* ``Q_h_state``: the time average of ``<psi|X_{Q_h}|psi>`` on the sampled conditional states
  (the same linear functional the exact solver uses; same mean in the stationary state, far
  smaller variance).

Standard errors are the spread over independent trajectories divided by ``sqrt(M)``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from ..liouville.steady import exact
from ..model import PaperModel
from ..system.context import model_system
from ..trajectories.kernel import unravelling
from ..trajectories.trajectory import TrajectorySpec, run_trajectory, trajectory_seed

__all__ = ["QUANTITIES", "exact_point", "max_power", "trajectory_point"]

#: Quantities tabulated by the study.
QUANTITIES = ("Q_h", "Q_c", "W", "W_loc", "W_nonloc", "C_loc", "C_nonloc", "energy")


def exact_point(model: PaperModel) -> dict[str, Any]:
    """Exact values of :data:`QUANTITIES` (``se`` = 0) and solver information."""
    t0 = time.perf_counter()
    res = exact(model)
    out: dict[str, Any] = {"method": "exact", "wall_s": time.perf_counter() - t0,
                           "residual": res.info["residual"], "solver": res.info["solver"]}
    for q in QUANTITIES:
        out[q] = float(res[q])
        out[q + "_se"] = 0.0
    out["Q_h_state"], out["Q_h_state_se"] = out["Q_h"], 0.0
    return out


def trajectory_point(
    model: PaperModel,
    *,
    t_final: float,
    burn_in: float,
    trajectories: int,
    seed: int,
    sample_interval: float = 1.0,
) -> dict[str, Any]:
    """Trajectory estimates (mean and SE over ``trajectories``) of :data:`QUANTITIES`.

    Parameters
    ----------
    model : PaperModel
    t_final, burn_in : float
        Per trajectory; trajectories start in the ground state.
    trajectories : int
        Number of independent trajectories ``M >= 2``.
    seed : int
        Run seed (trajectory ``i`` uses :func:`qjump.trajectories.trajectory.trajectory_seed`).
    sample_interval : float
        Spacing of the conditional-state samples.
    """
    q = model_system(model).quantities
    c0, t0 = time.process_time(), time.perf_counter()
    un = unravelling(model)
    order = np.searchsorted(q.support, un.support)
    setup_cpu = time.process_time() - c0
    spec = TrajectorySpec(t_final=t_final, burn_in=burn_in, window=t_final - burn_in,
                          sample_interval=sample_interval, initial_state="ground")
    T = spec.measured_time
    rows = []
    jumps = 0
    for i in range(trajectories):
        out = run_trajectory(model, spec, trajectory_seed(seed, i))
        xs = np.zeros(q.support.size, complex)
        xs[order] = out.state_sum / max(out.n_samples, 1)
        vals = dict(zip(q.names, q.evaluate_support(xs), strict=True))
        c = out.counts.sum(axis=0)
        heat_h = model.omega_h * (c[0, 1] - c[0, 0])
        heat_c = model.omega_c * (c[1, 1] - c[1, 0])
        vals["Q_h_state"] = vals["Q_h"]
        vals["Q_h"] = heat_h / T
        vals["Q_c"] = heat_c / T
        vals["W"] = (out.edge_energy[-1] - out.edge_energy[0] - heat_h - heat_c) / T
        jumps += int(c.sum())
        rows.append(vals)
    res: dict[str, Any] = {
        "method": "trajectories", "trajectories": trajectories, "t_final": t_final,
        "burn_in": burn_in, "jumps": jumps, "setup_cpu_s": setup_cpu,
        "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0,
    }
    for name in (*QUANTITIES, "Q_h_state"):
        x = np.array([r[name] for r in rows])
        res[name] = float(x.mean())
        res[name + "_se"] = float(x.std(ddof=1) / math.sqrt(len(x)))
    return res


def max_power(model: PaperModel, bounds: tuple[float, float] = (1.0, 2.0),
              xatol: float = 2e-3) -> dict[str, float]:
    """Exact maximum power ``P = -W`` over ``omega_h`` in ``bounds`` and its efficiency.

    ``scipy.optimize.minimize_scalar`` (bounded Brent) on ``W(omega_h)`` (work current into
    the system; the engine delivers ``-W``).  Efficiency ``eta = -W / Q_h``.
    """
    def work(omega_h: float) -> float:
        return float(exact(model.replace(omega_h=float(omega_h)))["W"])

    opt = minimize_scalar(work, bounds=bounds, method="bounded", options={"xatol": xatol})
    best = exact(model.replace(omega_h=float(opt.x)))
    P = -float(best["W"])
    return {"omega_h_star": float(opt.x), "P_max": P, "Q_h": float(best["Q_h"]),
            "eta_at_max_power": P / float(best["Q_h"]), "evaluations": int(opt.nfev),
            "eta_carnot": 1.0 - model.T_c / model.T_h}
