"""Command-line interface: a thin layer over the public Python API.

``qjump exact``     exact steady state (:func:`qjump.exact`)
``qjump simulate``  quantum-jump trajectories (:func:`qjump.simulate`)
``qjump fcs``       exact full counting statistics (:func:`qjump.counting_statistics`)
``qjump run``       a study described by a TOML file (:func:`qjump.studies.runner.run_study`)
``qjump report``    re-draw a study's figures and report from stored results
``qjump dynamics``  relaxation from a preparation, exact and from trajectories
``qjump waiting-times``  delays between consecutive jumps, exact and from trajectories
``qjump noise``     noise spectrum of the quanta of one bath, exact and from trajectories

Bad input exits with code 2 and a one-line message that names the flag (``--T-h``) or the
study-file key (``[model] T_hot``) as written; a closed stdout (``qjump exact --json | head``)
ends the command quietly.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import sys
import warnings
from typing import Any

from . import __version__
from .model import PaperModel

__all__ = ["main"]

_LIST_OPTIONS = ("--g-h", "--g-c", "--Omega", "--scgf")
_NUMBER = re.compile(r"^-(\d|\.\d)")


class CLIError(Exception):
    """A bad command line (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2
        raise CLIError(f"{self.prog}: {message}")


#: Python parameter names of the model and :func:`qjump.simulate` -> the flags that set them.
FLAGS = {
    "N": "--N",
    "omega_h": "--omega-h",
    "omega_c": "--omega-c",
    "T_h": "--T-h",
    "T_c": "--T-c",
    "g_h": "--g-h",
    "g_c": "--g-c",
    "Omega": "--Omega",
    "interaction": "--interaction",
    "dissipation": "--dissipation",
    "trajectories": "--trajectories",
    "t_final": "--t-final",
    "burn_in": "--burn-in",
    "seed": "--seed",
    "n_jobs": "--n-jobs",
    "initial_state": "--initial-state",
    "window": "--window",
    "sample_interval": "--sample-interval",
    "save": "--save",
    "target_rel_se": "--target-rel-se",
    "target_se": "--target-se",
    "target_quantity": "--target-quantity",
    "max_wall": "--max-wall",
    "bath": "--bath",
    "scgf_grid": "--scgf",
    "overwrite": "--overwrite",
    "quantities": "--quantities",
}
_INNER = re.compile(r"(?<![-\w])(" + "|".join(k for k in FLAGS if "_" in k) + r")(?![\w-])")
_PARAM = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?P<rest>[:\[ =].*)$", re.S)
#: Suggested settings inside a message ("use quantities='essential'", "n_jobs=2").
_ASSIGN = re.compile(r"(?:(?<=use )|(?<=\())(" + "|".join(FLAGS) + r")=('?)([^'\s,)]+)\2")


def flag_message(message: str) -> str:
    """Rename a leading Python parameter (``T_h: ...``) to its flag (``--T-h: ...``)."""
    m = _PARAM.match(message)
    if m and m["name"] in FLAGS:
        message = FLAGS[m["name"]] + m["rest"]
    # suggested settings ("use n_jobs=2" -> "use --n-jobs 2")
    message = _ASSIGN.sub(lambda k: f"{FLAGS[k[1]]} {k[3]}", message)
    # parameters named inside the message ("must be > burn_in (100)")
    return _INNER.sub(lambda k: FLAGS[k[0]], message)


def _floats(name: str):
    def parse(text: str) -> list[float]:
        out = []
        for part in text.split(","):
            part = part.strip()
            try:
                x = float(part)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{name}: {part!r} is not a number (expected a comma-separated list)"
                ) from None
            out.append(x)
        return out

    return parse


def _omega(text: str) -> Any:
    """``0.1`` (scalar), ``0.1,0.2`` (vector) or ``0.1,0.2;0.3,0.4`` (matrix rows)."""
    rows = [r for r in text.split(";")]
    mat = [_floats("--Omega")(r) for r in rows]
    if len(mat) == 1:
        return mat[0][0] if len(mat[0]) == 1 else mat[0]
    return mat


