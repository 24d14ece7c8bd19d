"""Exact eigen-coefficient propagators: dense jump matrices (``eigen``) or sparse jumps
(``eigen-large``), both on the sector eigendecompositions of :func:`sectors.eigen_data`.

Algorithm
---------
Each sector's ``H_eff = V diag(lambda) V^-1`` is diagonalised once and the state is kept as
eigen-coefficients ``phi`` (``psi = V phi``): after a delay ``tau`` they are
``phi_a exp(-i lambda_a tau)`` and the squared norm is

    n(tau) = phi(tau)^dag G phi(tau),    G = V^dag V,
    n'(tau) = 2 Re sum_a i conj(lambda_a phi_a(tau)) (G phi(tau))_a = phi(tau)^dag S phi(tau).

The jump time is exact (no time step): :func:`jump_delay` solves ``n(tau) = r`` by
safeguarded Halley steps on ``ln n`` to ~1e-11 relative accuracy (``n''(tau) = phi(tau)^dag
T phi(tau)``, ``T_ab = i (conj(lambda_a) - lambda_b) S_ab``).  If the dark part of
the state (eigenvalues with ``Im lambda = 0``) keeps ``n(inf) > r``, no further jump occurs.

The two propagators differ only in how a jump is applied:

* ``eigen`` (:class:`EigenDense`) precomputes per channel and sector the dense matrices
  ``P = V^dag L^dag L V`` (channel weights) and ``A = V'^-1 L V`` (the jump), padded to the
  largest sector ``dmax``: ``2 n_ch K dmax^2`` complex numbers; as fast as sparse jumps up
  to ``N = 3``, slower beyond.  The squared norm of the state after a jump is the channel's
  weight, ``||V' A phi||^2 = ||L V phi||^2 = phi^dag P phi``, so it is not recomputed.
* ``eigen-large`` (:class:`EigenSparse`) applies the sparse jump blocks to ``psi = V phi``
  and maps back with ``V'^-1``.

Both keep the stacked eigendata, ``5 4^N dmax`` complex numbers (``V``, ``V^-1``, ``G``, ``S``,
``T``; 300 MB at ``N = 6``).
"""

from __future__ import annotations

import functools
import math
from collections import namedtuple

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload

from ...model import PaperModel
from ..sectors import LANES, EigenData, SectorData, channel_data, csr_apply, eigen_data
from .protocol import apply_jump, find_jump, jump_weights, move_reference, state_at

__all__ = [
    "EigenDense",
    "EigenSparse",
    "EigenWorkspace",
    "dense_propagator",
    "exp_cos_sin",
    "float_from_bits",
    "jump_delay",
    "matvec",
    "norm_derivatives",
    "propagate",
    "quadratic_form",
    "sparse_propagator",
]

#: ``eigen``: eigendata plus dense per-channel matrices ``P``, ``A`` (n_ch, K, dmax, dmax).
EigenDense = namedtuple("EigenDense", "eig P A")
#: ``eigen-large``: eigendata only (jumps from the sparse blocks of the sector data).
EigenSparse = namedtuple("EigenSparse", "eig")
#: Workspace: reference coefficients ``phi``, ``work`` (coefficients at the pending jump),
#: ``psi`` and ``new`` (scratch vectors).
EigenWorkspace = namedtuple("EigenWorkspace", "phi work psi new")


@functools.lru_cache(maxsize=8)
def dense_propagator(model: PaperModel) -> EigenDense:
    """Eigendata and dense jump matrices of ``model`` (cached)."""
    eig, sec = eigen_data(model), channel_data(model)
    dims = sec.dims
    K, dmax, n_ch = dims.size, int(dims.max()), sec.ch_bath.size
    P = np.zeros((n_ch, K, dmax, dmax), complex)
    A = np.zeros((n_ch, K, dmax, dmax), complex)
    V = [_block(eig, "V", dims, k) for k in range(K)]
    Vinv = [_block(eig, "Vinv", dims, k) for k in range(K)]
    for j, _, k, k2, block in _jump_blocks(model):
        d, d2 = dims[k], dims[k2]
        LV = block.toarray() @ V[k]
        P[j, k, :d, :d] = LV.conj().T @ LV
        A[j, k, :d2, :d] = Vinv[k2] @ LV
    return EigenDense(eig, P, A)


