"""Large-N checks: block-space exact solver against full-space constructions, trajectories
against exact at N = 3 and 4, and the propagators against each other.

Fixed seeds; every statistical bound is a few standard errors computed from the samples.
"""

from __future__ import annotations

import numpy as np
import pandas.testing as pd_testing
import pytest
import scipy.linalg as la

import qjump
from qjump.liouville.liouvillian import full_liouvillian
from qjump.liouville.steady import steady_state
from qjump.system import model_system
from qjump.trajectories.ensemble import simulate
from qjump.trajectories.trajectory import TrajectorySpec, run_trajectory, trajectory_seed

SCENARIOS = [
    (d, i) for d in ("independent", "common", "cascaded") for i in ("all-to-all", "pairwise")
]
K_SE = 4.0


def _embed(model, ss) -> np.ndarray:
    """Row-major vector of the full density matrix built from the blocks."""
    return ss.full().reshape(-1)


@pytest.mark.slow  # default-tier budget: 4-6 s here
def test_exact_n3_matches_dense_full_space():
    """N=3: the block solution equals the dense full-space (4096-dim) bordered solution."""
    model = qjump.PaperModel(
        N=3,
        omega_h=1.5,
        dissipation="cascaded",
        interaction="all-to-all",
        Omega=[[0.1, 0.03, -0.02], [0.03, 0.12, 0.0], [-0.02, 0.0, 0.08]],
        g_h=[0.5, 0.56, 0.61],
        g_c=[0.45, 0.5, 0.58],
    )
    ss = steady_state(model)
    L = full_liouvillian(model).toarray()
    dim = model_system(model).ops.spins.dim
    trace = np.eye(dim).reshape(-1)
    B = L.copy()
    B[0, :] += trace  # border: row of the ground-state population gets the trace functional
    rhs = np.zeros(dim * dim, complex)
    rhs[0] = 1.0
    x_full = la.solve(B, rhs)
    x_full /= trace @ x_full
    x_block = _embed(model, ss)
    assert np.linalg.norm(x_block - x_full) < 1e-10 * np.linalg.norm(x_full)
    # and the dense solution is block diagonal (nothing outside the excitation blocks)
    assert ss.residual < 1e-10


@pytest.mark.parametrize("dissipation", ["common", "independent"])
def test_exact_n4_is_a_full_space_steady_state(dissipation):
    """N=4: L_full (65536-dim, sparse) annihilates the embedded block solution to 1e-10.

    Together with the block solver's uniqueness check this certifies the block solution as
    the full-space steady state (the full Liouvillian maps block-diagonal states to
    block-diagonal states, so a unique block steady state is the unique full one).
    """
    model = qjump.PaperModel(
        N=4,
        omega_h=1.5,
        dissipation=dissipation,
        interaction="pairwise",
        Omega=[0.1, 0.12, 0.09, 0.11],
    )
    ss = steady_state(model)
    L = full_liouvillian(model)
    x = _embed(model, ss)
    scale = abs(L).max()
    assert np.linalg.norm(L @ x) < 1e-10 * scale * np.linalg.norm(x)
    rho = ss.full()
    assert abs(np.trace(rho) - 1.0) < 1e-12
    assert np.linalg.eigvalsh(0.5 * (rho + rho.conj().T)).min() > -1e-12


def assert_within(name, est, se, exact, k=K_SE):
    if abs(exact) < 1e-12 and abs(est) < 1e-12:
        return  # vanishes by symmetry (C_nonloc of ind(2)): both sides are rounding noise
    z = (est - exact) / se
    assert abs(z) < k, f"{name}: estimate {est:.6g} +- {se:.2g}, exact {exact:.6g}, z = {z:.2f}"


@pytest.mark.parametrize(
    "N,t_final", [(3, 4_000.0), pytest.param(4, 1_500.0, marks=pytest.mark.slow)]
)
@pytest.mark.parametrize("dissipation,interaction", SCENARIOS)
def test_trajectories_agree_with_exact(N, t_final, dissipation, interaction):
    model = qjump.PaperModel(N=N, omega_h=1.5, dissipation=dissipation, interaction=interaction)
    ex = qjump.exact(model)
    res = simulate(
        model,
        t_final=t_final,
        trajectories=16,
        seed=23,
        initial_state="steady",
        burn_in=0.0,
        sample_interval=1.0,
    )
    for name in ("Q_h", "Q_c", "C_loc", "C_nonloc", "pop_h1", "energy"):
        assert res.se[name] > 0.0
        assert_within(name, res[name], res.se[name], ex[name])


