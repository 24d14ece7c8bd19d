"""Planted-bug campaign: apply one physics mutation to a temporary copy and run a test tier.

Usage (from the repository root)::

    python tests/mutations/run.py                     # every mutant, fast tier
    python tests/mutations/run.py --tier slow h_cas_sign steady_start_mode
    python tests/mutations/run.py --list

Each mutation is a regular-expression substitution in one source file; a pattern that is not
found aborts the campaign (the code moved: update the table).  The copy is imported through
``PYTHONPATH`` and its location is checked before any test runs.  The script prints a kill
matrix (``killed`` = the tier failed, ``survived`` = it passed).  pytest does not collect this
directory (``collect_ignore`` in tests/conftest.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class Mutation:
    name: str
    description: str
    path: str  # file relative to the repository root
    pattern: str  # regular expression (re.MULTILINE)
    replacement: str
    fast: tuple[str, ...]  # test files of the fast tier
    slow: tuple[str, ...]  # test files of the slow tier
    count: int = 1  # substitutions expected


TRAJ_FAST = ("tests/test_trajectories.py", "tests/test_statistics.py", "tests/test_fluctuations.py")
TRAJ_SLOW = (
    "tests/test_precision.py",
    "tests/test_statistics.py",
    "tests/test_trajectories.py",
    "tests/test_fluctuations.py",
)
EXACT_FAST = ("tests/test_paper_equations.py", "tests/test_invariants.py", "tests/test_fcs.py")

MUTATIONS: list[Mutation] = []


def _add(name, description, path, pattern, replacement, fast, slow=TRAJ_SLOW, count=1):
    MUTATIONS.append(Mutation(name, description, path, pattern, replacement, fast, slow, count))


_add(
    "h_cas_sign",
    "sign of H_cas flipped",
    "qjump/system/operators.py",
    r"H = H \+ 0\.5j \* g\[n\] \* g\[n2\] \* \(A - A\.T\)",
    "H = H - 0.5j * g[n] * g[n2] * (A - A.T)",
    EXACT_FAST,
)
_add(
    "sqrt_factors",
    "sqrt(n+1) and sqrt(n) of the jump operators swapped",
    "qjump/system/operators.py",
    r'\("emission", math\.sqrt\(nbar \+ 1\.0\)\), \("absorption", math\.sqrt\(nbar\)\)',
    '("emission", math.sqrt(nbar)), ("absorption", math.sqrt(nbar + 1.0))',
    EXACT_FAST,
)
_add(
    "counting_swapped",
    "absorption/emission swapped in the jump counting",
    "qjump/trajectories/loop.py",
    r"out\.counts\[w_idx, sec\.ch_bath\[jc\], sec\.ch_kind\[jc\]\] \+= 1",
    "out.counts[w_idx, sec.ch_bath[jc], 1 - sec.ch_kind[jc]] += 1",
    TRAJ_FAST,
)
_add(
    "jump_coupling_10pct",
    "channel 0's coupling x1.1 in the trajectory jumps only",
    "qjump/trajectories/propagators/eigen.py",
    r"P\[j, k, :d, :d\] = LV\.conj\(\)\.T @ LV",
    "P[j, k, :d, :d] = (1.21 if j == 0 else 1.0) * (LV.conj().T @ LV)",
    TRAJ_FAST,
)
_add(
    "se_over_sqrt2",
    "trajectory standard errors divided by sqrt(2)",
    "qjump/trajectories/ensemble.py",
    r"float\(x\.std\(ddof=1\) / math\.sqrt\(len\(x\)\)\)",
    "float(x.std(ddof=1) / math.sqrt(2 * len(x)))",
    TRAJ_FAST,
)
_add(
    "control_variate_se_over_sqrt2",
    "control-variate standard errors of the currents divided by sqrt(2)",
    "qjump/trajectories/ensemble.py",
    r"rss / \(\(M - K - 1\) \* M\)",
    "rss / (2 * (M - K - 1) * M)",
    TRAJ_FAST,
)
_add(
    "generator_cascade_twice",
    "generator controls with H_cas counted twice (H_total in the commutator)",
    "qjump/system/quantities.py",
    r"H = self\.ops\.H_S$",
    "H = self.ops.H_total",
    EXACT_FAST,
)
_add(
    "generator_controls_shifted",
    "generator controls replaced by their observables A (non-zero steady-state means)",
    "qjump/system/quantities.py",
    r"out\.update\(\(k, self\._generator\(k\[4:\]\)\) for k in self\.sampled_names",
    "out.update((k, sp.csr_matrix(self.control_observable(k[4:]), dtype=complex)) "
    "for k in self.sampled_names",
    TRAJ_FAST,
)
_add(
    "steady_start_mode",
    "steady start = most probable eigenvector of rho_ss",
    "qjump/trajectories/trajectory.py",
    r"i = int\(np\.searchsorted\(np\.cumsum\(probs\), rng\.random\(\) \* probs\.sum\(\), "
    r'side="right"\)\)',
    "i = int(np.argmax(probs))",
    TRAJ_FAST,
)
_add(
    "jump_time_tolerance",
    "jump-time tolerance loosened to 1e-3",
    "qjump/trajectories/propagators/eigen.py",
    r"if abs\(f\) < 1e-12:",
    "if abs(f) < 1e-3:",
    (*TRAJ_FAST, "tests/test_scaling.py"),
)
_add(
    "propagate_quadrant",
    "the propagation kernel's sine keeps its sign in the quadrants q = 2, 3 (mod 4)",
    "qjump/trajectories/propagators/eigen.py",
    r"sin_y = -sin_y if \(quadrant & 2\) != 0 else sin_y",
    "sin_y = sin_y",
    (*TRAJ_FAST, "tests/test_jump_time.py"),
)
_add(
    "jump_normalisation",
    "the state after a dense jump is divided by the channel's weight, not its square root",
    "qjump/trajectories/propagators/eigen.py",
    r"scale = 1\.0 / np\.sqrt\(weight\)",
    "scale = 1.0 / weight",
    (*TRAJ_FAST, "tests/test_jump_time.py"),
)
_add(
    "decoupled_without_cascade",
    "the uncoupled ensembles' generator (steady-state preconditioner) drops H_cas",
    "qjump/system/operators.py",
    r"H = part\(self\.H0\[bath\]\) \+ part\(self\.H_cas\[bath\]\)",
    "H = part(self.H0[bath])",
    ("tests/test_linalg.py", *EXACT_FAST),
)
_add(
    "decoupled_untilted",
    "the tilted preconditioner of the SCGF ignores the counting field",
    "qjump/liouville/decoupled.py",
    r"L = L \+ f\[j\] \* sp\.kron\(J, J\.conj\(\)\)",
    "L = L + sp.kron(J, J.conj())",
    ("tests/test_linalg.py", "tests/test_fcs.py"),
)
_add(
    "counting_field_sign",
    "sign of the counting field in the tilted Liouvillian",
    "qjump/liouville/fcs.py",
    r"return self\.weight\(channel\.bath\) \* channel\.quanta",
    "return -self.weight(channel.bath) * channel.quanta",
    ("tests/test_fcs.py", "tests/test_fluctuations.py"),
)
_add(
    "var_over_2t",
    "diffusion estimated as Var/(2t)",
    "qjump/trajectories/estimates.py",
    r"k2 = m2 \* m / \(m - 1\) if m > 1",
    "k2 = m2 * m / (m - 1) / 2 if m > 1",
    ("tests/test_fluctuations.py", "tests/test_statistics.py"),
)


def copy_repo(dest: Path) -> None:
    """The tracked files of the work tree (plus uncommitted edits) without caches."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for rel in files:
        src = ROOT / rel
        if not src.is_file():
            continue
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out)
    # ``qjump.analysis`` is the top-level ``analysis`` directory in the installed package
    if (dest / "analysis").is_dir() and not (dest / "qjump" / "analysis").exists():
        os.symlink(dest / "analysis", dest / "qjump" / "analysis")