@functools.lru_cache(maxsize=8)
def sparse_propagator(model: PaperModel) -> EigenSparse:
    """Eigendata of ``model`` (cached); jumps use the sparse blocks of the sector data."""
    return EigenSparse(eigen_data(model))


def _jump_blocks(model):
    from ...system.context import model_system

    return model_system(model).ops.jump_blocks()


def _block(eig: EigenData, name: str, dims, k: int) -> np.ndarray:
    d = int(dims[k])
    return getattr(eig, name)[eig.loff[k] : eig.loff[k] + d, :d]


def workspace(prop, sec: SectorData) -> EigenWorkspace:
    size = lanes(int(sec.dims.max()))
    return EigenWorkspace(*(np.zeros(size, complex) for _ in range(4)))


def prepare(prop, ws: EigenWorkspace, sec: SectorData, k: int, vec: np.ndarray) -> None:
    """Reference state from the computational-basis vector ``vec`` of sector ``k``."""
    d = int(sec.dims[k])
    G = _block(prop.eig, "G", sec.dims, k)
    ws.phi[:d] = _block(prop.eig, "Vinv", sec.dims, k) @ vec
    ws.phi[:d] /= np.sqrt((ws.phi[:d].conj() @ G @ ws.phi[:d]).real)


# ---------------------------------------------------------------------------- numerics
#: Floating-point flags of the inner kernels: reassociation and fused multiply-add (so the
#: loops vectorise), but no assumption that values are finite.
FAST = {"contract", "reassoc", "arcp", "nsz"}


#: Taylor coefficients of the propagation kernel: ``exp(r)`` to degree 13 on ``|r| <= ln(2)/2``
#: and ``sin(s)``, ``cos(s)`` to degrees 17 and 18 on ``|s| <= pi/4`` (remainders < 1e-17).
_EXP = tuple(1.0 / math.factorial(i) for i in range(14))
_SIN = tuple((-1) ** i / math.factorial(2 * i + 1) for i in range(9))
_COS = tuple((-1) ** i / math.factorial(2 * i) for i in range(10))
#: Largest ``|Re(lambda) tau|`` reduced with the three-part ``pi/2`` below (the products
#: ``q * _PIO2_1`` are exact for ``|q| < 2^20``); beyond it :func:`propagate` calls libm.
_REDUCTION_LIMIT = 1e5
_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts, the first with 21 zero bits
_LN2_LO = 1.90821492927058770002e-10
_TWO_OVER_PI = 0.6366197723675814
_PIO2_1 = 1.57079632673412561417e00  # pi/2 in three parts of 33 significant bits
_PIO2_2 = 6.07710050650619224932e-11
_PIO2_3 = 2.02226624879595063154e-21


@intrinsic
def float_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bits are the int64 ``bits``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@nb.njit(cache=True, _nrt=False, inline="always")
def _exp_taylor(r):
    c = _EXP
    inner = c[9] + r * (c[10] + r * (c[11] + r * (c[12] + r * c[13])))
    inner = c[5] + r * (c[6] + r * (c[7] + r * (c[8] + r * inner)))
    return c[0] + r * (c[1] + r * (c[2] + r * (c[3] + r * (c[4] + r * inner))))


@nb.njit(cache=True, _nrt=False, inline="always")
def _sin_taylor(s, s2):
    c = _SIN
    inner = c[5] + s2 * (c[6] + s2 * (c[7] + s2 * c[8]))
    return s * (c[0] + s2 * (c[1] + s2 * (c[2] + s2 * (c[3] + s2 * (c[4] + s2 * inner)))))


@nb.njit(cache=True, _nrt=False, inline="always")
def _cos_taylor(s2):
    c = _COS
    inner = c[5] + s2 * (c[6] + s2 * (c[7] + s2 * (c[8] + s2 * c[9])))
    return c[0] + s2 * (c[1] + s2 * (c[2] + s2 * (c[3] + s2 * (c[4] + s2 * inner))))