@pytest.mark.slow
def test_trajectories_agree_with_exact_at_n5():
    """N = 5 com(2) (184,756 exact unknowns; sparse-jump eigen propagator): steady-start
    trajectories within 4 SE of the exact steady state."""
    model = qjump.PaperModel(N=5, omega_h=1.5, dissipation="common", interaction="pairwise")
    ex = qjump.exact(model)
    res = simulate(
        model,
        t_final=400.0,
        trajectories=16,
        seed=5,
        initial_state="steady",
        burn_in=0.0,
        sample_interval=1.0,
        n_jobs=2,
    )
    for name in ("Q_h", "Q_c", "W", "C_loc", "pop_h1", "pop_c5", "energy"):
        assert res.se[name] > 0.0
        assert_within(name, res[name], res.se[name], ex[name])


@pytest.mark.slow
def test_sparse_jump_propagator_reproduces_dense_one():
    """The sparse-jump eigen propagator (``eigen-large``, used for N = 4, 5) gives the same
    trajectory as the dense one on an N=3 model: same jumps, same sampled state to
    round-off."""
    model = qjump.PaperModel(N=3, omega_h=1.5, dissipation="independent", interaction="all-to-all")
    spec = TrajectorySpec(
        t_final=300.0,
        burn_in=0.0,
        window=50.0,
        sample_interval=1.0,
        initial_state="ground",
        records=True,
    )
    small = run_trajectory(model, spec, trajectory_seed(4, 0), propagator="eigen")
    large = run_trajectory(model, spec, trajectory_seed(4, 0), propagator="eigen-large")
    assert small.counts.sum() > 500
    np.testing.assert_array_equal(small.counts, large.counts)
    np.testing.assert_array_equal(small.record_channel, large.record_channel)
    np.testing.assert_allclose(small.record_time, large.record_time, rtol=1e-9)
    np.testing.assert_allclose(small.state_sum, large.state_sum, atol=1e-7)
    np.testing.assert_allclose(small.edge_energy, large.edge_energy, atol=1e-8)


def test_large_models_build_without_full_operator_space():
    """N=6 (12 qubits), all-to-all matrix Omega, unequal g: model operators, block
    bookkeeping and quantities come from 2^12-dimensional sparse operators; nothing of size
    4^12 is built, and the block space has C(24, 12) unknowns.  (N=8 builds the same way;
    it takes minutes, so it is exercised by the benchmark, not by CI.)"""
    import resource

    Omega = np.full((6, 6), 0.02) + np.diag([0.08, 0.09, 0.1, 0.11, 0.12, 0.13])
    model = qjump.PaperModel(
        N=6,
        omega_h=1.5,
        dissipation="cascaded",
        interaction="all-to-all",
        Omega=Omega,
        g_h=np.linspace(0.45, 0.7, 6),
        g_c=0.5,
    )
    ctx = model_system(model)
    assert ctx.ops.spins.dim == 2**12
    assert ctx.space.size == 2_704_156  # C(24, 12)
    assert ctx.quantities.support.size < 0.2 * ctx.space.size
    # the trajectories' generator controls (four-body terms of L^dag(Gamma_i)) read 28 %
    assert ctx.quantity_set("all", controls=True).support.size < 0.3 * ctx.space.size
    assert "Q_h" in ctx.quantities.names
    # a dense 4^12-dimensional operator-space vector alone would be 268 MB
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 4 * 1024**2  # KiB: < 4 GiB
    np.testing.assert_allclose(model.Omega_matrix, Omega)


@pytest.mark.slow
@pytest.mark.parametrize(
    "N, dissipation, interaction, temperatures, initial_state, t_final, seed",
    [
        (3, "cascaded", "all-to-all", (2.0, 1.0), "ground", 150.0, 3),
        # the middle sectors (d = 56, 70) exceed the largest Krylov basis (30 vectors)
        (4, "common", "pairwise", (2.0, 1.0), "thermal", 300.0, 8),
        # cold baths: long waits between jumps, so steps reach far
        (3, "independent", "pairwise", (0.4, 0.3), "thermal", 6000.0, 5),
        # hot baths: short waits in well-filled sectors
        (3, "common", "all-to-all", (8.0, 5.0), "thermal", 120.0, 6),
    ],
)
def test_krylov_path_reproduces_eigen_kernel(
    N, dissipation, interaction, temperatures, initial_state, t_final, seed
):
    """The Krylov propagator (``auto`` from N = 6), whose basis grows per step until it
    reaches the estimated delay of the next jump, follows the exact eigen one: same jumps
    and channels, jump times within the documented error control."""
    T_h, T_c = temperatures
    model = qjump.PaperModel(
        N=N, omega_h=1.5, dissipation=dissipation, interaction=interaction, T_h=T_h, T_c=T_c
    )
    spec = TrajectorySpec(
        t_final=t_final,
        burn_in=0.0,
        window=50.0,
        sample_interval=1.0,
        initial_state=initial_state,
        records=True,
    )
    ref = run_trajectory(model, spec, trajectory_seed(seed, 0), propagator="eigen-large")
    kry = run_trajectory(model, spec, trajectory_seed(seed, 0), propagator="krylov")
    assert ref.counts.sum() > 250
    np.testing.assert_array_equal(ref.counts, kry.counts)
    np.testing.assert_array_equal(ref.record_channel, kry.record_channel)
    np.testing.assert_allclose(kry.record_time, ref.record_time, rtol=0, atol=1e-7)
    np.testing.assert_allclose(kry.state_sum, ref.state_sum, atol=1e-6)
    assert ref.n_samples == kry.n_samples


