"""Model parameters: the paper's two-ensemble thermal machine as one frozen, validated object.

The system (paper Sec. II, physics notes §1) is two ensembles of ``N`` two-level systems
(TLS), a hot one ``h`` coupled to a bath at ``T_h`` and a cold one ``c`` coupled to a bath at
``T_c``.  Qubits are ordered ``h1..hN, c1..cN``; hbar = kB = 1.

* Bare Hamiltonian, Eq. (7): ``H0 = sum_n omega_h s+_{h,n}s-_{h,n} + omega_c s+_{c,n}s-_{c,n}``.
* Interaction between the ensembles, Eqs. (29) and (31):
  ``H_I = sum_{n,n'} Omega_{nn'} (s+_{h,n} s-_{c,n'} + h.c.)``.  The ``all-to-all`` type (the
  paper's type 1) takes a full ``N x N`` matrix; the ``pairwise`` type (type 2) is the diagonal
  case ``Omega_{nn'} = Omega_n delta_{nn'}``.
* Dissipation, Eqs. (10), (11) and (15): ``independent``, ``common`` (simultaneous) or
  ``cascaded``, with rates ``gamma-_{i,kl} = g_{i,k} g_{i,l} (n_i + 1)`` and
  ``gamma+_{i,kl} = g_{i,k} g_{i,l} n_i``, where ``n_i`` is the Bose occupation at
  ``omega_i``.

Every parameter is checked at construction; bad input raises :class:`ValueError` with a message
that names the parameter, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np

__all__ = [
    "DISSIPATIONS",
    "INTERACTIONS",
    "PaperModel",
    "bose_occupation",
    "default_couplings",
    "resolve_dissipation",
    "resolve_interaction",
]

DISSIPATIONS = ("independent", "common", "cascaded")
INTERACTIONS = ("all-to-all", "pairwise")

_DISSIPATION_ALIASES = {
    "independent": "independent",
    "ind": "independent",
    "local": "independent",
    "common": "common",
    "com": "common",
    "simultaneous": "common",
    "cascaded": "cascaded",
    "cas": "cascaded",
}
_INTERACTION_ALIASES = {
    "all-to-all": "all-to-all",
    "all_to_all": "all-to-all",
    "alltoall": "all-to-all",
    "1": "all-to-all",
    "type1": "all-to-all",
    "pairwise": "pairwise",
    "2": "pairwise",
    "type2": "pairwise",
}
_SHORT_DISSIPATION = {"independent": "ind", "common": "com", "cascaded": "cas"}
_SHORT_INTERACTION = {"all-to-all": "1", "pairwise": "2"}


def resolve_dissipation(value: Any) -> str:
    """Return the canonical dissipation name for ``value`` (accepts ind/com/cas)."""
    key = str(value).strip().lower()
    if key not in _DISSIPATION_ALIASES:
        raise ValueError(
            f"dissipation: unknown value {value!r}; allowed: independent (ind), "
            "common (com), cascaded (cas)"
        )
    return _DISSIPATION_ALIASES[key]


def resolve_interaction(value: Any) -> str:
    """Return the canonical interaction name for ``value`` (accepts 1/2)."""
    key = str(value).strip().lower()
    if key not in _INTERACTION_ALIASES:
        raise ValueError(
            f"interaction: unknown value {value!r}; allowed: all-to-all (1), pairwise (2)"
        )
    return _INTERACTION_ALIASES[key]


def bose_occupation(omega: float, T: float) -> float:
    """Mean occupation ``n = 1/(exp(omega/T) - 1)`` of a bath mode; ``T = 0`` gives ``0``."""
    if T == 0.0:
        return 0.0
    x = omega / T
    if x > 700.0:
        return 0.0
    return 1.0 / math.expm1(x)


def default_couplings(N: int) -> tuple[float, ...]:
    """The default system-bath couplings ``g_n = 0.5 + 0.05 (n - 1)`` (physics notes §1).

    For ``N = 2`` these are the paper's figure values ``(0.5, 0.55)``.
    """
    return tuple(round(0.5 + 0.05 * n, 12) for n in range(N))


def _check_real(name: str, value: Any, *, minimum: float | None, strict: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    if minimum is not None:
        if strict and not x > minimum:
            raise ValueError(f"{name}: must be > {minimum:g}, got {value!r}")
        if not strict and not x >= minimum:
            raise ValueError(f"{name}: must be >= {minimum:g}, got {value!r}")
    return x


def _check_vector(name: str, value: Any, N: int, *, nonnegative: bool) -> tuple[float, ...]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = [value] * N
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected {N} real numbers, got {value!r}") from None
    if arr.ndim != 1 or arr.shape[0] != N:
        raise ValueError(f"{name}: expected a sequence of length N={N}, got {value!r}")
    for x in arr:
        if not math.isfinite(x):
            raise ValueError(f"{name}: entries must be finite, got {value!r}")
        if nonnegative and x < 0:
            raise ValueError(f"{name}: entries must be >= 0, got {x:g} in {value!r}")
    return tuple(float(x) for x in arr)


@dataclasses.dataclass(frozen=True)
class PaperModel:
    """Parameters of the two-ensemble thermal machine (frozen, validated).

    Parameters
    ----------
    N : int
        Number of TLS per ensemble (``N >= 1``); the system has ``2N`` qubits.
    omega_h, omega_c : float
        Transition frequencies of the hot and cold TLS, Eq. (7) (``> 0``, finite).
        Defaults: the paper's figure values with ``omega_h = 1.5`` (engine window).
    T_h, T_c : float
        Bath temperatures (``>= 0``; ``T = 0`` means ``n = 0``).  Defaults 2 and 1.
    g_h, g_c : sequence of float, optional
        System-bath couplings ``g_{i,n} >= 0`` of Eq. (9), length ``N``.  A scalar is
        broadcast.  Default ``g_n = 0.5 + 0.05 (n-1)``.
    Omega : float, sequence or matrix
        Interaction strength.  ``all-to-all``: a scalar or an ``N x N`` matrix
        ``Omega_{nn'}`` (Eq. 29).  ``pairwise``: a scalar or a length-``N`` vector
        ``Omega_n`` (Eq. 31).  Signs are free.  Default 0.1.
    interaction : {"pairwise", "all-to-all"}
        Aliases ``2`` and ``1`` (the paper's type 2 and type 1).
    dissipation : {"common", "cascaded", "independent"}
        Aliases ``com``, ``cas``, ``ind``.

    Notes
    -----
    ``Omega`` is stored normalised: an ``N x N`` tuple of tuples for ``all-to-all`` and a
    length-``N`` tuple for ``pairwise``.  :attr:`Omega_matrix` always gives the matrix.
    """

    N: int = 2
    omega_h: float = 1.5
    omega_c: float = 1.0
    T_h: float = 2.0
    T_c: float = 1.0
    g_h: Any = None
    g_c: Any = None
    Omega: Any = 0.1
    interaction: str = "pairwise"
    dissipation: str = "common"

    def __post_init__(self) -> None:
        N = self.N
        if isinstance(N, bool) or not isinstance(N, numbers.Integral):
            if isinstance(N, numbers.Real) and float(N).is_integer() and not isinstance(N, bool):
                N = int(N)
            else:
                raise ValueError(f"N: must be an integer >= 1, got {self.N!r}")
        N = int(N)
        if N < 1:
            raise ValueError(f"N: must be an integer >= 1, got {self.N!r}")
        set_ = object.__setattr__
        set_(self, "N", N)
        set_(self, "omega_h", _check_real("omega_h", self.omega_h, minimum=0.0, strict=True))
        set_(self, "omega_c", _check_real("omega_c", self.omega_c, minimum=0.0, strict=True))
        set_(self, "T_h", _check_real("T_h", self.T_h, minimum=0.0, strict=False))
        set_(self, "T_c", _check_real("T_c", self.T_c, minimum=0.0, strict=False))
        g_h = default_couplings(N) if self.g_h is None else self.g_h
        g_c = default_couplings(N) if self.g_c is None else self.g_c
        set_(self, "g_h", _check_vector("g_h", g_h, N, nonnegative=True))
        set_(self, "g_c", _check_vector("g_c", g_c, N, nonnegative=True))
        set_(self, "interaction", resolve_interaction(self.interaction))
        set_(self, "dissipation", resolve_dissipation(self.dissipation))
        set_(self, "Omega", self._normalise_omega(self.Omega))

    def _normalise_omega(self, value: Any) -> Any:
        N = self.N
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            x = _check_real("Omega", value, minimum=None, strict=False)
            if self.interaction == "pairwise":
                return (x,) * N
            return tuple((x,) * N for _ in range(N))
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"Omega: expected a number, vector or matrix, got {value!r}") from None
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"Omega: entries must be finite, got {value!r}")
        if self.interaction == "pairwise":
            if arr.shape != (N,):
                raise ValueError(
                    f"Omega: the pairwise interaction takes a scalar or a vector of length "
                    f"N={N}, got shape {arr.shape} ({value!r})"
                )
            return tuple(float(x) for x in arr)
        if arr.shape != (N, N):
            raise ValueError(
                f"Omega: the all-to-all interaction takes a scalar or an N x N matrix "
                f"(N={N}), got shape {arr.shape} ({value!r})"
            )
        return tuple(tuple(float(x) for x in row) for row in arr)

    # ------------------------------------------------------------------ derived quantities
    @property
    def n_qubits(self) -> int:
        """Number of qubits, ``2N``."""
        return 2 * self.N

    @property
    def n_h(self) -> float:
        """Bose occupation of the hot bath at ``omega_h``."""
        return bose_occupation(self.omega_h, self.T_h)

    @property
    def n_c(self) -> float:
        """Bose occupation of the cold bath at ``omega_c``."""
        return bose_occupation(self.omega_c, self.T_c)

    @property
    def Omega_matrix(self) -> np.ndarray:
        """The interaction as an ``N x N`` matrix ``Omega_{nn'}`` (diagonal for pairwise)."""
        if self.interaction == "pairwise":
            return np.diag(np.asarray(self.Omega, dtype=float))
        return np.asarray(self.Omega, dtype=float)

    def bath(self, i: str) -> tuple[float, float, float, tuple[float, ...]]:
        """Return ``(omega_i, T_i, n_i, g_i)`` for bath ``i`` in ``{"h", "c"}``."""
        if i == "h":
            return self.omega_h, self.T_h, self.n_h, self.g_h
        if i == "c":
            return self.omega_c, self.T_c, self.n_c, self.g_c
        raise ValueError(f"bath: expected 'h' or 'c', got {i!r}")

    @property
    def label(self) -> str:
        """The paper's scenario label, e.g. ``"com(2)"``."""
        return f"{_SHORT_DISSIPATION[self.dissipation]}({_SHORT_INTERACTION[self.interaction]})"

    def replace(self, **changes: Any) -> PaperModel:
        """Return a copy with ``changes`` applied (validated again).

        Changing ``N`` or ``interaction`` without giving ``g``/``Omega`` resets those to
        their defaults for the new size when the old values no longer fit.
        """
        fields = self.to_dict()
        if "N" in changes and changes["N"] != self.N:
            for key in ("g_h", "g_c"):
                fields[key] = None
            fields["Omega"] = _scalar_or(self.Omega_matrix)
        if "interaction" in changes:
            fields["Omega"] = _scalar_or(self.Omega_matrix)
        fields.update(changes)
        return PaperModel(**fields)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON/TOML friendly); ``PaperModel(**d)`` rebuilds it."""
        omega = self.Omega
        omega = [list(r) for r in omega] if self.interaction == "all-to-all" else list(omega)
        return {
            "N": self.N,
            "omega_h": self.omega_h,
            "omega_c": self.omega_c,
            "T_h": self.T_h,
            "T_c": self.T_c,
            "g_h": list(self.g_h),
            "g_c": list(self.g_c),
            "Omega": omega,
            "interaction": self.interaction,
            "dissipation": self.dissipation,
        }


def _scalar_or(matrix: np.ndarray) -> Any:
    """Collapse a matrix whose non-zero entries are all equal to that scalar (else keep it)."""
    vals = matrix[matrix != 0]
    if vals.size == 0:
        return 0.0
    if np.all(vals == vals[0]):
        return float(vals[0])
    return matrix
