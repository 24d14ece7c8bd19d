"""Trajectory estimates of the transient dynamics: every linear quantity at given times.

Owns :func:`dynamics`: the conditional expectation values ``<psi(t)|X_q|psi(t)>/<psi|psi>``
of each trajectory at explicit times (``observe_times`` of
:func:`qjump.trajectories.trajectory.run_trajectory`), averaged over trajectories with
standard errors.
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
from .trajectory import TrajectorySpec, run_trajectory

__all__ = ["dynamics", "observe_trajectory"]


def observe_trajectory(
    model: PaperModel,
    times: np.ndarray,
    initial_state: str,
    seed: np.random.SeedSequence,
    quantities: str = "all",
) -> np.ndarray:
    """Conditional expectation values of one trajectory at ``times`` (sorted, ``>= 0``).

    The trajectory runs to the last time (at least to ``t = 1``); observing draws no random
    numbers, so the path is the one the seed gives without observations.

    Returns
    -------
    ndarray, shape (len(times), n_quantities)
        Columns in the order of the names of ``model_system(model).quantity_set(quantities)``.
    """
    t_final = max(float(times[-1]), 1.0)
    spec = TrajectorySpec(
        t_final=t_final,
        burn_in=0.0,
        window=t_final,
        sample_interval=t_final,
        initial_state=initial_state,
        quantities=quantities,
    )
    return run_trajectory(model, spec, seed, observe_times=times).observed


def _batch(model, times, initial_state, seeds, quantities):
    with threadpool_limits(limits=1):
        return np.stack(
            [observe_trajectory(model, times, initial_state, s, quantities) for s in seeds]
        )


def dynamics(
    model: PaperModel,
    times,
    *,
    initial_state: str = "thermal",
    trajectories: int = 100,
    seed: int = 0,
    n_jobs: int = 1,
    quantities: str = "all",
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
    quantities : {"all", "essential"}
        The observed selection (:data:`qjump.system.quantities.SELECTIONS`); ``essential``
        observes the flows, ``C_loc``, ``energy`` and the populations only, for large N.

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
    selected = model_system(model).quantity_set(quantities)  # validates the selection
    M = int(trajectories)
    seeds = np.random.SeedSequence(int(seed)).spawn(M)
    batches = np.array_split(np.arange(M), min(M, 64))
    model_system(model)  # build the cached operators before the workers copy the model
    if n_jobs == 1:
        parts = [
            _batch(model, times, initial_state, [seeds[i] for i in b], quantities) for b in batches
        ]
    else:
        parts = Parallel(n_jobs=n_jobs)(
            delayed(_batch)(model, times, initial_state, [seeds[i] for i in b], quantities)
            for b in batches
        )
    values = np.concatenate(parts)  # (M, times, quantities)
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / math.sqrt(M)
    names = selected.names
    order = [names.index(n) for n in quantity_order(names)]
    return dynamics_frame(times, [names[i] for i in order], mean[:, order], se[:, order])
