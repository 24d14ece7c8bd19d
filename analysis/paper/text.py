"""Number and range formatting shared by the claim evidence and the report.

Owns how a value, a value ± SE, a set of x ranges and a window read in the report.
"""

from __future__ import annotations

import math

__all__ = ["fmt", "pm", "ranges_text", "window_text"]


def fmt(x: float | None, digits: int = 4) -> str:
    """``digits`` significant digits; scientific notation outside ``[1e-3, 1e4)``."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.{digits}g}"
    return f"{x:.{max(digits - 1, 1)}e}"


def pm(value: float, se: float) -> str:
    """``value ± se``."""
    return f"{fmt(value, 3)} ± {fmt(se, 2)}"


def ranges_text(ranges: list[tuple[float, float]]) -> str:
    """``(a, b), (c, d)`` or ``nowhere``."""
    if not ranges:
        return "nowhere"
    return ", ".join(f"({a:.3f}, {b:.3f})" for a, b in ranges)


def window_text(lo: float, hi: float) -> str:
    """``lo < x < hi``, or ``x > lo`` for an open window."""
    return f"{fmt(lo, 3)} < x < {fmt(hi, 3)}" if math.isfinite(hi) else f"x > {fmt(lo, 3)}"
