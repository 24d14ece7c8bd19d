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
  average of the conditional expectation value on a regular grid; ``quantities="essential"``
  samples only the flows, ``C_loc``, ``energy`` and the populations
  (:data:`qjump.system.quantities.ESSENTIAL`), whose operators fit in memory up to N = 10;
* ``C_nonloc_product``: the product form of the averaged pieces, with a jackknife error.

Each estimate is the mean over trajectories; its standard error is the sample standard
deviation over trajectories divided by ``sqrt(M)`` (so it needs ``M >= 2``).

Control variates for the currents.  The counted currents ``x_j`` (one value per trajectory,
kept in ``per_trajectory``) and the sampled flows ``y_j`` through the interaction
(``Q_h_flow``, ``Q_c_flow``, ``W_flow``: :mod:`qjump.system.quantities`) have the same
steady-state mean, so ``c_j = x_j - y_j`` has mean zero.  So have the generator controls
``gen_<A>_j``, the time averages of ``<L^dag(A)>`` for a few observables ``A`` of the machine
(:data:`qjump.system.quantities.CONTROL_OBSERVABLES`, sampled up to N = 6):
``Tr[L^dag(A) rho_ss] = 0`` in any steady state.  With ``C`` the ``M x K`` matrix of these
controls (:func:`current_controls`), the reported current is

    Q = mean(x - C beta),    beta = argmin Var(x - C beta)    (least squares, same trajectories).

With the flow alone this is the minimum-variance combination ``(1 - beta) x + beta y``: shot
noise dominates the counted currents and the state fluctuations dominate the flows, and the
two are nearly uncorrelated, so the variance of Q_h falls by 2.8-3.4x (N = 4 to 6, common
dissipation) and 4-6x at N = 2, 3.  The generator controls then remove most of the state
fluctuations of the flow: if ``A`` solved the Poisson equation ``L^dag(A) = Y - <Y>`` (``Y``
the flow operator), ``gen_<A>`` would equal ``y - <Y>`` on every trajectory; the least-squares
combination of the ``L^dag(A)`` approximates that solution within their span (zero-variance
control variates).
Measured against the flow alone, on the same trajectories (300 per model, steady start):
at N = 3 the variance of Q_h falls by 390x for ind(2), 87x ind(1), 27x com(2), 6.8x com(1),
8.0x cas(2) and 4.5x cas(1); at N = 4, com(2), by 15x (also 15x out of sample, with the
coefficients fitted on the other half of the trajectories); at N = 6, com(2), by 6.1x on the
52 trajectories of issue 12's target command (4.8x out of sample, fitted on 26).  They are
used from :data:`TRAJECTORIES_PER_COEFFICIENT` trajectories per coefficient on; below that
only the flow is.  The standard error accounts for the ``K`` estimated coefficients:
``SE^2 = sum_j (z_j - mean z)^2 / ((M - K - 1) M) * (M - 2) / (M - K - 2)`` with
``z = x - C beta`` (the Lavenberg-Welch factor; ``1 / ((M - 3) M)`` for the flow alone).
Estimating ``beta`` from the same trajectories biases the mean by a fraction of an SE that
falls like ``K/M``.  With ``M < 4``, or when no control varies, the counted mean is reported.
The controls' means vanish only in the steady state: after a burn-in ``x - y`` keeps a bias
of its own (for ``Q_i`` the change of ``<H0_i>`` over the measured time divided by that time)
and ``gen_<A>`` the change of ``<A>``, both zero on average once the burn-in has relaxed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import shutil
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
from ..results import CountingStatistics, Result
from ..system.context import model_system
from ..system.quantities import COUNTED, order_values
from .estimates import counting_statistics_from_windows
from .options import TrajectoryOptions
from .records import check_ids, record_frame, window_frame
from .resources import check_trajectory_resources
from .trajectory import (
    TrajectoryOutput,
    TrajectorySpec,
    WallTimeExceeded,
    run_trajectory,
    trajectory_seed,
)

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

    ``info`` carries the run's options (``info["options"]``), seed and package versions, so
    :meth:`replay` can reproduce any trajectory bit for bit.

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

    @property
    def options(self) -> TrajectoryOptions:
        """The options the run was made with."""
        return TrajectoryOptions(**self.info["options"])

    def counting_statistics(self, bath: str = "h") -> CountingStatistics:
        """Trajectory estimates of the scaled cumulants of ``bath``'s quanta and heat and of
        the TUR ratio, with standard errors: the same shape as
        :func:`qjump.counting_statistics` (estimators in :mod:`qjump.trajectories.estimates`)."""
        return counting_statistics_from_windows(self, bath)

    def replay(self, trajectory: int) -> TrajectoryResult:
        """Run trajectory ``trajectory`` of this run again, alone.

        Its windows, per-trajectory estimates and records are bit-identical to that
        trajectory's rows in this result (same model, options and seed; the versions in
        ``info["versions"]`` should match the installed ones).
        """
        n = len(self.per_trajectory)
        if (
            isinstance(trajectory, bool)
            or not isinstance(trajectory, (int, np.integer))
            or not (0 <= trajectory < n)
        ):
            raise ValueError(f"trajectory: expected an id in 0..{n - 1}, got {trajectory!r}")
        spec = TrajectorySpec(
            t_final=self.info["t_final"],
            burn_in=self.info["burn_in"],
            window=self.info["window"],
            sample_interval=self.options.sample_interval,
            initial_state=self.info["initial_state"],
            records=self.records is not None,
            quantities=self.options.quantities,
        )
        i = int(trajectory)
        frames = run_batch(self.model, spec, [i], [trajectory_seed(self.info["seed"], i)])
        info = {k: v for k, v in self.info.items() if k != "target"}
        return assemble(
            self.model, spec, [frames], seed=self.info["seed"], t0=time.perf_counter(), info=info
        )


