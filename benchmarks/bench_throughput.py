"""Trajectory throughput, measured side by side in one run: qjump vs QuTiP 5.3.1 ``mcsolve``,
this tree vs a baseline tree (e.g. main), and every propagator per N.

Sections (all in one invocation, so the ratios share the machine's load):

1. The issue-12 configuration ``qjump simulate --N 2 --dissipation common --interaction
   pairwise --omega-h 1.5 --trajectories 400 --t-final 12700 --burn-in 2500 --n-jobs 1``
   (default initial state, thermal) against QuTiP ``mcsolve`` (serial, ground state,
   ``tlist=[0, 2500]``, 8 trajectories, default options).  Throughput = simulated time
   (burn-in included) per wall second, compilation cache warm.
2. Nanoseconds per jump of the N = 2 engine: one long trajectory, CPU time / jumps; the
   trees alternate for three rounds (timings on a shared machine drift by up to 2x between
   runs of the same code, so the per-round ratio is the comparable figure).
3. Per N and propagator: CPU seconds per simulated time unit and per jump (one trajectory,
   ground state, common dissipation, pairwise interaction), next to the estimate of
   :func:`qjump.trajectories.resources.trajectory_resources` and, with ``--baseline``, the
   baseline tree's time for the same case, run right after it (up to ``--baseline-max-n``).
4. The price of the N = 2 jump's kernels: nanoseconds per call of each compiled kernel of
   the ``eigen`` propagator in the sectors of dimension 4 and 6 (which see 81 % of the
   jumps), on the model's own eigendata and 64 rotating random states; next to the cost per
   jump that 300x QuTiP needs at the QuTiP speed of section 1.

Every section also runs in a baseline source tree when ``--baseline DIR`` is given (a
checkout of main: ``git archive main qjump | tar -x -C DIR``), in a child process with
``PYTHONPATH=DIR``, alternating with this tree.

Run (needs qutip==5.3.1 in the same environment)::

    python benchmarks/bench_throughput.py --baseline /tmp/main-src --markdown \
        benchmarks/RESULTS-throughput.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, os, sys, time
import qjump
from qjump.trajectories.ensemble import simulate
from qjump.trajectories.trajectory import TrajectorySpec, run_trajectory, trajectory_seed
what, arg = sys.argv[1], json.loads(sys.argv[2])
m = qjump.PaperModel(N=2, omega_h=1.5, dissipation="common", interaction="pairwise")
run_trajectory(m, TrajectorySpec(10.0, 0.0, 10.0, 2.0, "ground"), trajectory_seed(0, 0))
if what == "issue":
    simulate(m, t_final=50.0, trajectories=2, burn_in=10.0, seed=1, n_jobs=1, progress=False)
    t0, c0 = time.perf_counter(), sum(os.times()[:4])
    r = simulate(m, t_final=arg["t_final"], trajectories=arg["trajectories"],
                 burn_in=arg["burn_in"], seed=1, n_jobs=1, progress=False)
    wall, cpu = time.perf_counter() - t0, sum(os.times()[:4]) - c0
    total = arg["trajectories"] * arg["t_final"]
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "simulated_time": total,
                      "throughput": total / wall, "cpu_throughput": total / cpu,
                      "Q_h": r["Q_h"], "Q_h_se": r.se["Q_h"]}))
else:
    T = arg["t_final"]
    spec = TrajectorySpec(t_final=T, burn_in=0.0, window=T, sample_interval=2.0,
                          initial_state="ground")
    best = None
    for rep in range(arg["repeats"]):
        c0 = time.process_time()
        out = run_trajectory(m, spec, trajectory_seed(1, rep))
        cpu = time.process_time() - c0
        jumps = int(out.counts.sum())
        ns = cpu / jumps * 1e9
        best = ns if best is None else min(best, ns)
    print(json.dumps({"ns_per_jump": best, "jumps_per_time_unit": jumps / T}))
"""


def python(code: str, args: list[str], src: str | None, timeout: float | None = None) -> dict:
    """Run ``code`` in a child interpreter (the tree ``src`` first on its path) and return the
    JSON object it prints last."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
        cwd="/",
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(what: str, arg: dict, src: str | None) -> dict:
    return python(CHILD, [what, json.dumps(arg)], src)


PER_N = r"""
import json, sys, time
import qjump
from qjump.trajectories.resources import trajectory_resources
from qjump.trajectories.trajectory import TrajectorySpec, run_trajectory, trajectory_seed
N, prop, T = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
m = qjump.PaperModel(N=N, omega_h=1.5, dissipation="common", interaction="pairwise")
est = trajectory_resources(m, prop)
c0 = time.process_time()
run_trajectory(m, TrajectorySpec(1e-3, 0.0, 1e-3, 1.0, "ground"), trajectory_seed(0, 0),
               propagator=prop)
