"""Krylov propagator (``krylov``): adaptive restarted Arnoldi steps on the sparse sector blocks
of ``H_eff``, for sectors where dense eigendecompositions do not pay (``N >= 6``).

Owns the Krylov data (sparse ``H_eff`` blocks), its workspace and its protocol operations.

Error control
-------------
From the normalised reference state ``psi`` an Arnoldi process (modified Gram-Schmidt, one
pass, as in Sidje's Expokit) builds an orthonormal basis ``Q_m`` and the Hessenberg matrix
``H_m = Q_m^dag H_k Q_m`` (``m <= KRYLOV_M``), and for ``0 <= s <= h``

    psi(s) ~ Q_m exp(-i s H_m) e_1 = Q_m W diag(exp(-i mu s)) c,   H_m = W diag(mu) W^-1,
    c = W^-1 e_1.

The a-posteriori estimate of Saad (1992) for the error of this approximation,

    err(h) = h_{m+1,m} h |e_m^T phi_1(-i h H_m) e_1|,   phi_1(z) = (e^z - 1)/z,

evaluated in the eigenbasis of ``H_m`` (``O(m)`` per ``h``), is kept below ``KRYLOV_TOL``
(absolute, for a unit-norm start).  If the Arnoldi process breaks down (``h_{m+1,m} ~ 0``)
the subspace is invariant and the step is exact for any ``h``.

Adaptive basis
--------------
A step only has to reach the next jump: every jump starts a new basis.  The first Arnoldi
vector gives the decay rate of the norm, ``Gamma = -2 Im <psi|H_eff|psi>``, and with it the
delay ``h_goal = (-ln r) / Gamma`` at which the norm would reach its target ``r`` if it kept
decaying at that rate.  The basis grows one vector at a time while the leading term of the
error at ``STEP_REACH h_goal``,

    (STEP_REACH h_goal)^m h_{2,1} h_{3,2} ... h_{m+1,m} / m!,

exceeds ``KRYLOV_TOL`` (it needs no eigendecomposition), then by ``KRYLOV_GROW`` vectors while
Saad's estimate at ``h_goal`` does (at most ``KRYLOV_M`` vectors); the accepted step is then
doubled while the estimate allows, or halved until it does when the basis is full.  Counted
at N = 6 (thermal start, 300 time units): 1.00 steps, 1.00 eigendecompositions of ``H_m``,
11.2 ``H_eff`` products and 8.0e4 Gram-Schmidt vector entries per jump, against 1.54, 4.38,
12.9 and 1.4e5 when the basis grew by ``KRYLOV_GROW`` from one vector, checked Saad's
estimate at every size, aimed at ``h_goal`` itself and orthogonalised twice (classical
Gram-Schmidt).  A small eigendecomposition costs 16, 50 and 110 us at m = 5, 9 and 13 on the
development machine, about the cost of 2-4 ``H_eff`` products in the sectors of N = 6.

Within an accepted step the state is an eigen-coefficient vector of ``H_m`` with Gram matrix
``W^dag W``, so the jump time (norm target rescaled by the norms at the earlier step ends)
is found by the same safeguarded Halley steps on ``ln n`` as the eigen propagators
(:func:`.eigen.jump_delay`, bracketed by ``[0, h]``), and observations inside the step cost
``O(m d)``.  The jump-time error is dominated by the propagation error ``<= KRYLOV_TOL`` per
step.
"""

from __future__ import annotations

import functools
from collections import namedtuple

import numba as nb
import numpy as np
from numba.core import types
from numba.extending import overload

from ...model import PaperModel
from ...system.context import model_system
from ..sectors import SectorData, csr_apply, csr_blocks
from .eigen import FAST, jump_delay, propagate, quadratic_form
from .protocol import apply_jump, find_jump, jump_weights, move_reference, state_at

__all__ = ["KRYLOV_M", "KRYLOV_TOL", "KrylovData", "KrylovWorkspace", "krylov_propagator"]

