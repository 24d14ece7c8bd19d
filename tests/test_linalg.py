"""The exact solvers' linear algebra: flexible GMRES with deflated restarts, the
decoupled-ensembles inverse that preconditions it (single and double precision, eigen and
Schur paths, tilted and shifted) and the sector-parallel matrix-free Liouvillian, against
direct results."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as la
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import qjump
from qjump.liouville import decoupled
from qjump.liouville.decoupled import DecoupledInverse
from qjump.liouville.linalg import gmres
from qjump.liouville.liouvillian import BlockLiouvillian, block_liouvillian, liouvillian
from qjump.liouville.steady import steady_state
from qjump.system.context import model_system


def _slow_mode_system(n: int = 400, slow: int = 12, seed: int = 3):
    """A non-normal matrix with a cluster of eigenvalues near 1 and ``slow`` small ones: the
    spectrum that makes restarted GMRES rediscover the same modes every cycle."""
    rng = np.random.default_rng(seed)
    eig = 1.0 + 0.3 * (rng.uniform(-1, 1, n) + 1j * rng.uniform(-1, 1, n))
    eig[:slow] = np.geomspace(1e-3, 3e-2, slow) * np.exp(1j * rng.uniform(0, 2 * np.pi, slow))
    S = np.eye(n) + 0.2 * rng.standard_normal((n, n)) / np.sqrt(n)
    A = S @ np.diag(eig) @ np.linalg.inv(S)
    b = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    return A, b


@pytest.mark.parametrize(("restart", "deflate"), [(400, 0), (30, 10)])
def test_gmres_solves_to_the_requested_true_residual(restart, deflate):
    """Unrestarted GMRES (one cycle of 400 > n) and deflated GMRES(30) both reach the
    requested true residual, and their solution is the direct one."""
    A, b = _slow_mode_system()
    x, ok = gmres(A, b, lambda v: v, rtol=1e-12, restart=restart, deflate=deflate, maxiter=200)
    assert ok
    assert np.linalg.norm(b - A @ x) <= 1e-12 * np.linalg.norm(b)
    x_direct = la.solve(A, b)
    assert np.linalg.norm(x - x_direct) < 1e-8 * np.linalg.norm(x_direct)


def test_deflated_restarts_beat_plain_restarts_on_slow_modes():
    """Plain GMRES(30) stagnates on the slow modes (it rediscovers them every cycle); keeping
    10 harmonic Ritz vectors at each restart (GMRES-DR, Morgan 2002) converges, and in fewer
    iterations than plain restarts spend without converging."""
    A, b = _slow_mode_system()
    runs = {}
    for deflate in (0, 10):
        seen: list[tuple[int, float]] = []
        _, ok = gmres(
            A,
            b,
            lambda v: v,
            rtol=1e-10,
            restart=30,
            deflate=deflate,
            maxiter=20,
            callback=lambda it, res, seen=seen: seen.append((it, res)),
        )
        runs[deflate] = (ok, *seen[-1])
    ok, iterations, _ = runs[10]
    assert ok
    plain_ok, plain_iterations, plain_residual = runs[0]
    assert not plain_ok and plain_iterations > iterations
    assert plain_residual > 1e3 * 1e-10 * np.linalg.norm(b)


def test_flexible_gmres_keeps_double_precision_under_an_inexact_preconditioner():
    """A preconditioner that differs between calls (single precision plus noise): flexible
    GMRES still reaches a 1e-12 true residual, far below the preconditioner's own error."""
    A, b = _slow_mode_system()
    inverse = np.linalg.inv(A + 0.05 * np.eye(A.shape[0])).astype(np.complex64)
    rng = np.random.default_rng(0)

    def noisy(v):
        out = (inverse @ v.astype(np.complex64)).astype(complex)
        return out * (1 + 1e-3 * rng.standard_normal(out.size))

    x, ok = gmres(A, b, noisy, rtol=1e-12, restart=20, maxiter=100)
    assert ok
    assert np.linalg.norm(b - A @ x) <= 1e-12 * np.linalg.norm(b)


