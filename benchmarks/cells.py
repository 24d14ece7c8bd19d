"""Run benchmark "cells" in isolated subprocesses with a memory limit and a timeout.

A cell is identified by ``(tool, N)``. Each tool is a plain callable ``func(N, **params) -> dict``
registered in :data:`TOOLS`; the harness runs it in a fresh Python child process whose address
space is capped with ``RLIMIT_AS`` (set in ``preexec_fn``) and which is killed after a wall-clock
timeout. The outcome of a cell is one of

* ``status="ok"``: ``wall_s`` (time spent inside the tool callable, imports excluded),
  ``peak_rss_mb`` and the tool's own ``result`` dict;
* ``status="timeout"``: displayed as ``"did not finish in 10 min"`` (for a 600 s timeout);
* ``status="oom"``: displayed as ``"out of memory"``;
* ``status="error"``: anything else (traceback tail in ``error``).

Adding a tool
-------------
Register a module-level function (it is looked up again by ``module:qualname`` in the child)::

    from cells import register_tool, run_cell

    @register_tool("qjump-exact")
    def qjump_exact_cell(N: int) -> dict:
        ...
        return {"Q_h": q}

    print(run_cell("qjump-exact", 3, timeout_s=600, mem_limit_gb=8))

Tools defined in a script run as ``__main__`` work too (the child loads the script by path
under another module name, so its ``if __name__ == "__main__"`` block does not run).

Command line
------------
::

    /work/benchvenv/bin/python benchmarks/cells.py --tools qutip-steadystate qutip-mcsolve \\
        --N 2 3 4 5 --timeout 120 --mem-gb 8 --jsonl runs/qutip-cells.jsonl

Peak RSS is taken from ``os.wait4`` on that very child (``ru_maxrss``, KiB on Linux), so it is
per cell even when many cells run from one parent, and it is available for killed cells too.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent

#: Registered tools: name -> callable(N, **params) -> dict (executed in the child process).
TOOLS: dict[str, Callable[..., dict]] = {}

#: Exit code used by the child when it caught a MemoryError.
_EXIT_OOM = 3
#: Exit code used by the child when the tool raised another exception.
_EXIT_ERROR = 4

_OOM_MARKERS = (
    "MemoryError",
    "Unable to allocate",
    "bad_alloc",
    "Cannot allocate memory",
    "out of memory",
    "Out of memory",
    "not enough memory",
)


# ----------------------------------------------------------------------------- registry
def register_tool(name: str, func: Callable[..., dict] | None = None):
    """Register ``func`` as tool ``name``; usable as ``register_tool(name, f)`` or decorator."""

    def deco(f: Callable[..., dict]) -> Callable[..., dict]:
        if "<locals>" in f.__qualname__ or "<lambda>" in f.__qualname__:
            raise ValueError("tools must be module-level functions (re-imported in the child)")
        TOOLS[name] = f
        return f

    return deco if func is None else deco(func)


def _callable_spec(func: Callable[..., dict]) -> str:
    """``module:qualname`` or ``/path/file.py:qualname`` locating ``func`` for the child."""
    module = func.__module__
    mod = sys.modules.get(module)
    if module == "__main__" or mod is None:
        path = getattr(mod, "__file__", None)
        if path is None:
            raise ValueError(f"cannot locate the module of tool function {func!r}")
        return f"{os.path.abspath(path)}:{func.__qualname__}"
    return f"{module}:{func.__qualname__}"


def _resolve_spec(spec: str) -> Callable[..., dict]:
    """Inverse of :func:`_callable_spec`, executed in the child."""
    target, qualname = spec.rsplit(":", 1)
    if target.endswith(".py"):
        mod_spec = importlib.util.spec_from_file_location("_bench_cell_module", target)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules["_bench_cell_module"] = module
        mod_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


# ----------------------------------------------------------------------------- built-in tools
@register_tool("qutip-steadystate")
def qutip_steadystate_cell(
    N: int,
    dissipation: str = "common",
    interaction: str = "pairwise",
    omega_h: float = 1.5,
    method: str = "direct",
) -> dict:
    """QuTiP ``steadystate`` (default direct sparse solver) and the resulting ``Q_h``."""
    import qutip
    from qutip_model import ThermalMachineModel

    t0 = time.perf_counter()
    model = ThermalMachineModel(N, dissipation, interaction, omega_h=omega_h)
    t1 = time.perf_counter()
    rho = qutip.steadystate(model.H, model.c_ops, method=method)
    t2 = time.perf_counter()
    cur = model.heat_currents(rho)
    return {
        "dim": 2 ** (2 * N),
        "build_s": t1 - t0,
        "solve_s": t2 - t1,
        "method": method,
        "Q_h": cur["Q_h"],
        "balance": cur["balance"],
        "qutip_version": qutip.__version__,
    }


#: Simulated-time budget of the ``qutip-mcsolve`` cell: 4 trajectories x 50 000 time units
#: (about 14 s at N=2 on the reference 2-core machine; throughput drops ~4-8x per extra N).
MCSOLVE_NTRAJ = 4
MCSOLVE_T_FINAL = 50_000.0


@register_tool("qutip-mcsolve")
def qutip_mcsolve_cell(
    N: int,
    ntraj: int = MCSOLVE_NTRAJ,
    t_final: float = MCSOLVE_T_FINAL,
    dissipation: str = "common",
    interaction: str = "pairwise",
    omega_h: float = 1.5,
) -> dict:
    """Serial QuTiP ``mcsolve`` throughput (simulated time per wall second) at fixed budget."""
    from qutip_mcsolve_throughput import qutip_mcsolve_throughput

    res = qutip_mcsolve_throughput(
        N=N,
        ntraj=ntraj,
        t_final=t_final,
        dissipation=dissipation,
        interaction=interaction,
        omega_h=omega_h,
    )
    res.pop("jumps_per_traj")
    return res


# ----------------------------------------------------------------------------- child side
def _child_main(spec: str, N: int, params: dict, result_file: str) -> int:
    """Run one tool in this (child) process and write a JSON report to ``result_file``."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    report: dict = {}
    code = 0
    try:
        func = _resolve_spec(spec)
        t0 = time.perf_counter()
        result = func(N, **params)
        report["wall_s"] = time.perf_counter() - t0
        report["status"] = "ok"
        report["result"] = result
    except MemoryError:
        report["status"] = "oom"
        report["error"] = traceback.format_exc()[-2000:]
        code = _EXIT_OOM
    except Exception:  # noqa: BLE001 - report any failure of the tool
        tb = traceback.format_exc()
        report["status"] = "oom" if any(m in tb for m in _OOM_MARKERS) else "error"
        report["error"] = tb[-2000:]
        code = _EXIT_OOM if report["status"] == "oom" else _EXIT_ERROR
    report["self_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(result_file, "w") as fh:
        json.dump(report, fh, default=float)
    return code


# ----------------------------------------------------------------------------- parent side
def _format_duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"


def _limit_memory(mem_bytes: int | None) -> Callable[[], None]:
    def preexec() -> None:
        if mem_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))

    return preexec


