"""Heat distribution P(Q_h, tau) of com(2) at omega_h = 1.5: trajectories against exact FCS.

Run from the repository root::

    .venv/bin/python runs/fluctuations/make_figure.py

Writes ``heat_distribution.png`` and ``heat_distribution.csv`` next to this script
(physics notes §6; details in README.md).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from qjump.analysis.fluctuations import heat_distribution_figure, heat_distribution_table

import qjump
from qjump.trajectories.ensemble import simulate
from qjump.trajectories.estimates import fluctuation_theorem_check, scaled_cumulants

HERE = Path(__file__).resolve().parent
TAU = 200.0
T_FINAL = 200_000.0
TRAJECTORIES = 200
SEED = 2026


def main() -> None:
    model = qjump.PaperModel(dissipation="common", interaction="pairwise", omega_h=1.5)
    t0 = time.perf_counter()
    result = simulate(
        model,
        t_final=T_FINAL,
        trajectories=TRAJECTORIES,
        seed=SEED,
        initial_state="steady",
        burn_in=0,
        window=TAU,
        n_jobs=2,
        progress=False,
    )
    table = heat_distribution_table(result, TAU, "h")
    table.to_csv(HERE / "heat_distribution.csv", index=False, float_format="%.10g")
    n = int(table["count"].sum())
    fig = heat_distribution_figure(
        table,
        title=rf"{model.label}, $\omega_h = {model.omega_h:g}\,\omega_c$: hot-bath heat over "
        rf"$\tau = {TAU:g}/\omega_c$" + "\n"
        rf"{TRAJECTORIES} steady-start trajectories of ${T_FINAL:g}/\omega_c$, {n} windows",
    )
    fig.savefig(HERE / "heat_distribution.png", dpi=120)
    est = scaled_cumulants(result, "h", "quanta")
    ft = fluctuation_theorem_check(result, model, tau=TAU)
    summary = {
        "model": model.label,
        "tau": TAU,
        "windows": n,
        "quanta": est.to_dict(),
        "exact": qjump.liouville.fcs.cumulants(model, "h")._asdict(),
        "ft_slope": ft.slope,
        "ft_slope_se": ft.slope_se,
        "affinity": ft.affinity,
        "exact_gc_violation": qjump.liouville.fcs.gallavotti_cohen_violation(model),
        "wall_time_s": time.perf_counter() - t0,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
