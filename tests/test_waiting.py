"""Waiting times between jumps: closed forms, exact identities, trajectories and the CLI."""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIO_IDS, SCENARIOS, paper_model

import qjump
from qjump.cli import main
from qjump.frames import EVENTS
from qjump.liouville.waiting import event_rates, waiting_time_densities, waiting_times
from qjump.system.context import model_system
from qjump.trajectories import waiting as traj_waiting


def single_tls(**kw) -> qjump.PaperModel:
    """N = 1 without interaction: a hot and a cold TLS, each in its own thermal bath."""
    return qjump.PaperModel(N=1, Omega=0.0, **kw)


def tls_closed_form(model: qjump.PaperModel, a: str, taus: np.ndarray):
    """P(B|A), mean delay and density for two independent TLS (the model above).

    After an ``A`` jump its own TLS is in a known state (excited after ``+``), the other TLS
    is in its stationary mixture (excited with ``p = n/(2n+1)``).  With the other TLS in a
    basis state ``x``, each TLS leaves its state at rate ``r`` (``g^2 (n+1)`` if excited,
    ``g^2 n`` if not), so the first jump is of the TLS with rate ``r_B`` at density
    ``r_B exp(-R tau)``, ``R`` the sum of both rates.  Averaging over ``x``:
    ``w_AB = sum_x p(x) r_B(x) exp(-R(x) tau)``.
    """
    rates = {}
    for b in ("h", "c"):
        _, _, n, g = model.bath(b)
        rates[b] = (g[0] ** 2 * n, g[0] ** 2 * (n + 1.0), n / (2 * n + 1))  # up, down, p
    own, other = a[0], "c" if a[0] == "h" else "h"
    own_excited = a[1] == "+"
    up_o, down_o, p_o = rates[other]
    r_own = rates[own][1] if own_excited else rates[own][0]
    own_event = f"{own}{'-' if own_excited else '+'}"
    terms = {e: [] for e in EVENTS}  # (weight, amplitude, total rate)
    for x_excited, px in ((True, p_o), (False, 1.0 - p_o)):
        r_other = down_o if x_excited else up_o
        R = r_own + r_other
        terms[own_event].append((px, r_own, R))
        terms[f"{other}{'-' if x_excited else '+'}"].append((px, r_other, R))
    P = {e: sum(p * r / R for p, r, R in t) for e, t in terms.items()}
    first = {e: sum(p * r / R**2 for p, r, R in t) for e, t in terms.items()}
    delay = {e: first[e] / P[e] if P[e] > 0 else np.nan for e in EVENTS}
    dens = {e: sum(p * r * np.exp(-R * taus) for p, r, R in t) + 0 * taus for e, t in terms.items()}
    return P, delay, dens


@pytest.mark.parametrize("kw", [{}, {"T_h": 0.8, "T_c": 1.7, "g_h": 0.7, "g_c": 0.3}])
def test_two_independent_tls_closed_form(kw):
    model = single_tls(**kw)
    table = waiting_times(model)
    taus = np.array([0.0, 0.3, 1.0, 4.0, 12.0])
    dens = waiting_time_densities(model, tau=taus)
    for a in EVENTS:
        P, delay, w = tls_closed_form(model, a, taus)
        for b in EVENTS:
            row = table[(table["from"] == a) & (table["to"] == b)].iloc[0]
            assert row["probability"] == pytest.approx(P[b], abs=1e-12)
            if P[b] > 0:
                assert row["mean_delay"] == pytest.approx(delay[b], rel=1e-10)
            else:
                assert np.isnan(row["mean_delay"])
            d = dens[(dens["from"] == a) & (dens["to"] == b)]["density"].to_numpy()
            np.testing.assert_allclose(d, w[b], rtol=1e-10, atol=1e-14)