@nb.njit(cache=True, _nrt=False, inline="always")
def exp_cos_sin(x, y):
    """``(exp(x), cos(y), sin(y))`` without libm, so that loops calling it vectorise:
    ``exp(x) = 2^k exp(r)`` with ``x = k ln 2 + r``; ``cos(y)``, ``sin(y)`` from
    ``y = q pi/2 + s`` (Cody-Waite reduction) and the quadrant ``q mod 4``; the Taylor
    polynomials above.  For ``x < 709`` and ``|y| <= 1e5`` (:data:`_REDUCTION_LIMIT`; the
    reduction's products are exact up to ``|y| = 1.6e6``); ``exp(x) = 0`` below ``x = -708``.
    Its error is tested through :func:`propagate`."""
    k = min(max(np.floor(x * _INV_LN2 + 0.5), -1022.0), 1023.0)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    mag = _exp_taylor(r) * float_from_bits((np.int64(k) + 1023) << 52)
    mag = mag if x > -708.0 else 0.0
    q = np.floor(y * _TWO_OVER_PI + 0.5)
    s = ((y - q * _PIO2_1) - q * _PIO2_2) - q * _PIO2_3
    s2 = s * s
    sin_s = _sin_taylor(s, s2)
    cos_s = _cos_taylor(s2)
    quadrant = np.int64(q)
    odd = (quadrant & 1) != 0
    sin_y = cos_s if odd else sin_s
    cos_y = sin_s if odd else cos_s
    sin_y = -sin_y if (quadrant & 2) != 0 else sin_y
    cos_y = -cos_y if ((quadrant + 1) & 2) != 0 else cos_y
    return mag, cos_y, sin_y


@nb.njit(cache=True, _nrt=False, fastmath={"contract"})
def propagate(phi, lam, d, tau, out):
    """``out_a = phi_a exp(-i lambda_a tau)`` for ``a < d``.

    Makes no call into libm, so that LLVM vectorises the loop; the vector body runs when
    ``d`` reaches the vector width, so the eigen propagators pass the sector dimension
    rounded up to :data:`~qjump.trajectories.sectors.LANES` (:func:`lanes`; zero
    coefficients past the sector); the factors come from :func:`exp_cos_sin`.  Error below
    4e-16 of ``|phi_a|`` against libm (tested); see :func:`lanes` for the measured cost.
    Uses libm when ``|Re(lambda) tau| > 1e5``.
    """
    limit = 0.0
    for a in range(d):
        limit = max(limit, abs(lam[a].real * tau))
    if limit > _REDUCTION_LIMIT:
        for a in range(d):
            x = lam[a]
            mag = np.exp(x.imag * tau)
            ph = x.real * tau
            out[a] = phi[a] * complex(mag * np.cos(ph), -mag * np.sin(ph))
        return
    for a in range(d):
        mag, cos_y, sin_y = exp_cos_sin(lam[a].imag * tau, lam[a].real * tau)
        out[a] = phi[a] * complex(mag * cos_y, -mag * sin_y)


@nb.njit(cache=True, _nrt=False)
def lanes(d):
    """Propagated length of a sector of dimension ``d``: ``d`` rounded up to a multiple of
    :data:`~qjump.trajectories.sectors.LANES`, or ``d`` itself below ``LANES / 2`` (a
    padded call costs 42 ns against 21 ns unpadded at ``d = 1``; 42 against 57 and 81 at
    ``d = 4`` and 6, measured interleaved)."""
    if 2 * d < LANES:
        return d
    return (d + LANES - 1) // LANES * LANES


# A matrix argument of the kernels is a C-contiguous two-dimensional array ``M`` and a first
# row ``r0``: the matrix is ``M[r0:r0 + rows, :cols]``.  Indexing the whole array keeps the
# layout known to the compiler (contiguous rows, so the inner loops vectorise); a slice
# would not, and a reshape of flat storage costs a helper call.