def test_resource_estimate_covers_the_built_arrays_and_refuses_what_does_not_fit():
    """The estimate is made before anything is built, is at least the size of the engine's
    arrays once built, and a run that does not fit is refused with one line."""
    from qjump.trajectories.propagators.eigen import dense_propagator
    from qjump.trajectories.resources import (
        MAX_N,
        check_trajectory_resources,
        trajectory_resources,
    )

    model = qjump.PaperModel(N=3, omega_h=1.5, dissipation="independent", interaction="pairwise")
    res = trajectory_resources(model)
    assert res.propagator == "eigen" and res.seconds_per_time_unit > 0.0
    prop = dense_propagator(model)
    arrays = [a for a in prop.eig if isinstance(a, np.ndarray)] + [prop.P, prop.A]
    built = sum(a.nbytes for a in arrays)
    assert built <= res.memory_bytes
    assert check_trajectory_resources(model, available=2 * res.memory_bytes) == res
    with pytest.raises(ValueError, match=r"^N: trajectories of N=3 .* available; use propagator="):
        check_trajectory_resources(model, available=1000)
    big = qjump.PaperModel(N=MAX_N + 1, omega_h=1.5)
    with pytest.raises(ValueError, match=rf"^N: {MAX_N + 1} is beyond"):
        trajectory_resources(big)


def test_support_functionals_equal_the_block_functionals():
    """The trajectories' support form of every quantity (built without block-vector-sized
    arrays) gives the same values as the full block functional, on a random block vector."""
    q = model_system(
        qjump.PaperModel(N=2, dissipation="cascaded", interaction="all-to-all")
    ).quantity_set("all", controls=True)
    rng = np.random.default_rng(3)
    x = rng.normal(size=q.space.size) + 1j * rng.normal(size=q.space.size)
    direct = np.array([np.real(q.space.functional(X) @ x)[0] for X in q.operators.values()])
    # the same sums in a different order: equal to rounding (values are O(1))
    np.testing.assert_allclose(q.evaluate_support(x[q.support]), direct, rtol=1e-12, atol=1e-12)
    assert list(q.operators) == q.sampled_names and len(q.control_names) == 10
    # exact results report the selected quantities only, not the controls
    n = len(q.names)
    np.testing.assert_allclose(list(q.evaluate(x).values()), direct[:n], rtol=1e-12, atol=1e-12)


def test_trajectory_estimate_at_large_n_is_the_operators_not_the_block_space():
    """N = 9 trajectories no longer need the C(36, 18) = 9e9-entry block space (67.6 GiB):
    the estimate is that of the operators (measured 14 GB peak).  N = 10 with every quantity
    is refused on a 24 GiB machine with one line that names the essential selection, which
    fits (measured 7.7 GB peak); four workers of it do not, nor does N = 11."""
    from qjump.trajectories.resources import check_trajectory_resources, trajectory_resources

    nine = trajectory_resources(qjump.PaperModel(N=9, omega_h=1.5, dissipation="common"))
    assert 8 * 2**30 < nine.memory_bytes < 20 * 2**30
    ten = qjump.PaperModel(N=10, omega_h=1.5, dissipation="common")
    avail = 24 * 2**30
    with pytest.raises(
        ValueError, match=r"^N: trajectories of N=10 .* GiB available; use quantities='essential'"
    ):
        check_trajectory_resources(ten, available=avail)
    lean = check_trajectory_resources(ten, available=avail, quantities="essential")
    assert 7 * 2**30 < lean.memory_bytes < 12 * 2**30
    assert check_trajectory_resources(ten, available=avail, quantities="essential", workers=2)
    with pytest.raises(ValueError, match=r"\(4 workers x .* use fewer workers \(n_jobs=2\)$"):
        check_trajectory_resources(ten, available=avail, quantities="essential", workers=4)
    eleven = qjump.PaperModel(N=11, omega_h=1.5, dissipation="common")
    with pytest.raises(ValueError, match=r"^N: trajectories of N=11 .* use a smaller N"):
        check_trajectory_resources(eleven, available=avail, quantities="essential")
    with pytest.raises(ValueError, match=r"^quantities: unknown selection 'some'; allowed: all"):
        trajectory_resources(ten, quantities="some")


