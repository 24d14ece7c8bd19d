"""Reference throughput of QuTiP 5 ``mcsolve`` on the thermal machine.

The project's reference measurement is QuTiP 5.3.1 ``mcsolve`` on N=2, common dissipation,
pairwise interaction, omega_h=1.5, run serially in one process from the ground state
``|0000>`` with ``tlist=[0, 2500]``, 8 trajectories and default solver options. The figure of
merit is simulated time units per wall-clock second, ``ntraj * t_final / wall_s``.

Usage::

    /work/benchvenv/bin/python benchmarks/qutip_mcsolve_throughput.py
    /work/benchvenv/bin/python benchmarks/qutip_mcsolve_throughput.py --ntraj 4 --t-final 500

or, from a side-by-side script in the same process::

    from qutip_mcsolve_throughput import qutip_mcsolve_throughput
    ref = qutip_mcsolve_throughput()        # dict(wall_s, simulated_time, throughput, jumps)

Notes
-----
* QuTiP 5 ``mcsolve`` already maps trajectories serially by default
  (``options["map"] == "serial"``); it is nevertheless passed explicitly so the measurement
  cannot silently become parallel (``"parallel"``/``"loky"``/``"mpi"`` are the alternatives).
* The number of jumps is taken from ``result.col_times`` (one list of collapse times per
  trajectory; ``result.col_which`` gives the index of the collapse operator fired).
* With ``e_ops=None`` mcsolve stores the states at every time in ``tlist``; with
  ``tlist=[0, t_final]`` that is only two kets per trajectory, so storage cost is negligible.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

import numpy as np
import qutip

try:  # imported as part of the benchmarks directory on sys.path or as a script
    from qutip_model import ThermalMachineModel, ground_state
except ImportError:  # pragma: no cover - imported as benchmarks.qutip_mcsolve_throughput
    from .qutip_model import ThermalMachineModel, ground_state


def qutip_mcsolve_throughput(
    N: int = 2,
    ntraj: int = 8,
    t_final: float = 2500.0,
    dissipation: str = "common",
    interaction: str = "pairwise",
    omega_h: float = 1.5,
    seed: int | None = 12345,
    progress_bar: bool | str = False,
    extra_options: dict | None = None,
) -> dict:
    """Time QuTiP ``mcsolve`` on the thermal machine and return its throughput.

    Parameters
    ----------
    N, dissipation, interaction, omega_h
        Model selection (see :mod:`qutip_model`).
    ntraj, t_final
        Number of trajectories and final time; ``tlist = [0, t_final]``.
    seed
        Seed passed to ``mcsolve`` (``None``: fresh entropy).
    progress_bar
        QuTiP ``progress_bar`` option. QuTiP's default is ``"text"``; it is turned off here
        by default, which is purely cosmetic (8 trajectories -> a handful of prints).
    extra_options
        Further QuTiP solver options overriding the defaults.

    Returns
    -------
    dict
        ``wall_s`` (wall time of the ``mcsolve`` call only, model construction excluded),
        ``simulated_time`` (``ntraj * t_final``), ``throughput`` (simulated time per wall
        second), ``jumps`` (total collapses over all trajectories), plus ``jumps_per_traj``,
        ``jumps_by_op`` (collapse-operator index -> count), ``Q_h_from_jumps`` (net hot-bath
        energy absorbed per unit time, a noisy estimate of ``Q_h``) and ``qutip_version``.
    """
    model = ThermalMachineModel(N, dissipation, interaction, omega_h=omega_h)
    psi0 = ground_state(N)
    options = {"map": "serial", "progress_bar": progress_bar}
    options.update(extra_options or {})

    t0 = time.perf_counter()
    result = qutip.mcsolve(
        model.H,
        psi0,
        [0.0, float(t_final)],
        c_ops=model.c_ops,
        ntraj=ntraj,
        seeds=seed,
        options=options,
    )
    wall_s = time.perf_counter() - t0

    jumps_per_traj = [len(times) for times in result.col_times]
    by_op = Counter(int(k) for which in result.col_which for k in which)
    simulated = ntraj * float(t_final)
    # Each hot-bath jump moves exactly +-omega_h of bare energy H0_h into the system, so the
    # net count gives a (noisy, transient-included) estimate of Q_h.
    hot_energy = sum(
        n * e for k, n in by_op.items() for bath, e in [model.c_op_info[k]] if bath == "h"
    )
    return {
        "N": N,
        "dissipation": model.dissipation,
        "interaction": model.interaction,
        "ntraj": ntraj,
        "t_final": float(t_final),
        "wall_s": wall_s,
        "simulated_time": simulated,
        "throughput": simulated / wall_s,
        "jumps": int(np.sum(jumps_per_traj)),
        "jumps_per_traj": jumps_per_traj,
        "jumps_by_op": {str(k): v for k, v in sorted(by_op.items())},
        "Q_h_from_jumps": hot_energy / simulated,
        "qutip_version": qutip.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints a summary and, with ``--json``, the raw dict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=2)
    parser.add_argument("--ntraj", type=int, default=8)
    parser.add_argument("--t-final", type=float, default=2500.0)
    parser.add_argument("--dissipation", default="common")
    parser.add_argument("--interaction", default="pairwise")
    parser.add_argument("--omega-h", type=float, default=1.5)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--json", action="store_true", help="also print the result as JSON")
    args = parser.parse_args(argv)

    res = qutip_mcsolve_throughput(
        N=args.N,
        ntraj=args.ntraj,
        t_final=args.t_final,
        dissipation=args.dissipation,
        interaction=args.interaction,
        omega_h=args.omega_h,
        seed=args.seed,
    )
    print(
        f"QuTiP {res['qutip_version']} mcsolve (serial): N={res['N']} {res['dissipation']} "
        f"{res['interaction']} ntraj={res['ntraj']} t_final={res['t_final']:g}\n"
        f"  wall time      : {res['wall_s']:.2f} s\n"
        f"  simulated time : {res['simulated_time']:g}\n"
        f"  throughput     : {res['throughput']:.1f} time units / wall second\n"
        f"  jumps          : {res['jumps']} (per trajectory: {res['jumps_per_traj']})\n"
        f"  Q_h from jumps : {res['Q_h_from_jumps']:.3e}"
    )
    if args.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
