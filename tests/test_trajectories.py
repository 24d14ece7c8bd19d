"""The quantum-jump engine against exact results (fixed seeds, bounds of a few SE).

Every statistical assertion uses the standard error computed from the trajectories
themselves; expected values come from the exact solver or closed forms.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import stats

import qjump
from qjump.liouville.dynamics import evolve_states
from qjump.system import model_system
from qjump.trajectories.ensemble import simulate
from qjump.trajectories.trajectory import TrajectorySpec, run_trajectory, trajectory_seed

SCENARIOS = [
    (d, i) for d in ("independent", "common", "cascaded") for i in ("all-to-all", "pairwise")
]
K_SE = 4.0


def assert_within(name, est, se, exact, k=K_SE):
    if se == 0.0:
        assert abs(est - exact) < 1e-12, f"{name}: {est} vs exact {exact} with zero SE"
        return
    z = (est - exact) / se
    assert abs(z) < k, f"{name}: estimate {est:.6g} +- {se:.2g}, exact {exact:.6g}, z = {z:.2f}"


@pytest.mark.parametrize(
    "omega_h",
    [1.5, pytest.param(0.5, marks=pytest.mark.slow), pytest.param(2.5, marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("dissipation,interaction", SCENARIOS)
def test_steady_state_estimates_agree_with_exact(dissipation, interaction, omega_h):
    """Modest statistics (relative SE of Q_h 5-10 %): a smoke test of every estimator.  The
    1 % validation is test_currents_at_one_percent (slow tier)."""
    model = qjump.PaperModel(omega_h=omega_h, dissipation=dissipation, interaction=interaction)
    ex = qjump.exact(model)
    res = simulate(model, t_final=4_000, trajectories=16, seed=11, initial_state="steady")
    for name in ("Q_h", "Q_c", "W", "C_loc", "C_nonloc", "W_loc", "W_nonloc", "pop_h1"):
        assert_within(name, res[name], res.se[name], ex[name])
    # same keys, so the comparison is one subtraction
    diff = res.to_series() - ex.to_series()
    assert list(diff.index) == list(ex.to_series().index)


def test_thermal_start_with_default_burn_in_is_unbiased():
    model = qjump.PaperModel(dissipation="cascaded", interaction="pairwise")
    ex = qjump.exact(model)
    res = simulate(model, t_final=8_000, trajectories=24, seed=5)  # default burn-in
    assert res.info["burn_in"] == pytest.approx(5 * res.info["relaxation_time"])
    assert "burn_in_warning" not in res.info
    for name in ("Q_h", "W", "C_loc", "pop_c2"):
        assert_within(name, res[name], res.se[name], ex[name])


def test_short_burn_in_is_flagged():
    model = qjump.PaperModel(dissipation="common", interaction="all-to-all")
    with pytest.warns(UserWarning, match="relaxation times"):
        res = simulate(model, t_final=300, burn_in=100, trajectories=2, seed=1)
    assert "burn_in_warning" in res.info


def _single_tls(omega_h=1.3, T_h=1.7, g=0.8):
    # N = 1 and Omega = 0: the hot TLS is alone with its bath
    return qjump.PaperModel(
        N=1, omega_h=omega_h, T_h=T_h, g_h=[g], g_c=[0.6], Omega=0.0, dissipation="independent"
    )


@pytest.mark.filterwarnings("ignore:burn_in 0 is shorter")  # transients are part of the test
def test_single_tls_waiting_times_are_exponential_with_exact_rates():
    model = _single_tls()
    n = model.n_h
    g2 = model.g_h[0] ** 2
    absorb, emit = g2 * n, g2 * (n + 1)
    res = simulate(
        model,
        t_final=4_000,
        burn_in=0,
        trajectories=4,
        seed=3,
        initial_state="ground",
        records=True,
    )
    rec = res.records
    after_emission, after_absorption = [], []
    for _, tr in rec[rec["bath"] == "h"].groupby("trajectory"):
        t = tr["time"].to_numpy()
        kinds = tr["kind"].to_numpy()
        gaps = np.diff(t)
        after_emission += list(gaps[kinds[:-1] == "emission"])
        after_absorption += list(gaps[kinds[:-1] == "absorption"])
        # a lone TLS alternates absorption and emission
        assert np.all(kinds[1:] != kinds[:-1])
    assert len(after_emission) > 2000
    p1 = stats.kstest(after_emission, "expon", args=(0, 1 / absorb)).pvalue
    p2 = stats.kstest(after_absorption, "expon", args=(0, 1 / emit)).pvalue
    assert p1 > 1e-3 and p2 > 1e-3, (p1, p2)
    # mean rate of hot-bath jumps: 2 g^2 n (n+1) / (2n+1) per unit time
    per = res.per_trajectory
    rate = (per["jumps"] / res.info["t_final"]).to_numpy()  # both baths
    cold_n = model.n_c
    expected = 2 * g2 * n * (n + 1) / (2 * n + 1) + 2 * 0.36 * cold_n * (cold_n + 1) / (
        2 * cold_n + 1
    )
    assert_within("jump rate", rate.mean(), rate.std(ddof=1) / math.sqrt(rate.size), expected)
    # excited population n/(2n+1)
    assert_within("pop_h1", res["pop_h1"], res.se["pop_h1"], n / (2 * n + 1))


@pytest.mark.filterwarnings("ignore:burn_in 0 is shorter")  # the transient is the test
@pytest.mark.parametrize("dissipation", ["common", "cascaded"])
def test_relaxation_from_ground_state_matches_exact_evolution(dissipation):
    """Time-resolved check: the ensemble-averaged conditional energy at window edges and the
    populations averaged over [0, t] follow the exact rho(t) of the project's Liouvillian."""
    model = qjump.PaperModel(dissipation=dissipation, interaction="all-to-all", omega_h=2.5)
    ctx = model_system(model)
    x0 = np.zeros(ctx.space.size, complex)
    x0[0] = 1.0  # ground state
    t_final, window, dt = 6.0, 0.5, 0.05
    res = simulate(
        model,
        t_final=t_final,
        burn_in=0,
        trajectories=2000,
        seed=17,
        initial_state="ground",
        window=window,
        sample_interval=dt,
    )
    edges = np.arange(0, t_final + 1e-9, window)
    rho_t = evolve_states(model, x0, edges)
    q = ctx.quantities
    exact_energy = np.array([q.evaluate(x)["energy"] for x in rho_t])
    w = res.windows
    e_start = w.groupby("window")["energy_start"]
    est = e_start.mean().to_numpy()
    se = (e_start.std(ddof=1) / np.sqrt(e_start.count())).to_numpy()
    for j in range(1, len(est)):
        assert_within(f"energy(t={edges[j]})", est[j], se[j], exact_energy[j])
    # populations averaged over the sample grid (j + 1/2) dt
    grid = (np.arange(int(round(t_final / dt))) + 0.5) * dt
    rho_g = evolve_states(model, x0, grid)
    for name in ("pop_h1", "pop_c2"):
        exact_avg = np.mean([q.evaluate(x)[name] for x in rho_g])
        assert_within(name, res[name], res.se[name], exact_avg)


