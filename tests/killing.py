"""Helpers of the crash tests: a deterministic dummy task and a runner for SIGKILLed scripts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

TESTS = str(Path(__file__).parent)


def echo_task(n: int = 5, seed: int = 0, sleep: float = 0.0, tag: str = "x"):
    """Frames with float, int, bool, str and categorical columns determined by the arguments.

    Returns ``({"samples": ..., "summary": ...}, {"seed": seed, "n": n})``; `sleep` emulates
    work without changing the result.
    """
    if sleep > 0:
        time.sleep(sleep)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    samples = pd.DataFrame(
        {
            "i": np.arange(n, dtype=np.int64),
            "x": x,
            "y": rng.random(n).astype(np.float32),
            "flag": x > 0,
            "tag": pd.Series([f"{tag}{k}" for k in range(n)], dtype="string"),
            "cat": pd.Categorical(["a" if v > 0 else "b" for v in x], categories=["a", "b"]),
        }
    )
    summary = pd.DataFrame(
        {"mean": [float(x.mean())], "std": [float(x.std(ddof=1)) if n > 1 else 0.0]},
        index=pd.Index([seed], name="seed"),
    )
    return {"samples": samples, "summary": summary}, {"seed": seed, "n": n}


def run_until_killed(argv: list[str], log: Path, timeout: float) -> tuple[int, str]:
    """Run ``python -c argv...`` in its own session; return its exit code and output.

    The script can ``import killing`` (this folder is on its path).  loky workers outlive a
    SIGKILLed parent (until their idle timeout), so the whole process group is killed
    afterwards; their inherited stdout is a file, so nothing waits on a pipe.
    """
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [TESTS, os.environ.get("PYTHONPATH")])),
    }
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-c", *argv],
            stdout=fh,
            env=env,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = proc.wait(timeout=timeout)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return returncode, log.read_text()
