"""Where the N = 2 jump's time goes, and what vectorising across trajectories would buy:
measured side by side in one run (issue 12, target 4).

The engine runs one trajectory at a time; its small-sector kernels vectorise over the
coefficients of one state.  The alternative measured here runs eight trajectories as the
eight lanes of the vector registers, so that every instruction serves eight states.  Only
the root find of the jump time (``eigen.jump_delay``, about half of a jump) is built in
that form; the rest of a jump is made of the same kind of small kernels (forms and
matrix-vector products in the sector), so its gain is an estimate of theirs.

Sections:

1. **The loop's observations.**  Nanoseconds per jump of one long N = 2 trajectory (common
   dissipation, pairwise interaction, omega_h = 1.5, ground state), with the default grid
   samples every 2 time units and without them (``sample_interval`` beyond ``t_final``).
2. **Root finds, three designs, on the same inputs.**  The inputs are the states and norm
   targets at which a replica of the engine's jump sequence (``jump_delay``, the dense
   channel weights and jumps of ``eigen``) starts its root finds, so the mix of sectors and
   the number of evaluations per root are those of trajectories.

   - ``scalar``: ``eigen.jump_delay``, one root at a time (the engine).
   - ``lanes``: eight roots at a time, each lane in its own sector.  When a lane starts a
     new root, its sector's eigenvalues and packed ``G``, ``S``, ``T`` are copied into
     lane-minor storage (a jump changes the sector every time).
   - ``lanes, one sector``: the best case of grouping trajectories by sector: all eight
     lanes in one sector, the matrices shared, only the coefficients copied.  Run per
     sector, against ``scalar`` on the same sector's inputs.

   The lane designs take one Halley evaluation of every lane per round (``n``, ``n'``,
   ``n''`` from the propagated coefficients, the safeguarded step of ``jump_delay`` written
   without branches); a lane whose root has converged loads the next input.  They return
   the root only: they skip ``jump_delay``'s last fourth-order update of the coefficients
   (about ``d`` complex multiply-adds).  The roots must agree with ``scalar`` to 1e-9.
3. **Kernel prices per lane** (eight lanes per call): propagation, the three forms (own
   and shared matrices) and the Halley step.

Run::

    python benchmarks/bench_jump_designs.py --markdown benchmarks/RESULTS-jump-designs.md
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

import qjump
from qjump.trajectories.propagators import eigen as E
from qjump.trajectories.sectors import channel_data
from qjump.trajectories.trajectory import TrajectorySpec, run_trajectory, trajectory_seed

MODEL = qjump.PaperModel(N=2, omega_h=1.5, dissipation="common", interaction="pairwise")
L = 8  # trajectories per vector (AVX-512: eight doubles)
PROP = E.dense_propagator(MODEL)
EIG = PROP.eig
SEC = channel_data(MODEL)
DIMS = np.diff(EIG.loff)
K = DIMS.size
D = int(DIMS.max())
NP = D * (D + 1) // 2  # packed upper triangle


def packed_forms() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sector: eigenvalues (real and imaginary parts, padded to ``D``) and the upper
    triangles ``a <= b`` of ``G``, ``S``, ``T`` as ``(K, NP, 6)`` arrays of real and
    imaginary parts, off-diagonal entries doubled, so that for a Hermitian ``M``
    ``c^dag M c = sum_{a <= b} Re(M'_ab conj(c_a) c_b)``."""
    lam_re, lam_im = np.zeros((K, D)), np.zeros((K, D))
    F = np.zeros((K, NP, 6))
    for k in range(K):
        d, r0 = DIMS[k], EIG.loff[k]
        lam_re[k, :d] = EIG.lam[r0 : r0 + d].real
        lam_im[k, :d] = EIG.lam[r0 : r0 + d].imag
        p = 0
        for a in range(D):
            for b in range(a, D):
                for x, M in enumerate((EIG.G, EIG.S, EIG.T)):
                    v = (1.0 if a == b else 2.0) * M[r0 + a, b] if b < d else 0.0
                    F[k, p, 2 * x], F[k, p, 2 * x + 1] = v.real, v.imag
                p += 1
    return lam_re, lam_im, F


LAM_RE, LAM_IM, FORMS = packed_forms()


