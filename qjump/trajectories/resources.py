"""Guard rail of the jump engine: memory and time a trajectory run will need, before allocating.

Owns :func:`trajectory_resources` (the estimate, from sector dimensions only) and
:func:`check_trajectory_resources` (refuses runs that do not fit, with a one-line reason).

The estimates are closed forms in the sector dimensions ``d_k = C(2N, k)`` (no operator is
built).  The time per simulated time unit is the thermal jump rate times a per-jump cost,
averaged over the sectors with the weights of the thermal product state (each qubit excited
with probability ``n_i / (2 n_i + 1)``), which is where a trajectory spends its time once it
has relaxed (the interaction is weak); the constants are fitted to the per-N timings of
``benchmarks/bench_scaling.py`` so that the estimate stays above them (1.3-2.2x at N = 2-10
in the run they were fitted to; 0.92x at N = 3 to 2.4x at N = 10 in the latest
``RESULTS-scaling.md``, on a slower machine and a faster Krylov kernel).  It is meant for
"will this take seconds or days", not for scheduling.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..execution.memory import available_memory
from ..liouville.dynamics import thermal_excitation
from ..model import PaperModel
from ..system.quantities import check_selection
from .propagators.krylov import KRYLOV_M
from .trajectory import choose_propagator

__all__ = [
    "MAX_N",
    "Resources",
    "check_trajectory_resources",
    "trajectory_resources",
]

#: Largest N the engine represents: basis states of the 2N qubits are int64 bit strings.
MAX_N = 31
#: Per-jump cost model ``seconds = A + B <d^2>`` (eigen) and ``seconds = C0 + C m <d> (1 + N^2)``
#: (Krylov, ``m`` Krylov vectors), ``<.>`` the thermal average over the sectors of dimension
#: ``d``.  Fitted to RESULTS-scaling.md (2026-11-27): measured seconds per jump 1.1e-6 (N = 2),
#: 2.9e-6 (3), 1.1e-5 (4), 1.7e-4 (5); with the adaptive Krylov basis (which rarely needs
#: ``m = 30``) ``C`` 0.7e-9 (N = 10) to 1.5e-9 (N = 6).
_EIGEN_A, _EIGEN_B, _KRYLOV_C0, _KRYLOV_C = 1.5e-6, 1e-8, 6e-5, 1.6e-9
_COMPLEX, _INDEX = 16, 8
#: Peak bytes of the quantity operators, support and functionals of the ``all`` selection, per
#: ``2^(2N) N^2`` pairwise (measured 650 at N = 7, 8, 9) and per ``2^(2N) N^3`` all-to-all,
#: whose non-local terms grow like N^3 (measured 179 at N = 7, 201 at N = 8) ...
_QUANTITY_BYTES = {"pairwise": 700, "all-to-all": 210}
#: ... and per ``2^(2N) (1 + pairs)`` for the ``essential`` selection, ``pairs`` = N pairwise,
#: N^2 all-to-all (measured 290-340 pairwise at N = 9, 10 and 345 all-to-all at N = 8).
_ESSENTIAL_BYTES = 350


@dataclasses.dataclass(frozen=True)
class Resources:
    """Estimate for one trajectory run of a model.

    Attributes
    ----------
    propagator : str
        The propagator the estimate is for (``"auto"`` resolved).
    memory_bytes : int
        Peak memory of the model's operators and the engine's arrays (one process).
    seconds_per_time_unit : float
        CPU seconds per simulated time unit once relaxed (meant as an upper estimate, and
        within 10 % of the measurement where it is not; a start far from the thermal
        sectors, such as the ground state at N >= 8, costs more at first).
    jump_rate : float
        Jumps per time unit assumed (each qubit at its bath's thermal rate).
    """

    propagator: str
    memory_bytes: int
    seconds_per_time_unit: float
    jump_rate: float


def trajectory_resources(
    model: PaperModel, propagator: str = "auto", quantities: str = "all"
) -> Resources:
    """Estimate memory and time per time unit of trajectories of ``model`` (nothing built).

    Parameters
    ----------
    model : PaperModel
    propagator : str
        As in :func:`qjump.trajectories.trajectory.run_trajectory`.
    quantities : {"all", "essential"}
        The sampled selection (:class:`~qjump.trajectories.options.TrajectoryOptions`).

    Raises
    ------
    ValueError
        If ``model.N`` exceeds :data:`MAX_N`, or ``propagator`` or ``quantities`` is unknown.
    """
    N = model.N
    if N > MAX_N:
        raise ValueError(
            f"N: {N} is beyond what the trajectory engine represents (N <= {MAX_N}: basis "
            "states are 64-bit integers)"
        )
    name = choose_propagator(model, propagator)
    check_selection(quantities)
    n = 2 * N
    D = 2**n
    dims = [math.comb(n, k) for k in range(n + 1)]
    dmax = max(dims)
    n_ch = 4 * N if model.dissipation == "independent" else 4
    # model operators on the 2^(2N)-dimensional space (sparse: H_S, H_eff, jumps, quantities)
    # and the sparse jump blocks of the sector data
    system = D * (3 * n + 16) * (_COMPLEX + _INDEX) + 2 * N * D * (_COMPLEX + _INDEX)
    # the quantity operators, their support and functionals: measured peak resident memory
    # (N = 7-10, one trajectory) per D N^2 or D N^3 for all (the pair coherences and
    # non-local terms), per D times the pairs of the flows and C_loc for essential
    if quantities == "all":
        power = 2 if model.interaction == "pairwise" else 3
        system += _QUANTITY_BYTES[model.interaction] * D * N**power
    else:
        pairs = N if model.interaction == "pairwise" else N * N
        system += _ESSENTIAL_BYTES * D * (1 + pairs)
    if name == "krylov":
        engine = D * (1 + N * N) * (_COMPLEX + _INDEX) + 2 * (31 * dmax) * _COMPLEX
    else:
        # stacked V, V^-1, G, S, T (D x dmax each) and the dense per-sector scratch
        engine = 5 * D * dmax * _COMPLEX + 6 * dmax * dmax * _COMPLEX
        if name == "eigen":
            engine += 2 * n_ch * len(dims) * dmax * dmax * _COMPLEX
    # thermal-qubit jump rate 2 g^2 n (n + 1) / (2 n + 1) summed over baths and sites
    rate = 0.0
    for b in "hc":
        nb = model.bath(b)[2]
        rate += sum(2 * g * g * nb * (nb + 1) / (2 * nb + 1) for g in model.bath(b)[3])
    # sector weights of the thermal product state: the distribution of the excitation number
    weights = np.array([1.0])
    for p in thermal_excitation(model):
        weights = np.convolve(weights, [1.0 - p, p])
    d = np.array(dims, dtype=float)
    if name == "krylov":
        # C is fitted with m = KRYLOV_M (the adaptive basis is usually smaller)
        per_jump = _KRYLOV_C0 + _KRYLOV_C * KRYLOV_M * float(weights @ d) * (1 + N * N)
    else:
        per_jump = _EIGEN_A + _EIGEN_B * float(weights @ d**2)
    return Resources(name, int(system + engine), rate * per_jump, rate)


def check_trajectory_resources(
    model: PaperModel,
    propagator: str = "auto",
    available: int | None = None,
    quantities: str = "all",
    workers: int = 1,
) -> Resources:
    """:func:`trajectory_resources`, refusing runs whose memory exceeds what is available.

    Parameters
    ----------
    model, propagator, quantities
        As in :func:`trajectory_resources`.
    available : int, optional
        Bytes available (default: what the machine has free now).
    workers : int
        Processes that build the model at the same time (each worker holds its own copy).

    Raises
    ------
    ValueError
        One line: the estimate, the available memory and what to do instead.
    """
    res = trajectory_resources(model, propagator, quantities)
    avail = available_memory() if available is None else available
    need = res.memory_bytes * workers
    if need > avail:
        lean = trajectory_resources(model, propagator, "essential")
        fit = int(avail // res.memory_bytes)
        if workers > 1 and fit >= 1:
            hint = f"use fewer workers (n_jobs={fit})"
        elif quantities != "essential" and lean.memory_bytes * workers <= avail:
            hint = (
                f"use quantities='essential' (about {lean.memory_bytes / 2**30:.3g} GiB per "
                "worker: the counted currents, flows, C_loc and populations, without the "
                "local/non-local split)"
            )
        elif res.propagator != "krylov":
            hint = "use propagator='krylov' (no dense eigendecompositions)"
        else:
            hint = f"use a smaller N (N = {model.N} needs 2^{2 * model.N}-dimensional operators)"
        per = f" ({workers} workers x {res.memory_bytes / 2**30:.3g} GiB)" if workers > 1 else ""
        raise ValueError(
            f"N: trajectories of N={model.N} with propagator {res.propagator!r} need about "
            f"{need / 2**30:.3g} GiB{per}, {avail / 2**30:.3g} GiB available; {hint}"
        )
    return res
