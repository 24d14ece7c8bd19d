"""Exact steady-state solver: wall time, peak memory and residual per N and scenario.

Each case runs in its own child process so that its peak resident memory is its own.
The N = 4 block system has C(16, 8) = 12,870 unknowns (issue target: <= 30 s, <= 4 GB).

Run::

    python benchmarks/bench_exact.py                 # N = 2, 3, 4, all six scenarios
    python benchmarks/bench_exact.py --N 4 --scenarios com:2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, time
import qjump
m = qjump.PaperModel(N={N}, dissipation={d!r}, interaction={i!r})
t0 = time.perf_counter()
r = qjump.exact(m)
wall = time.perf_counter() - t0
print(json.dumps({{"label": m.label, "N": {N}, "wall_s": wall, "Q_h": r["Q_h"],
                  "residual": r.info["residual"], "solver": r.info["solver"],
                  "first_law": r["W"] + r["Q_h"] + r["Q_c"],
                  "maxrss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run_case(N: int, dissipation: str, interaction: str) -> dict:
    code = CHILD.format(N=N, d=dissipation, i=interaction)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, nargs="*", default=[2, 3, 4])
    p.add_argument("--scenarios", nargs="*",
                   default=["ind:1", "ind:2", "com:1", "com:2", "cas:1", "cas:2"])
    args = p.parse_args()
    print("| N | scenario | unknowns | solver | wall s | peak RSS MB | residual | W+Q_h+Q_c |")
    print("|---|---|---|---|---|---|---|---|")
    from math import comb

    for N in args.N:
        for sc in args.scenarios:
            d, i = sc.split(":")
            r = run_case(N, d, i)
            print(f"| {N} | {r['label']} | {comb(4 * N, 2 * N)} | {r['solver']} | "
                  f"{r['wall_s']:.2f} | {r['maxrss_MB']:.0f} | {r['residual']:.1e} | "
                  f"{r['first_law']:.1e} |", flush=True)


if __name__ == "__main__":
    main()
