"""Trajectory throughput of qjump against QuTiP 5 ``mcsolve``, measured side by side.

Reference case (issue 3): the paper model with N = 2, common dissipation, pairwise
interaction, omega_h = 1.5.  QuTiP 5.3.1 ``mcsolve`` runs serially from the ground state with
``tlist=[0, 2500]``, 8 trajectories and default options.  qjump runs the same model with its
default options, from the ground state too.  Throughput is simulated time units per wall
second (compilation included for qjump: a compiled kernel cached on disk by an earlier run
is allowed).

Also measured: the speed-up of ``n_jobs=2`` over ``n_jobs=1``, the wall time to reach 1%
relative standard error on Q_h, and the peak resident memory of a run of 1e8 simulated time
units (in a child process).

Run (needs the ``bench`` extra, i.e. qutip, in the same environment)::

    python benchmarks/bench_throughput.py            # full
    python benchmarks/bench_throughput.py --quick    # smaller budgets
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import qjump
from qjump.liouville.fcs import counting_statistics
from qjump.trajectories.ensemble import simulate

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = qjump.PaperModel(N=2, omega_h=1.5, dissipation="common", interaction="pairwise")


def qutip_throughput() -> dict:
    sys.path.insert(0, HERE)
    from qutip_mcsolve_throughput import qutip_mcsolve_throughput

    return qutip_mcsolve_throughput(N=2, ntraj=8, t_final=2500)


def qjump_throughput(n_jobs: int, trajectories: int, t_final: float) -> dict:
    t0 = time.perf_counter()
    res = simulate(MODEL, t_final=t_final, trajectories=trajectories, burn_in=0.0,
                   initial_state="ground", seed=1, n_jobs=n_jobs, progress=False)
    wall = time.perf_counter() - t0
    sim = res.info["simulated_time"]
    return {"n_jobs": n_jobs, "wall_s": wall, "simulated_time": sim,
            "throughput": sim / wall, "jumps": res.info["jumps"]}


def time_to_one_percent() -> dict:
    """Run until Q_h has ~1% relative SE (budget from the exact diffusion) and time it."""
    ex = qjump.exact(MODEL)
    D = counting_statistics(MODEL).heat_diffusion
    needed = D / (0.01 * ex["Q_h"]) ** 2
    M = 64
    t_final = needed / M
    t0 = time.perf_counter()
    res = simulate(MODEL, t_final=t_final, trajectories=M, burn_in=0.0, initial_state="steady",
                   seed=2, n_jobs=2, progress=False)
    wall = time.perf_counter() - t0
    return {"predicted_simulated_time": needed, "wall_s": wall,
            "Q_h": res["Q_h"], "Q_h_se": res.se["Q_h"], "rel_se": res.se["Q_h"] / abs(res["Q_h"]),
            "exact_Q_h": ex["Q_h"], "D_h": D}


def memory_run(total: float) -> dict:
    """Peak RSS of a serial run of ``total`` simulated time units, in a child process."""
    code = (
        "import qjump, resource, json\n"
        "from qjump.trajectories.ensemble import simulate\n"
        f"m = qjump.PaperModel(N=2, omega_h=1.5, dissipation='common', interaction='pairwise')\n"
        f"r = simulate(m, t_final={total / 16!r}, trajectories=16, burn_in=0.0, "
        "initial_state='steady', seed=3, n_jobs=1, progress=False)\n"
        "print(json.dumps({'simulated_time': r.info['simulated_time'], 'wall_s': "
        "r.info['wall_time_s'], 'maxrss_MB': resource.getrusage(resource.RUSAGE_SELF)."
        "ru_maxrss / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", default=None, help="also write the numbers to this file")
    args = p.parse_args()
    scale = 0.1 if args.quick else 1.0
    rows = {}
    rows["qutip"] = qutip_throughput()
    rows["qjump_1"] = qjump_throughput(1, 8, 2e6 * scale)
    rows["qjump_2"] = qjump_throughput(2, 16, 2e6 * scale)
    rows["one_percent"] = time_to_one_percent()
    rows["memory"] = memory_run(1e8 * scale)
    q = rows["qutip"]["throughput"]
    print("| engine | wall s | simulated time | throughput (time units / s) | vs QuTiP |")
    print("|---|---|---|---|---|")
    print(f"| QuTiP 5.3.1 mcsolve, serial | {rows['qutip']['wall_s']:.2f} | "
          f"{rows['qutip']['simulated_time']:.3g} | {q:.3g} | 1.0x |")
    for key in ("qjump_1", "qjump_2"):
        r = rows[key]
        print(f"| qjump, n_jobs={r['n_jobs']} | {r['wall_s']:.2f} | {r['simulated_time']:.3g} | "
              f"{r['throughput']:.3g} | {r['throughput'] / q:.0f}x |")
    sp = rows["qjump_2"]["throughput"] / rows["qjump_1"]["throughput"]
    print(f"\nn_jobs=2 speed-up over n_jobs=1: {sp:.2f}x")
    o = rows["one_percent"]
    print(f"1% relative SE on Q_h: {o['wall_s']:.1f} s wall on 2 workers "
          f"({o['predicted_simulated_time']:.3g} simulated time units), achieved "
          f"Q_h = {o['Q_h']:.5e} +- {o['Q_h_se']:.2e} (rel {o['rel_se']:.4f}); "
          f"exact {o['exact_Q_h']:.5e}")
    m = rows["memory"]
    print(f"memory: {m['simulated_time']:.3g} simulated time units, serial, peak RSS "
          f"{m['maxrss_MB']:.0f} MB, {m['wall_s']:.0f} s")
    print(f"\nmachine: {os.cpu_count()} cores; load average {os.getloadavg()}; "
          f"qjump {qjump.__version__}; numpy {np.__version__}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