@nb.njit(cache=True, _nrt=False, fastmath=FAST)
def quadratic_form(M, r0, d, cur):
    """``c^dag M c`` for a Hermitian ``M = M[r0:r0 + d, :d]`` (upper triangle summed)."""
    n = 0.0
    for a in range(d):
        ca = cur[a]
        n += M[r0 + a, a].real * (ca.real * ca.real + ca.imag * ca.imag)
        cca = np.conj(ca)
        off = 0.0
        # a counter from 0: LLVM vectorises this loop, not ``for b in range(a + 1, d)``
        # (2-3x at d = 20-252, measured on random Hermitian forms)
        for j in range(d - a - 1):
            off += (M[r0 + a, a + 1 + j] * (cca * cur[a + 1 + j])).real
        n += 2.0 * off
    return n


@nb.njit(cache=True, _nrt=False, fastmath=FAST)
def matvec(M, r0, x, rows, cols, out):
    """``out[:rows] = M[r0:r0 + rows, :cols] @ x[:cols]``."""
    for a in range(rows):
        u = 0j
        for b in range(cols):
            u += M[r0 + a, b] * x[b]
        out[a] = u


@nb.njit(cache=True, _nrt=False, fastmath=FAST)
def norm_derivatives(G, S, T, r0, d, cur):
    """``n``, ``n'`` and ``n''`` (``T_ab = i (conj(lam_a) - lam_b) S_ab``) in one pass."""
    n = 0.0
    dn = 0.0
    ddn = 0.0
    for a in range(d):
        ca = cur[a]
        sq = ca.real * ca.real + ca.imag * ca.imag
        row = r0 + a
        n += G[row, a].real * sq
        dn += S[row, a].real * sq
        ddn += T[row, a].real * sq
        cca = np.conj(ca)
        on = 0.0
        odn = 0.0
        oddn = 0.0
        for j in range(d - a - 1):  # see quadratic_form
            b = a + 1 + j
            t = cca * cur[b]
            on += (G[row, b] * t).real
            odn += (S[row, b] * t).real
            oddn += (T[row, b] * t).real
        n += 2.0 * on
        dn += 2.0 * odn
        ddn += 2.0 * oddn
    return n, dn, ddn


@nb.njit(cache=True, _nrt=False)
def jump_delay(phi, lam, G, S, T, r0, d, r, hi, work):
    """Solve ``n(tau) = r`` (``n(0) = 1``, ``n(hi) <= r``) by safeguarded Halley steps on
    ``f = ln n - ln r`` (``G``, ``S``, ``T`` are the rows ``r0:r0 + d`` of their arrays; ``lam``
    may be longer than ``d``, and all its ``lam.size`` coefficients are propagated: the
    eigen propagators pad to :func:`lanes` with zero coefficients in ``phi``).

    Halley's step ``-2 f f' / (2 f'^2 - f f'')`` converges cubically, with ``f' = n'/n`` and
    ``f'' = n''/n - (n'/n)^2`` from one pass over ``G``, ``S``, ``T`` (on random N = 2 states it
    took 15-40 % less time than the Newton iteration it replaced; the cost per jump of whole
    trajectories did not move measurably at N = 2, see ``benchmarks/RESULTS-throughput.md``).
    Steps that leave the bracket ``[lo, hi]`` fall back to doubling or bisection.  On return
    ``work`` holds the propagated coefficients at the returned delay.  Converged when
    ``|f| < 1e-12`` or when a step is below ``1e-4 (1 + tau)``: the error after such a step
    is cubic in it, so the jump time is exact to ~1e-11 relative; the last step moves
    ``work`` by a fourth-order Taylor factor (``|lambda step| < 1e-3``, error < 1e-14).
    """
    target = np.log(r)
    rate = -quadratic_form(S, r0, d, phi)  # -n'(0), with n(0) = 1
    tau = -target / rate if rate > 0.0 else 1.0
    lo = 0.0
    if tau >= hi:
        tau = 0.5 * hi
    for _ in range(200):
        propagate(phi, lam, lam.size, tau, work)
        n, dn, ddn = norm_derivatives(G, S, T, r0, d, work)
        if n <= 0.0:
            hi = tau
            tau = 0.5 * (lo + hi)
            continue
        f = np.log(n) - target
        if abs(f) < 1e-12:
            return tau
        if f > 0.0:
            lo = tau
        else:
            hi = tau
        f1 = dn / n
        f2 = ddn / n - f1 * f1
        den = 2.0 * f1 * f1 - f * f2
        new = np.inf
        if f1 < 0.0:
            new = tau - 2.0 * f * f1 / den if den > 0.0 else tau - f / f1
        delta = new - tau
        if new > lo and new < hi and abs(delta) <= 1e-4 * (1.0 + tau):
            for a in range(d):
                z = -1j * lam[a] * delta
                work[a] = work[a] * (1.0 + z * (1.0 + z * (0.5 + z * (1.0 / 6.0 + z / 24.0))))
            return new
        if not (new > lo and new < hi):
            new = 2.0 * tau + 1.0 if hi == np.inf else 0.5 * (lo + hi)
        tau = new
    propagate(phi, lam, lam.size, tau, work)
    return tau


