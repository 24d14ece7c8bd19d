"""The paper's quantitative claims of Sec. III.C and IV, one specification per claim.

Owns :data:`PAPER_CLAIMS`: what each claim compares, over which window, with which tolerance
and what the paper says; :func:`.claims.evaluate` judges them on a study.
"""

from __future__ import annotations

from collections.abc import Sequence

from .claims import (
    ACCELERATOR,
    CARNOT,
    ENGINE,
    REFRIGERATOR,
    WHOLE_GRID,
    Claim,
    CurrentsVanish,
    EfficiencyFormula,
    EtaAtMaxPower,
    EtaStarLarger,
    NotProductForm,
    OppositeSigns,
    Ordering,
    PowerVanishesAtCarnot,
    RegimeWindow,
    SignStructure,
    Window,
)

__all__ = ["PAPER_CLAIMS"]


def _orderings(
    section: str,
    pairs: Sequence[tuple[str, str]],
    quantity: str,
    window: Window,
    paper: str,
    absolute: bool = False,
) -> tuple[Ordering, ...]:
    return tuple(Ordering(section, a, b, quantity, window, paper, absolute) for a, b in pairs)


_TYPE_1_OVER_2 = [(f"{d}(1)", f"{d}(2)") for d in ("ind", "com", "cas")]
_FIG2 = ("com(2)", "cas(2)")

