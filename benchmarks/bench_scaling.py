"""Scale targets of issue 12, measured in one run: writes ``RESULTS-scaling.md``.

Model throughout: common dissipation, pairwise interaction, omega_h = 1.5, default
couplings ``g_n = 0.5 + 0.05 (n - 1)``, Omega = 0.1.  Sections, in the order they run:

1. **N = 6 at 5 %**: the issue's command verbatim (``qjump simulate --N 6 ... --initial-state
   ground --burn-in 1500 --target-rel-se 0.05 --max-wall 600 --n-jobs 2 --seed 1 --json``),
   saved with ``--save`` so the counted (jump-only) standard error, and the one with the
   interaction flow as the only control variate, can be set beside the reported one.
2. **N = 4 at 1 %**: ``simulate --N 4`` with ``--target-rel-se 0.01 --max-wall 300 --n-jobs 2``
   (steady start, so no burn-in is paid).
3. **Exact N = 3..6** (``bench_exact.run_case``: own process, BLAS on every core), uniqueness
   check included; N = 6 is compared with section 1's trajectory estimate (z).
4. **Trajectories per N = 2..10** (``propagator="auto"``, thermal start, which draws each
   qubit from its bath's thermal state and so puts the state in the sectors the steady state
   occupies): the resource estimate made before anything is built, the CPU seconds per
   simulated time unit over a stretch (cost of ``[T1, T2]`` = cost of a run to ``T2`` minus
   one to ``T1``, same seed, set-up excluded), and the peak resident memory.  Every quantity
   is sampled (``quantities="all"``) where its estimate fits in the available memory, else the
   ``essential`` selection; N = 9 is measured with both.  A run that fits neither is refused.
5. **Guard rails**: the exit code and the one line of commands that must be refused.

Run (the command behind ``RESULTS-scaling.md``; about 45 minutes on 2 cores)::

    python benchmarks/bench_scaling.py

``--quick`` shrinks every budget (a smoke test of the script, not a measurement).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_exact import run_case  # noqa: E402

RESULTS = HERE / "RESULTS-scaling.md"
MODEL = ["--dissipation", "common", "--interaction", "pairwise", "--omega-h", "1.5"]
TARGET_6 = [
    "--N", "6", *MODEL, "--initial-state", "ground", "--burn-in", "1500",
    "--target-rel-se", "0.05", "--max-wall", "600", "--n-jobs", "2", "--seed", "1",
]  # fmt: skip
TARGET_4 = [
    "--N", "4", *MODEL, "--initial-state", "steady", "--trajectories", "8",
    "--target-rel-se", "0.01", "--max-wall", "300", "--n-jobs", "2", "--seed", "1",
]  # fmt: skip
#: (T1, T2) of the per-N trajectory timing: relax to T1, time [T1, T2].
STRETCH = {
    2: (200, 20200), 3: (200, 5200), 4: (200, 2200), 5: (100, 600), 6: (50, 250),
    7: (30, 90), 8: (20, 80), 9: (15, 60), 10: (10, 40),
}  # fmt: skip
# The first time units from a basis state cost several times more per time unit than later
# ones at N >= 8, so the stretch must cost more than the run to T1, or the difference is
# noise: at N = 10, [10, 15] gave 0.30 s per time unit in one run and 1.7-2.7 in repeats.
_SHORT = ["--t-final", "10", "--burn-in", "1"]
GUARDS = [
    ["exact", "--N", "9"],
    ["exact", "--N", "30"],
    ["simulate", "--N", "10", *_SHORT, "--trajectories", "2"],
    ["simulate", "--N", "10", *_SHORT, "--trajectories", "4", "--quantities", "essential",
     "--n-jobs", "4"],
    ["simulate", "--N", "11", *_SHORT, "--trajectories", "2", "--quantities", "essential"],
    ["simulate", "--N", "32", *_SHORT, "--trajectories", "2"],
]  # fmt: skip

PER_N = r"""
import json, resource, sys, time
import qjump
from qjump.trajectories.resources import check_trajectory_resources
from qjump.trajectories.trajectory import TrajectorySpec, run_trajectory, trajectory_seed
N, T1, T2, sel = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
m = qjump.PaperModel(N=N, omega_h=1.5, dissipation="common", interaction="pairwise")
try:
    res = check_trajectory_resources(m, quantities=sel)
except ValueError as exc:
    print(json.dumps({"N": N, "quantities": sel, "refused": str(exc)}))
    sys.exit(0)
c0 = time.process_time()
run_trajectory(
    m, TrajectorySpec(1e-3, 0.0, 1e-3, 2.0, "thermal", quantities=sel), trajectory_seed(0, 0)
)
setup = time.process_time() - c0
cost = []
for T in (T1, T2):
    spec = TrajectorySpec(T, 0.0, T, 2.0, "thermal", quantities=sel)
    c0 = time.process_time()
    out = run_trajectory(m, spec, trajectory_seed(1, 0))
    cost.append(time.process_time() - c0)
    jumps = int(out.counts.sum())