def test_single_tls_exponential_waiting_times():
    """Cold bath at T = 0: the cold TLS sits in |0>; the hot TLS alternates h+ and h-, and
    each delay is exponential with the rate of the jump that ends it."""
    model = single_tls(T_c=0.0)
    _, _, n, g = model.bath("h")
    up, down = g[0] ** 2 * n, g[0] ** 2 * (n + 1)
    table = waiting_times(model).set_index(["from", "to"])
    assert table.loc[("h+", "h-"), "probability"] == pytest.approx(1.0, abs=1e-12)
    assert table.loc[("h-", "h+"), "probability"] == pytest.approx(1.0, abs=1e-12)
    assert table.loc[("h+", "h-"), "mean_delay"] == pytest.approx(1 / down, rel=1e-10)
    assert table.loc[("h-", "h+"), "mean_delay"] == pytest.approx(1 / up, rel=1e-10)
    assert table.loc[("h+", "c-"), "probability"] == pytest.approx(0.0, abs=1e-12)
    # c+ never happens at T_c = 0 and c- never in the steady state: no conditional statistics
    assert table.loc[("c+", "h+"), "probability"] != table.loc[("c+", "h+"), "probability"]
    taus = np.linspace(0.0, 10.0, 6)
    d = waiting_time_densities(model, tau=taus, events=["h+", "h-"]).set_index(["from", "to"])
    np.testing.assert_allclose(
        d.loc[("h+", "h-"), "density"], down * np.exp(-down * taus), rtol=1e-10
    )
    np.testing.assert_allclose(d.loc[("h-", "h+"), "density"], up * np.exp(-up * taus), rtol=1e-10)


@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
def test_exact_identities(dissipation, interaction):
    model = paper_model(dissipation, interaction, 1.5)
    table = waiting_times(model)
    # the next jump is one of the four types
    np.testing.assert_allclose(table.groupby("from")["probability"].sum(), 1.0, atol=1e-10)
    # event rates add up to the total jump rate Tr[Gamma rho]
    rates = event_rates(model)
    system = model_system(model)
    total = system.space.functional(system.ops.decay) @ qjump.steady_state(model).vector
    assert sum(rates.values()) == pytest.approx(float(np.real(total[0])), rel=1e-10)
    # stationary point process: the mean interval between consecutive jumps is 1/rate
    mean_wait = sum(
        rates[r.from_] * r.probability * r.mean_delay
        for r in table.rename(columns={"from": "from_"}).itertuples()
    )
    assert mean_wait == pytest.approx(1.0, rel=1e-9)
    # bin averages integrate to the probabilities (nearly dark no-jump states of common
    # dissipation make the tail long: the last bin reaches far)
    bins = np.concatenate([np.linspace(0, 20, 81), [50, 400, 1e6]])
    dens = waiting_time_densities(model, bins=bins)
    mass = (
        (dens["density"] * (dens["tau_hi"] - dens["tau_lo"]))
        .groupby([dens["from"], dens["to"]], sort=False)
        .sum()
    )
    np.testing.assert_allclose(mass.to_numpy(), table["probability"].to_numpy(), atol=1e-9)


def test_bin_average_tends_to_point_value():
    model = paper_model("cascaded", "all-to-all", 1.5)
    point = waiting_time_densities(model, tau=[1.0])
    narrow = waiting_time_densities(model, bins=[1.0 - 1e-4, 1.0 + 1e-4])
    np.testing.assert_allclose(narrow["density"], point["density"], rtol=1e-7)


@pytest.mark.parametrize("events", [["h+", "x"], "h+,c0", []])
def test_unknown_event_type(events):
    with pytest.raises(ValueError, match="events"):
        waiting_times(qjump.PaperModel(), events=events)


# ------------------------------------------------------------------ trajectories
@functools.lru_cache(maxsize=4)
def steady_run(model: qjump.PaperModel, trajectories: int, t_final: float, seed: int):
    return qjump.simulate(
        model,
        t_final=t_final,
        trajectories=trajectories,
        burn_in=0,
        initial_state="steady",
        seed=seed,
        records=True,
        progress=False,
    )