@nb.njit(cache=True, _nrt=False)
def _dark_norm(phi, G, r0, dark, d):
    n = 0.0
    for a in range(d):
        if not dark[a]:
            continue
        for b in range(d):
            if dark[b]:
                n += (np.conj(phi[a]) * G[r0 + a, b] * phi[b]).real
    return n


@nb.njit(cache=True, inline="always")
def _lam(eig, k, d):
    """Eigenvalues of sector ``k`` and the padding up to :func:`lanes` ``(d)`` entries."""
    return eig.lam[eig.loff[k] : eig.loff[k] + lanes(d)]


# ---------------------------------------------------------------------------- protocol
@nb.njit(cache=True, _nrt=False)
def _find_jump(prop, ws, sec, st, k, t_left):
    eig = prop.eig
    d = sec.dims[k]
    r0 = eig.loff[k]
    if _dark_norm(ws.phi, eig.G, r0, eig.dark[r0 : r0 + d], d) >= st.target:
        return np.inf, np.inf
    tau = jump_delay(
        ws.phi, _lam(eig, k, d), eig.G, eig.S, eig.T, r0, d, st.target, np.inf, ws.work
    )
    return tau, np.inf


@nb.njit(cache=True, _nrt=False)
def _state_at(prop, ws, sec, k, s, psi):
    eig = prop.eig
    d = sec.dims[k]
    lam = _lam(eig, k, d)
    propagate(ws.phi, lam, lam.size, s, ws.new)
    matvec(eig.V, eig.loff[k], ws.new, d, d, psi)


@nb.njit(cache=True, _nrt=False)
def _move_reference(prop, ws, sec, st, k, s):
    eig = prop.eig
    d = sec.dims[k]
    phi = ws.phi
    lam = _lam(eig, k, d)
    propagate(phi, lam, lam.size, s, phi)
    scale = 1.0 / np.sqrt(quadratic_form(eig.G, eig.loff[k], d, phi))
    for a in range(d):
        phi[a] *= scale
    st.pending = st.pending - s if np.isfinite(st.pending) else np.inf


@nb.njit(cache=True, _nrt=False)
def _work_at(prop, ws, sec, st, k, tau):
    """Coefficients at the jump in ``ws.work`` (recomputed after a resume)."""
    if st.work_tau != tau:
        eig = prop.eig
        d = sec.dims[k]
        lam = _lam(eig, k, d)
        propagate(ws.phi, lam, lam.size, tau, ws.work)


@nb.njit(cache=True, _nrt=False)
def _dense_weights(prop, ws, sec, st, k, tau, weights):
    _work_at(prop, ws, sec, st, k, tau)
    d = sec.dims[k]
    work = ws.work
    P = prop.P
    valid = sec.jumps.valid
    K = sec.dims.size
    total = 0.0
    for j in range(weights.size):
        w = 0.0
        if valid[j * K + k]:
            w = quadratic_form(P[j, k], 0, d, work)
        weights[j] = max(w, 0.0)
        total += weights[j]
    return total


