"""The jump time of the eigen propagators against an independent matrix exponential.

Between jumps the unnormalised state obeys ``i d psi/dt = H_eff psi``; the next jump happens
when ``||psi(tau)||^2`` falls to a uniform target ``r``.  The engine solves this by Halley's
method in the eigenbasis of ``H_eff``; here the norm at the returned delay is recomputed with
``scipy.linalg.expm`` on the sector block, so a loosened solver tolerance shows up directly.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest
import scipy.linalg as la

import qjump
from qjump.system import model_system
from qjump.trajectories.loop import Schedule, new_state
from qjump.trajectories.propagators import PROPAGATORS
from qjump.trajectories.propagators.eigen import jump_delay, lanes, propagate, quadratic_form
from qjump.trajectories.propagators.protocol import (
    apply_jump,
    find_jump,
    jump_weights,
    move_reference,
    state_at,
)
from qjump.trajectories.sectors import LANES, sector_data

CASES = [
    ("common", "pairwise", 2, 2),
    ("cascaded", "all-to-all", 2, 1),
    ("independent", "pairwise", 3, 3),
]


@pytest.mark.parametrize(("dissipation", "interaction", "N", "k"), CASES)
def test_jump_delay_hits_the_target_norm(dissipation, interaction, N, k):
    model = qjump.PaperModel(N=N, dissipation=dissipation, interaction=interaction)
    system = model_system(model)
    H = system.spins.block(system.ops.H_eff, k, k).toarray()
    d = H.shape[0]
    lam, V = np.linalg.eig(H)
    V = V / np.linalg.norm(V, axis=0)
    G = V.conj().T @ V
    S = 1j * (lam.conj()[:, None] - lam[None, :]) * G
    T = 1j * (lam.conj()[:, None] - lam[None, :]) * S
    rng = np.random.default_rng(17)
    worst = 0.0
    for _ in range(40):
        psi0 = rng.normal(size=d) + 1j * rng.normal(size=d)
        psi0 /= np.linalg.norm(psi0)
        phi = np.linalg.solve(V, psi0)
        r = rng.uniform(0.02, 0.98)
        work = np.empty(d, complex)
        tau = jump_delay(phi, lam, G, S, T, 0, d, r, np.inf, work)
        psi = la.expm(-1j * H * tau) @ psi0
        worst = max(worst, abs(np.log(np.vdot(psi, psi).real) - np.log(r)))
        # the workspace holds the eigen-coefficients of the state at the jump
        np.testing.assert_allclose(V @ work, psi, rtol=0, atol=1e-9)
    # the solver's own criterion is |ln n - ln r| < 1e-12 (or a cubic last step)
    assert worst < 1e-9, worst


@pytest.mark.parametrize("d", [1, 2, 5, 20, 70])
def test_quadratic_form_equals_the_dense_product(d):
    # the kernel sums the upper triangle of rows r0:r0 + d of a stacked array (vectorised
    # loop); the reference is the full product c^dag M c with numpy
    rng = np.random.default_rng(d)
    r0, width = 3, d + 4
    stacked = rng.normal(size=(r0 + d + 2, width)) + 1j * rng.normal(size=(r0 + d + 2, width))
    A = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    M = A + A.conj().T
    stacked[r0 : r0 + d, :d] = M
    c = rng.normal(size=d) + 1j * rng.normal(size=d)
    expected = np.vdot(c, M @ c).real
    got = quadratic_form(stacked, r0, d, c)
    assert abs(got - expected) <= 1e-12 * np.abs(M).sum() * np.vdot(c, c).real


@pytest.mark.parametrize("d", [1, 3, 6, 8, 20])
def test_propagate_matches_libm_over_the_whole_range(d):
    # the kernel evaluates exp, cos and sin by its own range reduction and polynomials (so
    # that it vectorises); the reference is numpy's complex exponential.  Delays span short
    # waits, long ones (phases beyond the three-part pi/2 reduction limit of 1e5, where the
    # kernel falls back to libm) and decays that underflow
    rng = np.random.default_rng(d)
    lam = rng.normal(size=d) * 3.0 - 1j * rng.uniform(0.0, 2.0, size=d)
    lam[0] = lam[0].real  # a dark eigenvalue: |exp| = 1 for every delay
    phi = rng.normal(size=d) + 1j * rng.normal(size=d)
    out = np.empty(d, complex)
    delays = np.concatenate(
        [[0.0, 1e-300, 1e-8], rng.exponential(1.0, 300), rng.uniform(0, 3e4, 100), [1e5, 4e5]]
    )
    worst = 0.0
    for tau in delays:
        propagate(phi, lam, d, tau, out)
        exact = phi * np.exp(-1j * lam * tau)
        worst = max(worst, float(np.max(np.abs(out - exact) / np.abs(phi))))
    # both have errors of a few 1e-16 (seen: 2.3-3.7e-16); a wrong quadrant, a lost
    # reduction constant or a polynomial cut short gives 1e-9 or more
    assert worst < 1e-15, worst


def test_propagate_padding_keeps_zero_coefficients_zero():
    # the eigen propagators pass a length rounded up to LANES; the padding's coefficients
    # are zero and must stay zero whatever eigenvalues lie there (the next sector's)
    rng = np.random.default_rng(5)
    d = 6
    width = lanes(d)
    assert width % LANES == 0 and width >= d
    lam = rng.normal(size=width) - 1j * rng.uniform(0.0, 2.0, size=width)
    phi = np.zeros(width, complex)
    phi[:d] = rng.normal(size=d) + 1j * rng.normal(size=d)
    out = np.full(width, np.nan + 0j)
    propagate(phi, lam, width, 0.7, out)
    np.testing.assert_array_equal(out[d:], 0)
    np.testing.assert_allclose(out[:d], phi[:d] * np.exp(-1j * lam[:d] * 0.7), rtol=1e-15)


@nb.njit
def _first_jump(prop, ws, sec, state, jc, psi):
    """Delay of the first jump, the channel weights there, and the state after channel ``jc``
    (normalised reference state, computational basis, into ``psi``), the new sector, and the
    delay at which the reference state was last moved (0 unless the propagator's segments
    end before the jump: Krylov)."""
    st = state[0]
    k = st.sector
    delay = 0.0
    while True:
        tau, segment = find_jump(prop, ws, sec, st, k, np.inf)
        if tau <= segment:
            break
        move_reference(prop, ws, sec, st, k, segment)
        delay += segment
    st.work_tau = tau
    weights = np.zeros(sec.ch_bath.size)
    jump_weights(prop, ws, sec, st, k, tau, weights)
    k2 = apply_jump(prop, ws, sec, k, jc, weights[jc])
    state_at(prop, ws, sec, k2, 0.0, psi)
    return delay + tau, weights, k2, delay


@pytest.mark.parametrize(
    "propagator", ["eigen", "eigen-large", pytest.param("krylov", marks=pytest.mark.slow)]
)
def test_a_jump_gives_the_normalised_jumped_state(propagator):
    # one jump through the compiled protocol against scipy: the no-jump evolution
    # expm(-i H_eff tau) of the sector block, the jump block L_j applied to it and
    # normalised.  The eigen propagators normalise with the channel's weight instead of
    # recomputing the norm, so a wrong weight or normalisation shows up here
    model = qjump.PaperModel(N=2, dissipation="common", interaction="pairwise", omega_h=1.5)
    system = model_system(model)
    kind = PROPAGATORS[propagator]
    prop = kind.build(model)
    sec = sector_data(model)
    blocks = {(j, k): (k2, B.toarray()) for j, _, k, k2, B in system.ops.jump_blocks()}
    k, r = 2, 0.37
    H = system.spins.block(system.ops.H_eff, k, k).toarray()
    d = H.shape[0]
    rng = np.random.default_rng(11)
    vec = rng.normal(size=d) + 1j * rng.normal(size=d)
    vec /= np.linalg.norm(vec)
    sched = Schedule(0.0, 1.0, 1, 1.0, np.zeros(0))
    channels = [j for j in range(sec.ch_bath.size) if (j, k) in blocks]
    assert len(channels) == 4
    for jc in channels:
        ws = kind.workspace(prop, sec)
        kind.prepare(prop, ws, sec, k, vec)
        state = new_state(k, sched)
        state["target"] = r
        psi = np.zeros(int(sec.dims.max()), complex)
        tau, weights, k2, moved = _first_jump(prop, ws, sec, state, jc, psi)
        at_jump = la.expm(-1j * H * tau) @ vec
        assert abs(np.vdot(at_jump, at_jump).real - r) < 1e-8 * r
        # the weights are those of the state evolved from the (normalised) reference state
        reference_norm2 = np.linalg.norm(la.expm(-1j * H * moved) @ vec) ** 2
        for j in channels:
            L = blocks[j, k][1]
            expected_weight = np.linalg.norm(L @ at_jump) ** 2 / reference_norm2
            assert abs(weights[j] - expected_weight) < 1e-8 * expected_weight
        expected_k2, L = blocks[jc, k]
        assert k2 == expected_k2
        jumped = L @ at_jump
        jumped /= np.linalg.norm(jumped)
        got = psi[: jumped.size]
        # normalised to round-off, and the same ray (the eigen propagators shift each
        # sector's spectrum by a real constant: a global phase)
        assert abs(np.linalg.norm(got) - 1.0) < 1e-12
        assert abs(abs(np.vdot(jumped, got)) - 1.0) < 1e-10
