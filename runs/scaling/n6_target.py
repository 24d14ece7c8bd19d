"""N = 6 trajectory target: Q_h (common, pairwise, omega_h = 1.5) within a wall-clock budget.

Two worker processes (2 cores) each run independent trajectories (ground start, burn-in,
then ``--measure`` time units) until ``--budget`` seconds of wall time have passed since the
start; the relative standard error of the counted-quanta ``Q_h`` over all finished
trajectories is reported, together with the CPU time used (the machine may be shared).

Usage::

    /work/venv/bin/python runs/scaling/n6_target.py --budget 600 --out runs/scaling/n6_target.json
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import time

import numpy as np


def _worker(wid: int, deadline: float, burn_in: float, measure: float, queue) -> None:
    from qjump.model import PaperModel
    from qjump.trajectories.sectors import sector_data
    from qjump.trajectories.trajectory import TrajectorySpec, run_trajectory, trajectory_seed

    model = PaperModel(N=6, omega_h=1.5, dissipation="common", interaction="pairwise")
    c0 = time.process_time()
    sector_data(model)
    queue.put(("setup", wid, time.process_time() - c0))
    spec = TrajectorySpec(t_final=burn_in + measure, burn_in=burn_in, window=measure,
                          sample_interval=5.0, initial_state="ground")
    i = wid
    while time.time() < deadline:
        c1 = time.process_time()
        out = run_trajectory(model, spec, trajectory_seed(606, i))
        c = out.counts.sum(axis=0)
        if time.time() > deadline + 60:  # finished far too late: do not count it
            break
        queue.put(("traj", i, float(1.5 * (c[0, 1] - c[0, 0]) / measure), int(c.sum()),
                   time.process_time() - c1))
        i += 2
    queue.put(("done", wid, time.process_time() - c0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=600.0)
    ap.add_argument("--burn-in", type=float, default=1500.0)
    ap.add_argument("--measure", type=float, default=4000.0)
    ap.add_argument("--out", default="runs/scaling/n6_target.json")
    args = ap.parse_args()
    t0 = time.time()
    deadline = t0 + args.budget
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(w, deadline, args.burn_in, args.measure, queue))
             for w in range(2)]
    for p in procs:
        p.start()
    rows, setup, cpu, done = [], {}, {}, 0
    while done < 2:
        msg = queue.get()
        if msg[0] == "setup":
            setup[msg[1]] = msg[2]
        elif msg[0] == "traj":
            rows.append(msg[1:])
            print("trajectory", msg[1:], flush=True)
        else:
            cpu[msg[1]] = msg[2]
            done += 1
    for p in procs:
        p.join()
    q = np.array([r[1] for r in rows])
    mean = float(q.mean()) if q.size else math.nan
    se = float(q.std(ddof=1) / math.sqrt(q.size)) if q.size > 1 else math.nan
    res = {"trajectories": int(q.size), "burn_in": args.burn_in, "measure": args.measure,
           "Q_h": mean, "Q_h_se": se, "relative_se": se / abs(mean) if q.size > 1 else None,
           "wall_s": time.time() - t0, "cpu_s_workers": sum(cpu.values()),
           "setup_cpu_s": setup, "measured_time_total": float(q.size * args.measure),
           "jumps": int(sum(r[2] for r in rows)),
           "throughput_per_cpu_s": float(sum((args.burn_in + args.measure) for _ in rows)
                                         / max(sum(r[3] for r in rows), 1e-9))}
    print(json.dumps(res, indent=1))
    with open(args.out, "w") as fh:
        json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