def test_seeds_replay_and_n_jobs_independence():
    model = qjump.PaperModel(dissipation="independent", interaction="pairwise")
    kw = dict(t_final=400, burn_in=50, trajectories=6, records=True, window=50)
    a = simulate(model, seed=7, n_jobs=1, **kw)
    b = simulate(model, seed=7, n_jobs=2, **kw)
    c = simulate(model, seed=8, n_jobs=1, **kw)
    assert a.records.equals(b.records)
    assert a.windows.equals(b.windows)
    assert a.per_trajectory.equals(b.per_trajectory)
    assert a.values == b.values
    assert not a.records.equals(c.records)
    # any single trajectory replays from the run seed and its id
    spec = TrajectorySpec(
        t_final=400,
        burn_in=50,
        window=50,
        sample_interval=2.0,
        initial_state="thermal",
        records=True,
    )
    out = run_trajectory(model, spec, trajectory_seed(7, 4))
    rec4 = a.records[a.records["trajectory"] == 4]
    np.testing.assert_array_equal(out.record_time, rec4["time"].to_numpy())


def test_a_deadline_splits_the_loop_without_changing_the_trajectory(monkeypatch):
    """With a deadline the compiled loop returns every few jumps to read the clock; the
    trajectory is the same bit for bit.  A deadline that has passed abandons it."""
    from qjump.trajectories import trajectory

    model = qjump.PaperModel(dissipation="common", interaction="pairwise", omega_h=1.5)
    spec = TrajectorySpec(
        t_final=3000,
        burn_in=50,
        window=100,
        sample_interval=2.0,
        initial_state="thermal",
        records=True,
    )
    times = np.linspace(0.0, 3000.0, 7)
    whole = run_trajectory(model, spec, trajectory_seed(9, 2), observe_times=times)
    assert whole.record_time.size > 500  # as many returns to Python below
    monkeypatch.setattr(trajectory, "DEADLINE_CHECK_WORK", 1)  # a return after every jump
    split = run_trajectory(
        model, spec, trajectory_seed(9, 2), observe_times=times, deadline=time.time() + 3600
    )
    for field in ("counts", "edge_energy", "state_sum", "record_time", "record_channel"):
        np.testing.assert_array_equal(getattr(split, field), getattr(whole, field))
    np.testing.assert_array_equal(split.observed, whole.observed)
    assert split.n_samples == whole.n_samples
    with pytest.raises(trajectory.WallTimeExceeded, match="t_final = 3000"):
        run_trajectory(model, spec, trajectory_seed(9, 2), deadline=time.time() - 1.0)


