"""Relaxation, waiting times and current noise of the six paper scenarios at omega_h = 1.5.

Run from the repository root::

    python runs/dynamics/make_figures.py [--n-jobs 2]

Writes next to this script: ``relaxation.png``, ``waiting_times.png``, ``noise.png`` and
their data (``dynamics.csv``, ``waiting_times.csv``, ``waiting_densities.parquet``,
``noise.csv``, ``summary.json``).  Exact values come from :mod:`qjump.liouville`, estimates
from quantum-jump trajectories (:mod:`qjump.trajectories`); see README.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from qjump.analysis.dynamics import noise_figure, relaxation_figure, waiting_time_figure

import qjump
from qjump.liouville.dynamics import exact_dynamics
from qjump.liouville.noise import noise_spectrum, shot_noise
from qjump.liouville.steady import relaxation_time
from qjump.liouville.waiting import waiting_time_densities, waiting_times
from qjump.trajectories import noise as traj_noise
from qjump.trajectories import waiting as traj_waiting
from qjump.trajectories.dynamics import dynamics

HERE = Path(__file__).resolve().parent
SEED = 2026
#: relaxation from the ground state
INITIAL_STATE = "ground"
TIMES = np.concatenate([[0.0], np.logspace(-1, np.log10(2000.0), 20)])
EXACT_TIMES = np.logspace(-2, np.log10(5000.0), 160)
DYNAMICS_TRAJECTORIES = 400
QUANTITIES = ("Q_h", "W", "energy")
#: steady-state runs for waiting times and noise
STEADY_TRAJECTORIES = 16
STEADY_T_FINAL = 50_000.0
BINS = np.linspace(0.0, 12.0, 49)
WINDOW = 1000.0
OMEGA_TRAJ = np.logspace(-2, 1, 13)
OMEGA_EXACT = np.union1d(np.concatenate([[0.0], np.logspace(-3.5, 1.3, 120)]), OMEGA_TRAJ)


def scenarios() -> list[qjump.PaperModel]:
    return [
        qjump.PaperModel(dissipation=d, interaction=i, omega_h=1.5)
        for d in ("independent", "common", "cascaded")
        for i in ("all-to-all", "pairwise")
    ]


def main(n_jobs: int) -> None:
    t0 = time.perf_counter()
    frames: dict[str, list[pd.DataFrame]] = {
        k: []
        for k in (
            "dyn_exact",
            "dyn_lines",
            "dyn_traj",
            "steady",
            "wait",
            "dens_exact",
            "dens_lines",
            "dens_traj",
            "noise",
            "noise_window",
            "noise_traj",
            "diffusion",
        )
    }
    summary = {"initial_state": INITIAL_STATE, "seed": SEED, "scenarios": {}}
    for model in scenarios():
        label = model.label
        ts = time.perf_counter()
        tag = {"scenario": label}
        # relaxation: exact lines, exact and trajectory values at the sampled times
        frames["dyn_lines"].append(
            exact_dynamics(model, EXACT_TIMES, initial_state=INITIAL_STATE).assign(**tag)
        )
        frames["dyn_exact"].append(
            exact_dynamics(model, TIMES, initial_state=INITIAL_STATE).assign(**tag)
        )
        frames["dyn_traj"].append(
            dynamics(
                model,
                TIMES,
                initial_state=INITIAL_STATE,
                trajectories=DYNAMICS_TRAJECTORIES,
                seed=SEED,
                n_jobs=n_jobs,
            ).assign(**tag)
        )
        ex = qjump.exact(model)
        frames["steady"].append(
            pd.DataFrame(
                {"scenario": label, "quantity": list(ex.values), "value": list(ex.values.values())}
            )
        )
        # one steady-state run gives the waiting times and the noise
        run = qjump.simulate(
            model,
            t_final=STEADY_T_FINAL,
            trajectories=STEADY_TRAJECTORIES,
            burn_in=0,
            initial_state="steady",
            seed=SEED,
            records=True,
            n_jobs=n_jobs,
            progress=False,
        )
        est, ref = traj_waiting.waiting_times(run), waiting_times(model)
        frames["wait"].append(
            est.assign(
                probability_exact=ref["probability"], mean_delay_exact=ref["mean_delay"], **tag
            )
        )
        frames["dens_traj"].append(traj_waiting.waiting_time_densities(run, BINS).assign(**tag))
        frames["dens_exact"].append(waiting_time_densities(model, bins=BINS).assign(**tag))
        frames["dens_lines"].append(
            waiting_time_densities(model, tau=np.linspace(0, 12, 241)).assign(**tag)
        )
        frames["noise"].append(noise_spectrum(model, OMEGA_EXACT, "h").assign(**tag))
        frames["noise_window"].append(
            noise_spectrum(model, OMEGA_EXACT, "h", window=WINDOW).assign(**tag)
        )
        frames["noise_traj"].append(
            traj_noise.noise_spectrum(run, OMEGA_TRAJ, "h", window=WINDOW).assign(**tag)
        )
        stats = qjump.counting_statistics(model, "h")
        frames["diffusion"].append(
            pd.DataFrame({"scenario": [label], "quanta_diffusion": [stats.quanta_diffusion]})
        )
        summary["scenarios"][label] = {
            "relaxation_time": relaxation_time(model),
            "quanta_diffusion_h": stats.quanta_diffusion,
            "shot_noise_h": shot_noise(model, "h"),
            "jumps_steady_run": run.info["jumps"],
            "wall_time_s": round(time.perf_counter() - ts, 1),
        }
        print(label, summary["scenarios"][label], flush=True)
    df = {k: pd.concat(v, ignore_index=True) for k, v in frames.items()}

    dyn = (
        df["dyn_traj"]
        .merge(df["dyn_exact"], on=["scenario", "time", "quantity"], suffixes=("", "_exact"))
        .drop(columns="se_exact")
    )
    dyn.to_csv(HERE / "dynamics.csv", index=False, float_format="%.10g")
    df["wait"].to_csv(HERE / "waiting_times.csv", index=False, float_format="%.10g")
    dens = df["dens_traj"].assign(density_exact=df["dens_exact"]["density"].to_numpy())
    dens.to_parquet(HERE / "waiting_densities.parquet", index=False)
    noise = df["noise"][["scenario", "bath", "omega", "quanta_noise", "heat_noise"]].merge(
        df["noise_window"][["scenario", "omega", "quanta_noise"]].rename(
            columns={"quanta_noise": "quanta_noise_window"}
        ),
        on=["scenario", "omega"],
    )
    traj = df["noise_traj"][["scenario", "omega", "quanta_noise", "quanta_noise_se"]].rename(
        columns={"quanta_noise": "quanta_noise_traj", "quanta_noise_se": "quanta_noise_traj_se"}
    )
    noise = (
        pd.concat([noise, traj], ignore_index=True)
        .groupby(["scenario", "omega"], as_index=False)
        .first()
    )
    noise.to_csv(HERE / "noise.csv", index=False, float_format="%.10g")

    steady = df["steady"]
    fig = relaxation_figure(
        df["dyn_lines"],
        df["dyn_traj"],
        quantities=QUANTITIES,
        steady=steady,
        title=f"Relaxation from the ground state at omega_h = 1.5: exact (lines) and "
        f"{DYNAMICS_TRAJECTORIES} trajectories (bands)",
    )
    fig.savefig(HERE / "relaxation.png", dpi=110)
    fig = waiting_time_figure(
        df["dens_lines"],
        df["dens_traj"],
        title=f"Waiting-time densities in the steady state at omega_h = 1.5: exact (lines), "
        f"{STEADY_TRAJECTORIES} x {STEADY_T_FINAL:g} trajectories (markers)",
    )
    fig.savefig(HERE / "waiting_times.png", dpi=110)
    fig = noise_figure(
        df["noise"],
        df["noise_traj"],
        windowed=df["noise_window"],
        diffusion=df["diffusion"],
        title=f"Noise of the hot-bath quanta at omega_h = 1.5; periodogram window {WINDOW:g}",
    )
    fig.savefig(HERE / "noise.png", dpi=110)
    summary["wall_time_s"] = round(time.perf_counter() - t0, 1)
    summary["max_abs_z"] = {
        "dynamics": float(np.nanmax(np.abs(_z(dyn["value"], dyn["value_exact"], dyn["se"])))),
        "probability": float(
            np.nanmax(
                np.abs(
                    _z(
                        df["wait"]["probability"],
                        df["wait"]["probability_exact"],
                        df["wait"]["probability_se"],
                    )
                )
            )
        ),
        "mean_delay": float(
            np.nanmax(
                np.abs(
                    _z(
                        df["wait"]["mean_delay"],
                        df["wait"]["mean_delay_exact"],
                        df["wait"]["mean_delay_se"],
                    )
                )
            )
        ),
    }
    nt = noise.dropna(subset=["quanta_noise_traj"])
    summary["max_abs_z"]["noise_vs_window"] = float(
        np.max(
            np.abs(
                _z(nt["quanta_noise_traj"], nt["quanta_noise_window"], nt["quanta_noise_traj_se"])
            )
        )
    )
    (HERE / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


def _z(value, exact, se) -> np.ndarray:
    """Deviation in standard errors; deterministic entries (se ~ 0) count as agreeing."""
    diff = np.asarray(value, float) - np.asarray(exact, float)
    se = np.asarray(se, float)
    return np.where(np.abs(diff) < 1e-8, 0.0, diff / np.where(se > 0, se, np.nan))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=1)
    main(parser.parse_args().n_jobs)