def test_simulate_counts_its_workers_against_the_memory():
    """Each loky worker builds its own model: the guard multiplies by the workers."""
    nine = qjump.PaperModel(N=9, omega_h=1.5, dissipation="common")
    with pytest.raises(ValueError, match=r"\(2 workers x .* use fewer workers \(n_jobs=1\)$"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("qjump.trajectories.resources.available_memory", lambda: 24 * 2**30)
            simulate(nine, t_final=10.0, burn_in=1.0, trajectories=2, n_jobs=2, progress=False)


def test_essential_selection_is_the_same_operators_on_a_smaller_support():
    """The essential selection builds only its own operators (and the generator controls),
    each equal to the one of ``all``; its own quantities read the diagonal (minus the ground
    state, where energy and every population vanish) and the ``N`` flip-flop pairs of the
    flows and C_loc, ``D/2`` entries each: ``D - 1 + N D / 2`` for ``D = 4^N`` (pairwise)."""
    from qjump.system.quantities import ESSENTIAL, QuantitySet

    model = qjump.PaperModel(N=3, omega_h=1.5, dissipation="common", interaction="pairwise")
    system = model_system(model)
    lean = system.quantity_set("essential", controls=True)
    full = system.quantity_set("all", controls=True)
    pops = [f"pop_{b}{n}" for b in "hc" for n in (1, 2, 3)]
    assert lean.names == [*ESSENTIAL, *pops]
    assert list(lean.operators) == lean.sampled_names == [*lean.names, *full.control_names]
    for name, X in lean.operators.items():
        assert (X != full.operators[name]).nnz == 0, name
    D = 4**model.N
    own = [lean.space.functional_entries(lean.operators[n])[0] for n in lean.names]
    assert np.unique(np.concatenate(own)).size == D - 1 + model.N * D // 2
    # the generator controls (sampled in both selections up to N = 6) read a superset of what
    # either selection's own quantities read, so the two supports coincide here
    assert np.array_equal(lean.support, full.support)
    assert system.quantity_set("essential", controls=True) is lean
    # the exact solver's sets hold no controls
    assert system.quantities.sampled_names == system.quantities.names
    assert list(system.quantity_set("essential").operators) == lean.names
    with pytest.raises(ValueError, match=r"^quantities: unknown selection 'most'; allowed: all"):
        QuantitySet(system.ops, system.space, "most")


@pytest.mark.parametrize(
    ("dissipation", "interaction"), [("common", "pairwise"), ("cascaded", "all-to-all")]
)
def test_essential_trajectories_equal_the_full_run_on_what_they_share(dissipation, interaction):
    """Same seed, same trajectories: every value and SE that the essential selection
    reports is bit-identical to the full run's (counted currents, flows, entropy production,
    C_loc, energy, populations), and the quantities it does not sample are absent, not
    filled in."""
    model = qjump.PaperModel(N=2, omega_h=1.5, dissipation=dissipation, interaction=interaction)
    kw = dict(t_final=400.0, burn_in=0.0, trajectories=6, initial_state="steady", seed=5)
    full = simulate(model, progress=False, **kw)
    lean = simulate(model, progress=False, quantities="essential", **kw)
    assert set(lean.values) < set(full.values)
    assert {"Q_h_loc", "W_nonloc", "C_nonloc", "C_nonloc_product", "sz_h1"}.isdisjoint(lean.values)
    for k, v in lean.values.items():
        assert v == full.values[k] and lean.se[k] == full.se[k], k
    assert lean.se["entropy_production"] == full.se["entropy_production"]
    assert lean.entropy_production == full.entropy_production
    assert lean.regime == full.regime
    assert lean.options.quantities == "essential"
    one = lean.replay(2)
    cols = [c for c in one.per_trajectory.columns if c != "trajectory"]
    row = lean.per_trajectory[lean.per_trajectory["trajectory"] == 2][cols].reset_index(drop=True)
    pd_testing.assert_frame_equal(one.per_trajectory[cols], row)