def test_records_schema_and_heat_bookkeeping():
    model = qjump.PaperModel(dissipation="independent", interaction="all-to-all")
    res = simulate(model, t_final=300, burn_in=20, trajectories=3, seed=2, records=True, window=40)
    rec = res.records
    assert list(rec.columns) == ["trajectory", "time", "bath", "kind", "channel", "heat"]
    assert set(rec["channel"]) <= {"1", "2"}
    assert (rec["time"] >= 20).all() and (rec["time"] < 300).all()
    # heat from the records equals omega * (absorptions - emissions) in the windows
    heat_h = rec[rec["bath"] == "h"].groupby("trajectory")["heat"].sum()
    win = res.windows.groupby("trajectory")["heat_h"].sum()
    np.testing.assert_allclose(heat_h.to_numpy(), win.to_numpy(), atol=1e-9)
    # each jump moves one quantum omega_i; absorptions bring energy into the system
    omega = rec["bath"].astype(str).map({"h": model.omega_h, "c": model.omega_c}).to_numpy()
    sign = rec["kind"].astype(str).map({"absorption": 1.0, "emission": -1.0}).to_numpy()
    np.testing.assert_allclose(rec["heat"].to_numpy(), sign * omega, rtol=0, atol=1e-15)
    # windows tile the measured interval
    w = res.windows
    assert np.isclose(w.groupby("trajectory")["t_end"].max(), 300).all()


def test_collective_channels_are_labelled():
    model = qjump.PaperModel(dissipation="common")
    res = simulate(
        model, t_final=100, burn_in=0, initial_state="steady", trajectories=2, seed=1, records=True
    )
    assert set(res.records["channel"]) == {"collective"}
    assert set(res.records["kind"]) == {"absorption", "emission"}


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(trajectories=0), "trajectories"),
        (dict(t_final=10, burn_in=10), "t_final"),
        (dict(seed=-1), "seed"),
        (dict(n_jobs=0), "n_jobs"),
        (dict(initial_state="hot"), "initial_state"),
        (dict(t_final=float("nan")), "t_final"),
    ],
)
def test_bad_simulation_input_is_rejected(kwargs, match):
    base = dict(t_final=100, burn_in=1, trajectories=2, seed=0)
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        simulate(qjump.PaperModel(), **base)


@pytest.mark.parametrize(
    "dissipation,interaction,t_final",
    [
        ("independent", "all-to-all", 1_000),
        ("cascaded", "pairwise", 2_000),
        pytest.param("common", "pairwise", 10_000, marks=pytest.mark.slow),
    ],
)
def test_standard_error_of_heat_current_is_honest(dissipation, interaction, t_final):
    """SE of the counted Q_h from the spread between 200 trajectories ~ sqrt(D_h / simulated
    time), with D_h the exact heat diffusion from full counting statistics (physics notes §5).

    With M = 200 the sample SE scatters by 1/sqrt(2(M - 1)) = 5 %, and the finite-T bias of
    Var(K(T))/T is O(tau_relax/T) < 2 % here, so the band 0.8-1.25 is about 4 SE wide."""
    model = qjump.PaperModel(dissipation=dissipation, interaction=interaction)
    D = qjump.counting_statistics(model, bath="h").heat_diffusion
    res = simulate(
        model,
        t_final=t_final,
        trajectories=200,
        seed=21,
        initial_state="steady",
        sample_interval=50.0,
        n_jobs=2,
    )
    predicted = math.sqrt(D / res.info["simulated_time"])
    counted = res.per_trajectory["Q_h"].std(ddof=1) / math.sqrt(len(res.per_trajectory))
    assert 0.8 < counted / predicted < 1.25, (counted, predicted)
    # the reported Q_h adds the flow as a control variate: never worse than counting alone
    assert res.se["Q_h"] <= 1.02 * counted, (res.se["Q_h"], counted)


