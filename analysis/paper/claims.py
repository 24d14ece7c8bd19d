"""Claim kinds (ordering in a window, regime, efficiency formula, ...) and their evaluation.

Owns the specification classes and :func:`evaluate`, which judges a table of claims (e.g.
:data:`.claim_table.PAPER_CLAIMS`) on the exact curves of a :class:`~.data.Study`.

Claims are judged on the exact values of the fine grid (``x = omega_h/omega_c``).  Where a
claim is an ordering ``f_a > f_b`` over a window, the range where it holds is found from the
sign of ``f_a - f_b`` on the grid, with the end points interpolated linearly between grid
points.  A claim whose inputs the study lacks (a scenario, a grid point such as ``x = 1``, a
window without grid points) is reported as not evaluated.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qjump.model import PaperModel
from qjump.results import classify_regime, current_tolerance

from .data import InputsAbsent, Study
from .text import fmt, pm, ranges_text, window_text

__all__ = [
    "ACCELERATOR",
    "CARNOT",
    "Claim",
    "ENGINE",
    "Judgement",
    "REFRIGERATOR",
    "WHOLE_GRID",
    "Window",
    "ClaimResult",
    "CurrentsVanish",
    "EfficiencyFormula",
    "EtaAtMaxPower",
    "EtaStarLarger",
    "NotProductForm",
    "OppositeSigns",
    "Ordering",
    "PowerVanishesAtCarnot",
    "RegimeWindow",
    "SignStructure",
    "Verdict",
    "evaluate",
    "holding_ranges",
    "paper_eta_star",
    "verdict_counts",
]

#: A window bound: a number, or ``CARNOT`` for ``x = T_h/T_c`` of the study.
CARNOT = "T_h/T_c"
Bound = float | str
Window = tuple[Bound, Bound]
#: Evidence from the exact curves, from the trajectories, the verdict and its detail.
Judgement = tuple[tuple[str, ...], tuple[str, ...], "Verdict", str]
ACCELERATOR: Window = (0.0, 1.0)
ENGINE: Window = (1.0, CARNOT)
REFRIGERATOR: Window = (CARNOT, math.inf)
WHOLE_GRID: Window = (0.0, math.inf)
#: Relative size under which a curve counts as vanishing (x = 1 for W, x = T_h/T_c).
VANISHING = 1e-9


class Verdict(enum.Enum):
    """Outcome of one claim."""

    HOLDS = "holds"
    PART = "holds only on part"
    FAILS = "fails"
    NO_CLAIM = "(no claim)"
    NOT_EVALUATED = "not evaluated"


@dataclass(frozen=True)
class ClaimResult:
    """One evaluated claim.

    Attributes
    ----------
    section, claim, paper : str
        Where the paper makes it, what we test, and what the paper says.
    exact, trajectory : tuple of str
        Evidence from the exact curves and from the trajectory points (one line each;
        empty when there is none).
    verdict : Verdict
    detail : str
        The ranges where a partial claim holds, a note on the verdict, or the missing input
        of a claim that was not evaluated.
    """

    section: str
    claim: str
    paper: str
    exact: tuple[str, ...]
    trajectory: tuple[str, ...]
    verdict: Verdict
    detail: str = ""


def _bound(b: Bound, st: Study) -> float:
    return st.carnot_x if b == CARNOT else float(b)


def _window(window: Window, st: Study) -> tuple[float, float]:
    return _bound(window[0], st), _bound(window[1], st)


def _names(st: Study) -> dict[str, float]:
    return {"x_max": st.x_max, "carnot_x": st.carnot_x}


# ----------------------------------------------------------------------------- ranges
def holding_ranges(
    x: np.ndarray, d: np.ndarray, lo: float, hi: float, tol: float = 0.0
) -> list[tuple[float, float]]:
    """Sub-intervals of ``(lo, hi)`` where ``d > tol`` (linear interpolation of crossings).

    Parameters
    ----------
    x, d : ndarray
        Grid and sampled function (sorted by ``x``).
    lo, hi : float
        Open window; only grid points strictly inside are used.
    tol : float, optional
        Threshold (points with ``|d| <= tol`` count as not holding).

    Returns
    -------
    list of (start, end)
        Maximal ranges; an end touching the window is the window edge.
    """
    sel = (x > lo) & (x < hi)
    xs, ds = x[sel], d[sel]
    ok = ds > tol
    out: list[tuple[float, float]] = []
    i = 0
    while i < len(xs):
        if not ok[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(xs) and ok[j + 1]:
            j += 1
        start = lo if i == 0 else _cross(xs[i - 1], ds[i - 1], xs[i], ds[i])
        end = hi if j == len(xs) - 1 else _cross(xs[j], ds[j], xs[j + 1], ds[j + 1])
        out.append((start, end))
        i = j + 1
    return out


def _cross(x0: float, d0: float, x1: float, d1: float) -> float:
    if d0 == d1:
        return 0.5 * (x0 + x1)
    return float(x0 - d0 * (x1 - x0) / (d1 - d0))


def _zeros(x: np.ndarray, v: np.ndarray) -> list[float]:
    """Sign changes of ``v`` on the grid (exact zeros are skipped), interpolated."""
    scale = float(np.max(np.abs(v))) if v.size else 0.0
    keep = np.abs(v) > VANISHING * scale
    xs, vs = x[keep], v[keep]
    out = []
    for i in np.flatnonzero(np.sign(vs[:-1]) != np.sign(vs[1:])):
        between = (x > xs[i]) & (x < xs[i + 1]) & ~keep
        if np.any(between):
            out.append(float(x[between][0]))  # an exact zero on the grid
        else:
            out.append(_cross(xs[i], vs[i], xs[i + 1], vs[i + 1]))
    return out


# ----------------------------------------------------------------------------- claim kinds
@dataclass(frozen=True)
class Ordering:
    """``f(q^a) > f(q^b)`` inside a window, ``f`` the identity or ``abs``.

    Where both curves vanish (``|value| <= 1e-9`` of the larger curve's maximum) the
    ordering is undefined; ranges that touch only at such a point are joined.
    """

    section: str
    a: str
    b: str
    quantity: str
    window: Window
    paper: str
    absolute: bool = False
    claim: str | None = None

    def text(self, st: Study) -> str:
        if self.claim is not None:
            return self.claim.format(**_names(st))
        name = f"|{self.quantity}|" if self.absolute else self.quantity
        return f"{name}^{self.a} > {name}^{self.b} for {window_text(*_window(self.window, st))}"

    def judge(self, st: Study) -> Judgement:
        lo, hi = _window(self.window, st)
        f = np.abs if self.absolute else np.asarray
        x, va = st.curve(self.a, self.quantity)
        xb, vb = st.curve(self.b, self.quantity)
        if not np.array_equal(x, xb):
            raise InputsAbsent(f"{self.a} and {self.b} on different grids")
        scale = max(float(np.max(np.abs(va))), float(np.max(np.abs(vb))), 1e-300)
        keep = np.maximum(np.abs(va), np.abs(vb)) > VANISHING * scale
        d = np.where(keep, f(va) - f(vb), 0.0)
        hi_eff = hi if math.isfinite(hi) else st.x_max + 1e-9
        sel = (x > lo) & (x < hi_eff) & keep
        if not sel.any():
            raise InputsAbsent(f"no grid point in {window_text(lo, hi)}")

        def ranges_in(a0: float, b0: float) -> list[tuple[float, float]]:
            merged: list[tuple[float, float]] = []
            for s, e in holding_ranges(x, d, a0, b0):
                r = (s, min(e, st.x_max))
                if merged and merged[-1][1] == r[0] and np.any(~keep & (x == r[0])):
                    merged[-1] = (merged[-1][0], r[1])
                else:
                    merged.append(r)
            return merged

        ranges = ranges_in(lo, hi_eff)
        whole = ranges_in(0.0, st.x_max + 1e-9)
        exact = (
            f"difference in the window: min {fmt(d[sel].min(), 3)}, max "
            f"{fmt(d[sel].max(), 3)}; on the whole grid it holds for x ∈ "
            f"{ranges_text(whole)}",
        )
        if ranges == [(lo, min(hi_eff, st.x_max))]:
            verdict, detail = Verdict.HOLDS, ""
        elif not ranges:
            verdict, detail = Verdict.FAILS, ""
        else:
            verdict, detail = Verdict.PART, f"x ∈ {ranges_text(ranges)}"
        pa, pb = st.points(self.a, self.quantity), st.points(self.b, self.quantity)
        m = pa.merge(pb, on="x", suffixes=("_a", "_b"))
        m = m[(m["x"] > lo) & (m["x"] < hi)]
        traj = tuple(
            f"x={r.x:g}: "
            f"{pm(float(f(r.trajectory_a) - f(r.trajectory_b)), math.hypot(r.se_a, r.se_b))}"
            for r in m.itertuples()
        )
        return exact, traj, verdict, detail


@dataclass(frozen=True)
class SignStructure:
    """A coherence quantity changes sign where its work current does (Fig. 2(c), 2(d))."""

    section: str
    work: str
    coherence: str
    scenarios: tuple[str, ...]
    paper: str

    def text(self, st: Study) -> str:
        return f"{self.coherence} follows the trend of {self.work} ({', '.join(self.scenarios)})"

    def judge(self, st: Study) -> Judgement:
        lines, ok = [], True
        for s in self.scenarios:
            x, w = st.curve(s, self.work)
            _, c = st.curve(s, self.coherence)
            if x.size < 2:
                raise InputsAbsent("fewer than two grid points")
            r = float(np.corrcoef(w, c)[0, 1])
            zw, zc = _zeros(x, w), _zeros(x, c)
            step = float(np.min(np.diff(x)))
            ok &= len(zw) == len(zc) and all(
                abs(p - q) <= step for p, q in zip(zw, zc, strict=True)
            )
            lines.append(
                f"{s}: sign changes of {self.work} at x = "
                f"{[round(v, 3) for v in zw] or 'none'}, of {self.coherence} at "
                f"x = {[round(v, 3) for v in zc] or 'none'}; Pearson r = {r:.3f}"
            )
        if ok:
            return (
                tuple(lines),
                (),
                Verdict.HOLDS,
                "same sign structure (not proportional where r < 1)",
            )
        return tuple(lines), (), Verdict.FAILS, "the sign changes differ"


@dataclass(frozen=True)
class OppositeSigns:
    """``q^a`` and ``q^b`` have opposite signs on some interval (Fig. 2(b))."""

    section: str
    quantity: str
    a: str
    b: str
    paper: str

    def text(self, st: Study) -> str:
        q = self.quantity
        return f"{q}^{self.a} and {q}^{self.b} can have opposite signs on the same interval"

    def judge(self, st: Study) -> Judgement:
        x, va = st.curve(self.a, self.quantity)
        _, vb = st.curve(self.b, self.quantity)
        opp = holding_ranges(x, -(va * vb), 0.0, np.inf)
        pa = st.points(self.a, self.quantity)
        pb = st.points(self.b, self.quantity)
        m = pa.merge(pb, on="x", suffixes=("_a", "_b"))
        tag_a, tag_b = self.a.split("(")[0], self.b.split("(")[0]
        traj = tuple(
            f"x={r.x:g}: {tag_a} {pm(r.trajectory_a, r.se_a)}, {tag_b} {pm(r.trajectory_b, r.se_b)}"
            for r in m.itertuples()
            if any(lo < r.x < hi for lo, hi in opp)
        )
        exact = (f"opposite signs for x ∈ {ranges_text([(s, min(e, st.x_max)) for s, e in opp])}",)
        return exact, traj, Verdict.HOLDS if opp else Verdict.FAILS, ""


@dataclass(frozen=True)
class NotProductForm:
    """A coherence quantity differs from its product form: ``max|C - C~| / max|C| > tol``."""

    section: str
    quantity: str
    product: str
    scenarios: tuple[str, ...]
    paper: str
    product_symbol: str = "C̃_nonloc"
    tol: float = 1e-3

    def text(self, st: Study) -> str:
        return (
            f"{self.quantity} ≠ {self.product_symbol} (no product form), "
            f"{' and '.join(self.scenarios)}"
        )

    def judge(self, st: Study) -> Judgement:
        lines, ok = [], True
        for s in self.scenarios:
            _, c = st.curve(s, self.quantity)
            _, p = st.curve(s, self.product)
            rel = float(np.max(np.abs(c - p)) / np.max(np.abs(c)))
            ok &= rel > self.tol
            lines.append(f"{s}: max|C − C̃| / max|C| = {rel:.3f}")
        return tuple(lines), (), Verdict.HOLDS if ok else Verdict.FAILS, ""


def _trajectory_regime(st: Study, scenario: str, x: float) -> str | None:
    """Regime of the trajectory means at ``x``, with signs resolved at 3 SE."""
    vals = {}
    for q in ("W", "Q_h", "Q_c"):
        p = st.points(scenario, q)
        p = p[np.isclose(p["x"], x)]
        if p.empty:
            return None
        vals[q] = (float(p["trajectory"].iloc[0]), float(p["se"].iloc[0]))
    s = st.info[scenario]
    m = PaperModel(
        **st.config["model"],
        omega_h=x * st.omega_c,
        dissipation=s["dissipation"],
        interaction=s["interaction"],
    )
    tol = current_tolerance(m)
    tols = tuple(max(tol, 3 * vals[q][1]) for q in ("Q_h", "Q_c", "W"))
    return classify_regime(m, vals["Q_h"][0], vals["Q_c"][0], vals["W"][0], tolerance=tols)


@dataclass(frozen=True)
class RegimeWindow:
    """Every scenario is in ``regime`` at every grid point inside the window (Fig. 3)."""

    section: str
    regime: str
    letter: str
    window: Window
    paper: str

    def text(self, st: Study) -> str:
        return (
            f"{self.regime} ({self.letter}) for {window_text(*_window(self.window, st))}"
            f", all {len(st.scenarios)} scenarios"
        )

    def judge(self, st: Study) -> Judgement:
        lo, hi = _window(self.window, st)
        n_ok = n = t_ok = t_n = 0
        bad: list[str] = []
        for s in st.scenarios:
            r = st.rows(s, "W")
            sel = r[(r["x"] > lo) & (r["x"] < hi)]
            n += len(sel)
            good = sel["regime"] == self.regime
            n_ok += int(good.sum())
            bad += [f"{s}@{v:g}" for v in sel.loc[~good, "x"]]
            for xv in st.points(s, "W")["x"]:
                if lo < xv < hi:
                    t_n += 1
                    t_ok += _trajectory_regime(st, s, float(xv)) == self.regime
        if n == 0:
            raise InputsAbsent(f"no grid point in {window_text(lo, hi)}")
        exact = (
            f"{n_ok}/{n} grid points ({fmt(st.x_min, 3)} ≤ x ≤ {st.x_max:g}) are "
            f"{self.regime}" + (f"; not: {', '.join(bad[:6])}" if bad else ""),
        )
        traj = (
            ((f"{t_ok}/{t_n} trajectory points classified {self.regime} (signs resolved at 3 SE)"),)
            if t_n
            else ()
        )
        return exact, traj, Verdict.HOLDS if n_ok == n else Verdict.FAILS, ""


@dataclass(frozen=True)
class CurrentsVanish:
    """At grid point ``at`` the currents ``vanish`` are zero (``< tol`` in every scenario)
    while the currents ``flowing`` are not (``> flow_min`` in some scenario)."""

    section: str
    at: Bound
    vanish: tuple[str, ...]
    claim: str
    paper: str
    flowing: tuple[str, ...] = ()
    tol: float = 1e-12
    flow_min: float = 1e-6

    def text(self, st: Study) -> str:
        return self.claim.format(**_names(st))

    def judge(self, st: Study) -> Judgement:
        x0 = _bound(self.at, st)
        vals = {
            q: max(abs(float(st.at(s, q, x0)["exact"])) for s in st.scenarios)
            for q in self.vanish + self.flowing
        }
        regimes = {str(st.at(s, "W", x0)["regime"]) for s in st.scenarios}
        ok = all(vals[q] < self.tol for q in self.vanish) and all(
            vals[q] > self.flow_min for q in self.flowing
        )
        exact = (
            ", ".join(f"max|{q}| = {fmt(v, 3)}" for q, v in vals.items())
            + f"; regime {', '.join(sorted(regimes))}",
        )
        return exact, (), Verdict.HOLDS if ok else Verdict.FAILS, ""


@dataclass(frozen=True)
class EfficiencyFormula:
    """``sign * numerator / denominator`` equals ``formula(x)`` in the window, every
    scenario (relative deviation below ``tol``)."""

    section: str
    window: Window
    numerator: str
    denominator: str
    sign: float
    formula: Callable[[np.ndarray], np.ndarray]
    claim: str
    paper: str
    tol: float = 1e-8

    def text(self, st: Study) -> str:
        return self.claim

    def judge(self, st: Study) -> Judgement:
        lo, hi = _window(self.window, st)
        dev, tdev, tse, npts, n = 0.0, 0.0, 0.0, 0, 0
        for s in st.scenarios:
            x, num = st.curve(s, self.numerator)
            _, den = st.curve(s, self.denominator)
            sel = (x > lo) & (x < hi)
            n += int(sel.sum())
            if sel.any():
                ref = self.formula(x[sel])
                val = self.sign * num[sel] / den[sel]
                dev = max(dev, float(np.max(np.abs(val - ref) / np.abs(ref))))
            m = st.points(s, self.numerator).merge(
                st.points(s, self.denominator), on="x", suffixes=("_n", "_d")
            )
            for r in m[(m["x"] > lo) & (m["x"] < hi)].itertuples():
                v = self.sign * r.trajectory_n / r.trajectory_d
                # delta method neglecting the (strong) correlation: a conservative SE
                se = abs(v) * math.hypot(r.se_n / r.trajectory_n, r.se_d / r.trajectory_d)
                tdev = max(tdev, abs(v - float(self.formula(np.array([r.x]))[0])))
                tse = max(tse, se)
                npts += 1
        if n == 0:
            raise InputsAbsent(f"no grid point in {window_text(lo, hi)}")
        exact = (
            f"max relative deviation from the formula over the window, all scenarios: {dev:.1e}",
        )
        traj = (
            (
                (
                    f"ratio of trajectory means at {npts} points: max|ratio − formula| = "
                    f"{fmt(tdev, 2)} (naive SE up to {fmt(tse, 2)}, correlations neglected)"
                ),
            )
            if npts
            else ()
        )
        return exact, traj, Verdict.HOLDS if dev < self.tol else Verdict.FAILS, ""


@dataclass(frozen=True)
class EtaAtMaxPower:
    """Efficiency at maximum power of one scenario: ``|eta* - target| <= tol`` (Fig. 4).

    Without ``target`` the value is listed with no claim.
    """

    section: str
    scenario: str
    target: float | None = None
    tol: float = 0.005

    @property
    def paper(self) -> str:
        return "(not given)" if self.target is None else f"≈ {self.target:g}"

    def text(self, st: Study) -> str:
        base = f"η at maximum power of {self.scenario}"
        return (
            base
            if self.target is None
            else (f"{base} ≈ {self.target:g} (tolerance ± {self.tol:g})")
        )

    def judge(self, st: Study) -> Judgement:
        o = st.optimum_of(self.scenario)
        e = float(o["eta_star"])
        exact = (
            f"η* = {e:.4f} at x* = {float(o['omega_h_star']) / st.omega_c:.4f}, max "
            f"power {fmt(float(o['power_star']), 4)}",
        )
        if self.target is None:
            return exact, (), Verdict.NO_CLAIM, ""
        return exact, (), Verdict.HOLDS if abs(e - self.target) <= self.tol else Verdict.FAILS, ""


@dataclass(frozen=True)
class EtaStarLarger:
    """The efficiency at maximum power of ``scenario`` exceeds that of ``reference``."""

    section: str
    scenario: str
    reference: str
    paper: str

    def text(self, st: Study) -> str:
        return f"η* of {self.scenario} larger than η* of {self.reference}"

    def judge(self, st: Study) -> Judgement:
        e = float(st.optimum_of(self.scenario)["eta_star"])
        e0 = float(st.optimum_of(self.reference)["eta_star"])
        return (f"η* = {e:.4f} vs {e0:.4f}",), (), Verdict.HOLDS if e > e0 else Verdict.FAILS, ""


@dataclass(frozen=True)
class PowerVanishesAtCarnot:
    """The power vanishes at ``x = T_h/T_c``, where ``eta = 1 - 1/x`` is Carnot's."""

    section: str
    paper: str
    tol: float = 1e-12

    def text(self, st: Study) -> str:
        return "power vanishes at the Carnot efficiency η_C = 1 − T_c/T_h"

    def judge(self, st: Study) -> Judgement:
        ratio, carnot = st.carnot_x, 1.0 - st.T_c / st.T_h
        worst = max(abs(float(st.at(s, "W", ratio)["exact"])) for s in st.scenarios)
        ok = worst < self.tol and abs(carnot - (1.0 - 1.0 / ratio)) < self.tol
        exact = (
            f"η_C = {carnot:g}; η(x = {ratio:g}) = {1 - 1 / ratio:g}; max|W| there = "
            f"{fmt(worst, 2)}",
        )
        return exact, (), Verdict.HOLDS if ok else Verdict.FAILS, ""


Claim = (
    Ordering
    | SignStructure
    | OppositeSigns
    | NotProductForm
    | RegimeWindow
    | CurrentsVanish
    | EfficiencyFormula
    | EtaAtMaxPower
    | EtaStarLarger
    | PowerVanishesAtCarnot
)


def paper_eta_star(claims: Sequence[Claim]) -> float | None:
    """The paper's efficiency at maximum power (the target of the Fig. 4 claims), if any."""
    targets = {c.target for c in claims if isinstance(c, EtaAtMaxPower) and c.target}
    return targets.pop() if len(targets) == 1 else None


# ----------------------------------------------------------------------------- evaluation
def evaluate(st: Study, claims: Sequence[Claim]) -> list[ClaimResult]:
    """Judge every claim of ``claims`` on the study.

    Parameters
    ----------
    st : Study
    claims : sequence of claim specifications
        For the paper: :data:`.claim_table.PAPER_CLAIMS`.

    Returns
    -------
    list of ClaimResult
        One per claim, in order; a claim whose inputs the study lacks has verdict
        :attr:`Verdict.NOT_EVALUATED` and the missing input in ``detail``.
    """
    out = []
    for c in claims:
        try:
            exact, traj, verdict, detail = c.judge(st)
        except InputsAbsent as missing:
            exact, traj, verdict, detail = (), (), Verdict.NOT_EVALUATED, str(missing)
        out.append(ClaimResult(c.section, c.text(st), c.paper, exact, traj, verdict, detail))
    return out


def verdict_counts(results: Sequence[ClaimResult]) -> dict[str, int]:
    """How many claims got each verdict, most frequent first."""
    counts = pd.Series([r.verdict.value for r in results]).value_counts()
    return {str(k): int(v) for k, v in counts.items()}
