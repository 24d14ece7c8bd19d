"""Shared helpers for the physics tests.

BLAS is limited to one thread: the matrices are tiny (<= 256 x 256 dense) and threaded BLAS
only adds overhead (measured: 2x slower per steady state on this machine).
"""

from __future__ import annotations

import functools
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import scipy.linalg  # noqa: E402,F401  (load the BLAS before limiting it)
import threadpoolctl  # noqa: E402

threadpoolctl.threadpool_limits(1)

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import qjump  # noqa: E402

#: the paper's six scenarios (Sec. IV): (dissipation, interaction type)
SCENARIOS = [
    (d, i) for d in ("independent", "common", "cascaded") for i in ("all-to-all", "pairwise")
]
SCENARIO_IDS = [f"{d[:3]}({1 if i == 'all-to-all' else 2})" for d, i in SCENARIOS]


@functools.lru_cache(maxsize=4096)
def exact_cached(model: qjump.PaperModel):
    """``qjump.exact`` cached per (frozen, hashable) model."""
    return qjump.exact(model)


def paper_model(dissipation: str, interaction: str, omega_h: float, **kw) -> qjump.PaperModel:
    """The figure parameters of the paper (Figs. 2-4), N = 2, omega_c = 1."""
    return qjump.PaperModel(
        N=2,
        omega_h=omega_h,
        omega_c=1.0,
        T_h=2.0,
        T_c=1.0,
        g_h=(0.5, 0.55),
        g_c=(0.5, 0.55),
        Omega=0.1,
        interaction=interaction,
        dissipation=dissipation,
        **kw,
    )


def current_scale(model: qjump.PaperModel) -> float:
    """Largest gross energy flux the baths can drive: sets the size of round-off in currents."""
    s = 0.0
    for omega, T, g in (
        (model.omega_h, model.T_h, model.g_h),
        (model.omega_c, model.T_c, model.g_c),
    ):
        n = 0.0 if T == 0 else 1.0 / np.expm1(omega / T)
        s = max(s, omega * (2 * n + 1) * float(np.sum(np.square(g))) * len(g))
    return s


@pytest.fixture(params=SCENARIOS, ids=SCENARIO_IDS)
def scenario(request):
    return request.param


#: the planted-bug campaign is a script, not a test module
collect_ignore = ["mutations"]
