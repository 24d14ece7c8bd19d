"""Scaling table N = 2..8: qjump exact and trajectories next to QuTiP 5 steadystate and mcsolve.

Every cell runs in its own subprocess with an address-space limit and a wall-clock timeout
(:mod:`cells`).  Model: common dissipation, pairwise interaction, omega_h = 1.5, default
couplings ``g_n = 0.5 + 0.05 (n - 1)``, Omega = 0.1.

* ``qjump-exact``: :func:`qjump.liouville.steady.steady_state` (dense / GMRES / matrix-free GMRES
  with the block Gauss-Seidel preconditioner; residual and uniqueness check included).
* ``qjump-trajectories``: one trajectory from the ground state over a per-N budget of
  simulated time (:data:`TRAJ_BUDGET`), reporting simulated time per wall second.
* ``qutip-steadystate``: ``qutip.steadystate`` (direct sparse solver).
* ``qutip-mcsolve``: serial ``mcsolve``, one trajectory over the same per-N budget.

Usage (the command used for ``RESULTS-scaling.md``)::

    /work/benchvenv/bin/python benchmarks/scaling_table.py --N 2 3 4 5 6 7 8 \\
        --timeout 600 --tool-timeout qutip-steadystate=300 qutip-mcsolve=300 \\
        qjump-trajectories=300 --mem-gb 8

Larger N of a tool are not run once a smaller N timed out or ran out of memory (they are
reported with the same status).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from cells import register_tool, run_cell  # noqa: E402

#: Simulated time per trajectory cell (one trajectory from the ground state).
TRAJ_BUDGET = {2: 20_000.0, 3: 5_000.0, 4: 1_000.0, 5: 200.0, 6: 20.0, 7: 5.0, 8: 2.0}
TOOLS = ["qjump-exact", "qjump-trajectories", "qutip-steadystate", "qutip-mcsolve"]


def _model(N: int):
    import qjump

    return qjump.PaperModel(N=N, omega_h=1.5, dissipation="common", interaction="pairwise")


@register_tool("qjump-exact")
def qjump_exact_cell(N: int) -> dict:
    """Exact steady state by qjump's block solver; returns Q_h, residual and solver."""
    import qjump
    from qjump.system import model_system

    model = _model(N)
    res = qjump.exact(model)
    return {
        "unknowns": int(model_system(model).space.size),
        "Q_h": res["Q_h"],
        "residual": res.info["residual"],
        "solver": res.info["solver"],
    }


@register_tool("qjump-trajectories")
def qjump_trajectory_cell(N: int, t_final: float | None = None) -> dict:
    """One qjump trajectory (ground start, no burn-in) over ``TRAJ_BUDGET[N]``."""
    from qjump.trajectories.trajectory import TrajectorySpec, run_trajectory, trajectory_seed

    model = _model(N)
    T = float(t_final or TRAJ_BUDGET[N])
    # set-up (eigendecompositions / sparse blocks, numba compilation) on a tiny run
    t0 = time.perf_counter()
    run_trajectory(model, TrajectorySpec(1e-3, 0.0, 1e-3, 1.0, "ground"), trajectory_seed(0, 0))
    setup = time.perf_counter() - t0
    t1 = time.perf_counter()
    out = run_trajectory(model, TrajectorySpec(T, 0.0, T, 1.0, "ground"), trajectory_seed(0, 1))
    run = time.perf_counter() - t1
    return {
        "setup_s": setup,
        "run_s": run,
        "simulated_time": T,
        "throughput": T / run,
        "jumps": int(out.counts.sum()),
    }


def _cell_text(rep: dict) -> str:
    if rep["status"] == "ok":
        return f"{rep['wall_s']:.1f} s / {rep['peak_rss_mb']:.0f} MB"
    if rep["status"] == "timeout":
        return f"did not finish in {rep['timeout_s'] / 60:g} min"
    if rep["status"] == "oom":
        return f"out of memory ({rep['mem_limit_gb']:g} GB)"
    return "error: " + (rep.get("error") or "").strip().splitlines()[-1][:80]


def main(argv: list[str] | None = None) -> int:
    """Run the grid and write the markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", nargs="+", type=int, default=[2, 3, 4, 5, 6, 7, 8])
    ap.add_argument("--tools", nargs="+", default=TOOLS)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per cell")
    ap.add_argument(
        "--tool-timeout",
        nargs="*",
        default=[],
        help="per-tool overrides, e.g. qutip-steadystate=300",
    )
    ap.add_argument("--mem-gb", type=float, default=8.0)
    ap.add_argument("--out", default=str(BENCH_DIR / "RESULTS-scaling.md"))
    ap.add_argument("--jsonl", default=str(BENCH_DIR / "results" / "scaling-cells.jsonl"))
    args = ap.parse_args(argv)
    reports: dict[tuple[str, int], dict] = {}
    timeouts = {t: args.timeout for t in args.tools}
    for item in args.tool_timeout:
        name, value = item.split("=")
        timeouts[name] = float(value)
    Path(args.jsonl).parent.mkdir(parents=True, exist_ok=True)
    for tool in args.tools:
        failed = None
        for N in sorted(args.N):
            if failed is not None:
                rep = dict(failed, N=N, skipped=True)
            else:
                params = {}
                if tool == "qutip-mcsolve":
                    params = {"ntraj": 1, "t_final": TRAJ_BUDGET[N]}
                rep = run_cell(
                    tool, N, timeout_s=timeouts[tool], mem_limit_gb=args.mem_gb, params=params
                )
                if rep["status"] in ("timeout", "oom"):
                    failed = rep
            reports[tool, N] = rep
            with open(args.jsonl, "a") as fh:
                fh.write(json.dumps(rep, default=float) + "\n")
            print(
                tool, N, _cell_text(rep), json.dumps(rep.get("result"), default=float), flush=True
            )
    lines = [
        "| N | unknowns C(4N,2N) | " + " | ".join(args.tools) + " |",
        "|---|---|" + "---|" * len(args.tools),
    ]
    from math import comb

    for N in sorted(args.N):
        cells = []
        for tool in args.tools:
            rep = reports[tool, N]
            text = _cell_text(rep) + (" (not run: smaller N failed)" if rep.get("skipped") else "")
            res = rep.get("result") or {}
            if rep["status"] == "ok" and "throughput" in res:
                text += f", {res['throughput']:.3g} t.u./s"
            cells.append(text)
        lines.append(f"| {N} | {comb(4 * N, 2 * N):,} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    Path(args.out).with_suffix(".table.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
