"""Exact steady-state solver at N = 3..6: wall time, CPU time, peak memory and residual.

The model is the issue's scaling case, ``qjump exact --N <N> --dissipation common
--interaction pairwise --omega-h 1.5``; every solve includes the uniqueness check.  Each case
runs in its own child process (so its peak resident memory is its own) with a wall-clock
timeout.  With ``--baseline PYTHON`` every case also runs under another interpreter (an
environment with another qjump installed), interleaved case by case, and the table reports
the time ratios and the relative difference of Q_h: on a shared machine only ratios measured
side by side mean anything.

Run (the command behind ``RESULTS-exact.md``; the baseline of N = 6 needs more than the
timeout)::

    python benchmarks/bench_exact.py --N 3 4 5 6 --baseline /tmp/baseline/.venv/bin/python \
        --baseline-N 3 4 5 --timeout 1200

``--N6`` adds N = 6 (C(24, 12) = 2.7e6 unknowns; minutes).  ``--N 3 4`` picks other sizes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS-exact.md"

CHILD = """
import json, resource, time
import qjump
m = qjump.PaperModel(N={N}, dissipation="common", interaction="pairwise", omega_h=1.5)
t0, c0 = time.perf_counter(), time.process_time()
r = qjump.exact(m)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({{"qjump": qjump.__file__, "wall_s": wall, "cpu_s": cpu,
                  "Q_h": r["Q_h"], "W": r["W"], "Q_c": r["Q_c"],
                  "residual": r.info["residual"], "solver": r.info["solver"],
                  "maxrss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


#: BLAS threads of a case: every core, as ``qjump exact`` uses them by default (the solver
#: also runs that many sectors of its matrix-free products at once).
THREADS = os.cpu_count() or 1


def run_case(python: str, N: int, timeout: float, threads: int = THREADS) -> dict:
    """One exact solve in a child process with ``threads`` BLAS threads; ``{"status": ...}``
    on timeout or failure."""
    n = str(threads)
    env = dict(os.environ, OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n)
    try:
        out = subprocess.run(
            [python, "-c", CHILD.format(N=N)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd="/",  # not the work tree: the interpreter must import its own qjump
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": f"timeout ({timeout:.0f} s)"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": f"failed: {last[:80]}"}
    return {"status": "ok", **json.loads(out.stdout.strip().splitlines()[-1])}


def _cell(r: dict, key: str, fmt: str) -> str:
    return format(r[key], fmt) if r["status"] == "ok" else r["status"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, nargs="*", default=[3, 4, 5])
    p.add_argument("--N6", action="store_true", help="add N = 6 (minutes)")
    p.add_argument("--baseline", help="python of an environment with the qjump to compare")
    p.add_argument(
        "--baseline-N",
        type=int,
        nargs="*",
        help="sizes to run under the baseline too (default: all); a baseline known to time "
        "out need not spend the timeout again",
    )
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per case")
    p.add_argument("--threads", type=int, default=THREADS, help="BLAS threads per case")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    Ns = sorted(set(args.N) | ({6} if args.N6 else set()))
    rows = []
    header = "| N | unknowns | wall s | CPU s | peak RSS MB | residual | W+Q_h+Q_c | Q_h |" + (
        " baseline wall s | baseline CPU s | baseline RSS MB | wall ratio | CPU ratio |"
        " rel. diff Q_h |"
        if args.baseline
        else ""
    )
    sep = "|" + "---|" * (header.count("|") - 1)
    print(header)
    print(sep, flush=True)
    for N in Ns:
        new = run_case(sys.executable, N, args.timeout, args.threads)
        line = (
            f"| {N} | {math.comb(4 * N, 2 * N)} | {_cell(new, 'wall_s', '.1f')} | "
            f"{_cell(new, 'cpu_s', '.1f')} | {_cell(new, 'maxrss_MB', '.0f')} | "
            f"{_cell(new, 'residual', '.1e')} | "
            + (f"{new['W'] + new['Q_h'] + new['Q_c']:.1e}" if new["status"] == "ok" else "-")
            + f" | {_cell(new, 'Q_h', '.12g')} |"
        )
        if args.baseline and args.baseline_N is not None and N not in args.baseline_N:
            line += " not run | - | - | - | - | - |"
        elif args.baseline:
            old = run_case(args.baseline, N, args.timeout, args.threads)
            if old["status"] == "ok" and new["status"] == "ok" and old["qjump"] == new["qjump"]:
                sys.exit(f"--baseline imports the same qjump ({new['qjump']})")
            both = new["status"] == "ok" and old["status"] == "ok"
            ratio = f"{old['cpu_s'] / new['cpu_s']:.1f}x" if both else "-"
            wall = f"{old['wall_s'] / new['wall_s']:.1f}x" if both else "-"
            diff = f"{abs(new['Q_h'] - old['Q_h']) / abs(old['Q_h']):.1e}" if both else "-"
            line += (
                f" {_cell(old, 'wall_s', '.1f')} | {_cell(old, 'cpu_s', '.1f')} | "
                f"{_cell(old, 'maxrss_MB', '.0f')} | {wall} | {ratio} | {diff} |"
            )
        print(line, flush=True)
        rows.append(line)
    text = [
        "# Exact steady-state solver: time, memory, residual",
        "",
        "Model: `qjump exact --N <N> --dissipation common --interaction pairwise --omega-h 1.5`,",
        "uniqueness check included; each case in its own child process, "
        f"{args.threads} BLAS thread(s) per case.",
        f"Command: `python benchmarks/bench_exact.py {' '.join(sys.argv[1:])}`",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared with other jobs "
        f"(load average {os.getloadavg()[0]:.1f} at the end); measured "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "Ratios = baseline / this, of wall and of CPU seconds (idle BLAS threads spin, so the "
        "CPU seconds of a multi-threaded case exceed its work).",
        "",
        header,
        sep,
        *rows,
        "",
    ]
    args.out.write_text("\n".join(text))


if __name__ == "__main__":
    main()