def default_burn_in(model: PaperModel, initial_state: str) -> tuple[float, float | None]:
    """Default burn-in and the relaxation time it is based on.

    ``steady`` starts need none.  Otherwise ``5 / gap`` of the exact Liouvillian (physics
    notes §7: about 1900 for com(1) at the paper's parameters), available up to
    ``N = MAX_N_RELAXATION``; beyond, the burn-in must be given.
    """
    if initial_state == "steady":
        return 0.0, None
    if model.N > MAX_N_RELAXATION:
        raise ValueError(
            f"burn_in: no default for N={model.N}: the relaxation time that sets it needs an "
            f"exact spectral computation (feasible up to N={MAX_N_RELAXATION}); give burn_in "
            "explicitly"
        )
    tau = relaxation_time(model)
    return float(BURN_IN_RELAXATION_TIMES * tau), tau


def make_spec(model: PaperModel, options: TrajectoryOptions) -> tuple[TrajectorySpec, dict]:
    """The time grid of a run: the default burn-in, t_final and window filled in."""
    info: dict[str, Any] = {}
    burn_in = options.burn_in
    if burn_in is None:
        burn_in, tau = default_burn_in(model, options.initial_state)
    else:
        affordable = options.initial_state != "steady" and model.N <= MAX_N_RELAXATION
        tau = relaxation_time(model) if affordable else None
    t_final = options.t_final
    if t_final is None:  # only with a precision target (validated by the options)
        t_final = burn_in + 4.0 * max(burn_in, 500.0)
    if not t_final > burn_in:
        raise ValueError(
            f"t_final: {t_final:g} is not longer than the burn-in {burn_in:.4g} (5 relaxation "
            f"times of {model.label} by default); give a longer t_final, an explicit burn_in, "
            "or initial_state='steady'"
        )
    info["relaxation_time"] = tau
    if options.initial_state != "steady" and tau is not None and burn_in < SHORT_BURN_IN * tau:
        msg = (
            f"burn_in {burn_in:g} is shorter than {SHORT_BURN_IN:g} relaxation times "
            f"({SHORT_BURN_IN * tau:.4g}) of {model.label}: the estimates may be biased by the "
            "initial state; use a longer burn-in or initial_state='steady'"
        )
        warnings.warn(msg, stacklevel=3)
        info["burn_in_warning"] = msg
    measured = t_final - burn_in
    window = measured / 10.0 if options.window is None else options.window
    spec = TrajectorySpec(
        t_final=t_final,
        burn_in=burn_in,
        window=min(window, measured),
        sample_interval=options.sample_interval,
        initial_state=options.initial_state,
        records=options.records,
        quantities=options.quantities,
    )
    return spec, info


# ------------------------------------------------------------------------ batches
def batch_layout(trajectories: int) -> list[list[int]]:
    """Trajectory ids per batch: at most 64 batches, independent of ``n_jobs``."""
    n_batches = min(trajectories, 64)
    return [list(b) for b in np.array_split(np.arange(trajectories), n_batches)]


