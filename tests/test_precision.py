"""High-statistics validation of the jump engine against exact results (slow tier).

Each run's length is chosen from the exact heat diffusion so that the relative standard error
of Q_h is just below the target (physics notes §5: simulated time ~ D/(eps^2 Q^2)); the test
asserts the achieved relative SE as well as agreement within K_SE standard errors, so a bias
of 3 % fails (3 % > 4 x 0.9 % is not guaranteed at 1 %, hence the 0.75 % design target).
"""

from __future__ import annotations

import math

import pytest

import qjump

K_SE = 4.0
TRAJECTORIES = 64
N2_SCENARIOS = [
    (d, i) for d in ("independent", "common", "cascaded") for i in ("all-to-all", "pairwise")
]
N2_IDS = [f"{d[:3]}({1 if i == 'all-to-all' else 2})" for d, i in N2_SCENARIOS]

#: parts that are time averages of conditional expectations: their relative SE at the budget
#: of the currents (measured with these seeds; the limits below are asserted)
PART_LIMITS = {
    "Q_h_loc": 0.02,
    "Q_c_loc": 0.02,
    "W_loc": 0.05,
    "C_loc": 0.05,
}


def t_final_for(model: qjump.PaperModel, rel_se: float) -> float:
    """Trajectory length giving a relative SE of Q_h of about ``rel_se`` with 64 trajectories."""
    st = qjump.counting_statistics(model, "h")
    total = st.heat_diffusion / (st.heat_mean**2 * rel_se**2)
    return float(math.ceil(total / TRAJECTORIES / 100.0) * 100.0)


def check(res, ex, name, rel_limit):
    est, se, exact = res[name], res.se[name], ex[name]
    rel = se / abs(exact)
    z = (est - exact) / se
    print(f"{name:10s} {est:+.6e} +- {se:.2e} exact {exact:+.6e}  rel SE {rel:.3%}  z {z:+.2f}")
    assert rel <= rel_limit, f"{name}: relative SE {rel:.3%} above {rel_limit:.1%}"
    assert abs(z) < K_SE, f"{name}: z = {z:.2f}"


@pytest.mark.slow
@pytest.mark.parametrize(("dissipation", "interaction"), N2_SCENARIOS, ids=N2_IDS)
def test_currents_at_one_percent(dissipation, interaction):
    """Q_h, Q_c, W at relative SE <= 1 % (design 0.75 %), N = 2, omega_h = 1.5; the local
    parts and C_loc at the precision of PART_LIMITS; the non-local parts within 4 SE (for
    ind they vanish identically, for com/cas their SE is stated by the print)."""
    model = qjump.PaperModel(omega_h=1.5, dissipation=dissipation, interaction=interaction)
    ex = qjump.exact(model)
    res = qjump.simulate(model, t_final=t_final_for(model, 0.0075), trajectories=TRAJECTORIES,
                         seed=2024, initial_state="steady", sample_interval=10.0, n_jobs=2)
    for name in ("Q_h", "Q_c", "W"):
        check(res, ex, name, 0.01)
    for name, limit in PART_LIMITS.items():
        check(res, ex, name, limit)
    for name in ("Q_h_nonloc", "Q_c_nonloc", "W_nonloc", "C_nonloc"):
        if dissipation == "independent":
            assert res[name] == 0.0 and ex[name] == 0.0
        else:
            check(res, ex, name, math.inf)


@pytest.mark.slow
def test_currents_at_two_percent_n3():
    """N = 3, cas(2): Q_h, Q_c, W at relative SE <= 2 % (design 1.5 %)."""
    model = qjump.PaperModel(N=3, omega_h=1.5, dissipation="cascaded", interaction="pairwise")
    ex = qjump.exact(model)
    res = qjump.simulate(model, t_final=t_final_for(model, 0.015), trajectories=TRAJECTORIES,
                         seed=2025, initial_state="steady", sample_interval=10.0, n_jobs=2)
    for name in ("Q_h", "Q_c", "W"):
        check(res, ex, name, 0.02)
    check(res, ex, "C_loc", 0.1)