def run_cell(
    tool: str,
    N: int,
    *,
    timeout_s: float = 600.0,
    mem_limit_gb: float | None = 8.0,
    params: dict | None = None,
    python: str | None = None,
    env: dict[str, str] | None = None,
    blas_threads: int | None = 1,
) -> dict:
    """Run cell ``(tool, N)`` in a child process and return its report.

    Parameters
    ----------
    tool
        Name registered in :data:`TOOLS`.
    N
        System size (number of qubits per ensemble).
    timeout_s
        Wall-clock limit for the child (including interpreter start-up and imports).
    mem_limit_gb
        ``RLIMIT_AS`` cap on the child's virtual address space, in GiB (``None``: no cap).
        Note this bounds *virtual* memory, which is somewhat above the peak RSS.
    params
        Extra JSON-serialisable keyword arguments for the tool callable.
    python
        Interpreter for the child (default: the current one).
    env
        Environment for the child (default: the current one). ``PYTHONPATH`` is extended
        with this process's ``sys.path`` so that tools import the same way as here.
    blas_threads
        Sets ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/``MKL_NUM_THREADS`` in the child
        (``None``: leave the environment alone). Default 1: cells are serial measurements,
        and multi-threaded OpenBLAS on a loaded 2-core machine was seen to make QuTiP
        ``steadystate`` at N=3 25x slower (spinning threads).

    Returns
    -------
    dict
        ``tool``, ``N``, ``status`` (``ok``/``timeout``/``oom``/``error``), ``display``
        (human-readable cell text), ``wall_s`` (inside the tool; ``None`` unless ok),
        ``total_wall_s`` (child lifetime as seen by the parent), ``cpu_s`` (user+system CPU
        time of the whole child, incl. start-up; robust to other load on the machine),
        ``loadavg_before``/``loadavg_after`` (1-min load average), ``peak_rss_mb``,
        ``result`` (the tool's dict, if ok), ``error`` (if any), limits and params.
    """
    if tool not in TOOLS:
        raise KeyError(f"unknown tool {tool!r}; registered: {sorted(TOOLS)}")
    spec = _callable_spec(TOOLS[tool])
    params = dict(params or {})
    mem_bytes = None if mem_limit_gb is None else int(mem_limit_gb * 1024**3)

    child_env = dict(os.environ if env is None else env)
    if blas_threads is not None:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            child_env[var] = str(blas_threads)
    paths = [str(BENCH_DIR)] + [p for p in sys.path if p]
    if child_env.get("PYTHONPATH"):
        paths.append(child_env["PYTHONPATH"])
    child_env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))

    report = {
        "tool": tool,
        "N": N,
        "timeout_s": timeout_s,
        "mem_limit_gb": mem_limit_gb,
        "params": params,
        "wall_s": None,
        "result": None,
        "blas_threads": blas_threads,
        "loadavg_before": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="cell-") as tmp:
        result_file = os.path.join(tmp, "result.json")
        stderr_file = os.path.join(tmp, "stderr.txt")
        cmd = [
            python or sys.executable,
            "-W",
            "ignore",
            str(Path(__file__).resolve()),
            "--child",
            "--spec",
            spec,
            "--child-N",
            str(N),
            "--params",
            json.dumps(params),
            "--result-file",
            result_file,
        ]
        with open(stderr_file, "w") as err, open(os.devnull, "w") as out:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=err,
                env=child_env,
                start_new_session=True,
                preexec_fn=_limit_memory(mem_bytes),
            )
            timed_out = False
            while True:
                pid, wstatus, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - t0 > timeout_s:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    pid, wstatus, rusage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.02)
            total = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(wstatus)  # already reaped by wait4

        report["total_wall_s"] = total
        report["peak_rss_mb"] = rusage.ru_maxrss / 1024
        report["cpu_s"] = rusage.ru_utime + rusage.ru_stime
        report["loadavg_after"] = os.getloadavg()[0]
        report["returncode"] = proc.returncode
        child = {}
        if os.path.exists(result_file):
            with open(result_file) as fh:
                child = json.load(fh)
        stderr_tail = Path(stderr_file).read_text(errors="replace")[-2000:]

    if timed_out:
        status = "timeout"
    elif child.get("status"):
        status = child["status"]
        report["wall_s"] = child.get("wall_s")
        report["result"] = child.get("result")
        if child.get("error"):
            report["error"] = child["error"]
    elif any(m in stderr_tail for m in _OOM_MARKERS):
        status = "oom"
        report["error"] = stderr_tail
    elif proc.returncode < 0 and mem_bytes and rusage.ru_maxrss * 1024 > 0.8 * mem_bytes:
        # Killed by a signal (e.g. SIGSEGV/SIGABRT after a failed malloc in C code) close
        # to the cap: attribute it to memory.
        status = "oom"
        report["error"] = f"killed by signal {-proc.returncode}\n{stderr_tail}"
    else:
        status = "error"
        report["error"] = f"return code {proc.returncode}\n{stderr_tail}"

    report["status"] = status
    if status == "ok":
        report["display"] = f"{report['wall_s']:.2f} s, {report['peak_rss_mb']:.0f} MB"
    elif status == "timeout":
        report["display"] = f"did not finish in {_format_duration(timeout_s)}"
    elif status == "oom":
        report["display"] = "out of memory"
    else:
        report["display"] = "error"
    return report


