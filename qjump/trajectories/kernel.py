"""The quantum-jump engine: exact-in-time unravelling of the master equation.

Algorithm (one trajectory)
--------------------------
Between jumps the unnormalised state obeys ``i d psi/dt = H_eff psi`` with
``H_eff = H_S + H_cas - (i/2) sum_j L_j^dag L_j``, which conserves the excitation number, so
``psi`` lives in one U(1) sector of dimension ``C(2N, k)`` (physics notes §4).  Each sector's
``H_eff`` is diagonalised once, ``H_eff = V diag(lambda) V^-1``, and the state is kept as
eigen-coefficients ``phi``: after a delay ``tau`` they are ``phi_a exp(-i lambda_a tau)`` and
the squared norm is

    n(tau) = phi(tau)^dag G phi(tau),    G = V^dag V,
    n'(tau) = 2 Re sum_a i conj(lambda_a phi_a(tau)) (G phi(tau))_a.

The jump time is exact (no time step): draw ``r ~ U(0, 1)`` and solve ``n(tau) = r`` by a
safeguarded Newton iteration on ``ln n`` to ~1e-10 relative accuracy.  If the dark part of
the state (eigenvalues with ``Im lambda = 0``) keeps ``n(inf) > r``, no further jump occurs.
The channel ``j`` is chosen with probability ``||L_j psi||^2 / sum_k ||L_k psi||^2``; the
jump maps ``phi -> V'^-1 L_j V phi`` into the neighbouring sector, precomputed per channel and
sector.  The whole loop runs in a compiled (numba) kernel; random numbers come from the
trajectory's own ``numpy.random.Generator`` so every trajectory can be replayed.

Large sectors
-------------
The padded per-channel arrays (``n_ch x K x dmax^2``) are used up to ``dmax = 70``
(``N <= 4``).  For ``N = 5, 6`` (:class:`LargeUnravelling`) the same exact eigen-coefficient
scheme runs on flat, unpadded per-sector ``V``, ``V^-1`` and ``G`` and applies the jumps with
the sparse sector blocks of the jump operators (``psi = V phi``, ``L_j psi``, ``V'^-1``),
which needs ``3 C(4N, 2N)`` complex numbers instead of several GB.  Beyond
:data:`EIGEN_SECTOR_MAX` (``N >= 7``) dense eigendecompositions are too costly and
trajectories use the Krylov propagation of :mod:`qjump.trajectories.krylov` (adaptive steps with an
a-posteriori error bound, jump time by root finding on the norm inside a step).

Observation
-----------
* Every jump after the burn-in is counted per time window, bath and kind; the heat from bath
  ``i`` is ``omega_i (absorptions - emissions)`` (physics notes §3).
* The conditional energy ``<psi|H_S|psi>/<psi|psi>`` is recorded at window edges, which
  gives the stochastic first law ``W = Delta E - Q_h - Q_c`` per window.
* Conditional expectation values are sampled on a regular time grid (``sample_interval``)
  after the burn-in: the engine accumulates ``psi_a conj(psi_b)/<psi|psi>`` on the support of
  the model's quantity functionals, so every linear quantity of :mod:`qjump.system.quantities` is
  estimated with the same definitions as the exact solver.  A regular grid gives an unbiased
  estimate of the stationary time average.
"""

from __future__ import annotations

import dataclasses
import functools

import numba as nb
import numpy as np

from ..model import PaperModel
from ..system.context import model_system

__all__ = ["LargeUnravelling", "Unravelling", "unravelling"]

EMISSION, ABSORPTION = 0, 1
#: Maximum relative condition number accepted for a sector's eigenbasis.
MAX_CONDITION = 1e8
#: Largest sector dimension of the padded per-channel kernel (``N <= 4``: ``C(8, 4) = 70``).
SMALL_SECTOR_MAX = 70
#: Largest sector dimension for which a dense eigendecomposition is attempted (``N <= 6``).
EIGEN_SECTOR_MAX = 1000


