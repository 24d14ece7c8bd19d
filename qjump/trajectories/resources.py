"""Guard rail of the jump engine: memory and time a trajectory run will need, before allocating.

Owns :func:`trajectory_resources` (the estimate, from sector dimensions only) and
:func:`check_trajectory_resources` (refuses runs that do not fit, with a one-line reason).

The estimates are closed forms in the sector dimensions ``d_k = C(2N, k)`` (no operator is
built); the time per simulated time unit is an order of magnitude (jump-rate bound times a
per-jump cost measured with ``benchmarks/bench_throughput.py``), meant for "will this take
seconds or days", not for scheduling.
"""

from __future__ import annotations

import dataclasses
import math

from ..execution.memory import available_memory
from ..model import PaperModel
from .trajectory import AUTO_DENSE_MAX, AUTO_EIGEN_MAX, PROPAGATOR_NAMES

__all__ = [
    "MAX_N",
    "Resources",
    "check_trajectory_resources",
    "trajectory_resources",
]

#: Largest N the engine represents: basis states of the 2N qubits are int64 bit strings.
MAX_N = 31
#: Per-jump cost model ``seconds = A + B d^2`` (eigen; ``d`` the largest sector dimension)
#: and ``seconds = C0 + C m d (1 + N^2)`` per Krylov step (``m`` Krylov vectors).
_EIGEN_A, _EIGEN_B, _KRYLOV_C0, _KRYLOV_C = 1.5e-6, 5e-9, 6e-5, 4e-9
_COMPLEX, _INDEX = 16, 8
#: Peak bytes per ``2^(2N) N^2`` of the quantity operators, support and functionals (measured:
#: 650 pairwise at N = 7, 8, 9; 1250 all-to-all at N = 7).
_QUANTITY_BYTES = {"pairwise": 700, "all-to-all": 1300}


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
        CPU seconds per simulated time unit (order of magnitude).
    jump_rate : float
        Jumps per time unit assumed (each qubit at its bath's thermal rate).
    """

    propagator: str
    memory_bytes: int
    seconds_per_time_unit: float
    jump_rate: float


def _auto(dmax: int) -> str:
    if dmax <= AUTO_DENSE_MAX:
        return "eigen"
    return "eigen-large" if dmax <= AUTO_EIGEN_MAX else "krylov"


def trajectory_resources(model: PaperModel, propagator: str = "auto") -> Resources:
    """Estimate memory and time per time unit of trajectories of ``model`` (nothing built).

    Raises
    ------
    ValueError
        If ``model.N`` exceeds :data:`MAX_N` or ``propagator`` is unknown.
    """
    N = model.N
    if N > MAX_N:
        raise ValueError(
            f"N: {N} is beyond what the trajectory engine represents (N <= {MAX_N}: basis "
            "states are 64-bit integers)"
        )
    if propagator not in PROPAGATOR_NAMES:
        raise ValueError(
            f"propagator: unknown value {propagator!r}; use one of {', '.join(PROPAGATOR_NAMES)}"
        )
    n = 2 * N
    D = 2**n
    dims = [math.comb(n, k) for k in range(n + 1)]
    dmax = max(dims)
    n_ch = 4 * N if model.dissipation == "independent" else 4
    name = _auto(dmax) if propagator == "auto" else propagator
    # model operators on the 2^(2N)-dimensional space (sparse: H_S, H_eff, jumps, quantities)
    # and the sparse jump blocks of the sector data
    system = D * (3 * n + 16) * (_COMPLEX + _INDEX) + 2 * N * D * (_COMPLEX + _INDEX)
    # the quantity operators (N^2 pair coherences, the non-local terms), their support and
    # functionals: measured peak resident memory per D N^2 (N = 7-9, ground start)
    system += _QUANTITY_BYTES[model.interaction] * D * N * N
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
    if name == "krylov":
        # steps are at least as frequent as jumps; m = 30 Krylov vectors
        per_jump = _KRYLOV_C0 + _KRYLOV_C * 30 * dmax * (1 + N * N)
    else:
        per_jump = _EIGEN_A + _EIGEN_B * dmax * dmax
    return Resources(name, int(system + engine), rate * per_jump, rate)


def check_trajectory_resources(
    model: PaperModel, propagator: str = "auto", available: int | None = None
) -> Resources:
    """:func:`trajectory_resources`, refusing runs whose memory exceeds what is available.

    Raises
    ------
    ValueError
        One line: the estimate, the available memory and what to do instead.
    """
    res = trajectory_resources(model, propagator)
    avail = available_memory() if available is None else available
    if res.memory_bytes > avail:
        hint = (
            "use propagator='krylov' (no dense eigendecompositions)"
            if res.propagator != "krylov"
            else f"use a smaller N (N = {model.N} needs 2^{2 * model.N}-dimensional operators)"
        )
        raise ValueError(
            f"N: trajectories of N={model.N} with propagator {res.propagator!r} need about "
            f"{res.memory_bytes / 2**30:.3g} GiB, {avail / 2**30:.3g} GiB available; {hint}"
        )
    return res