print(json.dumps({
    "N": N, "quantities": sel, "propagator": res.propagator,
    "estimate_GiB": res.memory_bytes / 2**30,
    "estimate_s_per_tu": res.seconds_per_time_unit, "setup_cpu_s": setup,
    "s_per_tu": (cost[1] - cost[0]) / (T2 - T1), "jumps_per_tu": jumps / T2,
    "peak_rss_GiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
}))
"""


def qjump_cli(args: list[str], timeout: float) -> tuple[int, str, str, float]:
    """Run ``qjump ARGS`` in a child process: (exit code, stdout, stderr, wall seconds)."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from qjump.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return out.returncode, out.stdout, out.stderr, time.perf_counter() - t0


def target_run(args: list[str], timeout: float) -> dict:
    """A precision-target run: the CLI's JSON plus the counted SE from the saved frames."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        code, out, err, wall = qjump_cli(
            ["simulate", *args, "--json", "--quiet", "--save", tmp], timeout
        )
        if code != 0:
            return {"error": (err.strip().splitlines() or ["?"])[-1], "wall_s": wall}
        d = json.loads(out)
        per = pd.read_parquet(Path(tmp) / "trajectories.parquet")
    from qjump.trajectories.ensemble import control_variate_mean, current_controls

    x = per["Q_h"]
    d["counted_Q_h"] = float(x.mean())
    d["counted_Q_h_se"] = float(x.std(ddof=1) / math.sqrt(len(x)))
    # the flow alone as control (the estimator before the generator controls)
    d["flow_Q_h_se"] = control_variate_mean(x, current_controls(per, "Q_h")[:, :1])[1]
    d["command_wall_s"] = wall
    d["N"] = int(args[args.index("--N") + 1])
    return d


def selections(N: int) -> list[str]:
    """``all`` where its estimate fits the available memory, else ``essential``; both at N = 9."""
    import qjump
    from qjump.trajectories.resources import check_trajectory_resources

    model = qjump.PaperModel(N=N, omega_h=1.5, dissipation="common", interaction="pairwise")
    try:
        check_trajectory_resources(model)
    except ValueError:
        return ["essential"]
    return ["all", "essential"] if N == 9 else ["all"]


def per_n(N: int, stretch: tuple[float, float], selection: str, timeout: float) -> dict:
    try:
        out = subprocess.run(
            [sys.executable, "-c", PER_N, str(N), *map(str, stretch), selection],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"),
        )
    except subprocess.TimeoutExpired:
        return {"N": N, "quantities": selection, "error": f"timeout {timeout:.0f} s"}
    if out.returncode != 0:
        err = (out.stderr.strip().splitlines() or ["?"])[-1][:160]
        return {"N": N, "quantities": selection, "error": err}
    return json.loads(out.stdout.strip().splitlines()[-1])


def target_rows(name: str, d: dict, exact: dict) -> list[str]:
    if "error" in d:
        return [f"| {name} | failed: {d['error']} | | | | | | | |"]
    t = d["target"]
    e = exact.get(d["N"], {})
    exact_q = e.get("Q_h") if e.get("status") == "ok" else None
    z = f"{(d['Q_h'] - exact_q) / d['Q_h_se']:+.2f}" if exact_q is not None else "n/a"
    ratio = (d["counted_Q_h_se"] / d["Q_h_se"]) ** 2
    flow = (d["flow_Q_h_se"] / d["Q_h_se"]) ** 2
    return [
        f"| {name} | {'met' if t['met'] else 'not met'} ({t['stopped_by']}) "
        f"| {t['achieved_rel_se']:.2%} | {d['Q_h']:.5g} ± {d['Q_h_se']:.2g} | {z} "
        f"| {d['trajectories']} x {d['t_final']:g} "
        f"| {d['command_wall_s']:.0f} | {ratio:.1f} | {flow:.1f} |"
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny budgets (smoke test)")
    p.add_argument("--exact-timeout", type=float, default=1800.0, help="per exact case (s)")
    p.add_argument("--max-n", type=int, default=10, help="largest N of section 4")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    quick = args.quick
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    def budget(cmd: list[str], wall: str) -> list[str]:
        if not quick:
            return cmd
        cmd = list(cmd)
        cmd[cmd.index("--max-wall") + 1] = wall
        cmd[cmd.index("--N") + 1] = "2"
        return cmd

    print("section 1: N = 6 at 5 %", flush=True)
    six = target_run(budget(TARGET_6, "20"), timeout=1200)
    print({k: six.get(k) for k in ("Q_h", "Q_h_se", "target", "command_wall_s")}, flush=True)
    print("section 2: N = 4 at 1 %", flush=True)
    four = target_run(budget(TARGET_4, "20"), timeout=900)
    print("section 3: exact", flush=True)
    exact = {}
    for N in (3, 4, 5) if quick else (3, 4, 5, 6):
        exact[N] = run_case(sys.executable, N, args.exact_timeout)
        print(N, exact[N], flush=True)
    print("section 4: trajectories per N", flush=True)
    traj = []
    for N in range(2, args.max_n + 1):
        stretch = (1.0, 2.0) if quick else STRETCH[N]
        for selection in selections(N):
            traj.append(per_n(N, stretch, selection, timeout=3600))
            print(traj[-1], flush=True)
    print("section 5: guard rails", flush=True)
    guards = []
    for cmd in GUARDS:
        code, _, err, wall = qjump_cli(cmd, timeout=600)
        guards.append((cmd, code, err.strip().splitlines(), wall))

    L = [
        "# Scale: the issue-12 targets, measured in one run",
        "",
        f"Command: `python benchmarks/bench_scaling.py{''.join(' ' + a for a in sys.argv[1:])}`"
        + (" (smoke test: budgets shrunk, not a measurement)" if quick else "")
        + f". Started {started}; machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "Model: common dissipation, pairwise interaction, omega_h = 1.5, default couplings.",
        "",
        "## Precision targets (sections 1-2)",
        "",
        "`variance ratio` = (SE of the jump-counted Q_h / reported SE)^2 from the same",
        "trajectories: the factor in simulated time that the control variates save; `over",
        "flow` = (SE with the interaction flow as the only control / reported SE)^2, the",
        "factor the generator controls add (`qjump.trajectories.ensemble`). `z` = (trajectory",
        "- exact) / SE.",
        "",
        "| run | target | achieved rel. SE | Q_h ± SE | z vs exact | trajectories x t_final "
        "| wall s | variance ratio | over flow |",
        "|---|---|---|---|---|---|---|---|---|",
        *target_rows("N = 6, 5 %, `" + " ".join(TARGET_6) + "`", six, exact),
        *target_rows("N = 4, 1 %, `" + " ".join(TARGET_4) + "`", four, exact),
        "",
        "## Exact steady state (section 3)",
        "",
        "Own process per N, BLAS on every core, uniqueness check included.",
        "",
        "| N | unknowns C(4N, 2N) | wall s | CPU s | peak RSS MB | residual | Q_h |",
        "|---|---|---|---|---|---|---|",
    ]
    for N, e in exact.items():
        if e.get("status") == "ok":
            L.append(
                f"| {N} | {math.comb(4 * N, 2 * N):,} | {e['wall_s']:.1f} | {e['cpu_s']:.1f} "
                f"| {e['maxrss_MB']:.0f} | {e['residual']:.1e} | {e['Q_h']:.12g} |"
            )
        else:
            L.append(f"| {N} | {math.comb(4 * N, 2 * N):,} | {e['status']} | | | | |")
    L += [
        "",
        "## Trajectories per N (section 4)",
        "",
        "One trajectory, thermal start, `propagator='auto'`; CPU seconds per simulated time",
        "unit over the stretch [T1, T2] (set-up excluded); the estimate is made before",
        "anything is built. `quantities`: the sampled selection (`all` where it fits in",
        "memory, else `essential`).",
        "",
        "| N | quantities | propagator | [T1, T2] | s / time unit | jumps / time unit "
        "| set-up CPU s | estimate s / time unit | estimate GiB | peak RSS GiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in traj:
        N = r["N"]
        span = "[1, 2]" if quick else f"[{STRETCH[N][0]}, {STRETCH[N][1]}]"
        if "refused" in r or "error" in r:
            L.append(
                f"| {N} | {r['quantities']} | {r.get('refused') or r.get('error')} | | | | | | | |"
            )
            continue
        L.append(
            f"| {N} | {r['quantities']} | {r['propagator']} | {span} | {r['s_per_tu']:.3g} "
            f"| {r['jumps_per_tu']:.2f} "
            f"| {r['setup_cpu_s']:.1f} | {r['estimate_s_per_tu']:.2g} "
            f"| {r['estimate_GiB']:.2g} | {r['peak_rss_GiB']:.2g} |"
        )
    L += ["", "## Guard rails (section 5)", "", "| command | exit | wall s | stderr |"]
    L.append("|---|---|---|---|")
    for cmd, code, err, wall in guards:
        L.append(f"| `qjump {' '.join(cmd)}` | {code} | {wall:.1f} | {' / '.join(err)} |")
    args.out.write_text("\n".join(L) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