#: Bound on the a-posteriori Krylov error estimate per step (unit-norm start).
KRYLOV_TOL = 1e-9
#: Maximum Krylov dimension.
KRYLOV_M = 30
#: Vectors added at a time while Saad's estimate exceeds the tolerance at the estimated delay
#: of the jump, ``-ln(r) / Gamma`` (the delay if the norm decayed at its initial rate).
KRYLOV_GROW = 4
#: Before that, the basis grows until the leading error term is below the tolerance at this
#: multiple of the estimated delay (headroom, so that one step usually reaches the jump).
STEP_REACH = 2.0

#: ``krylov``: sparse ``H_eff`` blocks (CSR block ``k`` maps sector ``k`` to itself).
KrylovData = namedtuple("KrylovData", "H m_max")
#: Workspace: reference state ``psi``; the current step ``Q``, ``Hm``, ``mu``, ``W``, ``c``,
#: ``G``, ``S``; scratch ``coef``, ``y``, ``work``, ``jpsi``, ``new``, ``tmp``; ``scal`` =
#: [subspace dimension of the current step].
KrylovWorkspace = namedtuple(
    "KrylovWorkspace", "psi Q Hm mu W c G S T coef y work jpsi new tmp scal"
)


@functools.lru_cache(maxsize=4)
def krylov_propagator(model: PaperModel) -> KrylovData:
    """Sparse ``H_eff`` sector blocks of ``model`` (cached)."""
    ops = model_system(model).ops
    spins = ops.spins
    K = len(spins.sector_dims)
    H = csr_blocks(((k, spins.block(ops.H_eff, k, k).tocsr()) for k in range(K)), K)
    return KrylovData(H, KRYLOV_M)


def workspace(prop: KrylovData, sec: SectorData) -> KrylovWorkspace:
    dmax = int(sec.dims.max())
    m = min(prop.m_max, dmax)
    c = np.zeros
    return KrylovWorkspace(
        psi=c(dmax, complex),
        Q=c((m + 1, dmax), complex),
        Hm=c((m + 1, m), complex),
        mu=c(m, complex),
        W=c((m, m), complex),
        c=c(m, complex),
        G=c((m, m), complex),
        S=c((m, m), complex),
        T=c((m, m), complex),
        coef=c(m, complex),
        y=c(m, complex),
        work=c(m, complex),
        jpsi=c(dmax, complex),
        new=c(dmax, complex),
        tmp=c(dmax, complex),
        scal=np.array([0.0]),
    )


def prepare(prop, ws: KrylovWorkspace, sec: SectorData, k: int, vec: np.ndarray) -> None:
    """Reference state from the computational-basis vector ``vec`` of sector ``k``."""
    d = int(sec.dims[k])
    ws.psi[:d] = vec / np.linalg.norm(vec)
    _trivial_step(ws, d)


@nb.njit(cache=True)
def _trivial_step(ws, d):
    """The step ``psi(s) = psi`` (valid at ``s = 0``), used after the reference moves."""
    Q, psi = ws.Q, ws.psi
    for a in range(d):
        Q[0, a] = psi[a]
    ws.mu[0] = 0j
    ws.W[0, 0] = 1.0
    ws.c[0] = 1.0
    ws.scal[0] = 1.0


@nb.njit(cache=True)
def _phi1(z):
    if abs(z) < 1e-5:
        return 1.0 + z * (0.5 + z / 6.0)
    return (np.exp(z) - 1.0) / z


@nb.njit(cache=True, fastmath=FAST)
def _arnoldi(prop, ws, d, k, j0, j1):
    """Extend the Krylov basis of the reference state from ``j0`` to ``j1`` vectors (``Q[0]``
    and the first ``j0`` columns of ``Hm`` already built); returns (m, h_{m+1,m}, breakdown).

    Modified Gram-Schmidt, one pass: half the work of the classical Gram-Schmidt repeated
    once that it replaced.  With it and the basis growth of the module docstring, Krylov
    jump times agreed with the ``eigen-large`` ones to 4.6e-10 over 36 models (N = 3, 4;
    every dissipation and interaction; (T_h, T_c) = (2, 1), (0.3, 0.2), (8, 5); 60 time
    units each), against 4.2e-8 for the kernel before both changes.  Compiled with the
    fast-math flags of the eigen kernels (:data:`.eigen.FAST`), so that the sums vectorise.
    """
    Q, Hm, w = ws.Q, ws.Hm, ws.tmp
    beta = 0.0
    for j in range(j0, j1):
        csr_apply(prop.H, k, d, Q[j], w)
        for i in range(j + 1):
            ur = 0.0
            ui = 0.0
            for a in range(d):
                q, x = Q[i, a], w[a]
                ur += q.real * x.real + q.imag * x.imag
                ui += q.real * x.imag - q.imag * x.real
            c = complex(ur, ui)
            for a in range(d):
                w[a] -= c * Q[i, a]
            Hm[i, j] = c
        beta = 0.0
        for a in range(d):
            beta += w[a].real ** 2 + w[a].imag ** 2
        beta = np.sqrt(beta)
        Hm[j + 1, j] = beta
        if beta < 1e-12:
            return j + 1, 0.0, True
        for a in range(d):
            Q[j + 1, a] = w[a] / beta
    return j1, beta, False


