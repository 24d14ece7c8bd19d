"""Noise spectra of the bath quanta: closed forms, exact limits, trajectories and the CLI."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from conftest import SCENARIO_IDS, SCENARIOS, paper_model

import qjump
from qjump.cli import main
from qjump.liouville.noise import noise_spectrum, shot_noise
from qjump.liouville.waiting import event_rates
from qjump.trajectories.noise import noise_spectrum as traj_noise_spectrum


def single_tls(**kw) -> qjump.PaperModel:
    """N = 1 without interaction: each ensemble is one TLS in its own thermal bath."""
    return qjump.PaperModel(N=1, Omega=0.0, **kw)


def tls_rates(model: qjump.PaperModel, bath: str) -> tuple[float, float]:
    """Absorption and emission rates ``g^2 n`` and ``g^2 (n + 1)`` of one TLS."""
    _, _, n, g = model.bath(bath)
    return g[0] ** 2 * n, g[0] ** 2 * (n + 1.0)


@pytest.mark.parametrize("bath", ["h", "c"])
def test_single_tls_lorentzian(bath):
    """S(omega) = (2 g+ g- / G) omega^2 / (omega^2 + G^2) for one TLS (derived in the module)."""
    model = single_tls(T_h=1.3, T_c=0.7, g_h=0.6, g_c=0.45)
    gp, gm = tls_rates(model, bath)
    G = gp + gm
    w = np.array([0.0, 0.05, 0.3, 1.0, 4.0, 50.0])
    s = noise_spectrum(model, w, bath)
    expected = 2 * gp * gm / G * w**2 / (w**2 + G**2)
    np.testing.assert_allclose(s["quanta_noise"], expected, rtol=1e-10, atol=1e-14)
    omega_b = model.bath(bath)[0]
    np.testing.assert_allclose(s["heat_noise"], omega_b**2 * expected, rtol=1e-10, atol=1e-14)


def test_single_tls_finite_window():
    """S_T = K + 2c Re[1/a - (1 - exp(-a T))/(a^2 T)], a = G - i omega, c = -K G/2."""
    model = single_tls(g_h=0.5)
    gp, gm = tls_rates(model, "h")
    G = gp + gm
    K = 2 * gp * gm / G
    c = -K * G / 2
    T = 7.5
    w = np.array([0.0, 0.2, 1.0, 3.0])
    a = G - 1j * w
    expected = K + 2 * c * np.real(1 / a - (1 - np.exp(-a * T)) / (a**2 * T))
    s = noise_spectrum(model, w, "h", window=T)
    np.testing.assert_allclose(s["quanta_noise"], expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
def test_zero_frequency_is_diffusion_and_high_frequency_is_shot_noise(dissipation, interaction):
    model = paper_model(dissipation, interaction, 1.5)
    for bath in ("h", "c"):
        s = noise_spectrum(model, [0.0, 1e7], bath)["quanta_noise"].to_numpy()
        d = qjump.counting_statistics(model, bath).quanta_diffusion
        assert s[0] == pytest.approx(d, rel=1e-8)
        rates = event_rates(model)
        shot = rates[f"{bath}+"] + rates[f"{bath}-"]
        assert shot_noise(model, bath) == pytest.approx(shot, rel=1e-12)
        assert s[1] == pytest.approx(shot, rel=1e-6)


def test_window_spectrum_tends_to_spectrum():
    model = paper_model("independent", "pairwise", 1.5)
    w = [0.0, 0.1, 1.0]
    exact = noise_spectrum(model, w)["quanta_noise"].to_numpy()
    long = noise_spectrum(model, w, window=1e5)["quanta_noise"].to_numpy()
    np.testing.assert_allclose(long, exact, rtol=1e-3)


@pytest.mark.parametrize("omega", [[-0.1], [np.nan], []])
def test_bad_omega(omega):
    with pytest.raises(ValueError, match="omega"):
        noise_spectrum(qjump.PaperModel(), omega)


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


def assert_periodogram_agrees(model, run, omega, window, bath="h", k=4.0):
    est = traj_noise_spectrum(run, omega, bath, window=window)
    ref = noise_spectrum(model, omega, bath, window=window)
    z = (est["quanta_noise"] - ref["quanta_noise"]) / est["quanta_noise_se"]
    assert np.all(est["quanta_noise_se"] > 0)
    assert np.all(np.abs(z) < k), z.tolist()
    np.testing.assert_allclose(est["heat_noise"], model.bath(bath)[0] ** 2 * est["quanta_noise"])


def test_trajectory_periodogram_single_tls():
    model = single_tls()
    run = steady_run(model, 32, 3000.0, 11)
    assert_periodogram_agrees(model, run, [0.0, 0.3, 1.0, 3.0], window=60.0)


@pytest.mark.slow
@pytest.mark.parametrize("dissipation", ["independent", "cascaded"])
def test_trajectory_periodogram_paper_models(dissipation):
    model = paper_model(dissipation, "pairwise", 1.5)
    run = steady_run(model, 64, 20000.0, 5)
    for bath in ("h", "c"):
        assert_periodogram_agrees(model, run, [0.0, 0.02, 0.1, 0.5, 2.0], window=400.0, bath=bath)


# ------------------------------------------------------------------ CLI
def test_cli_noise_json(capsys):
    code = main(["noise", "--bath", "h", "--omega", "0,0.1,0.5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["omega"] == [0.0, 0.1, 0.5]
    exact = noise_spectrum(qjump.PaperModel(), [0.0, 0.1, 0.5], "h")
    np.testing.assert_allclose(out["quanta_noise"], exact["quanta_noise"], rtol=1e-12)
    np.testing.assert_allclose(out["heat_noise"], exact["heat_noise"], rtol=1e-12)


def test_cli_noise_with_trajectories(capsys):
    code = main(
        [
            "noise",
            "--N",
            "1",
            "--Omega",
            "0",
            "--omega",
            "0,1",
            "--trajectories",
            "4",
            "--t-final",
            "400",
            "--window",
            "40",
            "--seed",
            "2",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in (
        "quanta_noise_traj",
        "quanta_noise_traj_se",
        "heat_noise_traj",
        "heat_noise_traj_se",
        "quanta_noise_window",
    ):
        assert len(out[key]) == 2


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--omega", "0,-0.5"], "--omega"),
        (["--omega", "-1"], "--omega"),
        (["--omega", "0.1", "--trajectories", "2"], "--t-final"),
    ],
)
def test_cli_noise_bad_input(capsys, argv, flag):
    code = main(["noise", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert flag in err
