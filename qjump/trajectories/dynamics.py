"""Trajectory estimates of the transient dynamics: every linear quantity at given times.

Owns :func:`dynamics`: the conditional expectation values ``<psi(t)|X_q|psi(t)>/<psi|psi>``
of each trajectory at explicit times, averaged over trajectories with standard errors.

Each trajectory is replayed from its own seed up to each requested time in turn with the
public one-trajectory API (:func:`qjump.trajectories.trajectory.run_trajectory`): the jump times and
channels depend only on the seed, not on where a run stops, so the runs of one trajectory
follow the same path and the observation at ``t_j`` is one sample taken at
``t_j + OBSERVATION_OFFSET``.  The cost per trajectory is ``sum_j t_j``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from ..frames import check_initial_state, check_times, dynamics_frame, quantity_order
from ..model import PaperModel
from ..system.context import model_system
from .kernel import unravelling
from .trajectory import TrajectorySpec, run_trajectory

__all__ = ["OBSERVATION_OFFSET", "dynamics", "observe_trajectory"]

#: The sample of time ``t`` is taken at ``t + OBSERVATION_OFFSET`` (the engine samples at the
#: midpoint of an interval of twice this length that starts at ``t``).
OBSERVATION_OFFSET = 1e-9


def observe_trajectory(
    model: PaperModel, times: np.ndarray, initial_state: str, seed: np.random.SeedSequence
) -> np.ndarray:
    """Conditional expectation values of one trajectory at ``times``.

    Returns
    -------
    ndarray, shape (len(times), n_quantities)
        Columns in the order of :attr:`qjump.system.quantities.QuantitySet.names`.
    """
    q = model_system(model).quantities
    order = np.searchsorted(q.support, unravelling(model).support)
    out = np.empty((len(times), len(q.names)))
    for j, t in enumerate(times):
        spec = TrajectorySpec(
            t_final=float(t) + 2 * OBSERVATION_OFFSET,
            burn_in=float(t),
            window=2 * OBSERVATION_OFFSET,
            sample_interval=2 * OBSERVATION_OFFSET,
            initial_state=initial_state,
        )
        run = run_trajectory(model, spec, seed)
        xs = np.zeros(q.support.size, complex)
        xs[order] = run.state_sum / max(run.n_samples, 1)
        out[j] = q.evaluate_support(xs)
    return out


def _batch(model, times, initial_state, seeds):
    with threadpool_limits(limits=1):
        return np.stack([observe_trajectory(model, times, initial_state, s) for s in seeds])


def dynamics(
    model: PaperModel,
    times,
    *,
    initial_state: str = "thermal",
    trajectories: int = 100,
    seed: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Every linear quantity of :func:`qjump.exact` at the given times, from trajectories.

    The estimate of quantity ``q`` at time ``t`` is the mean over trajectories of the
    conditional expectation value ``<psi(t)|X_q|psi(t)>/<psi(t)|psi(t)>``; it is unbiased
    for ``Tr[X_q rho(t)]`` (the exact value is
    :func:`qjump.liouville.dynamics.exact_dynamics`, same frame layout).  The currents are
    the instantaneous expectation values of the paper's current operators (Eqs. 19-26),
    positive into the system, in ``omega_c^2``.

    Parameters
    ----------
    model : PaperModel
    times : array_like
        Times ``>= 0`` in ``1/omega_c``, strictly increasing.
    initial_state : {"thermal", "ground", "steady"}
        ``thermal``: each trajectory starts in a basis state drawn from the product of each
        TLS's thermal state at its own bath's temperature; ``ground``; ``steady``: an
        eigenvector of the exact steady state drawn with its eigenvalue as probability.
    trajectories : int
        Number of trajectories ``M >= 2``.
    seed : int
        Trajectory ``i`` uses ``SeedSequence(seed).spawn(M)[i]``; results do not depend on
        ``n_jobs``.
    n_jobs : int
        joblib workers (``-1``: all cores).

    Returns
    -------
    pandas.DataFrame
        :data:`qjump.frames.DYNAMICS_COLUMNS`: mean over trajectories and its standard error
        (sample standard deviation over trajectories divided by ``sqrt(M)``).
    """
    times = check_times(times)
    initial_state = check_initial_state(initial_state)
    if isinstance(trajectories, bool) or not isinstance(trajectories, (int, np.integer)):
        raise ValueError(f"trajectories: expected an integer >= 2, got {trajectories!r}")
    if trajectories < 2:
        raise ValueError(f"trajectories: must be >= 2 (for standard errors), got {trajectories}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs: expected a positive integer or -1, got {n_jobs!r}")
    M = int(trajectories)
    seeds = np.random.SeedSequence(int(seed)).spawn(M)
    batches = np.array_split(np.arange(M), min(M, 64))
    model_system(model)  # build the cached operators before the workers copy the model
    if n_jobs == 1:
        parts = [_batch(model, times, initial_state, [seeds[i] for i in b]) for b in batches]
    else:
        parts = Parallel(n_jobs=n_jobs)(
            delayed(_batch)(model, times, initial_state, [seeds[i] for i in b]) for b in batches
        )
    values = np.concatenate(parts)  # (M, times, quantities)
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / math.sqrt(M)
    names = model_system(model).quantities.names
    order = [names.index(n) for n in quantity_order(names)]
    return dynamics_frame(times, [names[i] for i in order], mean[:, order], se[:, order])