def run_grid(
    tools: list[str],
    Ns: list[int],
    *,
    skip_larger_after_failure: bool = True,
    on_result: Callable[[dict], None] | None = None,
    **kwargs,
) -> list[dict]:
    """Run all cells ``tools x Ns`` sequentially (one at a time: timings stay clean).

    With ``skip_larger_after_failure``, once a tool times out or runs out of memory at some N,
    larger N for that tool are reported with the same status without being run
    (``"skipped": True``). ``kwargs`` go to :func:`run_cell`.
    """
    reports = []
    for tool in tools:
        failed: dict | None = None
        for N in sorted(Ns):
            if failed is not None:
                rep = {k: failed[k] for k in ("status", "display", "timeout_s", "mem_limit_gb")}
                rep.update(tool=tool, N=N, skipped=True, wall_s=None, result=None)
            else:
                rep = run_cell(tool, N, **kwargs)
                if skip_larger_after_failure and rep["status"] in ("timeout", "oom"):
                    failed = rep
            reports.append(rep)
            if on_result is not None:
                on_result(rep)
    return reports


def _summary(rep: dict) -> str:
    """One-line, tool-aware description of a cell result."""
    res = rep.get("result") or {}
    parts = []
    if "throughput" in res:
        parts.append(f"throughput {res['throughput']:.1f} t.u./s, jumps {res['jumps']}")
    elif "Q_h" in res:
        parts.append(f"Q_h {res['Q_h']:.6e}")
    if rep.get("cpu_s") is not None:
        parts.append(f"cpu {rep['cpu_s']:.1f} s (incl. start-up), load {rep['loadavg_before']:.1f}")
    extra = "; ".join(parts)
    skipped = " (skipped: smaller N failed)" if rep.get("skipped") else ""
    return f"| {rep['tool']} | {rep['N']} | {rep['display']}{skipped} | {extra} |"