@dataclasses.dataclass(frozen=True, eq=False)
class Unravelling:
    """Precomputed arrays of the compiled kernel for one model (see module docstring).

    All sector arrays are padded to ``dmax``.  ``channels`` lists ``(bath, kind, site)`` of
    each jump channel (``site`` = -1 for collective operators).
    """

    model: PaperModel
    dims: np.ndarray  # (K,)
    lam: np.ndarray  # (K, dmax) eigenvalues of H_eff per sector, shifted (see unravelling)
    V: np.ndarray  # (K, dmax, dmax)
    Vinv: np.ndarray  # (K, dmax, dmax)
    G: np.ndarray  # (K, dmax, dmax) Gram matrices V^dag V
    S: np.ndarray  # (K, dmax, dmax) slope matrices i (conj(lam_a) - lam_b) G_ab
    dark: np.ndarray  # (K, dmax) bool: eigenvalue with zero decay
    ch_bath: np.ndarray  # (n_ch,) 0 = h, 1 = c
    ch_kind: np.ndarray  # (n_ch,) 0 = emission, 1 = absorption
    ch_site: np.ndarray  # (n_ch,) site index or -1
    P: np.ndarray  # (n_ch, K, dmax, dmax) V^dag L^dag L V
    A: np.ndarray  # (n_ch, K, dmax, dmax) V'^-1 L V
    valid: np.ndarray  # (n_ch, K) bool
    sup_ptr: np.ndarray  # (K+1,) support entries of sector k: sup_ptr[k]:sup_ptr[k+1]
    sup_a: np.ndarray  # row index (within sector)
    sup_b: np.ndarray  # column index (within sector)
    sup_energy: np.ndarray  # functional weights of <H_S> on the support
    support: np.ndarray  # block-vector positions of the support entries
    omega: np.ndarray  # (2,) omega_h, omega_c
    condition: float  # worst eigenbasis condition number