def apply(mutation: Mutation, dest: Path) -> None:
    target = dest / mutation.path
    if not target.is_file():
        raise SystemExit(f"{mutation.name}: file {mutation.path} does not exist")
    text = target.read_text()
    new, n = re.subn(mutation.pattern, mutation.replacement, text, flags=re.MULTILINE)
    if n != mutation.count:
        raise SystemExit(
            f"{mutation.name}: pattern {mutation.pattern!r} matched {n} times in "
            f"{mutation.path}, expected {mutation.count}"
        )
    target.write_text(new)


#: paired measurement of a mutant's effect on the currents: the same seed in the original and
#: the mutated copy (common random numbers), the exact values and the trajectory estimates
EFFECT_SCRIPT = """
import json, qjump
out = {}
for d, i in (("common", "all-to-all"), ("cascaded", "pairwise")):
    m = qjump.PaperModel(omega_h=1.5, dissipation=d, interaction=i)
    ex = qjump.exact(m)
    r = qjump.simulate(m, t_final=20000.0, trajectories=16, seed=1, initial_state="steady",
                       sample_interval=50.0, n_jobs=2)
    out[m.label] = {k: (ex[k], r[k]) for k in ("Q_h", "Q_c", "W")}
print(json.dumps(out))
"""


def measure_effect(dest: Path) -> dict:
    import json

    env = dict(os.environ, PYTHONPATH=str(dest), NUMBA_CACHE_DIR=str(dest / ".numba"))
    proc = subprocess.run(
        [sys.executable, "-c", EFFECT_SCRIPT], cwd=dest, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def effect_summary(base: dict, mut: dict) -> str:
    """Largest relative change of an exact value and of a paired trajectory estimate."""
    if "error" in mut:
        return f"error: {mut['error']}"
    ex = max(abs(mut[s][k][0] / base[s][k][0] - 1) for s in base for k in base[s])
    tr = max(abs(mut[s][k][1] / base[s][k][1] - 1) for s in base for k in base[s])
    return f"exact {ex:.2%}, trajectories {tr:.2%}"


def run_tier(dest: Path, files: tuple[str, ...], tier: str, timeout: float) -> tuple[str, float]:
    env = dict(os.environ, PYTHONPATH=str(dest), NUMBA_CACHE_DIR=str(dest / ".numba"))
    where = subprocess.run(
        [sys.executable, "-c", "import qjump; print(qjump.__file__)"],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    if not where.stdout.strip().startswith(str(dest)):
        raise SystemExit(f"the copy is not the imported package: {where.stdout.strip()}")
    marker = "slow" if tier == "slow" else "not slow"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        marker,
        *files,
    ]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=dest, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - t0
    elapsed = time.perf_counter() - t0
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
    if proc.returncode == 0:
        return f"survived ({tail})", elapsed
    failed = [ln for ln in proc.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    return f"killed by {failed[0].split(' - ')[0] if failed else tail}", elapsed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="mutations to run (default: all)")
    ap.add_argument("--tier", choices=("fast", "slow"), default="fast")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per mutant")
    ap.add_argument("--files", nargs="+", help="test files to run instead of the table's")
    ap.add_argument(
        "--effect",
        action="store_true",
        help="measure each mutant's effect on the currents instead of testing",
    )
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    ap.add_argument(
        "--check", action="store_true", help="only check that every pattern matches (no tests)"
    )
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        raise SystemExit(f"unknown mutation(s): {', '.join(sorted(unknown))}")
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:24s} {m.description}")
        return 0
    rows = []
    base = None
    if args.effect:
        with tempfile.TemporaryDirectory(prefix="qjump-baseline-") as tmp:
            copy_repo(Path(tmp))
            base = measure_effect(Path(tmp))
    for m in chosen:
        with tempfile.TemporaryDirectory(prefix=f"qjump-mutant-{m.name}-") as tmp:
            dest = Path(tmp)
            copy_repo(dest)
            apply(m, dest)
            if args.check:
                rows.append((m.name, "pattern found", 0.0))
                continue
            if args.effect:
                t0 = time.perf_counter()
                verdict = effect_summary(base, measure_effect(dest))
                rows.append((m.name, verdict, time.perf_counter() - t0))
                print(f"{m.name:24s} {verdict}", flush=True)
                continue
            files = args.files or (m.fast if args.tier == "fast" else m.slow)
            verdict, elapsed = run_tier(dest, files, args.tier, args.timeout)
        rows.append((m.name, verdict, elapsed))
        print(f"{m.name:24s} {args.tier:5s} {elapsed:7.0f} s  {verdict}", flush=True)
    column = "effect on Q_h, Q_c, W" if args.effect else f"{args.tier} tier"
    print(f"\n{'effects' if args.effect else 'kill matrix'} ({column})")
    print(f"| mutation | description | {column} | seconds |")
    print("|---|---|---|---|")
    desc = {m.name: m.description for m in MUTATIONS}
    for name, verdict, elapsed in rows:
        print(f"| {name} | {desc[name]} | {verdict} | {elapsed:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