def main(argv: list[str] | None = None) -> int:
    """Command line: run a grid of cells and print a markdown table (and optional JSONL)."""
    parser = argparse.ArgumentParser(description="Run benchmark cells in subprocesses.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--child-N", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    parser.add_argument("--tools", nargs="+", default=["qutip-steadystate", "qutip-mcsolve"])
    parser.add_argument("--N", nargs="+", type=int, default=[2, 3, 4, 5])
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per cell")
    parser.add_argument("--mem-gb", type=float, default=8.0, help="RLIMIT_AS per cell, GiB")
    parser.add_argument("--params", default="{}", help="JSON dict of tool keyword arguments")
    parser.add_argument(
        "--no-skip",
        action="store_true",
        help="run larger N even after a timeout/out-of-memory at smaller N",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="OMP/OPENBLAS/MKL_NUM_THREADS in each child (0: inherit)",
    )
    parser.add_argument("--jsonl", help="append one JSON line per cell to this file")
    args = parser.parse_args(argv)

    if args.child:
        return _child_main(args.spec, args.child_N, json.loads(args.params), args.result_file)

    def emit(rep: dict) -> None:
        print(_summary(rep), flush=True)
        if args.jsonl:
            Path(args.jsonl).parent.mkdir(parents=True, exist_ok=True)
            with open(args.jsonl, "a") as fh:
                fh.write(json.dumps(rep, default=float) + "\n")

    print("| tool | N | cell | details |\n|---|---|---|---|", flush=True)
    run_grid(
        args.tools,
        args.N,
        skip_larger_after_failure=not args.no_skip,
        on_result=emit,
        timeout_s=args.timeout,
        mem_limit_gb=args.mem_gb,
        params=json.loads(args.params),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