@nb.njit(cache=True)
def _step_error(W, mu, c, m, beta, h):
    """Saad's a-posteriori error estimate ``h_{m+1,m} h |e_m^T phi_1(-i h H_m) e_1|``."""
    phi_e = 0j
    for a in range(m):
        phi_e += W[m - 1, a] * _phi1(-1j * h * mu[a]) * c[a]
    return beta * h * abs(phi_e)


@nb.njit(cache=True)
def _find_jump(prop, ws, sec, st, k, t_left):
    d = sec.dims[k]
    m_max = min(ws.mu.size, d)
    ws.Hm[:, :] = 0j
    psi, Q = ws.psi, ws.Q
    for a in range(d):
        Q[0, a] = psi[a]
    m, beta, breakdown = _arnoldi(prop, ws, d, k, 0, 1)
    # the step aims past the jump: the norm target r is reached near -ln(r) / Gamma, Gamma =
    # <psi| sum_j L_j^dag L_j |psi> = -2 Im <psi|H_eff|psi> the decay rate of the norm at s = 0
    gamma = -2.0 * ws.Hm[0, 0].imag
    h_goal = t_left
    if gamma > 0.0:
        h_goal = min(t_left, -np.log(st.target) / gamma)
    # grow the basis until one step reaches h_goal (or the basis is full): first one vector
    # at a time while the leading term of the error, h^m prod_j h_{j+1,j} / m!, exceeds the
    # tolerance (no eigendecomposition needed), then by KRYLOV_GROW while Saad's estimate does
    h_lead = STEP_REACH * h_goal
    lead = h_lead * beta
    while not breakdown and m < m_max and lead > KRYLOV_TOL:
        m, beta, breakdown = _arnoldi(prop, ws, d, k, m, m + 1)
        lead *= h_lead * beta / m
    while True:
        mu, W = np.linalg.eig(np.ascontiguousarray(ws.Hm[:m, :m]))
        e1 = np.zeros(m, np.complex128)
        e1[0] = 1.0
        c = np.linalg.solve(W, e1)
        if breakdown or m == m_max or _step_error(W, mu, c, m, beta, h_goal) <= KRYLOV_TOL:
            break
        m, beta, breakdown = _arnoldi(prop, ws, d, k, m, min(m_max, m + KRYLOV_GROW))
    ws.scal[0] = m
    ws.mu[:m] = mu
    ws.W[:m, :m] = W
    ws.c[:m] = c
    G = W.conj().T @ W
    Gw, Sw, Tw = ws.G, ws.S, ws.T
    for a in range(m):
        for b in range(m):
            f = 1j * (np.conj(mu[a]) - mu[b])
            Gw[a, b] = G[a, b]
            Sw[a, b] = f * G[a, b]
            Tw[a, b] = f * f * G[a, b]
    h = t_left
    if not breakdown:
        h = h_goal
        if _step_error(W, mu, c, m, beta, h) <= KRYLOV_TOL:
            # the same basis may reach further for free (estimates cost O(m))
            while h < t_left and _step_error(W, mu, c, m, beta, min(2.0 * h, t_left)) <= (
                KRYLOV_TOL
            ):
                h = min(2.0 * h, t_left)
        else:
            while _step_error(W, mu, c, m, beta, h) > KRYLOV_TOL:
                h *= 0.5
    propagate(ws.c, ws.mu, m, h, ws.coef)
    n_end = quadratic_form(ws.G, 0, m, ws.coef)
    if n_end > st.target:
        return np.inf, h
    return jump_delay(ws.c, ws.mu[:m], ws.G, ws.S, ws.T, 0, m, st.target, h, ws.work), h