def test_gmres_stops_after_one_polishing_cycle_when_the_true_residual_cannot_follow():
    """An operator whose products carry 1e-9 of noise: the recurrence reaches rtol = 1e-13,
    the true residual cannot.  The solve ends after one plain cycle from the true residual
    (instead of cycling to maxiter) and reports that it did not converge."""
    A, b = _slow_mode_system()
    rng = np.random.default_rng(4)

    class Noisy:
        def __matmul__(self, x):
            y = A @ x
            return y + 1e-9 * np.linalg.norm(y) * rng.standard_normal(y.size)

    seen: list[tuple[int, float]] = []
    x, ok = gmres(
        Noisy(),
        b,
        lambda v: v,
        rtol=1e-13,
        restart=30,
        deflate=10,
        maxiter=200,
        callback=lambda it, res: seen.append((it, res)),
    )
    assert not ok
    assert len(seen) < 20  # far from the 200 cycles allowed
    assert seen[-1][0] - seen[-2][0] <= 30  # the last cycle is the one polishing cycle
    # and x is as good as the noise allows: within 10x the noise of one product A x
    assert np.linalg.norm(b - A @ x) < 10 * 1e-9 * np.linalg.norm(A, 2) * np.linalg.norm(x)


def test_gmres_returns_the_start_when_it_already_solves():
    A, b = _slow_mode_system(n=50)
    x0 = la.solve(A, b)
    x, ok = gmres(A, b, lambda v: v, rtol=1e-6, x0=x0)
    assert ok and np.array_equal(x, x0)


CASES = [
    ("independent", "pairwise", {}),
    ("common", "all-to-all", {}),
    ("cascaded", "pairwise", {}),
    # uneven temperatures, a zero-temperature bath and couplings off the defaults
    ("common", "pairwise", {"T_h": 0.7, "T_c": 0.0, "g_h": (0.3, 0.9), "omega_h": 2.2}),
    ("cascaded", "all-to-all", {"T_h": 5.0, "T_c": 0.4, "g_c": (1.1, 0.2)}),
]


@pytest.mark.parametrize(("dissipation", "interaction", "extra"), CASES)
def test_decoupled_inverse_inverts_the_liouvillian_without_the_interaction(
    dissipation, interaction, extra
):
    """The preconditioner of the steady state is the exact inverse of the Liouvillian with
    Omega = 0, assembled independently (``liouvillian`` of the model with ``Omega=0``): on
    its range ``L0 M y = y``, and the kernel (the product of the ensembles' steady states)
    is mapped to itself.  Also ``L - L0 = -i[H_I, .]``: the interaction is all it leaves
    out.  In single precision it is the inverse to ~1e-5.  With counting-field factors on
    the jump terms and a shift it inverts the shifted tilted generator."""
    model = qjump.PaperModel(
        N=2, dissipation=dissipation, interaction=interaction, Omega=0.3, **extra
    )
    uncoupled = model.replace(Omega=0.0)
    L0 = liouvillian(uncoupled)
    system = model_system(model)
    ops, space = system.ops, system.space
    H_I = ops.H_I.toarray()
    rng_state = np.random.default_rng(7)
    x = rng_state.standard_normal(space.size) + 1j * rng_state.standard_normal(space.size)
    full = space.full_matrix(x)
    commutator = space.join(
        [
            ops.spins.block(sp.csr_matrix(-1j * (H_I @ full - full @ H_I)), k, k).toarray()
            for k in range(len(space.dims))
        ]
    )
    # entries of x and of both generators are O(1), so round-off is ~1e-15; a term missing
    # from L0 (e.g. H_cas) would leave a difference of order its couplings, 0.1 or more
    np.testing.assert_allclose(liouvillian(model) @ x - L0 @ x, commutator, rtol=0, atol=1e-12)
    y = L0 @ x
    for single, bound in ((False, 1e-10), (True, 1e-4)):
        M = DecoupledInverse(system, single=single)
        assert np.linalg.norm(L0 @ M(y) - y) < bound * np.linalg.norm(y), single
    # collective decay at T = 0 is (numerically) defective: solved through Schur forms
    assert (M.schur_blocks > 0) == (extra.get("T_c") == 0.0)
    # tilted (counting statistics) and shifted: (L0(f) - sigma) M(y, sigma) = y
    factors = np.exp(0.4 * rng_state.standard_normal(len(system.ops.channels)))
    tilted = block_liouvillian(uncoupled).matrix(factors)
    sigma = 0.3 - 0.1j
    shifted = tilted - sigma * sp.identity(space.size)
    M = DecoupledInverse(system, single=False, factors=factors)
    assert np.linalg.norm(shifted @ M(x, sigma) - x) < 1e-10 * np.linalg.norm(x)
    if extra.get("T_c") != 0.0:  # at T = 0 the cold ensemble alone has a dark state
        rho = steady_state(uncoupled, method="dense").vector
        assert np.linalg.norm(DecoupledInverse(system, single=False)(rho) - rho) < 1e-10


