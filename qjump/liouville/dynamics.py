"""Exact transient dynamics: rho(t) of the master equation and every linear quantity at given times.

Owns the preparations (``ground``, ``thermal``, ``steady``) as block vectors and their exact
evolution ``rho(t) = exp(L t) rho(0)`` on the block-diagonal space.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg as la
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..frames import check_initial_state, check_times, dynamics_frame, quantity_order
from ..model import PaperModel
from ..system.context import model_system
from .liouvillian import liouvillian
from .steady import steady_state

__all__ = [
    "DENSE_EXPM_LIMIT",
    "evolve_states",
    "exact_dynamics",
    "initial_vector",
    "propagate",
    "thermal_excitation",
]

#: Up to this many block-space unknowns (N <= 2) ``exp(L t)`` is formed densely (scaling and
#: squaring: cost grows like ``log(||L t||)``); above, ``expm_multiply`` is used (cost grows
#: like ``||L t||``).
DENSE_EXPM_LIMIT = 500


def thermal_excitation(model: PaperModel) -> np.ndarray:
    """Excited-state probability ``n_i / (2 n_i + 1)`` of each qubit ``h1..hN, c1..cN``.

    This is a TLS in equilibrium with its own bath (occupation ``n_i`` at ``omega_i``).
    """
    p_h = model.n_h / (2.0 * model.n_h + 1.0)
    p_c = model.n_c / (2.0 * model.n_c + 1.0)
    return np.array([p_h] * model.N + [p_c] * model.N)


def initial_vector(model: PaperModel, initial_state: str) -> np.ndarray:
    """Block vector of a preparation.

    Parameters
    ----------
    model : PaperModel
    initial_state : {"ground", "thermal", "steady"}
        ``ground``: all TLS in ``|0>``.  ``thermal``: the product of each TLS's thermal state
        at its own bath's temperature (diagonal, hence block diagonal).  ``steady``: the exact
        steady state of :func:`qjump.steady_state`.

    Returns
    -------
    ndarray
        Complex block vector with unit trace.
    """
    initial_state = check_initial_state(initial_state)
    system = model_system(model)
    space, spins = system.space, system.spins
    if initial_state == "steady":
        return steady_state(model).vector.astype(complex)
    x = np.zeros(space.size, complex)
    if initial_state == "ground":
        x[space.offsets[0]] = 1.0
        return x
    p = thermal_excitation(model)
    occ = spins.occupation.astype(bool)
    prob = np.prod(np.where(occ, p[None, :], 1.0 - p[None, :]), axis=1)
    for k, d in enumerate(space.dims):
        basis = spins.sectors[k]
        pos = spins.position[basis]
        x[space.offsets[k] + pos * (d + 1)] = prob[basis]
    return x


def propagate(L: sp.spmatrix, x: np.ndarray, t: float) -> np.ndarray:
    """``exp(L t) x`` for a block Liouvillian ``L`` and block vector(s) ``x`` (``t >= 0``)."""
    if L.shape[0] <= DENSE_EXPM_LIMIT:
        return la.expm(L.toarray() * t) @ x
    return spla.expm_multiply(L * t, x)


def evolve_states(model: PaperModel, x0: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Exact block vectors ``rho(t)`` from ``x0`` at increasing ``times`` (``t >= 0``).

    Each step ``rho(t_{j+1}) = exp(L (t_{j+1} - t_j)) rho(t_j)`` is one :func:`propagate`
    with the cached block Liouvillian, so the times need not be equally spaced.

    Returns
    -------
    ndarray, shape (len(times), len(x0))
    """
    times = check_times(times)
    L = liouvillian(model)
    out = np.empty((times.size, x0.size), complex)
    x = np.asarray(x0, dtype=complex)
    t_prev = 0.0
    for j, t in enumerate(times):
        if t > t_prev:
            x = propagate(L, x, t - t_prev)
        out[j] = x
        t_prev = t
    return out


def exact_dynamics(model: PaperModel, times, *, initial_state: str = "thermal") -> pd.DataFrame:
    """Every linear quantity of :func:`qjump.exact` at the given times, exactly.

    The value of quantity ``q`` at time ``t`` is ``Tr[X_q rho(t)]`` with the operators of
    :class:`qjump.system.quantities.QuantitySet`.  The currents are the instantaneous expectation
    values of the paper's current operators (e.g. ``Q_i = Tr[H0_i D_i(rho(t))]``, Eqs. 22-26,
    and ``W = sum_i Tr[H_I D_i(rho(t))]``, Eqs. 19-21), positive into the system, in units
    of ``omega_c^2``.  Only at long times do they obey the steady-state first law: while the
    system relaxes, ``W + Q_h + Q_c = d<H_S>/dt``.  ``C_nonloc_product`` is not linear in
    ``rho`` and is not included.

    Parameters
    ----------
    model : PaperModel
    times : array_like
        Times ``>= 0`` in ``1/omega_c``, strictly increasing.
    initial_state : {"thermal", "ground", "steady"}
        See :func:`initial_vector`.

    Returns
    -------
    pandas.DataFrame
        Columns ``time, quantity, value, se`` (:data:`qjump.frames.DYNAMICS_COLUMNS`),
        ``se = 0``.
    """
    times = check_times(times)
    x0 = initial_vector(model, initial_state)
    q = model_system(model).quantities
    states = evolve_states(model, x0, times)
    values = np.real(states @ q.functionals.T.toarray())  # (times, quantities)
    names = q.names
    order = [names.index(n) for n in quantity_order(names)]
    return dynamics_frame(
        times, [names[i] for i in order], values[:, order], np.zeros((times.size, len(order)))
    )