def assert_waiting_agrees(model, run, bins, k=4.0):
    est = traj_waiting.waiting_times(run)
    ref = waiting_times(model)
    assert list(est["from"]) == list(ref["from"]) and list(est["to"]) == list(ref["to"])
    zp = (est["probability"] - ref["probability"]) / est["probability_se"]
    zd = (est["mean_delay"] - ref["mean_delay"]) / est["mean_delay_se"]
    assert np.all(np.abs(zp) < k), zp.tolist()
    assert np.all(np.abs(zd) < k), zd.tolist()
    d_est = traj_waiting.waiting_time_densities(run, bins)
    d_ref = waiting_time_densities(model, bins=bins)
    # bins expected to hold at least 25 pairs (fewer: the counts are far from Gaussian)
    n_from = traj_waiting.jump_pairs(run)["from"].value_counts()
    expected = d_ref["density"] * (d_ref["tau_hi"] - d_ref["tau_lo"]) * d_ref["from"].map(n_from)
    ok = expected >= 25
    assert ok.sum() > len(ok) / 2
    zw = (d_est["density"] - d_ref["density"])[ok] / d_est["density_se"][ok]
    # 16 pairs x bins: allow for the largest of many deviations
    assert np.all(np.abs(zw) < k + 0.5), zw.abs().max()


def test_trajectory_waiting_times_independent():
    model = paper_model("independent", "pairwise", 1.5)
    run = steady_run(model, 24, 2500.0, 3)
    assert_waiting_agrees(model, run, bins=np.linspace(0.0, 6.0, 7))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dissipation", "interaction"), [("common", "pairwise"), ("cascaded", "all-to-all")]
)
def test_trajectory_waiting_times_slow(dissipation, interaction):
    model = paper_model(dissipation, interaction, 1.5)
    run = steady_run(model, 64, 20000.0, 8)
    assert_waiting_agrees(model, run, bins=np.linspace(0.0, 10.0, 21))


def test_jump_pairs_and_censoring():
    """The last jump of each trajectory has no successor; pairs never cross trajectories."""
    rec = pd.DataFrame(
        {
            "trajectory": [0, 0, 0, 1, 1],
            "time": [0.5, 1.0, 3.0, 0.2, 0.7],
            "bath": ["h", "c", "h", "c", "c"],
            "kind": ["absorption", "emission", "emission", "absorption", "emission"],
        }
    )
    pairs = traj_waiting.jump_pairs(rec)
    assert pairs[["from", "to"]].values.tolist() == [["h+", "c-"], ["c-", "h-"], ["c+", "c-"]]
    np.testing.assert_allclose(pairs["tau"], [0.5, 2.0, 0.5])
    table = traj_waiting.waiting_times(rec).set_index(["from", "to"])
    assert table.loc[("h+", "c-"), "probability"] == 1.0
    assert table.loc[("c-", "h-"), "mean_delay"] == 2.0


# ------------------------------------------------------------------ CLI
def test_cli_waiting_times_json(capsys):
    code = main(
        ["waiting-times", "--trajectories", "2", "--t-final", "300", "--seed", "5", "--json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(out) == 16
    assert list(out[0]) == [
        "from",
        "to",
        "probability",
        "probability_se",
        "probability_exact",
        "mean_delay",
        "mean_delay_se",
        "mean_delay_exact",
    ]
    ref = waiting_times(qjump.PaperModel())
    np.testing.assert_allclose(
        [r["probability_exact"] for r in out], ref["probability"], rtol=1e-12
    )


def test_cli_waiting_times_save(tmp_path, capsys):
    path = tmp_path / "densities.parquet"
    code = main(
        [
            "waiting-times",
            "--trajectories",
            "2",
            "--t-final",
            "200",
            "--events",
            "h+,h-",
            "--bins",
            "0:4:8",
            "--save",
            str(path),
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and len(out) == 4
    dens = pd.read_parquet(path)
    assert len(dens) == 4 * 8
    assert {"density", "density_se", "density_exact", "tau"} <= set(dens.columns)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--events", "h+,x+"], "--events"),
        (["--bins", "3,1"], "--bins"),
        (["--trajectories", "-1"], "--trajectories"),
    ],
)
def test_cli_waiting_times_bad_input(capsys, argv, flag):
    code = main(["waiting-times", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert flag in err


def test_state_that_never_jumps_is_reported():
    """Both baths at T = 0: the ground state never jumps, so waiting times are not finite."""
    model = qjump.PaperModel(dissipation="independent", T_h=0.0, T_c=0.0)
    with pytest.raises(ValueError, match="never jumps"):
        waiting_times(model)