def _support_arrays(ctx, dims):
    """Support of the quantity functionals grouped by sector (see :class:`Unravelling`)."""
    space = ctx.space
    K = dims.size
    support = ctx.quantities.support
    sector_of = np.searchsorted(space.offsets, support, side="right") - 1
    local = support - space.offsets[sector_of]
    d_of = dims[sector_of]
    order = np.lexsort((local, sector_of))
    support, sector_of, local, d_of = support[order], sector_of[order], local[order], d_of[order]
    sup_ptr = np.searchsorted(sector_of, np.arange(K + 1)).astype(np.int64)
    energy_row = ctx.quantities.names.index("energy")
    F = ctx.quantities.functionals
    sup_energy = np.asarray(F[energy_row, support].toarray()).ravel().astype(complex)
    sup_a = (local // d_of).astype(np.int64)
    sup_b = (local % d_of).astype(np.int64)
    return sup_ptr, sup_a, sup_b, sup_energy, support


def _slope_matrix(lam: np.ndarray, gram: np.ndarray) -> np.ndarray:
    """``S_ab = i (conj(lambda_a) - lambda_b) G_ab``, so that ``n'(tau) = c^dag S c``."""
    return 1j * (lam.conj()[:, None] - lam[None, :]) * gram


@functools.lru_cache(maxsize=32)
def unravelling(model: PaperModel) -> Unravelling | LargeUnravelling:
    """Build (and cache) the kernel arrays of ``model``.

    Models whose largest sector exceeds :data:`SMALL_SECTOR_MAX` (``N >= 5``) get a
    :class:`LargeUnravelling` instead (flat per-sector storage, sparse jumps), and models
    whose largest sector exceeds :data:`EIGEN_SECTOR_MAX` (``N >= 7``) the sparse arrays of
    the Krylov path (:class:`qjump.trajectories.krylov.KrylovUnravelling`).

    Raises
    ------
    ValueError
        If a sector's ``H_eff`` is too close to defective for an accurate eigenbasis.
    """
    ctx = model_system(model)
    ops, spins = ctx.ops, ctx.ops.spins
    dims = np.array(spins.sector_dims, dtype=np.int64)
    K, dmax = dims.size, int(dims.max())
    if dmax > EIGEN_SECTOR_MAX:
        from .krylov import krylov_unravelling

        return krylov_unravelling(model)
    if dmax > SMALL_SECTOR_MAX:
        return _large_unravelling(model)
    lam = np.zeros((K, dmax), complex)
    V = np.zeros((K, dmax, dmax), complex)
    Vinv = np.zeros((K, dmax, dmax), complex)
    G = np.zeros((K, dmax, dmax), complex)
    S = np.zeros((K, dmax, dmax), complex)
    dark = np.zeros((K, dmax), bool)
    worst = 1.0
    Heff = ops.H_eff
    rate_scale = max(float(np.abs(ops.decay.diagonal()).max()), 1e-300)
    for k, d in enumerate(dims):
        Hk = spins.block(Heff, k, k).toarray()
        w, v = np.linalg.eig(Hk)
        v = v / np.linalg.norm(v, axis=0)
        cond = np.linalg.cond(v)
        worst = max(worst, cond)
        if not np.isfinite(cond) or cond > MAX_CONDITION:
            raise ValueError(
                f"model: the no-jump generator of sector k={k} is nearly defective "
                f"(eigenbasis condition number {cond:.3g} > {MAX_CONDITION:g}); perturb the "
                "parameters slightly (e.g. couplings g or Omega)"
            )
        # a real shift of a sector's spectrum is a global phase: it changes no norm and no
        # |psi><psi|, and it keeps the phases small
        lam[k, :d] = w - np.mean(w.real)
        V[k, :d, :d] = v
        Vinv[k, :d, :d] = np.linalg.inv(v)
        G[k, :d, :d] = v.conj().T @ v
        S[k, :d, :d] = _slope_matrix(lam[k, :d], G[k, :d, :d])
        dark[k, :d] = w.imag > -1e-13 * rate_scale
    chans = ops.channels
    n_ch = len(chans)
    P = np.zeros((n_ch, K, dmax, dmax), complex)
    A = np.zeros((n_ch, K, dmax, dmax), complex)
    valid = np.zeros((n_ch, K), bool)
    for j, _, k, k2, block in ops.jump_blocks():
        d, d2 = dims[k], dims[k2]
        valid[j, k] = True
        LV = block.toarray() @ V[k, :d, :d]
        P[j, k, :d, :d] = LV.conj().T @ LV
        A[j, k, :d2, :d] = Vinv[k2, :d2, :d2] @ LV
    sup_ptr, sup_a, sup_b, sup_energy, support = _support_arrays(ctx, dims)
    return Unravelling(
        model=model,
        dims=dims,
        lam=lam,
        V=V,
        Vinv=Vinv,
        G=G,
        S=S,
        dark=dark,
        ch_bath=np.array([0 if c.bath == "h" else 1 for c in chans], np.int64),
        ch_kind=np.array([ABSORPTION if c.kind == "absorption" else EMISSION for c in chans],
                         np.int64),
        ch_site=np.array([-1 if c.site is None else c.site for c in chans], np.int64),
        P=P,
        A=A,
        valid=valid,
        sup_ptr=sup_ptr,
        sup_a=sup_a,
        sup_b=sup_b,
        sup_energy=sup_energy,
        support=support,
        omega=np.array([model.omega_h, model.omega_c]),
        condition=float(worst),
    )


# ---------------------------------------------------------------------------- kernel
@nb.njit(cache=True)
def _propagate(phi, lam, d, tau, out):
    """``out_a = phi_a exp(-i lambda_a tau)``."""
    for a in range(d):
        x = lam[a]
        mag = np.exp(x.imag * tau)
        ph = x.real * tau
        out[a] = phi[a] * complex(mag * np.cos(ph), -mag * np.sin(ph))


@nb.njit(cache=True)
def _norm_and_slope(G, S, d, cur):
    """``n = c^dag G c`` and ``n' = c^dag S c`` of the propagated coefficients ``c``.

    ``S_ab = i (conj(lambda_a) - lambda_b) G_ab = -(V^dag Gamma V)_ab``; both matrices are
    Hermitian, so only the upper triangle is summed.
    """
    n = 0.0
    dn = 0.0
    for a in range(d):
        ca = cur[a]
        sq = ca.real * ca.real + ca.imag * ca.imag
        n += G[a, a].real * sq
        dn += S[a, a].real * sq
        cca = np.conj(ca)
        for b in range(a + 1, d):
            t = cca * cur[b]
            n += 2.0 * (G[a, b] * t).real
            dn += 2.0 * (S[a, b] * t).real
    return n, dn


@nb.njit(cache=True)
def _dark_norm(phi, G, dark, d):
    n = 0.0
    for a in range(d):
        if not dark[a]:
            continue
        for b in range(d):
            if dark[b]:
                n += (np.conj(phi[a]) * G[a, b] * phi[b]).real
    return n


@nb.njit(cache=True)
def _jump_delay(phi, lam, G, S, dark, d, r, work):
    """Solve ``n(tau) = r`` (``n(0) = 1``) by safeguarded Newton on ``ln n``.

    Returns ``inf`` if the dark part keeps the norm above ``r``.  On return ``work`` holds
    the propagated coefficients at the returned delay.  Converged when
    ``|ln n(tau) - ln r| < 1e-12`` or when a Newton step is below ``1e-5 (1 + tau)``: the
    error after that step is quadratic in it, so the jump time is exact to ~1e-10 relative
    (no time step is involved).  The last step moves ``work`` by a third-order Taylor
    factor (``|lambda step| < 1e-4``, error < 1e-17).
    """
    if _dark_norm(phi, G, dark, d) >= r:
        return np.inf
    target = np.log(r)
    _, rate = _norm_and_slope(G, S, d, phi)
    rate = -rate
    tau = -target / rate if rate > 0.0 else 1.0
    lo, hi = 0.0, np.inf
    for _ in range(200):
        _propagate(phi, lam, d, tau, work)
        n, dn = _norm_and_slope(G, S, d, work)
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
        slope = dn / n
        new = tau - f / slope if slope < 0.0 else np.inf
        delta = new - tau
        if new > lo and new < hi and abs(delta) <= 1e-5 * (1.0 + tau):
            for a in range(d):
                z = -1j * lam[a] * delta
                work[a] = work[a] * (1.0 + z * (1.0 + z * (0.5 + z * (1.0 / 6.0))))
            return new
        if not (new > lo and new < hi):
            new = 2.0 * tau + 1.0 if hi == np.inf else 0.5 * (lo + hi)
        tau = new
    _propagate(phi, lam, d, tau, work)
    return tau


@nb.njit(cache=True)
def _observe(phi, lam, V, d, s, psi, sup_lo, sup_hi, sup_a, sup_b, acc, sup_energy, want):
    """Conditional state at delay ``s``: accumulate support entries and/or return energy."""
    for a in range(d):
        psi[a] = 0j
    for b in range(d):
        x = lam[b]
        mag = np.exp(x.imag * s)
        c = phi[b] * complex(mag * np.cos(x.real * s), -mag * np.sin(x.real * s))
        for a in range(d):
            psi[a] += V[a, b] * c
    n = 0.0
    for a in range(d):
        n += psi[a].real ** 2 + psi[a].imag ** 2
    inv_n = 1.0 / n
    energy = 0.0
    for p in range(sup_lo, sup_hi):
        rho = psi[sup_a[p]] * np.conj(psi[sup_b[p]]) * inv_n
        if want == 0:
            acc[p] += rho
        else:
            energy += (sup_energy[p] * rho).real
    return energy


@nb.njit(cache=True)
def _observe_segment(state, t, t_end, phi, lam, V, d, burn_in, window, n_windows, sample_dt,
                     psi, sup_lo, sup_hi, sup_a, sup_b, acc, sup_energy, edge_energy):
    """All observations (window-edge energies, grid samples) in the no-jump segment
    ``[t, t_end)``, in time order; advances the sample and edge counters in ``state``."""
    while True:
        t_sample = state[1]
        e_idx = int(state[3])
        t_edge = burn_in + e_idx * window if e_idx <= n_windows else np.inf
        if t_edge <= t_sample and t_edge < t_end:
            edge_energy[e_idx] = _observe(phi, lam, V, d, t_edge - t, psi, sup_lo, sup_hi,
                                          sup_a, sup_b, acc, sup_energy, 1)
            state[3] = e_idx + 1
        elif t_sample < t_end:
            _observe(phi, lam, V, d, t_sample - t, psi, sup_lo, sup_hi, sup_a, sup_b, acc,
                     sup_energy, 0)
            state[1] = t_sample + sample_dt
            state[2] += 1.0
        else:
            return


@nb.njit(cache=True)
def _stop_in_segment(state, phi, lam, G, d, t, t_stop, tau):
    """Stop at ``t_stop`` inside the no-jump segment that started at ``t``: move the reference
    time there and renormalise, so that the pending jump keeps the same time (target
    ``r' = r / n(s)``, ``s = t_stop - t``)."""
    s = t_stop - t
    _propagate(phi, lam, d, s, phi)
    nrm = 0.0
    for a in range(d):
        u = 0j
        for b in range(d):
            u += G[a, b] * phi[b]
        nrm += (np.conj(phi[a]) * u).real
    for a in range(d):
        phi[a] /= np.sqrt(nrm)
    state[0] = t_stop
    state[4] = tau - s if np.isfinite(tau) else np.inf


@nb.njit(cache=True)
def _pick_channel(weights, u):
    """Index ``j`` with ``sum_{i<j} w_i <= u < sum_{i<=j} w_i`` (last positive on round-off)."""
    jc = -1
    cum = 0.0
    for j in range(weights.size):
        if weights[j] > 0.0:
            jc = j
            cum += weights[j]
            if u < cum:
                break
    return jc


@nb.njit(cache=True)
def _count_jump(state, t_jump, burn_in, window, n_windows, counts, bath, kind, jc, record,
                rec_t, rec_ch):
    """Count a measured jump in its window and, if kept, append it to the records."""
    w_idx = int((t_jump - burn_in) / window)
    if w_idx >= n_windows:
        w_idx = n_windows - 1
    counts[w_idx, bath, kind] += 1
    if record:
        n_rec = int(state[5])
        rec_t[n_rec] = t_jump
        rec_ch[n_rec] = jc
        state[5] = n_rec + 1


@nb.njit(cache=True)
def advance(
    state,
    kstate,
    phi,
    rng,
    t_stop,
    burn_in,
    window,
    n_windows,
    sample_dt,
    dims,
    lam,
    V,
    G,
    S,
    dark,
    ch_bath,
    ch_kind,
    P,
    A,
    valid,
    sup_ptr,
    sup_a,
    sup_b,
    sup_energy,
    counts,
    edge_energy,
    acc,
    rec_t,
    rec_ch,
):
    """Advance one trajectory to ``t_stop`` (resumable).

    ``state`` = [t, next_sample, n_samples, next_edge_index, pending_tau, rec_n,
    tau_of_work] (float64); ``tau_of_work`` marks when ``work`` holds the state at the
    pending jump (it is only valid within one call),
    ``kstate`` = [sector].  ``pending_tau`` < 0 means that a new jump delay must be drawn.
    Returns 0 when ``t_stop`` is reached, 1 when the record buffer is full.
    """
    n_ch = ch_bath.size
    dmax = phi.size
    work = np.empty(dmax, np.complex128)
    psi = np.empty(dmax, np.complex128)
    newphi = np.empty(dmax, np.complex128)
    weights = np.empty(n_ch)
    record = rec_t.size > 0
    while True:
        t = state[0]
        k = kstate[0]
        d = dims[k]
        tau = state[4]
        if tau < 0.0:
            tau = _jump_delay(phi, lam[k], G[k], S[k], dark[k], d, rng.random(), work)
            state[4] = tau
            state[6] = tau
        else:
            state[6] = -1.0
        t_jump = t + tau
        t_end = min(t_jump, t_stop)
        _observe_segment(state, t, t_end, phi, lam[k], V[k], d, burn_in, window, n_windows,
                         sample_dt, psi, sup_ptr[k], sup_ptr[k + 1], sup_a, sup_b, acc,
                         sup_energy, edge_energy)
        if t_jump >= t_stop:
            _stop_in_segment(state, phi, lam[k], G[k], d, t, t_stop, tau)
            return 0
        if record and int(state[5]) >= rec_t.size and t_jump >= burn_in:
            return 1
        # the jump: ``work`` may be stale after a resume, so recompute it when needed
        if state[6] != tau:
            _propagate(phi, lam[k], d, tau, work)
        total = 0.0
        for j in range(n_ch):
            w = 0.0
            if valid[j, k]:
                for a in range(d):
                    u = 0j
                    for b in range(d):
                        u += P[j, k, a, b] * work[b]
                    w += (np.conj(work[a]) * u).real
            weights[j] = max(w, 0.0)
            total += weights[j]
        u01 = rng.random() * total
        jc = _pick_channel(weights, u01)
        k2 = k + (1 if ch_kind[jc] == 1 else -1)
        d2 = dims[k2]
        for a in range(d2):
            u = 0j
            for b in range(d):
                u += A[jc, k, a, b] * work[b]
            newphi[a] = u
        nrm = 0.0
        for a in range(d2):
            u = 0j
            for b in range(d2):
                u += G[k2, a, b] * newphi[b]
            nrm += (np.conj(newphi[a]) * u).real
        scale = 1.0 / np.sqrt(nrm)
        for a in range(d2):
            phi[a] = newphi[a] * scale
        for a in range(d2, dmax):
            phi[a] = 0j
        kstate[0] = k2
        state[0] = t_jump
        state[4] = -1.0
        if t_jump >= burn_in:
            _count_jump(state, t_jump, burn_in, window, n_windows, counts, ch_bath[jc],
                        ch_kind[jc], jc, record, rec_t, rec_ch)


# ---------------------------------------------------------------------------- large sectors
@dataclasses.dataclass(frozen=True, eq=False)
class LargeUnravelling:
    """Kernel arrays for models with large sectors (``N >= 5``), see :func:`unravelling`.

    The propagation is the same exact eigen-coefficient scheme as :class:`Unravelling`, but

    * the per-sector matrices ``V``, ``V^-1`` and ``G = V^dag V`` are stored flat and
      unpadded (``sum_k d_k^2 = C(4N, 2N)`` entries each: 43 MB at ``N = 6``), and
    * the jumps are applied with the sparse blocks of the jump operators,
      ``psi = V phi``, ``w_j = ||L_j psi||^2``, ``phi' = V'^-1 L_j psi / sqrt(w_j)``,
      instead of the dense per-channel matrices ``P`` and ``A`` (which need
      ``n_ch * K * dmax^2`` entries: several GB at ``N = 6``).

    Jump times, observations and random-number use are identical in structure to the small
    kernel, so the error control is the same (jump time to ~1e-10 relative, no time step).
    """

    model: PaperModel
    dims: np.ndarray  # (K,)
    loff: np.ndarray  # (K+1,) offsets of sector k in lam/dark
    moff: np.ndarray  # (K+1,) offsets of sector k in V/Vinv/G (flat row-major d x d)
    lam: np.ndarray
    dark: np.ndarray
    V: np.ndarray
    Vinv: np.ndarray
    G: np.ndarray
    S: np.ndarray
    ch_bath: np.ndarray
    ch_kind: np.ndarray
    ch_site: np.ndarray
    valid: np.ndarray  # (n_ch * K,) bool
    rp_off: np.ndarray  # (n_ch * K,) offset of the block's row pointer in rp
    rp: np.ndarray  # concatenated CSR row pointers (relative to the block's nz offset)
    nz_off: np.ndarray  # (n_ch * K,) offset of the block's entries in ix/val
    ix: np.ndarray
    val: np.ndarray
    sup_ptr: np.ndarray
    sup_a: np.ndarray
    sup_b: np.ndarray
    sup_energy: np.ndarray
    support: np.ndarray
    omega: np.ndarray
    condition: float

    def sector(self, name: str, k: int) -> np.ndarray:
        """View of ``V``, ``Vinv`` or ``G`` (``d x d``) or ``lam`` of sector ``k``."""
        d = int(self.dims[k])
        if name == "lam":
            return self.lam[self.loff[k] : self.loff[k] + d]
        return getattr(self, name)[self.moff[k] : self.moff[k] + d * d].reshape(d, d)


def _large_unravelling(model: PaperModel) -> LargeUnravelling:
    ctx = model_system(model)
    ops, spins = ctx.ops, ctx.ops.spins
    dims = np.array(spins.sector_dims, dtype=np.int64)
    K = dims.size
    loff = np.concatenate([[0], np.cumsum(dims)]).astype(np.int64)
    moff = np.concatenate([[0], np.cumsum(dims * dims)]).astype(np.int64)
    lam = np.zeros(loff[-1], complex)
    dark = np.zeros(loff[-1], bool)
    V = np.zeros(moff[-1], complex)
    Vinv = np.zeros(moff[-1], complex)
    G = np.zeros(moff[-1], complex)
    S = np.zeros(moff[-1], complex)
    worst = 1.0
    rate_scale = max(float(np.abs(ops.decay.diagonal()).max()), 1e-300)
    for k in range(K):
        w, v = np.linalg.eig(spins.block(ops.H_eff, k, k).toarray())
        v = v / np.linalg.norm(v, axis=0)
        cond = np.linalg.cond(v)
        worst = max(worst, cond)
        if not np.isfinite(cond) or cond > MAX_CONDITION:
            raise ValueError(
                f"model: the no-jump generator of sector k={k} is nearly defective "
                f"(eigenbasis condition number {cond:.3g} > {MAX_CONDITION:g}); perturb the "
                "parameters slightly (e.g. couplings g or Omega)"
            )
        lam[loff[k] : loff[k + 1]] = w - np.mean(w.real)
        dark[loff[k] : loff[k + 1]] = w.imag > -1e-13 * rate_scale
        V[moff[k] : moff[k + 1]] = v.ravel()
        Vinv[moff[k] : moff[k + 1]] = np.linalg.inv(v).ravel()
        gram = v.conj().T @ v
        G[moff[k] : moff[k + 1]] = gram.ravel()
        S[moff[k] : moff[k + 1]] = _slope_matrix(lam[loff[k] : loff[k + 1]], gram).ravel()
    chans = ops.channels
    n_ch = len(chans)
    valid = np.zeros(n_ch * K, bool)
    rp_off = np.zeros(n_ch * K, np.int64)
    nz_off = np.zeros(n_ch * K, np.int64)
    rps, ixs, vals = [], [], []
    n_rp = n_nz = 0
    for j, _, k, _, Lb in ops.jump_blocks():
        valid[j * K + k] = True
        rp_off[j * K + k] = n_rp
        nz_off[j * K + k] = n_nz
        rps.append(Lb.indptr.astype(np.int64))
        ixs.append(Lb.indices.astype(np.int64))
        vals.append(Lb.data.astype(complex))
        n_rp += Lb.indptr.size
        n_nz += Lb.nnz
    sup_ptr, sup_a, sup_b, sup_energy, support = _support_arrays(ctx, dims)
    return LargeUnravelling(
        model=model, dims=dims, loff=loff, moff=moff, lam=lam, dark=dark, V=V, Vinv=Vinv,
        G=G,
        S=S,
        ch_bath=np.array([0 if c.bath == "h" else 1 for c in chans], np.int64),
        ch_kind=np.array([ABSORPTION if c.kind == "absorption" else EMISSION for c in chans],
                         np.int64),
        ch_site=np.array([-1 if c.site is None else c.site for c in chans], np.int64),
        valid=valid, rp_off=rp_off, rp=np.concatenate(rps), nz_off=nz_off,
        ix=np.concatenate(ixs), val=np.concatenate(vals),
        sup_ptr=sup_ptr, sup_a=sup_a, sup_b=sup_b, sup_energy=sup_energy, support=support,
        omega=np.array([model.omega_h, model.omega_c]), condition=float(worst),
    )


@nb.njit(cache=True)
def _apply_jump(rp, rp0, ix, val, nz0, d_out, x, y):
    """``y = L x`` for one CSR block; returns ``||y||^2``."""
    w = 0.0
    for a in range(d_out):
        u = 0j
        for p in range(rp[rp0 + a], rp[rp0 + a + 1]):
            u += val[nz0 + p] * x[ix[nz0 + p]]
        y[a] = u
        w += u.real ** 2 + u.imag ** 2
    return w


@nb.njit(cache=True)
def advance_large(
    state, kstate, phi, rng, t_stop, burn_in, window, n_windows, sample_dt, dims, loff, moff,
    lam, V, Vinv, G, S, dark, ch_bath, ch_kind, valid, rp_off, rp, nz_off, ix, val, sup_ptr,
    sup_a, sup_b, sup_energy, counts, edge_energy, acc, rec_t, rec_ch,
):
    """:func:`advance` for :class:`LargeUnravelling` arrays (same state layout)."""
    n_ch = ch_bath.size
    K = dims.size
    dmax = phi.size
    work = np.empty(dmax, np.complex128)
    psi = np.empty(dmax, np.complex128)
    newpsi = np.empty(dmax, np.complex128)
    weights = np.empty(n_ch)
    record = rec_t.size > 0
    while True:
        t = state[0]
        k = kstate[0]
        d = dims[k]
        lk = lam[loff[k] : loff[k] + d]
        Gk = G[moff[k] : moff[k] + d * d].reshape((d, d))
        Vk = V[moff[k] : moff[k] + d * d].reshape((d, d))
        tau = state[4]
        if tau < 0.0:
            Sk = S[moff[k] : moff[k] + d * d].reshape((d, d))
            tau = _jump_delay(phi, lk, Gk, Sk, dark[loff[k] : loff[k] + d], d, rng.random(),
                              work)
            state[4] = tau
            state[6] = tau
        else:
            state[6] = -1.0
        t_jump = t + tau
        t_end = min(t_jump, t_stop)
        _observe_segment(state, t, t_end, phi, lk, Vk, d, burn_in, window, n_windows,
                         sample_dt, psi, sup_ptr[k], sup_ptr[k + 1], sup_a, sup_b, acc,
                         sup_energy, edge_energy)
        if t_jump >= t_stop:
            _stop_in_segment(state, phi, lk, Gk, d, t, t_stop, tau)
            return 0
        if record and int(state[5]) >= rec_t.size and t_jump >= burn_in:
            return 1
        if state[6] != tau:
            _propagate(phi, lk, d, tau, work)
        # psi = V work (the unnormalised state in the computational basis)
        for a in range(d):
            psi[a] = 0j
        for a in range(d):
            u = 0j
            for b in range(d):
                u += Vk[a, b] * work[b]
            psi[a] = u
        total = 0.0
        for j in range(n_ch):
            w = 0.0
            q = j * K + k
            if valid[q]:
                k2 = k + (1 if ch_kind[j] == 1 else -1)
                w = _apply_jump(rp, rp_off[q], ix, val, nz_off[q], dims[k2], psi, newpsi)
            weights[j] = w
            total += w
        u01 = rng.random() * total
        jc = _pick_channel(weights, u01)
        k2 = k + (1 if ch_kind[jc] == 1 else -1)
        d2 = dims[k2]
        q = jc * K + k
        w = _apply_jump(rp, rp_off[q], ix, val, nz_off[q], d2, psi, newpsi)
        scale = 1.0 / np.sqrt(w)
        Vi2 = Vinv[moff[k2] : moff[k2] + d2 * d2].reshape((d2, d2))
        for a in range(d2):
            u = 0j
            for b in range(d2):
                u += Vi2[a, b] * newpsi[b]
            phi[a] = u * scale
        for a in range(d2, dmax):
            phi[a] = 0j
        kstate[0] = k2
        state[0] = t_jump
        state[4] = -1.0
        if t_jump >= burn_in:
            _count_jump(state, t_jump, burn_in, window, n_windows, counts, ch_bath[jc],
                        ch_kind[jc], jc, record, rec_t, rec_ch)
