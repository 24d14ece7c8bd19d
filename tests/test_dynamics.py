"""Relaxation dynamics: closed forms, the steady-state limit, trajectories and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIO_IDS, SCENARIOS, paper_model

import qjump
from qjump.cli import main
from qjump.frames import DYNAMICS_COLUMNS
from qjump.liouville.dynamics import exact_dynamics, initial_vector, thermal_excitation
from qjump.liouville.steady import relaxation_time
from qjump.system.context import model_system


def wide(frame):
    return frame.pivot(index="time", columns="quantity", values="value")


def single_tls(**kw) -> qjump.PaperModel:
    """N = 1 without interaction: a hot and a cold TLS, each in its own thermal bath."""
    return qjump.PaperModel(N=1, Omega=0.0, **kw)


def test_single_tls_exponential_relaxation():
    """From the ground state p(t) = p_ss (1 - exp(-G t)) with G = g^2 (2n + 1) and
    p_ss = n/(2n+1); the heat current is Q = omega (g+ (1 - p) - g- p)."""
    model = single_tls(T_h=1.7, T_c=0.6, g_h=0.7, g_c=0.4)
    t = np.array([0.0, 0.1, 0.7, 2.0, 9.0])
    v = wide(exact_dynamics(model, t, initial_state="ground"))
    for b in ("h", "c"):
        omega, _, n, g = model.bath(b)
        up, down = g[0] ** 2 * n, g[0] ** 2 * (n + 1)
        G = up + down
        p = up / G * (1 - np.exp(-G * t))
        np.testing.assert_allclose(v[f"pop_{b}1"], p, atol=1e-12)
        np.testing.assert_allclose(v[f"Q_{b}"], omega * (up * (1 - p) - down * p), atol=1e-12)
    np.testing.assert_allclose(v["W"], 0.0, atol=1e-14)
    np.testing.assert_allclose(
        v["energy"], model.omega_h * v["pop_h1"] + model.omega_c * v["pop_c1"], atol=1e-12
    )


def test_thermal_start_of_uncoupled_tls_is_stationary():
    model = single_tls()
    v = wide(exact_dynamics(model, [0.0, 1.0, 50.0], initial_state="thermal"))
    p = thermal_excitation(model)
    np.testing.assert_allclose(v["pop_h1"], p[0], atol=1e-13)
    np.testing.assert_allclose(v["pop_c1"], p[1], atol=1e-13)
    np.testing.assert_allclose(v[["Q_h", "Q_c", "W"]], 0.0, atol=1e-13)


def test_thermal_initial_state_is_a_product_state():
    model = paper_model("common", "pairwise", 1.5)
    x = initial_vector(model, "thermal")
    ctx = model_system(model)
    assert ctx.space.trace_vector @ x == pytest.approx(1.0, abs=1e-14)
    values = ctx.quantities.evaluate(x)
    p = thermal_excitation(model)
    for i, name in enumerate(["pop_h1", "pop_h2", "pop_c1", "pop_c2"]):
        assert values[name] == pytest.approx(p[i], abs=1e-14)
    assert values["C_loc"] == 0.0 and values["C_nonloc"] == 0.0


@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
def test_long_time_limit_is_the_steady_state(dissipation, interaction):
    model = paper_model(dissipation, interaction, 1.5)
    tau = relaxation_time(model)
    ss = qjump.exact(model)
    for start in ("ground", "thermal"):
        frame = exact_dynamics(model, [0.5 * tau, 40 * tau], initial_state=start)
        last = frame[frame["time"] == frame["time"].max()].set_index("quantity")["value"]
        for q, value in last.items():
            assert value == pytest.approx(ss[q], abs=1e-10), (start, q)
    # and a steady start does not move
    frame = exact_dynamics(model, [0.0, 3.0, 100.0], initial_state="steady")
    for q, value in frame.set_index("quantity")["value"].items():
        assert value == pytest.approx(ss[q], abs=1e-11), q


@pytest.mark.parametrize("dissipation", ["independent", "common", "cascaded"])
def test_transient_first_law(dissipation):
    """While relaxing, W + Q_h + Q_c = d<H_S>/dt (central differences)."""
    model = paper_model(dissipation, "all-to-all", 1.5)
    h = 1e-4
    t0 = np.array([0.5, 3.0, 20.0])
    t = np.sort(np.concatenate([t0 - h, t0, t0 + h]))
    v = wide(exact_dynamics(model, t, initial_state="ground"))
    e = v["energy"].to_numpy().reshape(-1, 3)
    dE = (e[:, 2] - e[:, 0]) / (2 * h)
    total = (v["W"] + v["Q_h"] + v["Q_c"]).to_numpy().reshape(-1, 3)[:, 1]
    np.testing.assert_allclose(total, dE, atol=1e-7)


def test_frame_shape():
    model = paper_model("cascaded", "pairwise", 1.5)
    frame = exact_dynamics(model, [0.0, 1.0], initial_state="ground")
    assert list(frame.columns) == DYNAMICS_COLUMNS
    names = list(dict.fromkeys(frame["quantity"]))
    assert names[:3] == ["Q_h", "Q_c", "W"]
    assert set(names) == set(model_system(model).quantities.names)
    assert (frame["se"] == 0).all()


@pytest.mark.parametrize("times", [[0.0, 2.0, 1.0], [1.0, 1.0], [-1.0, 2.0], [], [0, np.inf]])
def test_bad_times(times):
    with pytest.raises(ValueError, match="times"):
        exact_dynamics(qjump.PaperModel(), times)


def test_bad_initial_state():
    with pytest.raises(ValueError, match="initial_state"):
        exact_dynamics(qjump.PaperModel(), [1.0], initial_state="excited")


# ------------------------------------------------------------------ CLI
def test_cli_dynamics_exact_json(capsys):
    code = main(
        [
            "dynamics",
            "--dissipation",
            "ind",
            "--initial-state",
            "ground",
            "--times",
            "0,5,20",
            "--trajectories",
            "0",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["times"] == [0.0, 5.0, 20.0]
    ref = wide(
        exact_dynamics(qjump.PaperModel(dissipation="ind"), [0, 5, 20], initial_state="ground")
    )
    np.testing.assert_allclose(out["Q_h_exact"], ref["Q_h"], rtol=1e-12)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--times", "0,5,3"], "--times"),
        (["--times", "0,-5"], "--times"),
        (["--times", "1", "--trajectories", "-2"], "--trajectories"),
    ],
)
def test_cli_dynamics_bad_input(capsys, argv, flag):
    code = main(["dynamics", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert flag in err


# ------------------------------------------------------------------ trajectories
def assert_dynamics_agree(est, ref, k=4.0):
    assert list(est.columns) == DYNAMICS_COLUMNS
    assert est[["time", "quantity"]].equals(ref[["time", "quantity"]])
    diff = (est["value"] - ref["value"]).abs()
    # deterministic entries (t = 0 from a basis state, quantities that vanish identically)
    # have se ~ 0
    bad = diff > k * est["se"] + 1e-8
    assert not bad.any(), est.assign(exact=ref["value"])[bad].to_string()


def test_trajectory_dynamics_independent():
    model = paper_model("independent", "pairwise", 1.5)
    t = [0.0, 0.5, 2.0, 8.0]
    est = qjump.dynamics(model, t, initial_state="ground", trajectories=200, seed=4)
    assert_dynamics_agree(est, exact_dynamics(model, t, initial_state="ground"))


def test_trajectory_dynamics_thermal_start():
    model = paper_model("cascaded", "all-to-all", 1.5)
    t = [0.0, 1.0, 30.0]
    est = qjump.dynamics(model, t, initial_state="thermal", trajectories=300, seed=1)
    assert_dynamics_agree(est, exact_dynamics(model, t, initial_state="thermal"))


def test_trajectory_dynamics_essential_selection_is_the_same_observations():
    """Observing the essential selection gives the same numbers as observing everything,
    on the rows they share (same seeds, same paths)."""
    model = paper_model("common", "pairwise", 1.5)
    t = [0.0, 2.0, 10.0]
    full = qjump.dynamics(model, t, initial_state="thermal", trajectories=8, seed=3)
    lean = qjump.dynamics(
        model, t, initial_state="thermal", trajectories=8, seed=3, quantities="essential"
    )
    names = set(lean["quantity"])
    assert {"Q_h_flow", "C_loc", "energy", "pop_c2"} <= names and "Q_h" not in names
    shared = full[full["quantity"].isin(names)].reset_index(drop=True)
    assert lean[["time", "quantity"]].equals(shared[["time", "quantity"]])
    # each value sums the same non-zero terms in the same order (the extra support entries
    # of `all` carry zero weight for these quantities), so they are equal bit for bit
    assert lean[["value", "se"]].equals(shared[["value", "se"]])


@pytest.mark.slow
def test_trajectory_dynamics_independent_of_n_jobs():
    model = paper_model("cascaded", "all-to-all", 1.5)
    t = [0.0, 1.0, 30.0]
    a = qjump.dynamics(model, t, trajectories=6, seed=9, n_jobs=1)
    b = qjump.dynamics(model, t, trajectories=6, seed=9, n_jobs=2)
    assert a.equals(b)


@pytest.mark.slow
@pytest.mark.parametrize("start", ["ground", "thermal", "steady"])
def test_trajectory_dynamics_common_slow_mode(start):
    """com(1) relaxes over ~372: the trajectory mean follows the exact slow tail."""
    model = paper_model("common", "all-to-all", 1.5)
    t = [0.0, 3.0, 30.0, 150.0, 600.0]
    est = qjump.dynamics(model, t, initial_state=start, trajectories=1500, seed=2)
    assert_dynamics_agree(est, exact_dynamics(model, t, initial_state=start))


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"trajectories": 1}, "trajectories"),
        ({"seed": -1}, "seed"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"initial_state": "hot"}, "initial_state"),
        ({"quantities": "most"}, "^quantities: unknown selection 'most'"),
    ],
)
def test_trajectory_dynamics_bad_input(kw, name):
    with pytest.raises(ValueError, match=name):
        qjump.dynamics(qjump.PaperModel(), [1.0], **kw)


def test_cli_dynamics_with_trajectories(capsys):
    code = main(
        [
            "dynamics",
            "--initial-state",
            "ground",
            "--times",
            "0,5",
            "--trajectories",
            "8",
            "--seed",
            "3",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for q in ("Q_h", "W", "energy", "pop_c2"):
        assert len(out[q]) == len(out[f"{q}_se"]) == len(out[f"{q}_exact"]) == 2
    ref = qjump.dynamics(qjump.PaperModel(), [0, 5], initial_state="ground", trajectories=8, seed=3)
    np.testing.assert_allclose(out["Q_h"], ref[ref["quantity"] == "Q_h"]["value"])


@pytest.mark.slow  # default-tier budget: 4-6 s here
def test_figures_draw(tmp_path):
    """The three figures draw from exact frames alone and leave matplotlib's state alone."""
    import matplotlib
    from qjump.analysis.dynamics import noise_figure, relaxation_figure, waiting_time_figure

    from qjump.liouville.noise import noise_spectrum
    from qjump.liouville.waiting import waiting_time_densities

    before = dict(matplotlib.rcParams)
    models = [paper_model(d, i, 1.5) for d, i in SCENARIOS[:3]]
    dyn = [
        exact_dynamics(m, [0.0, 0.5, 5.0], initial_state="ground").assign(scenario=m.label)
        for m in models
    ]
    dens = [waiting_time_densities(m, tau=[0.0, 1.0, 2.0]).assign(scenario=m.label) for m in models]
    noise = [noise_spectrum(m, [0.0, 0.1, 1.0]).assign(scenario=m.label) for m in models]
    figs = [
        relaxation_figure(pd_concat(dyn), quantities=("Q_h",), title="t"),
        waiting_time_figure(pd_concat(dens)),
        noise_figure(pd_concat(noise), windowed=pd_concat(noise)),
    ]
    for i, fig in enumerate(figs):
        assert fig.legends
        fig.savefig(tmp_path / f"f{i}.png")
        assert (tmp_path / f"f{i}.png").stat().st_size > 0
    assert dict(matplotlib.rcParams) == before


def pd_concat(frames):
    return pd.concat(frames, ignore_index=True)