@nb.njit(cache=True, _nrt=False)
def _dense_jump(prop, ws, sec, k, jc, weight):
    d = sec.dims[k]
    k2 = k + (1 if sec.ch_kind[jc] == 1 else -1)
    d2 = sec.dims[k2]
    phi, new = ws.phi, ws.new
    matvec(prop.A[jc, k], 0, ws.work, d2, d, new)
    scale = 1.0 / np.sqrt(weight)  # ||V' new||^2 (module docstring)
    for a in range(d2):
        phi[a] = new[a] * scale
    for a in range(d2, phi.size):
        phi[a] = 0j
    return k2


@nb.njit(cache=True, _nrt=False)
def _sparse_weights(prop, ws, sec, st, k, tau, weights):
    _work_at(prop, ws, sec, st, k, tau)
    eig = prop.eig
    d = sec.dims[k]
    K = sec.dims.size
    psi = ws.psi
    matvec(eig.V, eig.loff[k], ws.work, d, d, psi)
    jumps, ch_kind, dims, new = sec.jumps, sec.ch_kind, sec.dims, ws.new
    total = 0.0
    for j in range(weights.size):
        w = 0.0
        if jumps.valid[j * K + k]:
            k2 = k + (1 if ch_kind[j] == 1 else -1)
            w = csr_apply(jumps, j * K + k, dims[k2], psi, new)
        weights[j] = w
        total += w
    return total


@nb.njit(cache=True, _nrt=False)
def _sparse_jump(prop, ws, sec, k, jc, weight):
    # the squared norm comes with the jumped vector (csr_apply), so ``weight`` is not used
    eig = prop.eig
    k2 = k + (1 if sec.ch_kind[jc] == 1 else -1)
    d2 = sec.dims[k2]
    w = csr_apply(sec.jumps, jc * sec.dims.size + k, d2, ws.psi, ws.new)
    scale = 1.0 / np.sqrt(w)
    phi = ws.phi
    matvec(eig.Vinv, eig.loff[k2], ws.new, d2, d2, phi)
    for a in range(d2):
        phi[a] *= scale
    for a in range(d2, phi.size):
        phi[a] = 0j
    return k2


def _is(prop, cls) -> bool:
    return isinstance(prop, types.BaseNamedTuple) and prop.instance_class is cls


def _is_eigen(prop) -> bool:
    return _is(prop, EigenDense) or _is(prop, EigenSparse)


@overload(find_jump, jit_options={"_nrt": False})
def _ov_find_jump(prop, ws, sec, st, k, t_left):
    if _is_eigen(prop):
        return lambda prop, ws, sec, st, k, t_left: _find_jump(prop, ws, sec, st, k, t_left)
    return None


@overload(state_at, jit_options={"_nrt": False})
def _ov_state_at(prop, ws, sec, k, s, psi):
    if _is_eigen(prop):
        return lambda prop, ws, sec, k, s, psi: _state_at(prop, ws, sec, k, s, psi)
    return None


@overload(move_reference, jit_options={"_nrt": False})
def _ov_move_reference(prop, ws, sec, st, k, s):
    if _is_eigen(prop):
        return lambda prop, ws, sec, st, k, s: _move_reference(prop, ws, sec, st, k, s)
    return None


@overload(jump_weights, jit_options={"_nrt": False})
def _ov_jump_weights(prop, ws, sec, st, k, tau, weights):
    if _is(prop, EigenDense):
        return lambda prop, ws, sec, st, k, tau, weights: _dense_weights(
            prop, ws, sec, st, k, tau, weights
        )
    if _is(prop, EigenSparse):
        return lambda prop, ws, sec, st, k, tau, weights: _sparse_weights(
            prop, ws, sec, st, k, tau, weights
        )
    return None


# inlined into the loop at numba's level: LLVM keeps the jump a separate function, and
# the call then copies the namedtuples' array descriptors (1.8 KB at N = 2) at every jump
@overload(apply_jump, jit_options={"_nrt": False}, inline="always")
def _ov_apply_jump(prop, ws, sec, k, jc, weight):
    if _is(prop, EigenDense):
        return lambda prop, ws, sec, k, jc, weight: _dense_jump(prop, ws, sec, k, jc, weight)
    if _is(prop, EigenSparse):
        return lambda prop, ws, sec, k, jc, weight: _sparse_jump(prop, ws, sec, k, jc, weight)
    return None
