"""A tiny, dependency-free progress bar on stderr.

:class:`Progress` shows ``done/total``, the number of remaining tasks, the elapsed time and an
estimated time to completion.  On a terminal the bar is redrawn in place (carriage return) at
most a few times per second; when the stream is not a TTY (log files, CI) a plain line is
printed every ~5 % of the work or every 10 s instead, so logs stay readable.

Examples
--------
>>> with Progress(3, label="tasks", quiet=True) as bar:
...     for _ in range(3):
...         bar.advance(1)
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float | None) -> str:
    """Format a duration as ``H:MM:SS`` (or ``M:SS`` below one hour).

    Parameters
    ----------
    seconds : float or None
        Duration in seconds; ``None``, negative or non-finite values give ``"?"``.

    Returns
    -------
    str
        The formatted duration.
    """
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


class Progress:
    """Progress bar for a known number of tasks, written to stderr.

    Parameters
    ----------
    total : int
        Total number of tasks (including those counted by `initial`).
    label : str, optional
        Short label printed in front of the bar.
    quiet : bool, optional
        If true nothing at all is written.
    initial : int, optional
        Tasks already done when the bar starts (e.g. results loaded from a store).  They count
        towards ``done`` but not towards the rate used for the ETA.
    stream : file-like, optional
        Output stream; defaults to ``sys.stderr`` (looked up when the bar is created).
    min_interval : float, optional
        Minimum time in seconds between two redraws on a terminal.
    line_interval : float, optional
        Non-TTY mode: maximum time in seconds between two printed lines.
    line_fraction : float, optional
        Non-TTY mode: print a line each time this fraction of `total` has been completed.
    width : int, optional
        Width of the bar itself, in characters (TTY mode).
    clock : callable, optional
        Monotonic clock returning seconds (injectable for tests).

    Notes
    -----
    Use it as a context manager; the final state is always printed on exit (unless quiet).
    """

    def __init__(
        self,
        total: int,
        label: str = "tasks",
        quiet: bool = False,
        *,
        initial: int = 0,
        stream: TextIO | None = None,
        min_interval: float = 0.2,
        line_interval: float = 10.0,
        line_fraction: float = 0.05,
        width: int = 24,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if total < 0:
            raise ValueError(f"total must be >= 0, got {total}")
        self.total = int(total)
        self.label = label
        self.quiet = quiet
        self.initial = int(initial)
        self.done = int(initial)
        self.stream: TextIO = sys.stderr if stream is None else stream
        self.min_interval = min_interval
        self.line_interval = line_interval
        self.line_fraction = line_fraction
        self.width = width
        self._clock = clock
        self._start = clock()
        self._last_draw = -math.inf
        self._last_line_step = -1
        self._last_line_done = -1
        self._last_width = 0
        self._closed = False
        try:
            self.is_tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            self.is_tty = False

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> Progress:
        self._start = self._clock()
        self._draw(force=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- public API ------------------------------------------------------------------------
    @property
    def remaining(self) -> int:
        """Number of tasks not yet done."""
        return max(self.total - self.done, 0)

    @property
    def elapsed(self) -> float:
        """Seconds since the bar started."""
        return self._clock() - self._start

    def eta(self) -> float | None:
        """Estimated seconds until completion, or ``None`` if no rate is known yet."""
        if self.remaining == 0:
            return 0.0
        new = self.done - self.initial
        elapsed = self.elapsed
        if new <= 0 or elapsed <= 0:
            return None
        return self.remaining * elapsed / new

    def advance(self, n: int = 1) -> None:
        """Count `n` more tasks as done and redraw if due.

        Parameters
        ----------
        n : int, optional
            Number of newly completed tasks.
        """
        self.done += n
        self._draw(force=False)

    def note(self, msg: str) -> None:
        """Print a message on its own line without breaking the bar.

        Parameters
        ----------
        msg : str
            The message (printed even when the bar is finished, never when quiet).
        """
        if self.quiet:
            return
        if self.is_tty and not self._closed:
            self._clear()
            self.stream.write(msg + "\n")
            self._draw(force=True)
        else:
            self.stream.write(msg + "\n")
            self._flush()

    def close(self) -> None:
        """Print the final state and end the bar line (idempotent)."""
        if self._closed:
            return
        if not self.quiet:
            if self.is_tty:
                self._draw(force=True)
                self.stream.write("\n")
                self._flush()
            elif self._last_line_done != self.done:
                self._write_line()
        self._closed = True

    def render(self) -> str:
        """Return the current status text (without bar graphics).

        Returns
        -------
        str
            E.g. ``"tasks 3/10 (30%) | remaining 7 | elapsed 0:04 | ETA 0:09"``.
        """
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (
            f"{self.label} {self.done}/{self.total} ({pct:.0f}%) | remaining {self.remaining}"
            f" | elapsed {format_duration(self.elapsed)} | ETA {format_duration(self.eta())}"
        )

    # -- internals -------------------------------------------------------------------------
    def _step(self) -> int:
        if self.total == 0:
            return 0
        frac = min(self.done / self.total, 1.0)
        return int(frac / self.line_fraction) if self.line_fraction > 0 else 0

    def _flush(self) -> None:
        try:
            self.stream.flush()
        except (AttributeError, ValueError, OSError):
            pass

    def _clear(self) -> None:
        if self._last_width:
            self.stream.write("\r" + " " * self._last_width + "\r")

    def _draw(self, force: bool) -> None:
        if self.quiet or self._closed:
            return
        now = self._clock()
        if self.is_tty:
            if not force and now - self._last_draw < self.min_interval:
                return
            frac = min(self.done / self.total, 1.0) if self.total else 1.0
            filled = int(round(frac * self.width))
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"[{bar}] {self.render()}"
            pad = " " * max(self._last_width - len(text), 0)
            self.stream.write("\r" + text + pad)
            self._last_width = len(text)
            self._last_draw = now
            self._flush()
        else:
            step = self._step()
            due_time = now - self._last_draw >= self.line_interval
            if force or step != self._last_line_step or due_time:
                self._write_line()

    def _write_line(self) -> None:
        self.stream.write(self.render() + "\n")
        self._last_line_step = self._step()
        self._last_line_done = self.done
        self._last_draw = self._clock()
        self._flush()
