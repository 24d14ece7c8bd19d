"""Run a script that SIGKILLs itself, and reap the loky workers it leaves behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def run_until_killed(argv: list[str], log: Path, timeout: float) -> tuple[int, str]:
    """Run ``python -c argv...`` in its own session; return its exit code and output.

    loky workers outlive a SIGKILLed parent (until their idle timeout), so the whole process
    group is killed afterwards; their inherited stdout is a file, so nothing waits on a pipe.
    """
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-c", *argv], stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = proc.wait(timeout=timeout)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return returncode, log.read_text()
