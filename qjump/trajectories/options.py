"""Options of a trajectory run: a frozen, validated :class:`TrajectoryOptions`.

Every option of :func:`qjump.simulate` that changes what is computed or how it is executed
lives here and is validated in one place, with one-line messages that name the option.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

from joblib import effective_n_jobs

from ..system.quantities import check_selection
from .trajectory import INITIAL_STATES

__all__ = ["BACKENDS", "TrajectoryOptions"]

#: Execution backends: ``auto`` is ``serial`` for one worker, else ``loky``.
BACKENDS = ("auto", "serial", "loky", "dask")


def _integer(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if not float(value).is_integer():
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {int(value)}")
    return int(value)


def _number(name: str, value: Any, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x) or (x <= 0 if positive else x < 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name}: must be finite and {bound}, got {value!r}")
    return x


@dataclasses.dataclass(frozen=True)
class TrajectoryOptions:
    """What a trajectory run computes and how it is executed (frozen, validated).

    Attributes
    ----------
    t_final : float or None
        Length of each trajectory (time in units of ``1/omega_c``).  May be ``None`` only
        with a precision target, where it defaults to the burn-in plus ``4 * max(burn_in,
        500)``.
    trajectories : int
        Number of trajectories ``M >= 1``; with a precision target, the size of each block
        of trajectories the run is extended by.
    burn_in : float or None
        Time discarded at the start of each trajectory; ``None``: 0 for ``steady`` starts,
        else five relaxation times of the model.
    seed : int
        Run seed ``>= 0``; trajectory ``i`` uses ``SeedSequence(seed, spawn_key=(i,))``, the
        ``i``-th child of ``SeedSequence(seed).spawn``.
    initial_state : {"thermal", "ground", "steady"}
        ``thermal``: a basis state drawn from the product of each TLS's thermal state at its
        own bath's temperature; ``ground``; ``steady``: an eigenvector of the exact steady
        state drawn with its eigenvalue as probability (needs no burn-in).
    window : float or None
        Length of the counting windows (default: a tenth of the measured time).
    sample_interval : float
        Grid spacing of the conditional expectation values.
    records : bool
        Keep the raw jump records.
    n_jobs : int
        Workers; ``-1`` uses all cores.  Results do not depend on it.
    backend : {"auto", "serial", "loky", "dask"}
    target_rel_se, target_se : float or None
        Precision target on ``target_quantity`` (at most one of them): after a pilot of
        ``trajectories``, the run is extended by new trajectories until the standard error
        reaches it, or a cap is hit (:func:`qjump.simulate`).
    target_quantity : str
        Quantity the target applies to (default ``Q_h``).
    max_wall : float or None
        Wall-clock cap in seconds for a run with a precision target.
    max_time : float or None
        Cap on the total measured (simulated) time for a run with a precision target.
    quantities : {"all", "essential"}
        Which linear quantities are sampled along the trajectories
        (:data:`qjump.system.quantities.SELECTIONS`).  ``all``: every quantity of
        :func:`qjump.exact`.  ``essential``: the flows, ``C_loc``, ``energy`` and the
        populations; the counted currents ``Q_h``, ``Q_c``, ``W`` and the entropy production
        are reported as with ``all``, but not their local/non-local parts, ``C_nonloc``,
        ``C_nonloc_product`` or the pieces ``sz_*``/``coh_*``.  Its operators grow like
        ``4^N N`` (pairwise) instead of ``4^N N^3``, which is what lets N = 10 fit in memory.
    """

    t_final: float | None = None
    trajectories: int = 16
    burn_in: float | None = None
    seed: int = 0
    initial_state: str = "thermal"
    window: float | None = None
    sample_interval: float = 2.0
    records: bool = False
    n_jobs: int = 1
    backend: str = "auto"
    target_rel_se: float | None = None
    target_se: float | None = None
    target_quantity: str = "Q_h"
    max_wall: float | None = None
    max_time: float | None = None
    quantities: str = "all"

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("trajectories", _integer("trajectories", self.trajectories, 1))
        put("seed", _integer("seed", self.seed, 0))
        if (
            isinstance(self.n_jobs, bool)
            or not isinstance(self.n_jobs, numbers.Integral)
            or (self.n_jobs == 0)
        ):
            raise ValueError(
                f"n_jobs: expected a positive number of workers or a negative one (-1 = all "
                f"cores), got {self.n_jobs!r}"
            )
        put("n_jobs", int(self.n_jobs))
        if self.initial_state not in INITIAL_STATES:
            raise ValueError(
                f"initial_state: unknown value {self.initial_state!r}; allowed: "
                f"{', '.join(INITIAL_STATES)}"
            )
        if self.backend not in BACKENDS:
            raise ValueError(
                f"backend: unknown value {self.backend!r}; allowed: {', '.join(BACKENDS)}"
            )
        check_selection(self.quantities)
        put("records", bool(self.records))
        put("sample_interval", _number("sample_interval", self.sample_interval, positive=True))
        for name in ("window", "target_rel_se", "target_se", "max_wall", "max_time"):
            if getattr(self, name) is not None:
                put(name, _number(name, getattr(self, name), positive=True))
        if self.burn_in is not None:
            put("burn_in", _number("burn_in", self.burn_in, positive=False))
        if self.target_rel_se is not None and self.target_se is not None:
            raise ValueError("target_se: give either target_rel_se or target_se, not both")
        if not isinstance(self.target_quantity, str):
            raise ValueError(
                f"target_quantity: expected a quantity name, got {self.target_quantity!r}"
            )
        if not self.has_target:
            for name in ("max_wall", "max_time"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{name}: only applies with a precision target (target_rel_se or target_se)"
                    )
            if self.t_final is None:
                raise ValueError("t_final: required (time units of 1/omega_c), got None")
        if self.t_final is not None:
            put("t_final", _number("t_final", self.t_final, positive=True))
            if self.burn_in is not None and not self.t_final > self.burn_in:
                raise ValueError(
                    f"t_final: must be > burn_in ({self.burn_in:g}), got {self.t_final:g}"
                )

    @property
    def has_target(self) -> bool:
        """Whether the run has a precision target (and is extended until it is met)."""
        return self.target_rel_se is not None or self.target_se is not None

    @property
    def executor(self) -> str:
        """The backend that runs the tasks (``auto`` resolved by ``n_jobs``)."""
        if self.backend != "auto":
            return self.backend
        return "serial" if self.n_jobs == 1 else "loky"

    @property
    def workers(self) -> int:
        """Worker processes ``n_jobs`` asks for, as joblib reads it (``-1`` every core, ``-2``
        all but one, at least 1)."""
        return int(effective_n_jobs(self.n_jobs))

    def replace(self, **changes: Any) -> TrajectoryOptions:
        """A copy with some options changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON ready)."""
        return dataclasses.asdict(self)