@functools.cache
def _thread_controller():
    """One ``ThreadpoolController`` per process: building it scans the loaded libraries
    (about 3 ms, once per batch before)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def run_batch(
    model: PaperModel,
    spec: TrajectorySpec,
    ids: list[int],
    seeds: list[np.random.SeedSequence],
    deadline: float | None = None,
) -> dict[str, pd.DataFrame]:
    """Run a batch of trajectories and summarise it (executed in a worker).

    Returns the frames ``windows``, ``per_trajectory`` and (with records) ``records``.
    Raises :class:`~qjump.trajectories.trajectory.WallTimeExceeded` when the wall-clock
    ``deadline`` (``time.time()``) passes first; a batch that finishes does not depend on it.
    """
    with _thread_controller().limit(limits=1):
        outputs = [run_trajectory(model, spec, s, deadline=deadline) for s in seeds]
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
    """Each trajectory's own estimate of every selected linear quantity and of the counted
    currents."""
    check_ids(ids, outputs)
    # state sums: order of q.support
    q = model_system(model).quantity_set(spec.quantities, controls=True)
    T = spec.measured_time
    n_samples = np.array([out.n_samples for out in outputs], np.int64)
    xs = np.zeros((len(outputs), q.support.size), complex)
    for i, out in enumerate(outputs):
        if out.n_samples:
            xs[i] = out.state_sum / out.n_samples
    values = q.evaluate_support(xs)
    cols = {name: values[:, i] for i, name in enumerate(q.sampled_names)}
    c = np.array([out.counts.sum(axis=0) for out in outputs], np.int64).reshape(-1, 2, 2)
    heat_h = model.omega_h * (c[:, 0, 1] - c[:, 0, 0])
    heat_c = model.omega_c * (c[:, 1, 1] - c[:, 1, 0])
    dE = np.array([out.edge_energy[-1] - out.edge_energy[0] for out in outputs], float)
    cols["Q_h"] = heat_h / T
    cols["Q_c"] = heat_c / T
    cols["W"] = (dE - heat_h - heat_c) / T
    cols["trajectory"] = np.asarray(ids, np.int64)
    cols["jumps"] = c.sum(axis=(1, 2))
    cols["samples"] = n_samples
    return pd.DataFrame(cols)


#: Counted currents and the sampled flow with the same steady-state mean (control variate).
FLOW_PARTNERS = {"Q_h": "Q_h_flow", "Q_c": "Q_c_flow", "W": "W_flow"}
#: The generator controls (``gen_*`` columns) are used from this many trajectories per fitted
#: coefficient (controls plus the mean) on; with fewer, only the flow.  On N = 3 data (all six
#: models, 9 coefficients), the spread of (estimate - exact) / SE was 1.67 at 12 trajectories,
#: 1.21 at 16 and 1.02-1.04 from 24 to 64.
TRAJECTORIES_PER_COEFFICIENT = 3


def current_controls(per_trajectory: pd.DataFrame | dict, name: str) -> np.ndarray:
    """Zero-mean controls of the counted current ``name`` (a key of :data:`FLOW_PARTNERS`),
    one row per trajectory: ``x - y`` with ``y`` its flow, then the generator controls
    ``gen_*`` when there are at least :data:`TRAJECTORIES_PER_COEFFICIENT` trajectories per
    coefficient (module docstring)."""
    x = np.asarray(per_trajectory[name], float)
    cols = [x - np.asarray(per_trajectory[FLOW_PARTNERS[name]], float)]
    gens = [np.asarray(per_trajectory[k], float) for k in per_trajectory if k.startswith("gen_")]
    # frames that lack them for some trajectories (batches saved by an earlier release) use none
    complete = all(np.isfinite(g).all() for g in gens)
    if complete and x.size >= TRAJECTORIES_PER_COEFFICIENT * (len(gens) + 2):
        cols += gens
    return np.column_stack(cols)


def control_variate_terms(x: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, int]:
    """Per-trajectory terms ``z = x - C beta`` whose mean is the estimate (module docstring),
    and the number of fitted coefficients ``K`` (0 when ``x`` itself is returned: ``M < 4``,
    or no control varies).

    Parameters
    ----------
    x : ndarray, shape (M,)
    controls : ndarray, shape (M,) or (M, K)
        Columns with mean zero; ``beta`` minimises the variance of ``z`` (least squares).
        Columns that do not vary, or that are combinations of the others, are left out.

    Notes
    -----
    The normal equations are summed with ``math.fsum`` and solved by a pivoted Cholesky
    factorisation in plain Python, so ``z`` is the same to the last bit whatever BLAS, its
    thread count or the arrays' alignment (a resumed run must reproduce a clean one).
    """
    x = np.asarray(x, float)
    M = x.size
    C = np.asarray(controls, float).reshape(M, -1)
    if M < 4:
        return x, 0
    Cc = C - C.mean(axis=0)
    y = x - x.mean()
    K = C.shape[1]
    gram = [[math.fsum(Cc[:, i] * Cc[:, j]) for j in range(K)] for i in range(K)]
    keep = _independent_columns(gram, limit=M - 3)  # in pivot order
    if not keep:
        return x, 0
    # solve in unit-diagonal scaling, in pivot order (well conditioned by construction)
    scale = [math.sqrt(gram[i][i]) for i in keep]
    pairs = list(zip(keep, scale, strict=True))
    beta = _solve_normal(
        [[gram[i][j] / (si * sj) for j, sj in pairs] for i, si in pairs],
        [math.fsum(Cc[:, i] * y) / si for i, si in pairs],
    )
    z = x.copy()
    for b, i, si in zip(beta, keep, scale, strict=True):
        z = z - (b / si) * C[:, i]
    return z, len(keep)


def _independent_columns(gram: list[list[float]], limit: int) -> list[int]:
    """Columns kept by a pivoted Cholesky factorisation of the Gram matrix scaled to unit
    diagonal: the largest remaining diagonal first, while it exceeds ``1e-12`` (a column
    with less than ``1e-6`` of its norm outside the span of those kept is dropped; the Gram
    matrix squares the round-off, about ``1e-16``), at most ``limit`` of them, in the order
    they were chosen."""
    K = len(gram)
    scale = [math.sqrt(gram[i][i]) for i in range(K)]
    live = [i for i in range(K) if scale[i] > 0.0]
    corr = {(i, j): gram[i][j] / (scale[i] * scale[j]) for i in live for j in live}
    resid = {i: 1.0 for i in live}
    factors: list[dict[int, float]] = []  # columns of the Cholesky factor
    chosen: list[int] = []
    while len(chosen) < limit and resid:
        p = max(resid, key=lambda i: (resid[i], -i))
        if resid[p] <= 1e-12:
            break
        root = math.sqrt(resid.pop(p))
        col = {}
        for i in resid:
            col[i] = (corr[i, p] - sum(f[i] * f[p] for f in factors)) / root
            resid[i] -= col[i] ** 2
        col[p] = root
        factors.append(col)
        chosen.append(p)
    return chosen


def _solve_normal(G: list[list[float]], r: list[float]) -> list[float]:
    """Solve the symmetric positive definite system ``G beta = r`` (Cholesky, plain Python)."""
    n = len(r)
    L = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            v = G[i][j] - math.fsum(L[i][k] * L[j][k] for k in range(j))
            L[i][j] = math.sqrt(v) if i == j else v / L[j][j]
    w = [0.0] * n
    for i in range(n):
        w[i] = (r[i] - math.fsum(L[i][k] * w[k] for k in range(i))) / L[i][i]
    beta = [0.0] * n
    for i in reversed(range(n)):
        beta[i] = (w[i] - math.fsum(L[k][i] * beta[k] for k in range(i + 1, n))) / L[i][i]
    return beta


def _mean_and_se(z: np.ndarray, fitted: int) -> tuple[float, float]:
    """Mean of the terms ``z`` and its SE: with ``K = fitted`` coefficients,
    ``sum (z - mean z)^2 / ((M - K - 1) M)`` times the Lavenberg-Welch factor
    ``(M - 2) / (M - K - 2)`` for estimated coefficients; ``std / sqrt(M)`` when ``K = 0``."""
    if not fitted:
        return float(z.mean()), _se(pd.Series(z))
    M, K = z.size, fitted
    rss = float(np.sum((z - z.mean()) ** 2))
    return float(z.mean()), math.sqrt(rss / ((M - K - 1) * M) * (M - 2) / (M - K - 2))


def control_variate_mean(x: np.ndarray, controls: np.ndarray) -> tuple[float, float]:
    """Mean of ``x`` with zero-mean ``controls`` (see the module docstring).

    Returns ``(estimate, standard error)``.
    """
    return _mean_and_se(*control_variate_terms(x, controls))


def entropy_production_estimate(
    model: PaperModel, per_trajectory: pd.DataFrame | dict[str, np.ndarray]
) -> tuple[float, float]:
    """Entropy production ``sigma = -Q_h/T_h - Q_c/T_c`` (units of ``omega_c``; >= 0 by the
    second law, physics notes §6) and its standard error, from one term per trajectory.

    Each trajectory contributes ``-z_h/T_h - z_c/T_c`` with ``z_i`` its control-variate term
    of ``Q_i`` (:func:`control_variate_terms`), so the mean equals the combination of the
    reported ``Q_h`` and ``Q_c``, and the SE carries their correlation.  The two are strongly
    correlated: with the flows as controls, ``Q_c_flow = -(omega_c/omega_h) Q_h_flow`` per
    trajectory for an exchange interaction, so adding the two SEs in quadrature (as if
    independent) overstates the SE of ``sigma`` several-fold.  The SE uses the factor of one
    current's fit (:func:`_mean_and_se` with the larger ``K`` of the two); measured on
    synthetic data with the flow as the only control, it is 6-8 % low at ``M = 8`` and within
    2 % from ``M = 16`` (the two-coefficient Lavenberg-Welch factor would be 13-16 % high at
    ``M = 8``).  ``(inf, nan)`` when a temperature is zero.
    """
    if model.T_h == 0.0 or model.T_c == 0.0:
        return math.inf, math.nan
    z_h, k_h = control_variate_terms(per_trajectory["Q_h"], current_controls(per_trajectory, "Q_h"))
    z_c, k_c = control_variate_terms(per_trajectory["Q_c"], current_controls(per_trajectory, "Q_c"))
    return _mean_and_se(-z_h / model.T_h - z_c / model.T_c, max(k_h, k_c))


def quantity_estimate(per_trajectory: pd.DataFrame, name: str) -> tuple[float, float]:
    """Estimate and standard error of one linear quantity or current over trajectories."""
    x = per_trajectory[name]
    if name in FLOW_PARTNERS:
        return control_variate_mean(x.to_numpy(), current_controls(per_trajectory, name))
    return float(x.mean()), _se(x)


def estimate(
    model: PaperModel, per_trajectory: pd.DataFrame, quantities: str = "all"
) -> tuple[dict[str, float], dict[str, float]]:
    """Means and standard errors over trajectories (control variates for the counted
    currents, jackknife for the product form) of the counted currents and the
    ``quantities`` selection; ``se`` also holds the SE of the entropy production
    (:func:`entropy_production_estimate`)."""
    q = model_system(model).quantity_set(quantities)
    df = per_trajectory.sort_values("trajectory")
    M = len(df)
    cols = list(dict.fromkeys([*COUNTED, *q.names]))
    means, ses = {}, {}
    for c in cols:
        means[c], ses[c] = quantity_estimate(df, c)
    prod = prod_se = q.product_form(means)  # None when the selection lacks its pieces
    if prod is not None:
        prod, prod_se = float(prod), math.nan
        if M > 1:
            sums = {c: df[c].to_numpy().sum() for c in cols}
            loo = {c: (sums[c] - df[c].to_numpy()) / (M - 1) for c in cols}
            jk = np.asarray(q.product_form(loo))
            prod_se = float(math.sqrt((M - 1) / M * np.sum((jk - jk.mean()) ** 2)))
    values = order_values(means, prod)
    se = order_values(ses, prod_se)
    se["entropy_production"] = entropy_production_estimate(model, df)[1]
    return values, se


def simulate(
    model: PaperModel,
    options: TrajectoryOptions | None = None,
    *,
    progress: bool = True,
    save: str | os.PathLike | None = None,
    overwrite: bool = False,
    **keywords: Any,
) -> TrajectoryResult:
    """Estimate the steady state of ``model`` from quantum-jump trajectories.

    Parameters
    ----------
    model : PaperModel
    options : TrajectoryOptions, optional
        The run's options; or give them as keywords (``t_final=..., trajectories=...``), which
        build a :class:`TrajectoryOptions` (see it for every option and its default).
    progress : bool
        Progress bar (tqdm, on a terminal or in a notebook) and notes on stderr for runs with
        more than one batch.
    save : path, optional
        Directory for the run's Parquet summaries and metadata (:func:`write_run`).  Each
        finished batch of trajectories is stored atomically under ``save/batches`` as it
        completes, keyed by the model, options, seed and qjump version, so an interrupted
        run resumes where it stopped when called again with the same arguments.  A directory
        that holds a different run is refused unless ``overwrite=True``, which removes the
        old run's files first.
    overwrite : bool
        Replace a different run stored in ``save``.

    Returns
    -------
    TrajectoryResult
        Same keys as :func:`qjump.exact` (with ``quantities="essential"``: the counted
        currents and the essential selection), each with a standard error; ``info`` holds
        ``simulated_time``, ``jumps``, ``wall_time_s``, ``burn_in``, ``trajectories``,
        ``seed``, the relaxation time used for the burn-in, the package ``versions`` and,
        with a precision target, ``target``.

    Notes
    -----
    Precision targets (``target_rel_se`` or ``target_se``): after a pilot of ``trajectories``
    trajectories (exactly the run without a target), the run is extended in rounds of new
    trajectories (ids continue), each round as many as the SE says are still needed (at most
    doubling the run), until the standard error of ``target_quantity`` reaches the goal, or
    ``max_wall`` seconds or ``max_time`` simulated time units are spent.  Under ``max_wall``
    the first round is one trajectory per worker and every later round (the rest of the
    pilot included) is trimmed to what fits in the time left, in multiples of the workers,
    at :data:`WALL_MARGIN` times the slowest wall time per ``workers`` trajectories measured
    since the first round, and within four such rounds of the cap to ``workers`` trajectories.
    ``max_wall`` is also a hard deadline: the trajectories of a round still running when it
    passes are abandoned, and the whole round is left out of the result (``abandoned`` in
    the report), so the run ends within ``max_wall`` plus the assembly of the result.  A
    run stopped before its pilot is complete reports no goal (``target_se`` is ``None``);
    one that finishes no trajectory at all raises
    :class:`~qjump.trajectories.trajectory.WallTimeExceeded`.  An absolute target
    (``target_se``) stops on the standard error alone.  A relative target stops at the first
    complete round whose SE is at most ``target_rel_se * |mean|`` of all trajectories so far
    (the sequential relative-precision rule of Chow and Robbins 1965), so a met target means
    ``achieved_rel_se <= target_rel_se`` for the reported value.  Runs whose mean happens to
    be large stop slightly earlier, which biases the mean by about ``2 target_rel_se**2``
    relative: on Gaussian samples (mean 1, standard deviation 2, pilot 8, this round rule,
    20000 runs) 0.10 SE at a 5 % target and 0.20 SE at 10 %, where a goal fixed from the
    pilot's mean gave 0.11 and 0.18 SE, a root-mean-square error of 1.23 target SEs instead
    of 1.00, and 3.7x the samples (a small pilot mean sets a needlessly tight goal).
    A mean of exactly zero after four pilots' worth of trajectories stops the run with
    ``zero_value``.  ``info["target"]`` reports the goal (``target_se``, from the final mean
    for a relative target), the achieved SE and relative SE, whether the goal was met and
    what stopped the run.
    """
    t0 = time.perf_counter()
    if options is None:
        options = TrajectoryOptions(**keywords)
    elif keywords:
        options = options.replace(**keywords)
    # before anything of model size is built; each local worker process builds its own copy
    workers = 1
    if options.executor == "loky":
        workers = min(options.workers, options.trajectories, 64)
    resources = check_trajectory_resources(model, quantities=options.quantities, workers=workers)
    spec, info = make_spec(model, options)
    info["estimated_cpu_s_per_time_unit"] = resources.seconds_per_time_unit
    selected = model_system(model).quantity_set(options.quantities).names  # names only
    if options.has_target and options.target_quantity not in (*COUNTED, *selected):
        raise ValueError(
            f"target_quantity: unknown quantity {options.target_quantity!r}; allowed: the "
            f"linear quantities of qjump.exact (e.g. Q_h, Q_c, W, C_loc) that quantities="
            f"{options.quantities!r} samples"
        )
    store = MemoryStore()
    if save is not None:
        store = TaskStore(prepare_run_directory(Path(save), model, options, overwrite))
    frames: list[dict[str, pd.DataFrame]] = []
    target_info = None
    if not options.has_target:
        frames = run_block(model, spec, options, range(options.trajectories), store, progress)
    else:
        frames, target_info = run_to_target(model, spec, options, store, progress, t0)
    if options.trajectories < 2 and not options.has_target:
        warnings.warn(
            "trajectories=1: no standard error is available (it needs >= 2 trajectories)",
            stacklevel=2,
        )
    info["options"] = options.to_dict()
    info["versions"] = package_versions()
    if target_info is not None:
        info["target"] = target_info
    result = assemble(model, spec, frames, seed=options.seed, t0=t0, info=info)
    if save is not None:
        write_run(Path(save), result)
    return result


def run_block(
    model: PaperModel,
    spec: TrajectorySpec,
    options: TrajectoryOptions,
    ids: range,
    store,
    progress: bool,
    deadline: float | None = None,
) -> list[dict[str, pd.DataFrame]]:
    """Run the trajectories ``ids`` as tasks (at most 64 batches) and return their frames.

    With a wall-clock ``deadline`` (``time.time()``), raises
    :class:`~qjump.trajectories.trajectory.WallTimeExceeded` when a batch passes it; the
    batches finished before are in ``store``."""
    tasks = []
    for batch in batch_layout(len(ids)):
        batch_ids = [ids[i] for i in batch]
        params = {"model": model.to_dict(), "spec": dataclasses.asdict(spec), "ids": batch_ids}
        seeds = [trajectory_seed(options.seed, i) for i in batch_ids]
        args = {"model": model, "spec": spec, "ids": batch_ids, "seeds": seeds}
        if deadline is not None:
            args["deadline"] = deadline
        tasks.append(
            Task.make(
                "trajectory-batch",
                _batch_task,
                params,
                options.seed,
                args=args,
                label=f"trajectories {batch_ids[0]}-{batch_ids[-1]}",
            )
        )
    payloads = run_tasks(
        tasks,
        store,
        backend=options.executor,
        n_jobs=options.n_jobs,
        quiet=not (progress and len(tasks) > 1),
        label="trajectory batches",
    )
    return [payloads[t.key].frames for t in tasks]


#: Under ``max_wall`` a round starts only if this many times its expected wall time is left.
WALL_MARGIN = 1.25


def run_to_target(
    model: PaperModel,
    spec: TrajectorySpec,
    options: TrajectoryOptions,
    store,
    progress: bool,
    t0: float,
) -> tuple[list[dict[str, pd.DataFrame]], dict[str, Any]]:
    """Extend a run by rounds of trajectories until its precision target is met (see
    :func:`simulate`, Notes).  Returns the frames and the ``target`` report."""
    q = options.target_quantity
    M = options.trajectories
    workers = options.workers
    frames: list[dict[str, pd.DataFrame]] = []
    done = rounds = abandoned = 0
    goal = options.target_se
    stopped_by = None
    deadline = None
    sub_round_walls: list[float] = []  # wall per `workers` trajectories, round by round
    if options.max_wall is not None:
        deadline = time.time() + options.max_wall - (time.perf_counter() - t0)
    while True:
        # the pilot is M trajectories; under a wall cap its first round is one per worker, so
        # the cap also governs the rest of the pilot
        n_new = M if options.max_wall is None else min(M, workers)
        if done:
            per = pd.concat([f["per_trajectory"] for f in frames])
            mean, se = quantity_estimate(per, q)
            if options.target_rel_se is not None and done >= M and mean != 0.0:
                goal = options.target_rel_se * abs(mean)  # from every trajectory so far
            if goal is None and done >= 4 * M:
                stopped_by = "zero_value"  # a relative SE of a vanishing value is undefined
                break
            if goal is not None and done >= M and math.isfinite(se) and se <= goal:
                stopped_by = "target"  # judged on complete pilots only
                break
            n_new = done  # at most doubling
            if done < M:
                n_new = M - done  # the rest of the pilot
            elif goal is not None and math.isfinite(se) and se > 0:  # SE ~ 1/sqrt(M)
                n_new = max(1, min(done, math.ceil(done * (se / goal) ** 2) - done))
            if options.max_wall is not None:
                # `workers` trajectories at a time, at the slowest wall cost seen since the
                # first round (which also pays for starting the workers), with a margin: a
                # round the deadline cuts is lost whole
                per_round = WALL_MARGIN * max(sub_round_walls[1:] or sub_round_walls)
                left = options.max_wall - (time.perf_counter() - t0)
                fits = int(left // per_round)
                if fits < 1:
                    stopped_by = "max_wall"
                    break
                # near the end one trajectory per worker at a time, so that a cut loses less
                n_new = min(n_new, workers if fits <= 4 else fits * workers)
            if options.max_time is not None:
                room = int(options.max_time // spec.measured_time) - done
                if room < 1:
                    stopped_by = "max_time"
                    break
                n_new = min(n_new, room)
        # one call per round (at most 64 tasks), so long runs do not pay a dispatch per block
        started = time.perf_counter()
        try:
            new = run_block(
                model, spec, options, range(done, done + n_new), store, progress, deadline
            )
        except WallTimeExceeded:
            # the whole round is dropped: which of its trajectories finish in time depends on
            # their cost, so keeping the finished ones would favour cheap trajectories
            abandoned = n_new
            stopped_by = "max_wall"
            break
        sub_round_walls.append((time.perf_counter() - started) / math.ceil(n_new / workers))
        frames += new
        done += n_new
        rounds += 1
    if not frames:
        raise WallTimeExceeded(
            f"max_wall: no trajectory finished within {options.max_wall:g} s (the first "
            f"{abandoned} trajectories of {spec.t_final:g} time units each were abandoned); "
            f"allow more wall time or run shorter trajectories (t_final, burn_in)"
        )
    per = pd.concat([f["per_trajectory"] for f in frames])
    mean, se = quantity_estimate(per, q)
    if options.target_rel_se is not None and done >= M and mean != 0.0:
        goal = options.target_rel_se * abs(mean)
    report = {
        "quantity": q,
        "target_rel_se": options.target_rel_se,
        "target_se": goal,
        "achieved_se": se,
        "achieved_rel_se": se / abs(mean) if mean != 0 else math.inf,
        "met": stopped_by == "target",
        "stopped_by": stopped_by,
        "rounds": rounds,
        "abandoned": abandoned,
    }
    return frames, report


def _se(x: pd.Series) -> float:
    return float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan


def package_versions() -> dict[str, str]:
    """Versions of qjump and of the numerical libraries that shape its results."""
    import numba
    import scipy

    from .. import __version__

    return {
        "qjump": __version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
    }


def _batch_task(model, spec, ids, seeds, deadline=None):
    # the deadline is not part of the task key: a batch either finishes, with the result the
    # key stands for, or raises and stores nothing
    return run_batch(model, spec, ids, seeds, deadline), {}


RUN_FILES = (
    "windows.parquet",
    "trajectories.parquet",
    "records.parquet",
    "estimates.json",
    "metadata.json",
)


def prepare_run_directory(
    directory: Path, model: PaperModel, options: TrajectoryOptions, overwrite: bool
) -> Path:
    """Check ``directory`` for a different run (refused unless ``overwrite``) and return the
    folder of its batch cache.

    The run's identity is its model and every option but the execution ones (``n_jobs``,
    ``backend``), which do not change results.  With ``overwrite`` the old run's files and
    batch cache are removed, so stale files never sit beside new ones.
    """
    identity = _run_identity(model, options)
    meta_path = directory / "metadata.json"
    if meta_path.exists():
        try:
            old = json.loads(meta_path.read_text())
            old = {"model": old.get("model"), "options": old.get("options")}
        except (OSError, ValueError, AttributeError):
            old = None
        if old != identity:
            if not overwrite:
                raise ValueError(
                    f"save: {directory} holds a different run (another model, options or "
                    "seed); choose another directory or pass overwrite=True (--overwrite) to "
                    "replace it"
                )
            for name in RUN_FILES:
                (directory / name).unlink(missing_ok=True)
            shutil.rmtree(directory / "batches", ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    _atomic_write(meta_path, {**identity, "complete": False})
    return directory / "batches"


def _run_identity(model: PaperModel, options: TrajectoryOptions) -> dict[str, Any]:
    opts = {k: v for k, v in options.to_dict().items() if k not in ("n_jobs", "backend")}
    return {"model": model.to_dict(), "options": opts}


def _atomic_write(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, allow_nan=False))
    os.replace(tmp, path)


def write_run(directory: Path, result: TrajectoryResult) -> None:
    """Write a run's summaries (Parquet) and metadata (JSON) atomically into ``directory``.

    Files: ``windows.parquet``, ``trajectories.parquet``, ``records.parquet`` (when kept),
    ``estimates.json`` and ``metadata.json`` (model, options, seed, qjump and library
    versions, and ``complete: true`` once everything is written).
    """
    directory.mkdir(parents=True, exist_ok=True)
    frames = {"windows": result.windows, "trajectories": result.per_trajectory}
    if result.records is not None:
        frames["records"] = result.records
    for name, df in frames.items():
        tmp = directory / f".{name}.parquet.tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, directory / f"{name}.parquet")
    _atomic_write(directory / "estimates.json", result.to_dict())
    options = TrajectoryOptions(**result.info["options"])
    meta = {
        **_run_identity(result.model, options),
        "seed": result.info["seed"],
        "qjump_version": result.info["versions"]["qjump"],
        "versions": result.info["versions"],
        "complete": True,
    }
    _atomic_write(directory / "metadata.json", meta)


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
    values, se = estimate(model, per, spec.quantities)
    info = dict(info)
    info.update(
        {
            "trajectories": len(per),
            "t_final": spec.t_final,
            "burn_in": spec.burn_in,
            "initial_state": spec.initial_state,
            "window": spec.window,
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
