"""Run the scaling study of ``runs/scaling.toml`` (see :mod:`qjump.studies.scaling`).

Usage::

    /work/venv/bin/python runs/scaling/run_scaling.py runs/scaling.toml [--skip-max-power]

Writes ``results.csv``, ``max_power.csv``, the figures and the tables of ``report.md`` into
``runs/scaling/`` (the findings section of the report is kept from the previous version).
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from qjump.model import PaperModel  # noqa: E402
from qjump.studies.scaling import exact_point, max_power, trajectory_point  # noqa: E402

OUT = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--skip-max-power", action="store_true")
    ap.add_argument("--replot", action="store_true",
                    help="only redo figures and report from results.csv (+ exact_n5.csv)")
    args = ap.parse_args(argv)
    if args.replot:
        df = pd.read_csv(OUT / "results.csv")
        extra = OUT / "exact_n5.csv"  # written by runs/scaling/exact_n5.py
        if extra.exists():
            df = pd.concat([df, pd.read_csv(extra)], ignore_index=True)
        figures(df)
        report(df)
        return 0
    cfg = tomllib.loads(Path(args.config).read_text())
    m = cfg["model"]
    base = {k: m[k] for k in ("omega_h", "omega_c", "T_h", "T_c", "interaction")}
    rows = []
    tr = cfg["trajectories"]
    for diss in m["dissipations"]:
        for N in cfg["exact"]["N"]:
            model = PaperModel(N=N, dissipation=diss, Omega=m["Omega"], **base)
            r = exact_point(model)
            rows.append({"N": N, "dissipation": diss, **r})
            print(N, diss, "exact", f"Q_h={r['Q_h']:.6e}", f"{r['wall_s']:.1f}s", flush=True)
        for N in tr["N"]:
            model = PaperModel(N=N, dissipation=diss, Omega=m["Omega"], **base)
            r = trajectory_point(model, t_final=float(tr["t_final"][str(N)]),
                                 burn_in=float(tr["burn_in"]), trajectories=tr["trajectories"],
                                 seed=tr["seed"], sample_interval=tr["sample_interval"])
            rows.append({"N": N, "dissipation": diss, **r})
            print(N, diss, "traj", f"Q_h={r['Q_h']:.4e}+-{r['Q_h_se']:.1e}",
                  f"Q_h_state={r['Q_h_state']:.4e}+-{r['Q_h_state_se']:.1e}",
                  f"cpu={r['cpu_s']:.0f}s", flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(OUT / "results.csv", index=False)
    if not args.skip_max_power:
        mp = []
        mpc = cfg["max_power"]
        for diss in m["dissipations"]:
            for N in mpc["N"]:
                t0 = time.perf_counter()
                model = PaperModel(N=N, dissipation=diss, Omega=m["Omega"], **base)
                r = max_power(model, bounds=tuple(mpc["bounds"]), xatol=mpc["xatol"])
                mp.append({"N": N, "dissipation": diss, **r,
                           "wall_s": time.perf_counter() - t0})
                print(N, diss, "max power", r, flush=True)
        pd.DataFrame(mp).to_csv(OUT / "max_power.csv", index=False)
    figures(df)
    report(df)
    return 0


def _plot(df, names, fname, ylabel):
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4))
    for ax, name in zip(axes, names, strict=True):
        for i, (diss, g) in enumerate(df.groupby("dissipation")):
            color = f"C{i}"
            ex = g[g["method"] == "exact"].sort_values("N")
            tr = g[g["method"] != "exact"].sort_values("N")
            ax.plot(ex["N"], ex[name], "o-", color=color, label=f"{diss} (exact)")
            ax.errorbar(tr["N"] + 0.08, tr[name], yerr=2 * tr[name + "_se"], fmt="s",
                        mfc="none", color=color, capsize=3, label=f"{diss} (traj., 2 SE)")
        ax.set_xlabel("N (TLS per ensemble)")
        ax.set_title(name)
        ax.axhline(0, color="0.7", lw=0.8)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / fname, dpi=120)
    plt.close(fig)


def figures(df):
    d = df.copy()  # trajectories: the counted-quanta Q_h (Q_h_state is far noisier)
    _plot(d, ["Q_h", "W", "W_nonloc"], "currents_vs_N.png", "current (omega_c^2)")
    _plot(d, ["C_loc", "C_nonloc"], "coherence_vs_N.png", "coherence quantity")
    mp_file = OUT / "max_power.csv"
    if mp_file.exists():
        mp = pd.read_csv(mp_file)
        fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4))
        for diss, g in mp.groupby("dissipation"):
            axes[0].plot(g["N"], g["P_max"], "o-", label=diss)
            axes[1].plot(g["N"], g["eta_at_max_power"], "o-", label=diss)
        axes[0].set_title("maximum power -W")
        axes[1].set_title("efficiency at maximum power")
        for ax in axes:
            ax.set_xlabel("N")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(OUT / "max_power.png", dpi=120)
        plt.close(fig)


def _markdown(df) -> str:
    """Markdown table without optional dependencies."""
    def fmt(x):
        return f"{x:.4g}" if isinstance(x, float) else str(x)

    head = "| " + " | ".join(df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def report(df):
    path = OUT / "report.md"
    findings = ""
    if path.exists():
        text = path.read_text()
        if "## Findings" in text:
            findings = text[text.index("## Findings"):]
    cols = ["N", "dissipation", "method", "Q_h", "Q_h_se", "Q_h_state", "Q_h_state_se", "W",
            "W_nonloc", "C_loc", "C_nonloc", "wall_s"]
    df = df.sort_values(["dissipation", "N", "method"])
    lines = ["# Scaling study: currents and coherence against N", "",
             "Command: `/work/venv/bin/python runs/scaling/run_scaling.py runs/scaling.toml`",
             "(configuration in `runs/scaling.toml`; pairwise interaction, omega_h = 1.5).", "",
             "Exact block solver for N <= 4 (and N = 5 from `runs/scaling/exact_n5.py`); "
             "trajectories (ground start, burn-in, 4 trajectories) for N = 5, 6.  "
             "For trajectories `Q_h` is the counted-quanta "
             "estimator and `Q_h_state` the conditional-state average of the same operator "
             "the exact solver uses; `_se` columns are one standard error.", "",
             _markdown(df[cols]), ""]
    mp_file = OUT / "max_power.csv"
    if mp_file.exists():
        mp = pd.read_csv(mp_file)
        lines += ["## Efficiency at maximum power (exact, omega_h in (1, 2))", "",
                  _markdown(mp[["N", "dissipation", "omega_h_star", "P_max",
                               "eta_at_max_power", "evaluations"]]), "",
                  "![max power](max_power.png)", ""]
    lines += ["![currents](currents_vs_N.png)", "", "![coherence](coherence_vs_N.png)", ""]
    path.write_text("\n".join(lines) + "\n" + findings)


if __name__ == "__main__":
    sys.exit(main())