def test_decoupled_inverse_precision_and_method_follow_the_conditioning(monkeypatch):
    """Blocks whose eigenvectors are worse conditioned than the single-precision limit run
    in double precision, and above the eigen limit through Schur forms; both are the exact
    inverse to round-off."""
    model = qjump.PaperModel(N=2, dissipation="cascaded", interaction="pairwise")
    system = model_system(model)
    M = DecoupledInverse(system)
    assert M.single_precision and M.schur_blocks == 0
    L0 = liouvillian(model.replace(Omega=0.0))
    rng = np.random.default_rng(3)
    y = L0 @ (rng.standard_normal(L0.shape[0]) + 1j * rng.standard_normal(L0.shape[0]))
    monkeypatch.setattr(decoupled, "SINGLE_PRECISION_CONDITION", 1.0)
    M = DecoupledInverse(system)
    assert not M.single_precision and M.schur_blocks == 0 and M.condition > 1.0
    assert np.linalg.norm(L0 @ M(y) - y) < 1e-10 * np.linalg.norm(y)
    monkeypatch.setattr(decoupled, "EIGEN_CONDITION", 1.0)
    M = DecoupledInverse(system)
    assert M.schur_blocks == 2 * model.N + 1
    assert np.linalg.norm(L0 @ M(y) - y) < 1e-10 * np.linalg.norm(y)


def test_sector_parallel_matvec_equals_the_sparse_matrix():
    """The matrix-free product with one and with two threads equals the assembled matrix
    (N = 5 is above the matrix-free limit, where the sectors run in parallel)."""
    model = qjump.PaperModel(N=5, dissipation="common", interaction="pairwise", omega_h=1.5)
    liouv = BlockLiouvillian(block_liouvillian(model).system)
    rng = np.random.default_rng(2)
    x = rng.standard_normal(liouv.space.size) + 1j * rng.standard_normal(liouv.space.size)
    reference = liouvillian(model) @ x
    for threads in (1, 2):
        with threadpool_limits(threads):
            y = liouv.matvec(x)
        assert np.linalg.norm(y - reference) < 1e-12 * np.linalg.norm(reference), threads


def test_gmres_steady_state_of_a_cold_equilibrium_is_gibbs_to_1e11():
    """Equal low temperatures (T = 0.5, omega = 2.35, N = 3) relax slowly, so a residual of
    1e-12 left the state 2e-10 off its Gibbs form; the default tolerance must reach 1e-11."""
    model = qjump.PaperModel(
        N=3,
        omega_h=2.35,
        omega_c=2.35,
        T_h=0.5,
        T_c=0.5,
        g_h=(0.8, 1.0, 0.5),
        g_c=(0.8, 1.0, 0.5),
        Omega=(0.16, 0.056, 0.16),
        dissipation="common",
        interaction="pairwise",
    )
    state = qjump.steady_state(model)
    assert state.method == "gmres"
    excitations = np.array([bin(i).count("1") for i in range(2 ** (2 * model.N))])
    gibbs = np.exp(-model.omega_h / model.T_h * excitations)
    np.testing.assert_allclose(state.full(), np.diag(gibbs / gibbs.sum()), atol=1e-11, rtol=0)