setup = time.process_time() - c0
spec = TrajectorySpec(t_final=T, burn_in=0.0, window=T, sample_interval=2.0,
                      initial_state="ground")
c0 = time.process_time()
out = run_trajectory(m, spec, trajectory_seed(1, 0), propagator=prop)
cpu = time.process_time() - c0
jumps = int(out.counts.sum())
import resource
print(json.dumps({"N": N, "propagator": prop, "T": T, "setup_cpu_s": setup, "cpu_s": cpu,
                  "jumps": jumps, "s_per_time_unit": cpu / T,
                  "us_per_jump": cpu / max(jumps, 1) * 1e6,
                  "est_s_per_time_unit": est.seconds_per_time_unit,
                  "est_memory_MB": est.memory_bytes / 2**20,
                  "maxrss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

KERNELS = r"""
import json, sys, time
import numba as nb, numpy as np, qjump
from qjump.trajectories.propagators import eigen as E
m = qjump.PaperModel(N=2, omega_h=1.5, dissipation="common", interaction="pairwise")
eig = E.dense_propagator(m).eig
# the baseline tree may predate the public name
norm_derivatives = getattr(E, "norm_derivatives", None) or getattr(E, "_norm_derivatives")
propagate, quadratic_form, matvec = E.propagate, E.quadratic_form, E.matvec

@nb.njit
def t_propagate(C, lam, n, out, reps):
    s = 0.0
    for i in range(reps):
        propagate(C[i & 63], lam, n, 0.1 + 1e-3 * (i & 7), out)
        s += out[0].real
    return s

@nb.njit
def t_norm_derivatives(G, S, T, r0, d, C, reps):
    s = 0.0
    for i in range(reps):
        a, b, c = norm_derivatives(G, S, T, r0, d, C[i & 63])
        s += a + b + c
    return s

@nb.njit
def t_quadratic_form(G, r0, d, C, reps):
    s = 0.0
    for i in range(reps):
        s += quadratic_form(G, r0, d, C[i & 63])
    return s

@nb.njit
def t_matvec(V, r0, d, C, out, reps):
    s = 0.0
    for i in range(reps):
        matvec(V, r0, C[i & 63], d, d, out)
        s += out[0].real
    return s

@nb.njit
def t_random(rng, reps):
    s = 0.0
    for i in range(reps):
        s += rng.random()
    return s

def best(f, *args, reps=2_000_000):
    f(*args, 10)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        f(*args, reps)
        times.append(time.perf_counter() - t0)
    return min(times) / reps * 1e9

rng = np.random.default_rng(0)
res = {"random": best(t_random, np.random.default_rng(1))}
for k in (1, 2):
    d = int(eig.loff[k + 1] - eig.loff[k])
    r0 = int(eig.loff[k])
    n = E.lanes(d)
    C = np.zeros((64, n), complex)
    C[:, :d] = rng.normal(size=(64, d)) + 1j * rng.normal(size=(64, d))
    out = np.zeros(n, complex)
    lam = eig.lam[r0 : r0 + n]
    res[f"propagate d={d}"] = best(t_propagate, C, lam, n, out)
    res[f"norm_derivatives d={d}"] = best(t_norm_derivatives, eig.G, eig.S, eig.T, r0, d, C)
    res[f"quadratic_form d={d}"] = best(t_quadratic_form, eig.G, r0, d, C)
    res[f"matvec d={d}"] = best(t_matvec, eig.V, r0, d, C, out)
print(json.dumps(res))
"""


def kernels(src: str | None) -> dict:
    return python(KERNELS, [], src)


#: (N, propagator, simulated time) of section 3.
CASES = [
    (2, "eigen", 2e5),
    (2, "eigen-large", 2e5),
    (3, "eigen", 4e4),
    (3, "eigen-large", 4e4),
    (3, "krylov", 2e3),
    (4, "eigen", 1e4),
    (4, "eigen-large", 1e4),
    (4, "krylov", 1e3),
    (5, "eigen-large", 1e3),
    (5, "krylov", 300),
    (6, "eigen-large", 200),
    (6, "krylov", 100),
    (7, "krylov", 20),
    (8, "krylov", 5),
    (9, "krylov", 1),
    (10, "krylov", 0.5),
]


def per_n(N: int, prop: str, T: float, timeout: float, src: str | None = None) -> dict:
    try:
        return python(PER_N, [str(N), prop, str(T)], src, timeout)
    except subprocess.TimeoutExpired:
        return {"N": N, "propagator": prop, "T": T, "error": f"timeout {timeout:.0f} s"}
    except subprocess.CalledProcessError as exc:
        return {
            "N": N,
            "propagator": prop,
            "T": T,
            "error": exc.stderr.strip().splitlines()[-1][:120],
        }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default=None, help="source tree of the baseline (e.g. main)")
    p.add_argument("--quick", action="store_true", help="smaller budgets (a smoke test)")
    p.add_argument("--max-n", type=int, default=8, help="largest N of section 3")
    p.add_argument("--timeout", type=float, default=900.0, help="per case of section 3 (s)")
    p.add_argument(
        "--baseline-max-n", type=int, default=8, help="largest N of section 3 run in the baseline"
    )
    p.add_argument("--markdown", default=None, help="write the report to this file")
    p.add_argument("--json", default=None, help="also write the numbers to this file")
    args = p.parse_args()
    scale = 0.1 if args.quick else 1.0
    trees = [("this tree", None)] + ([("baseline", args.baseline)] if args.baseline else [])
    issue = {"trajectories": int(400 * scale), "t_final": 12700.0, "burn_in": 2500.0}
    rows: dict = {"issue": {}, "jump": {}}

    sys.path.insert(0, HERE)
    from qutip_mcsolve_throughput import qutip_mcsolve_throughput

    qutip_mcsolve_throughput(N=2, ntraj=1, t_final=50.0)  # warm-up
    rows["qutip"] = qutip_mcsolve_throughput(N=2, ntraj=8, t_final=2500.0)
    for name, src in trees:  # alternate the trees, best of two rounds each
        rows["issue"][name] = child("issue", issue, src)
    for name, src in reversed(trees):
        r = child("issue", issue, src)
        if r["throughput"] > rows["issue"][name]["throughput"]:
            rows["issue"][name] = r
    rounds = [
        {name: child("jump", {"t_final": 2e5 * scale, "repeats": 3}, src) for name, src in trees}
        for _ in range(3)
    ]
    for name, _ in trees:
        rows["jump"][name] = min((r[name] for r in rounds), key=lambda r: r["ns_per_jump"])
    rows["jump_rounds"] = rounds
    rows["qutip_after"] = qutip_mcsolve_throughput(N=2, ntraj=8, t_final=2500.0)
    kernel_rounds = [{name: kernels(src) for name, src in trees} for _ in range(2)]
    rows["kernels"] = {
        name: {key: min(r[name][key] for r in kernel_rounds) for key in kernel_rounds[0][name]}
        for name, _ in trees
    }
    rows["per_n"], rows["per_n_baseline"] = [], []
    for N, prop, T in CASES:
        if N > args.max_n:
            continue
        rows["per_n"].append(per_n(N, prop, T * scale, args.timeout))
        if args.baseline and N <= args.baseline_max_n:
            rows["per_n_baseline"].append(per_n(N, prop, T * scale, args.timeout, args.baseline))
        else:
            rows["per_n_baseline"].append({"error": "not run"})

    q = max(rows["qutip"]["throughput"], rows["qutip_after"]["throughput"])
    lines = [
        "# Trajectory throughput (one run, side by side)",
        "",
        f"Command: `python benchmarks/bench_throughput.py{' --baseline DIR' * bool(args.baseline)}"
        f"{' --quick' * args.quick} --max-n {args.max_n}"
        f"{f' --baseline-max-n {args.baseline_max_n}' * bool(args.baseline)} "
        "--markdown benchmarks/RESULTS-throughput.md` "
        "(the baseline DIR is `git archive main qjump` unpacked; qutip 5.3.1 in the same venv).",
        f"Machine: {os.cpu_count()} cores shared with other jobs (load average at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}): compare ratios, not seconds.",
        "",
        "## N = 2, the issue-12 configuration vs QuTiP 5.3.1 mcsolve",
        "",
        f"qjump: `simulate --N 2 --dissipation common --interaction pairwise --omega-h 1.5 "
        f"--trajectories {issue['trajectories']} --t-final 12700 --burn-in 2500 --n-jobs 1` "
        "(thermal start, burn-in included in the simulated time; best of two alternating "
        "rounds).  QuTiP: serial, ground state, tlist [0, 2500], 8 trajectories, default "
        "options (best of a run before and after the qjump runs).",
        "",
        "| engine | wall s | simulated time | time units / wall s | vs QuTiP | "
        "time units / CPU s |",
        "|---|---|---|---|---|---|",
        f"| QuTiP 5.3.1 mcsolve | {rows['qutip']['wall_s']:.2f}, "
        f"{rows['qutip_after']['wall_s']:.2f} | {rows['qutip']['simulated_time']:.3g} | "
        f"{q:.3g} | 1x | |",
    ]
    for name, _ in trees:
        r = rows["issue"][name]
        lines.append(
            f"| qjump ({name}) | {r['wall_s']:.2f} | {r['simulated_time']:.3g} | "
            f"{r['throughput']:.3g} | {r['throughput'] / q:.0f}x | "
            f"{r['cpu_throughput']:.3g} |"
        )
    if args.baseline:
        a, b = rows["issue"]["this tree"], rows["issue"]["baseline"]
        lines += [
            "",
            f"This tree / baseline: {a['throughput'] / b['throughput']:.2f}x (wall), "
            f"{a['cpu_throughput'] / b['cpu_throughput']:.2f}x (CPU).",
        ]
    lines += [
        "",
        "## Per-jump cost, N = 2 (one long trajectory, CPU time / jumps)",
        "",
        "Three rounds alternating the trees; each entry is the best of 3 trajectories.",
        "",
        "| tree | ns per jump, rounds 1-3 | best | jumps per time unit |",
        "|---|---|---|---|",
    ]
    for name, _ in trees:
        r = rows["jump"][name]
        per_round = ", ".join(f"{x[name]['ns_per_jump']:.0f}" for x in rows["jump_rounds"])
        lines.append(
            f"| {name} | {per_round} | {r['ns_per_jump']:.0f} | {r['jumps_per_time_unit']:.3f} |"
        )
    if args.baseline:
        ratios = sorted(
            x["baseline"]["ns_per_jump"] / x["this tree"]["ns_per_jump"]
            for x in rows["jump_rounds"]
        )
        lines += [
            "",
            f"Baseline / this tree per round: {', '.join(f'{x:.2f}' for x in ratios)} "
            f"(median {ratios[1]:.2f}x).",
        ]
    jpt = rows["jump"]["this tree"]["jumps_per_time_unit"]
    need = 1e9 / (300 * q * jpt)
    mine = rows["issue"]["this tree"]
    all_in = mine["wall_s"] / (mine["simulated_time"] * jpt) * 1e9
    lines += [
        "",
        "## Price of the N = 2 jump's kernels (ns per call, `eigen` propagator)",
        "",
        "Each kernel in a compiled loop over 64 random states, on the model's eigendata in "
        "the sectors of dimension 4 and 6; best of 5 timings of 2e6 calls, two rounds "
        "alternating the trees.  `propagate` runs over the padded length "
        "(`eigen.lanes(d)`).",
        "",
        "| kernel | " + " | ".join(name for name, _ in trees) + " |",
        "|---|" + "---|" * len(trees),
    ]
    for key in rows["kernels"]["this tree"]:
        lines.append(
            f"| `{key}` | "
            + " | ".join(f"{rows['kernels'][name].get(key, float('nan')):.1f}" for name, _ in trees)
            + " |"
        )
    lines += [
        "",
        f"300x QuTiP at this run's QuTiP speed ({q:.3g} time units per s) and "
        f"{jpt:.3f} jumps per time unit needs at most {need:.0f} ns per jump, all included "
        f"(burn-in, {issue['trajectories']} trajectories, set-up and frames); this tree took "
        f"{all_in:.0f} ns per jump all included in section 1 (its jumps counted at section "
        "2's rate).",
    ]
    lines += [
        "",
        "## Per N and propagator (common, pairwise, omega_h = 1.5, ground start, one trajectory)",
        "",
        "CPU seconds (one core) per simulated time unit; `estimate` is "
        "`trajectory_resources(model, propagator)` (made before anything is built).  With "
        "`--baseline`, the baseline tree runs each case right after this tree (up to "
        f"`--baseline-max-n {args.baseline_max_n}`), same seed and simulated time.",
        "",
        "| N | propagator | setup CPU s | s / time unit | µs / jump | estimate s / time unit "
        "| estimated MB | peak RSS MB | baseline s / time unit | baseline / this |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r, b in zip(rows["per_n"], rows["per_n_baseline"], strict=True):
        if "error" in r:
            lines.append(f"| {r['N']} | {r['propagator']} | {r['error']} | | | | | | | |")
            continue
        versus = "| | |"
        if "error" not in b:
            ratio = b["s_per_time_unit"] / r["s_per_time_unit"]
            versus = f"| {b['s_per_time_unit']:.3g} | {ratio:.2f}x |"
        lines.append(
            f"| {r['N']} | {r['propagator']} | {r['setup_cpu_s']:.1f} | "
            f"{r['s_per_time_unit']:.3g} | {r['us_per_jump']:.3g} | "
            f"{r['est_s_per_time_unit']:.2g} | {r['est_memory_MB']:.0f} | "
            f"{r['maxrss_MB']:.0f} {versus}"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