@nb.njit(cache=True)
def _state_at(prop, ws, sec, k, s, psi):
    """``psi = Q W (exp(-i mu s) c)``; returns the squared norm ``||W (exp(-i mu s) c)||^2``."""
    d = sec.dims[k]
    m = int(ws.scal[0])
    W, coef, y, Q = ws.W, ws.coef, ws.y, ws.Q
    propagate(ws.c, ws.mu, m, s, coef)
    n = 0.0
    for i in range(m):
        u = 0j
        for a in range(m):
            u += W[i, a] * coef[a]
        y[i] = u
        n += u.real**2 + u.imag**2
    for a in range(d):
        psi[a] = 0j
    for i in range(m):
        yi = y[i]
        for a in range(d):
            psi[a] += yi * Q[i, a]
    return n


@nb.njit(cache=True)
def _move_reference(prop, ws, sec, st, k, s):
    d = sec.dims[k]
    n = _state_at(prop, ws, sec, k, s, ws.jpsi)
    scale = 1.0 / np.sqrt(n)
    psi, jpsi = ws.psi, ws.jpsi
    for a in range(d):
        psi[a] = jpsi[a] * scale
    st.target = st.target / n
    st.pending = -1.0
    _trivial_step(ws, d)


@nb.njit(cache=True)
def _jump_weights(prop, ws, sec, st, k, tau, weights):
    _state_at(prop, ws, sec, k, tau, ws.jpsi)
    K = sec.dims.size
    jumps, ch_kind, dims, jpsi, new = sec.jumps, sec.ch_kind, sec.dims, ws.jpsi, ws.new
    total = 0.0
    for j in range(weights.size):
        w = 0.0
        if jumps.valid[j * K + k]:
            k2 = k + (1 if ch_kind[j] == 1 else -1)
            w = csr_apply(jumps, j * K + k, dims[k2], jpsi, new)
        weights[j] = w
        total += w
    return total


@nb.njit(cache=True)
def _apply_jump(prop, ws, sec, k, jc, weight):
    # the squared norm comes with the jumped vector (csr_apply), so ``weight`` is not used
    k2 = k + (1 if sec.ch_kind[jc] == 1 else -1)
    d2 = sec.dims[k2]
    w = csr_apply(sec.jumps, jc * sec.dims.size + k, d2, ws.jpsi, ws.new)
    scale = 1.0 / np.sqrt(w)
    psi, new = ws.psi, ws.new
    for a in range(d2):
        psi[a] = new[a] * scale
    for a in range(d2, psi.size):
        psi[a] = 0j
    _trivial_step(ws, d2)
    return k2


def _is_krylov(prop) -> bool:
    return isinstance(prop, types.BaseNamedTuple) and prop.instance_class is KrylovData


@overload(find_jump)
def _ov_find_jump(prop, ws, sec, st, k, t_left):
    if _is_krylov(prop):
        return lambda prop, ws, sec, st, k, t_left: _find_jump(prop, ws, sec, st, k, t_left)
    return None


@overload(state_at)
def _ov_state_at(prop, ws, sec, k, s, psi):
    if _is_krylov(prop):

        def impl(prop, ws, sec, k, s, psi):
            _state_at(prop, ws, sec, k, s, psi)

        return impl
    return None


@overload(move_reference)
def _ov_move_reference(prop, ws, sec, st, k, s):
    if _is_krylov(prop):
        return lambda prop, ws, sec, st, k, s: _move_reference(prop, ws, sec, st, k, s)
    return None


@overload(jump_weights)
def _ov_jump_weights(prop, ws, sec, st, k, tau, weights):
    if _is_krylov(prop):
        return lambda prop, ws, sec, st, k, tau, weights: _jump_weights(
            prop, ws, sec, st, k, tau, weights
        )
    return None


@overload(apply_jump)
def _ov_apply_jump(prop, ws, sec, k, jc, weight):
    if _is_krylov(prop):
        return lambda prop, ws, sec, k, jc, weight: _apply_jump(prop, ws, sec, k, jc, weight)
    return None