def _merge_negative_lists(argv: list[str]) -> list[str]:
    """Let list options take values that start with a minus sign (``--g-c -0.5,0.5``)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _LIST_OPTIONS and i + 1 < len(argv) and _NUMBER.match(argv[i + 1]):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def _add_model_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model (defaults: the paper's figure parameters)")
    g.add_argument("--N", type=_int_arg("--N"), default=2, help="TLS per ensemble")
    g.add_argument(
        "--omega-h",
        type=_float_arg("--omega-h"),
        default=1.5,
        help="hot TLS frequency (units of omega_c)",
    )
    g.add_argument(
        "--omega-c", type=_float_arg("--omega-c"), default=1.0, help="cold TLS frequency (the unit)"
    )
    g.add_argument("--T-h", type=_float_arg("--T-h"), default=2.0, help="hot-bath temperature")
    g.add_argument("--T-c", type=_float_arg("--T-c"), default=1.0, help="cold-bath temperature")
    g.add_argument(
        "--g-h",
        type=_floats("--g-h"),
        default=None,
        help="comma list of N couplings (None: 0.5, 0.55, 0.6, ...)",
    )
    g.add_argument(
        "--g-c",
        type=_floats("--g-c"),
        default=None,
        help="comma list of N couplings (None: 0.5, 0.55, 0.6, ...)",
    )
    g.add_argument(
        "--Omega",
        type=_omega,
        default=0.1,
        help="scalar, comma vector (pairwise) or rows 'a,b;c,d' (all-to-all)",
    )
    g.add_argument("--interaction", default="pairwise", help="pairwise (2) or all-to-all (1)")
    g.add_argument(
        "--dissipation", default="common", help="independent (ind), common (com) or cascaded (cas)"
    )


def _int_arg(name: str):
    def parse(text: str) -> int:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: {text!r} is not an integer") from None
        if not x.is_integer():
            raise argparse.ArgumentTypeError(f"{name}: {text!r} is not an integer")
        return int(x)

    return parse


def _float_arg(name: str):
    def parse(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: {text!r} is not a number") from None

    return parse


def _model(args: argparse.Namespace) -> PaperModel:
    return PaperModel(
        N=args.N,
        omega_h=args.omega_h,
        omega_c=args.omega_c,
        T_h=args.T_h,
        T_c=args.T_c,
        g_h=args.g_h,
        g_c=args.g_c,
        Omega=args.Omega,
        interaction=args.interaction,
        dissipation=args.dissipation,
    )


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False, default=_json_default))


def _json_default(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isinf(x):
            return "inf"
        return f"{x: .6e}"
    return str(x)


def _print_table(result, extra: dict[str, Any] | None = None) -> None:
    d = result.to_dict()
    m = result.model
    print(
        f"{m.label}  N={m.N}  omega_h={m.omega_h:g}  omega_c={m.omega_c:g}  "
        f"T_h={m.T_h:g}  T_c={m.T_c:g}  ({result.method})"
    )
    rows = [*result.values, "entropy_production", *result.info, *(extra or {})]
    w = max(len(k) for k in rows) + 2
    for k in result.values:
        if k.startswith(("sz_", "coh_")):
            continue
        se = f"  +- {result.se[k]:.2e}" if result.method != "exact" else ""
        print(f"  {k:<{w}}{_fmt(result.values[k])}{se}")
    sigma_se = d.get("entropy_production_se")
    se = f"  +- {sigma_se:.2e}" if sigma_se is not None else ""
    print(f"  {'entropy_production':<{w}}{_fmt(result.entropy_production)}{se}")
    print(f"  {'regime':<{w}}{d['regime']}")
    for k in ("efficiency", "COP"):
        if d[k] is not None:
            print(f"  {k:<{w}}{_fmt(d[k])}")
    for k, v in {**result.info, **(extra or {})}.items():
        print(f"  {k:<{w}}{_fmt(v)}")


# ------------------------------------------------------------------ commands
def cmd_exact(args: argparse.Namespace) -> int:
    from .liouville.steady import exact

    result = exact(_model(args))
    if args.json:
        _print_json(result.to_dict())
    else:
        _print_table(result)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .trajectories.ensemble import simulate

    model = _model(args)
    if args.trajectories is not None and args.trajectories < 1:
        raise ValueError(f"--trajectories: must be >= 1, got {args.trajectories}")
    kw: dict[str, Any] = {}
    for name in ("target_rel_se", "target_se", "max_wall"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    if args.target_quantity is not None:
        kw["target_quantity"] = args.target_quantity
    if args.overwrite:
        kw["overwrite"] = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = simulate(
                model,
                t_final=args.t_final,
                trajectories=args.trajectories,
                burn_in=args.burn_in,
                seed=args.seed,
                n_jobs=args.n_jobs,
                initial_state=args.initial_state,
                window=args.window,
                sample_interval=args.sample_interval,
                records=args.records,
                quantities=args.quantities,
                progress=not args.quiet,
                save=args.save,
                **kw,
            )
        except KeyboardInterrupt:
            if args.save is not None:
                print(
                    f"qjump simulate: interrupted; finished batches are kept in "
                    f"{args.save}/batches: run the same command again to resume",
                    file=sys.stderr,
                )
            raise
    notes = [str(w.message).splitlines()[0] for w in caught]
    if args.trajectories < 2 and not any("standard error" in n or "SE" in n for n in notes):
        notes.append(
            f"--trajectories {args.trajectories}: standard errors need at least 2 "
            "trajectories; none are available (shown as nan)"
        )
    for note in dict.fromkeys(notes):
        print(f"qjump simulate: warning: {flag_message(note)}", file=sys.stderr)
    stats = result.counting_statistics("h")  # hot-bath scaled cumulants with SEs
    extra = {k: v for k, v in stats.to_dict().items() if k.split("_")[0] in ("quanta", "heat")}
    if args.json:
        _print_json({**result.to_dict(), **extra})
    else:
        _print_table(result, extra)
    if args.save is not None and not args.json:
        print(f"saved: {args.save}")
    return 0


def cmd_fcs(args: argparse.Namespace) -> int:
    from .liouville.fcs import counting_statistics

    stats = counting_statistics(_model(args), bath=args.bath, scgf_grid=args.scgf)
    d = stats.to_dict()
    if args.json:
        _print_json(d)
    else:
        for k, v in d.items():
            if k == "scgf":
                print("  scgf:")
                for s, th in v:
                    print(f"    s={s: .4f}  theta={th: .10e}")
            else:
                print(f"  {k:<18}{_fmt(v)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .studies.runner import default_out, run_study

    out = default_out(args.config, args.quick) if args.out is None else args.out
    try:
        run_study(
            args.config,
            out=out,
            quick=args.quick,
            backend=args.backend,
            scheduler=args.scheduler,
            n_jobs=args.n_jobs,
            quiet=args.quiet,
        )
    except KeyboardInterrupt:
        again = " ".join(
            ["qjump run", args.config, "--out", str(out)] + (["--quick"] if args.quick else [])
        )
        print(
            f"qjump run: interrupted; finished tasks are kept in {out}/cache. Resume with: {again}",
            file=sys.stderr,
        )
        raise
    _print_written(out)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .studies.runner import report_study

    report_study(args.directory, quiet=False)
    _print_written(args.directory)
    return 0


def _print_written(directory: Any) -> None:
    from .studies.runner import written_files

    print(f"wrote {directory}/:")
    for path in written_files(directory):
        print(f"  {path}")


# ------------------------------------------------------------------ dynamics, waiting times, noise
# ``qjump dynamics``, ``qjump waiting-times`` and ``qjump noise``: exact values from the
# Liouvillian (:mod:`qjump.liouville`) next to trajectory estimates with standard errors.
# Their list flags may start with a minus sign, so that the value reaches the validation.
_LIST_OPTIONS = (*_LIST_OPTIONS, "--times", "--omega")


def _json_number(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _json_list(values) -> list[float | None]:
    return [_json_number(v) for v in values]


def _add_trajectory_flags(
    p: argparse.ArgumentParser, *, trajectories: int, initial: str, t_final_required: bool
) -> None:
    t = p.add_argument_group("trajectories")
    t.add_argument(
        "--trajectories",
        type=_int_arg("--trajectories"),
        default=trajectories,
        help="number of trajectories (0: exact values only)",
    )
    if t_final_required:
        t.add_argument(
            "--t-final",
            type=_float_arg("--t-final"),
            default=None,
            help="length of each trajectory (required with --trajectories > 0)",
        )
        t.add_argument(
            "--burn-in",
            type=_float_arg("--burn-in"),
            default=None,
            help="None: 5 relaxation times (0 with --initial-state steady)",
        )
    t.add_argument("--initial-state", choices=("thermal", "ground", "steady"), default=initial)
    t.add_argument("--seed", type=_int_arg("--seed"), default=0)
    t.add_argument("--n-jobs", type=_int_arg("--n-jobs"), default=1)
    t.add_argument("--json", action="store_true", help="print JSON")


def _check_trajectories(args: argparse.Namespace) -> int:
    if args.trajectories < 0:
        raise ValueError(f"--trajectories: must be >= 0, got {args.trajectories}")
    if args.trajectories > 0 and getattr(args, "t_final", 0) is None:
        raise ValueError("--t-final: required with --trajectories > 0")
    return args.trajectories


def _records_run(model: PaperModel, args: argparse.Namespace):
    from .trajectories.ensemble import simulate

    return simulate(
        model,
        t_final=args.t_final,
        trajectories=args.trajectories,
        burn_in=args.burn_in,
        seed=args.seed,
        n_jobs=args.n_jobs,
        initial_state=args.initial_state,
        records=True,
        progress=False,
    )


def cmd_dynamics(args: argparse.Namespace) -> int:
    from .frames import check_times
    from .liouville.dynamics import exact_dynamics

    model = _model(args)
    times = check_times(args.times, "--times")
    M = _check_trajectories(args)
    exact = exact_dynamics(model, times, initial_state=args.initial_state)
    traj = None
    if M > 0:
        from .trajectories.dynamics import dynamics

        traj = dynamics(
            model,
            times,
            initial_state=args.initial_state,
            trajectories=M,
            seed=args.seed,
            n_jobs=args.n_jobs,
        )
    names = list(dict.fromkeys(exact["quantity"]))
    out: dict[str, Any] = {"times": _json_list(times)}
    for q in names:
        e = exact[exact["quantity"] == q]
        if traj is not None:
            r = traj[traj["quantity"] == q]
            out[q] = _json_list(r["value"])
            out[f"{q}_se"] = _json_list(r["se"])
        out[f"{q}_exact"] = _json_list(e["value"])
    if args.json:
        _print_json(out)
        return 0
    print(
        f"{model.label}  initial state {args.initial_state}"
        + (f"  ({M} trajectories)" if traj is not None else "  (exact)")
    )
    shown = [q for q in names if not q.startswith(("sz_", "coh_"))]
    for j, t in enumerate(times):
        print(f"t = {t:g}")
        for q in shown:
            line = f"  {q:<18}{_fmt(out[f'{q}_exact'][j])}"
            if traj is not None:
                line += f"  traj {_fmt(out[q][j])} +- {_fmt(out[f'{q}_se'][j])}"
            print(line)
    return 0


def cmd_waiting_times(args: argparse.Namespace) -> int:
    from .frames import check_events
    from .liouville import waiting as exact_waiting

    model = _model(args)
    events = check_events(args.events, "--events")
    bins = _check_bins(args.bins)
    M = _check_trajectories(args)
    exact = exact_waiting.waiting_times(model, events=events)
    dens = exact_waiting.waiting_time_densities(model, bins=bins, events=events)
    table = exact.copy()
    if M > 0:
        from .trajectories import waiting as traj_waiting

        run = _records_run(model, args)
        table = traj_waiting.waiting_times(run, events=events)
        traj_dens = traj_waiting.waiting_time_densities(run, bins, events=events)
        dens = traj_dens.assign(density_exact=dens["density"].to_numpy())
    else:
        for c in ("probability", "probability_se", "mean_delay", "mean_delay_se"):
            table[c] = math.nan
        dens = dens.assign(
            density_exact=dens["density"].to_numpy(), density=math.nan, density_se=math.nan
        )
    table["probability_exact"] = exact["probability"].to_numpy()
    table["mean_delay_exact"] = exact["mean_delay"].to_numpy()
    keys = [
        "from",
        "to",
        "probability",
        "probability_se",
        "probability_exact",
        "mean_delay",
        "mean_delay_se",
        "mean_delay_exact",
    ]
    if args.save:
        dens.to_parquet(args.save, index=False)
    records = [
        {k: (row[k] if k in ("from", "to") else _json_number(row[k])) for k in keys}
        for row in table[keys].to_dict("records")
    ]
    if args.json:
        _print_json(records)
        return 0
    print(f"{model.label}: next jump after a jump of type 'from' (steady state)")
    print(f"  {'from':<5}{'to':<5}{'P(to|from)':>24}{'exact':>14}{'mean delay':>28}{'exact':>14}")
    for r in records:
        p = f"{_fmt(r['probability'])} +- {_fmt(r['probability_se'])}"
        d = f"{_fmt(r['mean_delay'])} +- {_fmt(r['mean_delay_se'])}"
        print(
            f"  {r['from']:<5}{r['to']:<5}{p:>24}{_fmt(r['probability_exact']):>14}"
            f"{d:>28}{_fmt(r['mean_delay_exact']):>14}"
        )
    return 0


def _check_bins(text: str) -> list[float]:
    """``start:stop:count`` (``count`` equal bins) or a comma list of increasing edges."""
    try:
        if ":" in text:
            a, b, n = text.split(":")
            edges = [float(a) + (float(b) - float(a)) * i / int(n) for i in range(int(n) + 1)]
        else:
            edges = [float(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(
            f"--bins: cannot read {text!r}; use start:stop:count or a comma list "
            "of increasing edges"
        ) from None
    if len(edges) < 2 or edges[0] < 0 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"--bins: need >= 2 increasing edges >= 0, got {text!r}")
    return edges


def cmd_noise(args: argparse.Namespace) -> int:
    from .frames import check_omega
    from .liouville.noise import noise_spectrum

    model = _model(args)
    omega = check_omega(args.omega, "--omega")
    M = _check_trajectories(args)
    exact = noise_spectrum(model, omega, args.bath)
    out: dict[str, Any] = {
        "bath": args.bath,
        "omega": _json_list(omega),
        "quanta_noise": _json_list(exact["quanta_noise"]),
        "heat_noise": _json_list(exact["heat_noise"]),
    }
    if M > 0:
        from .trajectories.noise import noise_spectrum as traj_noise

        run = _records_run(model, args)
        measured = run.info["t_final"] - run.info["burn_in"]
        window = measured / 10.0 if args.window is None else args.window
        if not 0 < window <= measured:
            raise ValueError(
                f"--window: must be > 0 and <= the measured time {measured:g}, got {window:g}"
            )
        est = traj_noise(run, omega, args.bath, window=window)
        windowed = noise_spectrum(model, omega, args.bath, window=window)
        out["window"] = window
        out["quanta_noise_window"] = _json_list(windowed["quanta_noise"])
        out["quanta_noise_traj"] = _json_list(est["quanta_noise"])
        out["quanta_noise_traj_se"] = _json_list(est["quanta_noise_se"])
        out["heat_noise_traj"] = _json_list(est["heat_noise"])
        out["heat_noise_traj_se"] = _json_list(est["heat_noise_se"])
    if args.json:
        _print_json(out)
        return 0
    print(
        f"{model.label}: noise of the net quanta from bath {args.bath} "
        "(S(0) = quanta_diffusion; S(inf) = shot noise)"
    )
    for i, om in enumerate(omega):
        line = f"  omega={om:<10g}S={_fmt(out['quanta_noise'][i])}"
        if M > 0:
            line += (
                f"  S_T={_fmt(out['quanta_noise_window'][i])}  traj "
                f"{_fmt(out['quanta_noise_traj'][i])} +- "
                f"{_fmt(out['quanta_noise_traj_se'][i])}"
            )
        print(line)
    return 0


def add_dynamics_commands(sub) -> None:
    """Register ``dynamics``, ``waiting-times`` and ``noise`` on the subparsers ``sub``."""
    d = sub.add_parser("dynamics", help="relaxation of every linear quantity from a preparation")
    _add_model_flags(d)
    d.add_argument(
        "--times",
        type=_floats("--times"),
        required=True,
        metavar="t1,t2,...",
        help="increasing times >= 0 (units 1/omega_c)",
    )
    _add_trajectory_flags(d, trajectories=100, initial="thermal", t_final_required=False)
    d.set_defaults(func=cmd_dynamics)

    w = sub.add_parser("waiting-times", help="statistics of the delay between consecutive jumps")
    _add_model_flags(w)
    w.add_argument(
        "--events", default=None, metavar="h+,h-,c+,c-", help="event types to report (None: all)"
    )
    w.add_argument("--bins", default="0:20:40", help="delay bins start:stop:count or edges")
    w.add_argument(
        "--save",
        default=None,
        metavar="FILE.parquet",
        help="write the waiting-time densities (trajectory and exact) as Parquet",
    )
    _add_trajectory_flags(w, trajectories=16, initial="steady", t_final_required=True)
    w.set_defaults(func=cmd_waiting_times)

    n = sub.add_parser("noise", help="frequency-resolved noise of the quanta of one bath")
    _add_model_flags(n)
    n.add_argument("--bath", choices=("h", "c"), default="h")
    n.add_argument(
        "--omega",
        type=_floats("--omega"),
        required=True,
        metavar="w1,w2,...",
        help="angular frequencies >= 0 (units omega_c)",
    )
    n.add_argument(
        "--window",
        type=_float_arg("--window"),
        default=None,
        help="periodogram window (None: measured time / 10)",
    )
    _add_trajectory_flags(n, trajectories=0, initial="steady", t_final_required=True)
    n.set_defaults(func=cmd_noise)


# ------------------------------------------------------------------ end of dynamics block


def build_parser() -> argparse.ArgumentParser:
    """The ``qjump`` argument parser."""
    p = _Parser(prog="qjump", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"qjump {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    e = sub.add_parser("exact", help="exact steady-state currents and coherences")
    _add_model_flags(e)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=cmd_exact)

    s = sub.add_parser("simulate", help="quantum-jump trajectories")
    _add_model_flags(s)
    t = s.add_argument_group("trajectories")
    t.add_argument(
        "--trajectories",
        type=_int_arg("--trajectories"),
        default=16,
        help="independent trajectories (standard errors need >= 2)",
    )
    t.add_argument(
        "--t-final",
        type=_float_arg("--t-final"),
        default=None,
        help="length of each trajectory (units of 1/omega_c); required unless a precision "
        "target is given (then: burn-in + 4 max(burn-in, 500))",
    )
    t.add_argument(
        "--burn-in",
        type=_float_arg("--burn-in"),
        default=None,
        help="None: 5 relaxation times (0 with --initial-state steady)",
    )
    t.add_argument("--seed", type=_int_arg("--seed"), default=0, help="run seed")
    t.add_argument(
        "--n-jobs", type=_int_arg("--n-jobs"), default=1, help="worker processes (-1: all cores)"
    )
    t.add_argument(
        "--initial-state",
        choices=("thermal", "ground", "steady"),
        default="thermal",
        help="start of each trajectory",
    )
    t.add_argument(
        "--window",
        type=_float_arg("--window"),
        default=None,
        help="counting window length (default: measured time / 10)",
    )
    t.add_argument(
        "--sample-interval",
        type=_float_arg("--sample-interval"),
        default=2.0,
        help="spacing of the conditional-state samples (units of 1/omega_c)",
    )
    t.add_argument(
        "--quantities",
        choices=("all", "essential"),
        default="all",
        help="sampled quantities: all (as qjump exact), or essential (flows, C_loc, energy, "
        "populations; no local/non-local split), whose operators fit in memory up to N = 10",
    )
    t.add_argument("--records", action="store_true", help="keep (and save) raw jump records")
    t.add_argument(
        "--save",
        default=None,
        metavar="DIR",
        help="write Parquet summaries and metadata to DIR (resumable)",
    )
    t.add_argument(
        "--overwrite",
        action="store_true",
        help="let --save replace a directory holding a different run",
    )
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    g = s.add_argument_group(
        "precision target (after a pilot of --trajectories, add rounds of trajectories until "
        "the SE target is met; a relative target is judged against the mean of all "
        "trajectories so far)"
    )
    g.add_argument(
        "--target-rel-se",
        type=_float_arg("--target-rel-se"),
        default=None,
        help="stop when |SE/value| of the target quantity is at most this",
    )
    g.add_argument(
        "--target-se",
        type=_float_arg("--target-se"),
        default=None,
        help="stop when the SE of the target quantity is at most this",
    )
    g.add_argument("--target-quantity", default=None, help="quantity of the target (None: Q_h)")
    g.add_argument(
        "--max-wall",
        type=_float_arg("--max-wall"),
        default=None,
        help="wall-time cap in seconds (the pilot included)",
    )
    s.set_defaults(func=cmd_simulate)

    f = sub.add_parser("fcs", help="exact full counting statistics")
    _add_model_flags(f)
    f.add_argument("--bath", choices=("h", "c"), default="h", help="counted bath")
    f.add_argument(
        "--scgf",
        type=_floats("--scgf"),
        default=None,
        metavar="s1,s2,...",
        help="counting fields at which to tabulate the SCGF",
    )
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.set_defaults(func=cmd_fcs)

    r = sub.add_parser("run", help="run a study from a TOML file (resumable)")
    r.add_argument("config", help="study TOML file (format: qjump.studies.config)")
    r.add_argument(
        "--out", default=None, help="output directory (None: next to the TOML, named after it)"
    )
    r.add_argument(
        "--quick", action="store_true", help="apply the file's [quick] overrides (CI profile)"
    )
    r.add_argument(
        "--backend", choices=("loky", "dask", "serial"), default="loky", help="task backend"
    )
    r.add_argument("--scheduler", default=None, help="dask scheduler address tcp://HOST:PORT")
    r.add_argument(
        "--n-jobs", type=_int_arg("--n-jobs"), default=-1, help="worker processes (-1: all cores)"
    )
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    rp = sub.add_parser("report", help="re-draw figures and report from stored results")
    rp.add_argument("directory", help="output directory of a finished study")
    rp.set_defaults(func=cmd_report)

    add_dynamics_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qjump`` console script.

    Returns 0 on success, 2 for bad input (one line on stderr), 1 when ``--max-wall`` ended
    before any trajectory finished (one line), 130 when interrupted and 141 when stdout was
    closed early (``qjump exact --json | head``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    command = ""
    try:
        args = parser.parse_args(_merge_negative_lists(argv))
        command = args.command
        return args.func(args)
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        msg = " ".join(str(exc).split())
        if command in ("exact", "simulate", "fcs"):
            msg = flag_message(msg)
        print(f"qjump {command}: error: {msg}".replace("  ", " "), file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): silence the final flush of stdout
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        print(f"qjump {command}: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qjump: interrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        from .trajectories.trajectory import WallTimeExceeded

        if not isinstance(exc, WallTimeExceeded):
            raise
        print(f"qjump {command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