# ------------------------------------------------------------------------ inputs
@nb.njit
def replica(phi, k, n, lam, loff, G, S, T, P, A, dims, ch_kind, valid, rng):
    """Inputs ``(sector, coefficients, target)`` of ``n`` successive root finds of one
    trajectory, jumping as the ``eigen`` propagator does."""
    n_ch = P.shape[0]
    ks = np.zeros(n, np.int64)
    cs = np.zeros((n, phi.size), np.complex128)
    rs = np.zeros(n)
    work = np.zeros(phi.size, np.complex128)
    w = np.zeros(n_ch)
    for i in range(n):
        d, r0 = dims[k], loff[k]
        r = rng.random()
        ks[i], rs[i] = k, r
        cs[i] = phi
        E.jump_delay(phi, lam[r0 : r0 + E.lanes(d)], G, S, T, r0, d, r, np.inf, work)
        total = 0.0
        for j in range(n_ch):
            w[j] = E.quadratic_form(P[j, k], 0, d, work) if valid[j * dims.size + k] else 0.0
            total += w[j]
        u = rng.random() * total
        jc, cum = -1, 0.0
        for j in range(n_ch):  # as loop._pick_channel
            if w[j] > 0.0:
                jc = j
                cum += w[j]
                if u < cum:
                    break
        k2 = k + (1 if ch_kind[jc] == 1 else -1)
        phi[:] = 0.0
        E.matvec(A[jc, k], 0, work, dims[k2], d, phi)
        phi[: dims[k2]] /= np.sqrt(w[jc])
        k = k2
    return ks, cs, rs


def inputs(n: int, seed: int = 1):
    phi = np.zeros(E.lanes(D), complex)
    phi[0] = 1.0  # ground state (sector 0, dimension 1)
    args = (EIG.lam, EIG.loff, EIG.G, EIG.S, EIG.T, PROP.P, PROP.A, DIMS, SEC.ch_kind)
    skip = 2000  # forget the ground-state start
    ks, cs, rs = replica(phi, 0, n + skip, *args, SEC.jumps.valid, np.random.default_rng(seed))
    return ks[skip:], cs[skip:], rs[skip:]