#: Every quantitative claim of Sec. III.C and IV, in the order of the report.
PAPER_CLAIMS: tuple[Claim, ...] = (
    # Sec. III.C, Fig. 2
    Ordering(
        "III.C Fig. 2(a)",
        "cas(2)",
        "com(2)",
        "W_loc",
        WHOLE_GRID,
        '"generally" |W_loc^cas(2)| > |W_loc^com(2)|',
        absolute=True,
        claim="|W_loc^cas(2)| > |W_loc^com(2)| on the whole grid (0 < x ≤ {x_max:g}; "
        "both vanish at x = 1)",
    ),
    SignStructure("III.C Fig. 2(c)", "W_loc", "C_loc", _FIG2, "trends coincide"),
    SignStructure("III.C Fig. 2(d)", "W_nonloc", "C_nonloc", _FIG2, "trends coincide"),
    OppositeSigns(
        "III.C Fig. 2(b)",
        "W_nonloc",
        "com(2)",
        "cas(2)",
        "opposite directions within the same intervals",
    ),
    NotProductForm("III.C Fig. 2(d)", "C_nonloc", "C_nonloc_product", _FIG2, "C ≠ C̃"),
    # Sec. IV: regimes and their boundaries
    RegimeWindow("IV Fig. 3", "accelerator", "A", ACCELERATOR, "0 < x < 1"),
    RegimeWindow("IV Fig. 3", "engine", "E", ENGINE, "1 < x < 2"),
    RegimeWindow("IV Fig. 3", "refrigerator", "R", REFRIGERATOR, "x > 2"),
    CurrentsVanish(
        "IV",
        1.0,
        ("W",),
        flowing=("Q_h",),
        claim="boundary x = ω_h/ω_c = 1: W = 0 while heat still flows h → c",
        paper="W = 0 at ω_h/ω_c = 1",
    ),
    CurrentsVanish(
        "IV",
        CARNOT,
        ("W", "Q_h", "Q_c"),
        claim="boundary x = T_h/T_c = {carnot_x:g} (Carnot point): every current "
        "vanishes; engine ↔ refrigerator",
        paper="E/R boundary at ω_h/ω_c = 2",
    ),
    # Sec. IV: efficiency and coefficients of performance
    EfficiencyFormula(
        "IV",
        ACCELERATOR,
        "Q_h",
        "W",
        1.0,
        lambda x: x / (1.0 - x),
        "COP_A = Q_h/W = ω_h/(ω_c − ω_h) (positive form) (accelerator)",
        "ω_h/(ω_h − ω_c) (printed; negative for x < 1: a typo)",
    ),
    EfficiencyFormula(
        "IV",
        ENGINE,
        "W",
        "Q_h",
        -1.0,
        lambda x: 1.0 - 1.0 / x,
        "η = |W|/Q_h = 1 − ω_c/ω_h, the same for every scenario (engine)",
        "1 − ω_c/ω_h",
    ),
    EfficiencyFormula(
        "IV",
        REFRIGERATOR,
        "Q_c",
        "W",
        1.0,
        lambda x: 1.0 / (x - 1.0),
        "COP_R = Q_c/W = ω_c/(ω_h − ω_c) (refrigerator)",
        "ω_c/(ω_h − ω_c)",
    ),
    # Sec. IV: orderings of the scenarios
    *_orderings(
        "IV accelerator",
        _TYPE_1_OVER_2,
        "Q_h",
        ACCELERATOR,
        "Q_h for type 1 always larger than for type 2",
    ),
    *_orderings(
        "IV accelerator",
        [("ind(1)", "com(1)"), ("ind(1)", "cas(1)"), ("ind(2)", "com(2)"), ("ind(2)", "cas(2)")],
        "Q_h",
        ACCELERATOR,
        "non-local Q_h always slightly smaller than independent",
    ),
    Ordering("IV accelerator", "com(1)", "cas(1)", "Q_h", ACCELERATOR, "Q_h^com(1) > Q_h^cas(1)"),
    Ordering("IV accelerator", "cas(2)", "com(2)", "Q_h", ACCELERATOR, "Q_h^cas(2) > Q_h^com(2)"),
    *_orderings(
        "IV engine",
        _TYPE_1_OVER_2,
        "W",
        ENGINE,
        "trends of |W| similar to the accelerator",
        absolute=True,
    ),
    *_orderings(
        "IV engine",
        [("ind(1)", "com(1)"), ("ind(2)", "com(2)"), ("ind(2)", "cas(2)")],
        "W",
        ENGINE,
        "trends of |W| similar to the accelerator (independent best)",
        absolute=True,
    ),
    Ordering(
        "IV engine",
        "com(1)",
        "cas(1)",
        "W",
        ENGINE,
        "trends similar to the accelerator (com(1) > cas(1))",
        absolute=True,
    ),
    Ordering(
        "IV engine",
        "cas(2)",
        "com(2)",
        "W",
        ENGINE,
        "trends similar to the accelerator (cas(2) > com(2))",
        absolute=True,
    ),
    Ordering(
        "IV engine",
        "cas(1)",
        "ind(1)",
        "W",
        (1.5, CARNOT),
        "for 1.5 < x < 2: |W^ind(1)| slightly smaller than |W^cas(1)|",
        absolute=True,
    ),
    *_orderings(
        "IV refrigerator",
        [("com(1)", "ind(1)"), ("cas(1)", "ind(1)")],
        "Q_c",
        REFRIGERATOR,
        "non-local beats independent, evident for type 1",
    ),
    *_orderings(
        "IV refrigerator",
        [("com(2)", "ind(2)"), ("cas(2)", "ind(2)")],
        "Q_c",
        REFRIGERATOR,
        "non-local dissipation shows advantages over independent (type 2 implied)",
    ),
    *_orderings(
        "IV refrigerator",
        [("ind(2)", "cas(2)"), ("cas(2)", "com(2)")],
        "Q_c",
        REFRIGERATOR,
        "(not in the paper: the type-2 ordering we find)",
    ),
    # Sec. IV, Fig. 4: efficiency at maximum power
    *(EtaAtMaxPower("IV Fig. 4", s, target=0.275) for s in ("ind(1)", "ind(2)", "cas(2)")),
    *(
        EtaStarLarger(
            "IV Fig. 4", s, "ind(1)", "can be larger under non-local dissipation (type 1)"
        )
        for s in ("com(1)", "cas(1)")
    ),
    EtaAtMaxPower("IV Fig. 4", "com(2)"),
    PowerVanishesAtCarnot("IV Fig. 4", "η_C = 0.5"),
)