def test_large_n_needs_an_explicit_burn_in():
    with pytest.raises(ValueError, match="burn_in"):
        simulate(qjump.PaperModel(N=5), t_final=10, trajectories=2)


def _observation_setup():
    """com(1) at omega_h = 2.5 from the ground state, observed at 13 times in [0, 6]."""
    model = qjump.PaperModel(dissipation="common", interaction="all-to-all", omega_h=2.5)
    spec = TrajectorySpec(
        t_final=6.0,
        burn_in=0.0,
        window=1.5,
        sample_interval=0.1,
        initial_state="ground",
        records=True,
    )
    return model, spec, np.linspace(0.0, 6.0, 13)


def test_observe_times_follow_exact_evolution_and_leave_trajectories_unchanged():
    """Explicit observation times: the ensemble mean of the conditional values of every linear
    quantity, generator controls included, follows the exact rho(t); observing draws no
    random numbers; at window edges the observed energy is the recorded edge energy."""
    model, spec, times = _observation_setup()
    ctx = model_system(model)
    q = ctx.quantity_set("all", controls=True)
    names = q.sampled_names
    assert names[-1].startswith("gen_")
    obs = np.array(
        [
            run_trajectory(model, spec, trajectory_seed(5, i), observe_times=times).observed
            for i in range(400)
        ]
    )
    assert obs.shape == (400, times.size, len(names))
    x0 = np.zeros(ctx.space.size, complex)
    x0[0] = 1.0  # ground state
    exact = np.array([np.real(q.functionals @ x) for x in evolve_states(model, x0, times)])
    assert exact.shape == (times.size, len(names))
    mean = obs.mean(axis=0)
    se = obs.std(axis=0, ddof=1) / math.sqrt(obs.shape[0])
    # every trajectory starts in the ground state: exact at t = 0
    np.testing.assert_allclose(mean[0], exact[0], rtol=0, atol=1e-12)
    for i, t in enumerate(times[1:], start=1):
        for q, name in enumerate(names):
            assert_within(f"{name}(t={t})", mean[i, q], se[i, q], exact[i, q])
    assert se[-1, names.index("energy")] > 0.0
    plain = run_trajectory(model, spec, trajectory_seed(5, 3))
    seen = run_trajectory(model, spec, trajectory_seed(5, 3), observe_times=times)
    for field in ("counts", "edge_energy", "state_sum", "record_time", "record_channel"):
        np.testing.assert_array_equal(getattr(plain, field), getattr(seen, field))
    assert plain.n_samples == seen.n_samples and plain.observed is None
    edges = times[::3]  # 0, 1.5, 3, 4.5, 6
    np.testing.assert_allclose(
        seen.observed[::3, names.index("energy")], seen.edge_energy, rtol=0, atol=1e-12
    )
    assert edges.size == spec.n_windows + 1
    with pytest.raises(ValueError, match="observe_times"):
        run_trajectory(model, spec, trajectory_seed(5, 3), observe_times=times[::-1])
    with pytest.raises(ValueError, match="propagator"):
        run_trajectory(model, spec, trajectory_seed(5, 3), propagator="rk4")


@pytest.mark.slow
def test_krylov_propagator_observes_what_the_eigen_one_observes():
    """Explicit observation times through the Krylov propagator (compiled separately, so in
    the slow tier): the same jumps and observed values as the eigen propagator."""
    model, spec, times = _observation_setup()
    seen = run_trajectory(model, spec, trajectory_seed(5, 3), observe_times=times)
    kry = run_trajectory(
        model, spec, trajectory_seed(5, 3), propagator="krylov", observe_times=times
    )
    np.testing.assert_array_equal(kry.record_channel, seen.record_channel)
    np.testing.assert_allclose(kry.observed, seen.observed, rtol=0, atol=1e-6)


def test_default_burn_in_does_not_depend_on_earlier_arpack_calls():
    """The relaxation time behind the default burn-in (ARPACK from N = 3) is the same number
    whatever ARPACK computed before in the process, so a seed replays a run bit for bit in
    any worker (ARPACK's own random start made it differ at the 1e-6 level)."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    from qjump.liouville.steady import relaxation_time

    model = qjump.PaperModel(N=3, omega_h=1.5, dissipation="common", interaction="pairwise")
    relaxation_time.cache_clear()
    first = relaxation_time(model)
    spla.eigs(sp.random(200, 200, density=0.05, random_state=1, format="csr"), k=2)
    relaxation_time.cache_clear()
    assert relaxation_time(model) == first