# ------------------------------------------------------------------------ lane kernels
@intrinsic
def _bits(typingctx, x):
    """The int64 holding the IEEE-754 bits of the float64 ``x``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


_LOG_SERIES = tuple(2.0 / (2 * i + 1) for i in range(11))
_LN2 = 0.6931471805599453


@nb.njit(inline="always")
def log_lanes(x):
    """``ln x`` for normal ``x > 0`` without libm (so that lane loops vectorise):
    ``x = 2^e m``, ``m`` in ``[1/sqrt 2, sqrt 2)``, ``ln m = 2 atanh((m - 1)/(m + 1))`` to
    degree 21 (error < 5e-16 relative, checked by :func:`check_log`)."""
    b = _bits(x)
    e = (b >> 52) - 1023
    m = E.float_from_bits((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > 1.4142135623730951
    m = 0.5 * m if big else m
    e = e + 1 if big else e
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    c = _LOG_SERIES
    p = c[6] + z * (c[7] + z * (c[8] + z * (c[9] + z * c[10])))
    p = c[0] + z * (c[1] + z * (c[2] + z * (c[3] + z * (c[4] + z * (c[5] + z * p)))))
    return e * _LN2 + s * p


@nb.njit(fastmath={"contract"})
def propagate_lanes(lam_re, lam_im, tau, cr0, ci0, cr, ci):
    """``c_a(tau) = c_a exp(-i lambda_a tau)`` of every lane (lane-minor arrays)."""
    for a in range(D):
        for lane in range(tau.size):  # a runtime trip count: LLVM vectorises, not unrolls
            mag, cos_y, sin_y = E.exp_cos_sin(
                lam_im[a, lane] * tau[lane], lam_re[a, lane] * tau[lane]
            )
            xr, xi = cr0[a, lane], ci0[a, lane]
            cr[a, lane] = mag * (xr * cos_y + xi * sin_y)
            ci[a, lane] = mag * (xi * cos_y - xr * sin_y)


def _forms_source(shared: bool) -> str:
    """Source of the three forms for every lane, unrolled over the packed entries: the
    per-lane sums stay in registers only in straight-line code.  ``shared``: one sector's
    matrices ``F[p, x]`` for all lanes; otherwise lane-minor copies ``F[p, x, lane]``."""
    name = "forms_shared" if shared else "forms_own"
    lines = [f"def {name}(F, cr, ci, out):", "    for lane in range(cr.shape[1]):"]
    lines += [f"        c{a}r = cr[{a}, lane]; c{a}i = ci[{a}, lane]" for a in range(D)]
    lines.append("        n0 = 0.0; n1 = 0.0; n2 = 0.0")
    p = 0
    for a in range(D):
        for b in range(a, D):
            f = [f"F[{p}, {x}]" if shared else f"F[{p}, {x}, lane]" for x in range(6)]
            lines.append(f"        tr = c{a}r * c{b}r + c{a}i * c{b}i")
            lines.append(f"        ti = c{a}r * c{b}i - c{a}i * c{b}r")
            lines.append(f"        n0 += {f[0]} * tr - {f[1]} * ti")
            lines.append(f"        n1 += {f[2]} * tr - {f[3]} * ti")
            lines.append(f"        n2 += {f[4]} * tr - {f[5]} * ti")
            p += 1
    lines.append("        out[0, lane] = n0; out[1, lane] = n1; out[2, lane] = n2")
    return "\n".join(lines)


def _compiled(source: str, name: str):
    namespace: dict = {}
    exec(source, namespace)
    return nb.njit(fastmath={"contract"})(namespace[name])


forms_own = _compiled(_forms_source(False), "forms_own")
forms_shared = _compiled(_forms_source(True), "forms_shared")


@nb.njit(fastmath={"contract"}, error_model="numpy")
def halley_lanes(out, tau, lo, hi, target, done):
    """One safeguarded Halley step of ``jump_delay`` for every lane, written so that the lane
    loop vectorises (LLVM turns its conditions into selects)."""
    for lane in range(tau.size):
        n, dn, ddn = out[0, lane], out[1, lane], out[2, lane]
        t = tau[lane]
        positive = n > 0.0
        f = log_lanes(n if positive else 1.0) - target[lane]
        f1 = dn / n
        f2 = ddn / n - f1 * f1
        den = 2.0 * f1 * f1 - f * f2
        lo_l = t if (positive and f > 0.0) else lo[lane]
        hi_l = t if (not positive or f <= 0.0) else hi[lane]
        step = (t - 2.0 * f * f1 / den if den > 0.0 else t - f / f1) if f1 < 0.0 else np.inf
        inside = step > lo_l and step < hi_l
        fallback = 2.0 * t + 1.0 if hi_l == np.inf else 0.5 * (lo_l + hi_l)
        exact = abs(f) < 1e-12
        converged = positive and (exact or (inside and abs(step - t) <= 1e-4 * (1.0 + t)))
        done[lane] = converged
        if converged:
            tau[lane] = t if exact else step
        else:
            tau[lane] = step if (positive and inside) else fallback
        lo[lane], hi[lane] = lo_l, hi_l


@nb.njit(inline="always")
def _start(lane, i, ks, cr_in, ci_in, rs, F, lam_re, lam_im, own, lanes):
    """Load input ``i`` into ``lane``: coefficients, sector data (``own``), target, first
    guess ``-ln r / (-n'(0))`` as in ``jump_delay``."""
    cr0, ci0, Fl, lr, li, target, tau, lo, hi = lanes
    k = ks[i]
    for a in range(D):
        cr0[a, lane], ci0[a, lane] = cr_in[i, a], ci_in[i, a]
    if own:
        for p in range(NP):
            for x in range(6):
                Fl[p, x, lane] = F[k, p, x]
        for a in range(D):
            lr[a, lane], li[a, lane] = lam_re[k, a], lam_im[k, a]
    slope = 0.0
    p = 0
    for a in range(D):
        for b in range(a, D):
            tr = cr0[a, lane] * cr0[b, lane] + ci0[a, lane] * ci0[b, lane]
            ti = cr0[a, lane] * ci0[b, lane] - ci0[a, lane] * cr0[b, lane]
            slope += F[k, p, 2] * tr - F[k, p, 3] * ti
            p += 1
    target[lane] = log_lanes(rs[i])
    tau[lane] = target[lane] / slope if slope < 0.0 else 1.0
    lo[lane], hi[lane] = 0.0, np.inf


def make_solver(shared: bool):
    forms = forms_shared if shared else forms_own

    @nb.njit
    def solve(ks, cr_in, ci_in, rs, F, lam_re, lam_im, roots):
        """All roots, eight lanes at a time; returns the lane evaluations."""
        n = ks.size
        cr0, ci0 = np.zeros((D, L)), np.zeros((D, L))
        cr, ci, out = np.zeros((D, L)), np.zeros((D, L)), np.zeros((3, L))
        Fl = np.zeros((NP, 6, L))
        k0 = ks[0]
        lr = np.zeros((D, L))
        li = np.zeros((D, L))
        for lane in range(L):
            lr[:, lane], li[:, lane] = lam_re[k0], lam_im[k0]
        target, tau, lo, hi = np.zeros(L), np.zeros(L), np.zeros(L), np.zeros(L)
        done = np.zeros(L, np.bool_)
        owner = np.full(L, -1)
        lanes = (cr0, ci0, Fl, lr, li, target, tau, lo, hi)
        nxt = 0
        for lane in range(L):
            if nxt < n:
                _start(lane, nxt, ks, cr_in, ci_in, rs, F, lam_re, lam_im, not shared, lanes)
                owner[lane] = nxt
                nxt += 1
        evaluations = 0
        active = min(L, n)
        while active > 0:
            propagate_lanes(lr, li, tau, cr0, ci0, cr, ci)
            if shared:
                forms(F[k0], cr, ci, out)
            else:
                forms(Fl, cr, ci, out)
            halley_lanes(out, tau, lo, hi, target, done)
            evaluations += active
            for lane in range(L):
                if owner[lane] >= 0 and done[lane]:
                    roots[owner[lane]] = tau[lane]
                    owner[lane] = -1
                    active -= 1
                    if nxt < n:
                        _start(
                            lane, nxt, ks, cr_in, ci_in, rs, F, lam_re, lam_im, not shared, lanes
                        )
                        owner[lane] = nxt
                        nxt += 1
                        active += 1
        return evaluations

    return solve


solve_lanes = make_solver(False)
solve_lanes_shared = make_solver(True)


@nb.njit
def solve_scalar(ks, cs, rs, lam, loff, G, S, T, roots):
    work = np.zeros(cs.shape[1], np.complex128)
    for i in range(ks.size):
        k = ks[i]
        r0, d = loff[k], loff[k + 1] - loff[k]
        roots[i] = E.jump_delay(
            cs[i], lam[r0 : r0 + E.lanes(d)], G, S, T, r0, d, rs[i], np.inf, work
        )


# ------------------------------------------------------------------------ measurements
def seconds(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def alternated(cases: dict, rounds: int = 3) -> dict:
    """Best wall time of each callable in ``cases``, the cases alternating for ``rounds``."""
    best = dict.fromkeys(cases, np.inf)
    for _ in range(rounds):
        for name, f in cases.items():
            best[name] = min(best[name], seconds(f))
    return best


def loop_section(T: float) -> dict:
    run_trajectory(MODEL, TrajectorySpec(10.0, 0.0, 10.0, 2.0, "ground"), trajectory_seed(0, 0))
    res = {"grid samples every 2": np.inf, "no samples": np.inf}
    for rnd in range(3):  # alternate, best of three
        for label, dt in (("grid samples every 2", 2.0), ("no samples", 10 * T)):
            spec = TrajectorySpec(
                t_final=T, burn_in=0.0, window=T, sample_interval=dt, initial_state="ground"
            )
            c0 = time.process_time()
            out = run_trajectory(MODEL, spec, trajectory_seed(1, rnd))
            jumps = int(out.counts.sum())
            res[label] = min(res[label], (time.process_time() - c0) / jumps * 1e9)
            if dt == 2.0:
                res["samples per jump"] = out.n_samples / jumps
    return res


def check_roots(roots: np.ndarray, ref: np.ndarray) -> float:
    """Largest relative difference from ``jump_delay``'s roots; above 1e-9 the lane design is
    wrong and its timing meaningless, so the run stops."""
    diff = float(np.max(np.abs(roots - ref) / ref))
    if not diff <= 1e-9:
        raise RuntimeError(f"lane roots differ from jump_delay's by {diff:.1e} relative")
    return diff


def roots_section(n: int) -> dict:
    ks, cs, rs = inputs(n)
    cr = np.ascontiguousarray(cs.real[:, :D])
    ci = np.ascontiguousarray(cs.imag[:, :D])
    eig = (EIG.lam, EIG.loff, EIG.G, EIG.S, EIG.T)
    res = {"inputs": n, "sector share": np.bincount(ks, minlength=K).tolist()}
    ref = np.zeros(n)
    solve_scalar(ks[:64], cs[:64], rs[:64], *eig, ref[:64])
    lane_roots = np.zeros(n)
    solve_lanes(ks[:64], cr[:64], ci[:64], rs[:64], FORMS, LAM_RE, LAM_IM, lane_roots[:64])
    t = alternated(
        {
            "scalar": lambda: solve_scalar(ks, cs, rs, *eig, ref),
            "lanes": lambda: solve_lanes(ks, cr, ci, rs, FORMS, LAM_RE, LAM_IM, lane_roots),
        }
    )
    res["ns per root, scalar"] = t["scalar"] / n * 1e9
    res["ns per root, lanes"] = t["lanes"] / n * 1e9
    evaluations = solve_lanes(ks, cr, ci, rs, FORMS, LAM_RE, LAM_IM, lane_roots)
    res["evaluations per root, lanes"] = evaluations / n
    res["max relative root difference, lanes"] = check_roots(lane_roots, ref)
    per_sector = []
    for k in range(K):
        sel = np.flatnonzero(ks == k)
        if sel.size < 1024 or DIMS[k] < 2:
            continue
        kk, cc, rr = ks[sel].copy(), cs[sel].copy(), rs[sel].copy()
        ckr, cki = cr[sel].copy(), ci[sel].copy()
        out_s, out_l, out_g = np.zeros(sel.size), np.zeros(sel.size), np.zeros(sel.size)
        solve_lanes_shared(kk[:64], ckr[:64], cki[:64], rr[:64], FORMS, LAM_RE, LAM_IM, out_g[:64])
        lane_args = (kk, ckr, cki, rr, FORMS, LAM_RE, LAM_IM)
        t = alternated(
            {
                "scalar": partial(solve_scalar, kk, cc, rr, *eig, out_s),
                "lanes": partial(solve_lanes, *lane_args, out_l),
                "shared": partial(solve_lanes_shared, *lane_args, out_g),
            }
        )
        per_sector.append(
            {
                "sector": k,
                "d": int(DIMS[k]),
                "inputs": int(sel.size),
                "ns per root, scalar": t["scalar"] / sel.size * 1e9,
                "ns per root, lanes": t["lanes"] / sel.size * 1e9,
                "ns per root, lanes, one sector": t["shared"] / sel.size * 1e9,
                "max relative root difference": max(
                    check_roots(out_l, out_s), check_roots(out_g, out_s)
                ),
            }
        )
    res["per sector"] = per_sector
    return res


@nb.njit
def _repeat(kernel, reps, args):
    for _ in range(reps):
        kernel(*args)


def kernel_section(reps: int = 1_000_000) -> dict:
    rng = np.random.default_rng(0)
    k = 2  # the sector of dimension 6
    cr0, ci0 = rng.normal(size=(D, L)), rng.normal(size=(D, L))
    lr = np.repeat(LAM_RE[k][:, None], L, 1)
    li = np.repeat(LAM_IM[k][:, None], L, 1)
    tau = rng.uniform(0.1, 2.0, L)
    cr, ci, out = np.zeros((D, L)), np.zeros((D, L)), np.zeros((3, L))
    Fl = np.ascontiguousarray(np.repeat(FORMS[k][:, :, None], L, 2))
    Fk = np.ascontiguousarray(FORMS[k])
    propagate_lanes(lr, li, tau, cr0, ci0, cr, ci)
    forms_own(Fl, cr, ci, out)
    target = np.log(rng.uniform(0.1, 0.9, L))
    lo, hi, done = np.zeros(L), np.full(L, np.inf), np.zeros(L, np.bool_)
    cases = {
        "propagate (d = 6)": (propagate_lanes, (lr, li, tau, cr0, ci0, cr, ci)),
        "three forms, own matrices": (forms_own, (Fl, cr, ci, out)),
        "three forms, shared matrices": (forms_shared, (Fk, cr, ci, out)),
        "Halley step": (halley_lanes, (out, tau.copy(), lo, hi, target, done)),
    }
    res = {}
    for name, (kernel, args) in cases.items():
        _repeat(kernel, 10, args)
        best = alternated({name: partial(_repeat, kernel, reps, args)})[name]
        res[name] = best / reps / L * 1e9
    return res


def check_log() -> float:
    x = np.random.default_rng(3).uniform(1e-300, 1.0, 100_000)

    @nb.njit
    def logs(x, y):
        for i in range(x.size):
            y[i] = log_lanes(x[i])

    y = np.zeros_like(x)
    logs(x, y)
    return float(np.max(np.abs(y - np.log(x)) / np.abs(np.log(x))))


def markdown(r: dict) -> str:
    lp, rt, kn = r["loop"], r["roots"], r["kernels"]
    share = np.array(rt["sector share"]) / rt["inputs"]
    out = [
        "# Where the N = 2 jump's time goes, and vectorising across trajectories",
        "",
        "Generated by `python benchmarks/bench_jump_designs.py --markdown "
        "benchmarks/RESULTS-jump-designs.md` (one run; see its docstring for the method).",
        f"Machine: {r['machine']}. Model: N = 2, common dissipation, pairwise interaction, "
        "omega_h = 1.5.",
        "",
        "## 1. The loop's observations",
        "",
        f"One trajectory of {r['T']:.0e} time units from the ground state, CPU time per jump "
        "(best of three, alternated).",
        "",
        "| loop | ns per jump |",
        "|---|---|",
        f"| grid samples every 2 time units (the default; "
        f"{lp['samples per jump']:.2f} samples per jump) | {lp['grid samples every 2']:.0f} |",
        f"| no samples | {lp['no samples']:.0f} |",
        "",
        "## 2. Root finds of the jump time, three designs on the same inputs",
        "",
        f"{rt['inputs']} successive root finds of a replica trajectory; sector shares "
        + ", ".join(f"{s:.1%} (d = {d})" for s, d in zip(share, DIMS, strict=True))
        + f". Halley evaluations per root (lanes, the same iteration as `jump_delay`): "
        f"{rt['evaluations per root, lanes']:.2f}.",
        "",
        "| design | ns per root | scalar / design |",
        "|---|---|---|",
        f"| scalar (`eigen.jump_delay`, the engine) | {rt['ns per root, scalar']:.0f} | 1 |",
        f"| lanes, each in its own sector | {rt['ns per root, lanes']:.0f} | "
        f"{rt['ns per root, scalar'] / rt['ns per root, lanes']:.2f} |",
        "",
        f"Largest relative difference of the roots: "
        f"{rt['max relative root difference, lanes']:.1e}.",
        "",
        "Per sector, with the best case of grouping trajectories by sector (all lanes in the "
        "sector, its matrices shared):",
        "",
        "| sector (d) | inputs | scalar | lanes | lanes, one sector | scalar / one sector |",
        "|---|---|---|---|---|---|",
    ]
    for s in rt["per sector"]:
        out.append(
            f"| {s['sector']} ({s['d']}) | {s['inputs']} | {s['ns per root, scalar']:.0f} | "
            f"{s['ns per root, lanes']:.0f} | {s['ns per root, lanes, one sector']:.0f} | "
            f"{s['ns per root, scalar'] / s['ns per root, lanes, one sector']:.2f} |"
        )
    out += [
        "",
        "Roots agree with `jump_delay` to "
        f"{max(s['max relative root difference'] for s in rt['per sector']):.1e} relative.",
        "",
        "## 3. Kernel prices of the lane designs (ns per lane, eight lanes per call)",
        "",
        "| kernel | ns per lane |",
        "|---|---|",
        *[f"| {name} | {ns:.1f} |" for name, ns in kn.items()],
        "",
        f"`log_lanes` against `numpy.log`: largest relative error {r['log error']:.1e}.",
        "",
    ]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t-final", type=float, default=2e6, help="section 1 trajectory length")
    ap.add_argument("--roots", type=int, default=1 << 18, help="section 2 inputs")
    ap.add_argument("--markdown", help="write the results as markdown to this file")
    args = ap.parse_args()
    import platform

    r = {
        "machine": f"{platform.processor() or platform.machine()}, "
        f"numba {nb.__version__}, numpy {np.__version__}",
        "T": args.t_final,
        "log error": check_log(),
        "loop": loop_section(args.t_final),
        "roots": roots_section(args.roots),
        "kernels": kernel_section(),
    }
    print(json.dumps(r, indent=1))
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(markdown(r))


if __name__ == "__main__":
    main()
