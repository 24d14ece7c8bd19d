"""Exact full counting statistics (qjump.liouville.fcs, physics notes §6)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from paper_reference import PaperReference, TiltedReference

import qjump
from qjump.liouville.fcs import (
    CountingField,
    counting_statistics,
    cumulants,
    gallavotti_cohen_violation,
    scgf,
    tilted_liouvillian,
)
from qjump.liouville.liouvillian import block_liouvillian, full_liouvillian, liouvillian
from qjump.results import CountingStatistics, gallavotti_cohen_affinity

SCENARIOS = [
    (d, i) for d in ("independent", "common", "cascaded") for i in ("all-to-all", "pairwise")
]
SCENARIO_IDS = [f"{d[:3]}({1 if i == 'all-to-all' else 2})" for d, i in SCENARIOS]


def _model(dissipation: str, interaction: str, **kw) -> qjump.PaperModel:
    return qjump.PaperModel(dissipation=dissipation, interaction=interaction, **kw)


def _stencil(order: int, half: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Central finite-difference weights on offsets ``-half..half`` (exact to degree 2 half)."""
    j = np.arange(-half, half + 1, dtype=float)
    V = np.vander(j, increasing=True).T  # V[p, m] = j_m^p
    rhs = np.zeros(j.size)
    rhs[order] = math.factorial(order)
    return j, np.linalg.solve(V, rhs)


def _finite_difference_cumulants(model, h: float = 0.02, **kw) -> tuple[float, float, float]:
    """theta'(0), theta''(0), theta'''(0) from 9-point stencils of the SCGF."""
    j, _ = _stencil(1)
    theta = scgf(model, j * h, **kw)
    return tuple(float(_stencil(n)[1] @ theta / h**n) for n in (1, 2, 3))


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


# ---------------------------------------------------------------------------- construction
@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_forms_of_the_block_liouvillian_agree(scenario):
    """Sparse matrix, no-jump + jump parts, matrix-free action and tilted generator at s = 0
    are one Liouvillian; the block form is the full-space one restricted to the blocks."""
    m = _model(*scenario)
    liouv = block_liouvillian(m)
    L = liouvillian(m)
    eye = np.eye(len(liouv.channels))
    parts = liouv.no_jump_matrix() + sum(liouv.jump_matrix(row) for row in eye)
    assert abs(parts - L).max() < 1e-14
    assert abs(tilted_liouvillian(m, 0.0) - L).max() < 1e-14
    # trace of the tilted generator at s = 0 is preserved: w^T L = 0
    w = liouv.space.trace_vector
    assert np.max(np.abs(w @ tilted_liouvillian(m, 0.0))) < 1e-14
    rng = np.random.default_rng(5)
    x = rng.normal(size=L.shape[0]) + 1j * rng.normal(size=L.shape[0])
    np.testing.assert_allclose(liouv @ x, L @ x, rtol=0, atol=1e-13)
    f = np.exp(0.37 * np.array([ch.quanta for ch in liouv.channels]))
    np.testing.assert_allclose(liouv.matvec(x, f), liouv.matrix(f) @ x, rtol=0, atol=1e-13)
    # embed the block vector as a full density matrix, apply the full-space Liouvillian
    space = liouv.space
    full = full_liouvillian(m) @ space.full_matrix(x).reshape(-1)
    np.testing.assert_allclose(full, space.full_matrix(L @ x).reshape(-1), rtol=0, atol=1e-13)


# ---------------------------------------------------------------------------- 1. cumulants
@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_cumulants_match_finite_differences(scenario):
    m = _model(*scenario, omega_h=1.5)
    k = cumulants(m)
    fd = _finite_difference_cumulants(m)
    print(f"{m.label}: perturbative {tuple(k)}, finite differences {fd}")
    assert _rel(fd[0], k.mean) < 1e-6
    assert _rel(fd[1], k.diffusion) < 1e-6
    assert _rel(fd[2], k.skewness) < 1e-4


def test_cumulants_match_finite_differences_n3():
    m = qjump.PaperModel(N=3, dissipation="cascaded", interaction="pairwise")
    k = cumulants(m)
    fd = _finite_difference_cumulants(m)  # size 924: the sparse shift-invert path
    assert _rel(fd[0], k.mean) < 1e-6
    assert _rel(fd[1], k.diffusion) < 1e-6
    assert _rel(fd[2], k.skewness) < 1e-4


def test_cold_bath_and_weighted_cumulants():
    m = _model("common", "pairwise")
    kc = cumulants(m, "c")
    fd = _finite_difference_cumulants(m, bath="c")
    assert _rel(fd[0], kc.mean) < 1e-6
    assert _rel(fd[1], kc.diffusion) < 1e-6
    assert _rel(fd[2], kc.skewness) < 1e-4
    # every quantum crosses the machine: K_c = -K_h in the long run (same diffusion)
    kh = cumulants(m, "h")
    assert _rel(-kc.mean, kh.mean) < 1e-10
    assert _rel(kc.diffusion, kh.diffusion) < 1e-8
    # weights scale the cumulants by omega^n
    st = counting_statistics(m, "h")
    kw = cumulants(m, weights=CountingField.heat(m, "h"))
    assert _rel(kw.mean, st.heat_mean) < 1e-12
    assert _rel(kw.diffusion, st.heat_diffusion) < 1e-12
    assert _rel(kw.skewness, st.heat_skewness) < 1e-10
    assert cumulants(m, weights={"h": 1.0}) == kh


def test_sparse_and_dense_scgf_agree():
    m = _model("cascaded", "all-to-all")
    s = np.linspace(-2.0, 2.0, 9)
    dense = scgf(m, s, method="dense")
    sparse = scgf(m, s, method="sparse")
    np.testing.assert_allclose(sparse, dense, rtol=0, atol=1e-12)
    assert scgf(m, 0.0) == pytest.approx(0.0, abs=1e-14)
    assert isinstance(scgf(m, 0.3), float)


# ---------------------------------------------------------------------------- 2. heat mean
@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_heat_mean_equals_exact_current(scenario):
    m = _model(*scenario)
    ex = qjump.exact(m)
    for bath in ("h", "c"):
        st = counting_statistics(m, bath)
        assert _rel(st.heat_mean, ex[f"Q_{bath}"]) < 1e-10


# ---------------------------------------------------------------------------- 3. GC symmetry
@pytest.mark.parametrize("dissipation", ["independent", "common"])
@pytest.mark.parametrize("interaction", ["all-to-all", "pairwise"])
@pytest.mark.parametrize("omega_h", [0.5, 1.5, 2.5])
def test_gallavotti_cohen_symmetry(dissipation, interaction, omega_h):
    m = _model(dissipation, interaction, omega_h=omega_h)
    A = gallavotti_cohen_affinity(m)
    assert A == pytest.approx(1.0 - omega_h / 2.0)
    assert gallavotti_cohen_violation(m) < 1e-10
    # theta(-A) = 0: exp(-A K) is the exponentiated entropy production
    assert abs(scgf(m, -A)) < 1e-12


@pytest.mark.parametrize("interaction", ["all-to-all", "pairwise"])
def test_gallavotti_cohen_violated_by_cascade(interaction, tilted_reference):
    """The cascade breaks the exchange symmetry by a definite amount: qjump's violation
    equals the one of the independent tilted Liouvillian on the same grid (the values are
    1.8e-3 for cas(1) and 4.5e-4 for cas(2) at omega_h = 1.5)."""
    m = _model("cascaded", interaction, omega_h=1.5)
    ref = tilted_reference(m)
    A = gallavotti_cohen_affinity(m)
    grid = np.linspace(-1.0, 1.0, 21)
    a, b = ref.scgf(grid), ref.scgf(-A - grid)
    expected = np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)))
    violation = gallavotti_cohen_violation(m)
    print(f"{m.label}: GC violation {violation:.6e}, reference {expected:.6e}")
    assert expected > 1e-4  # a real violation, far above round-off
    assert violation == pytest.approx(expected, rel=1e-6)
    t = scgf(m, [0.7, -A - 0.7])
    np.testing.assert_allclose(t, ref.scgf([0.7, -A - 0.7]), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------- 3b. reference
@pytest.fixture(scope="module")
def tilted_reference():
    """Independent tilted Liouvillians (tests/paper_reference.py), one per model."""
    cache = {}

    def get(m, bath="h"):
        if (m, bath) not in cache:
            cache[(m, bath)] = TiltedReference(PaperReference.from_model(m), bath)
            assert cache[(m, bath)].leak == 0.0
        return cache[(m, bath)]

    return get


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_scgf_and_cumulants_match_independent_tilted_liouvillian(scenario, tilted_reference):
    """SCGF at several s and the three cumulants against the column-by-column tilted
    Liouvillian of the paper's dissipators (finite differences of its own SCGF)."""
    m = _model(*scenario, omega_h=1.5)
    ref = tilted_reference(m)
    s = np.array([-1.2, -0.4, 0.3, 0.9])
    np.testing.assert_allclose(scgf(m, s), ref.scgf(s), rtol=0, atol=1e-12)
    k = cumulants(m)
    fd = ref.cumulants()
    assert _rel(k.mean, fd[0]) < 1e-7
    assert _rel(k.diffusion, fd[1]) < 1e-7
    assert _rel(k.skewness, fd[2]) < 1e-4
    if scenario[0] != "cascaded":
        A = gallavotti_cohen_affinity(m)
        np.testing.assert_allclose(ref.scgf(s), ref.scgf(-A - s), rtol=0, atol=1e-12)


def test_cold_bath_scgf_matches_independent_tilted_liouvillian(tilted_reference):
    m = _model("cascaded", "all-to-all", omega_h=2.5)
    ref = tilted_reference(m, "c")
    s = np.array([-0.8, 0.5])
    np.testing.assert_allclose(scgf(m, s, "c"), ref.scgf(s), rtol=0, atol=1e-12)
    assert _rel(cumulants(m, "c").diffusion, ref.cumulants()[1]) < 1e-7


# ---------------------------------------------------------------------------- 4. closed form
def _dense_tilted_n1(m: qjump.PaperModel, s: float, bath: str) -> np.ndarray:
    """Full 16 x 16 tilted Liouvillian of N = 1, written out independently (row-major)."""
    sm = np.array([[0.0, 1.0], [0.0, 0.0]])  # |0><1|, |1> excited
    eye2 = np.eye(2)
    ops = {"h": np.kron(sm, eye2), "c": np.kron(eye2, sm)}
    H = sum(
        w * o.T @ o for w, o in ((m.omega_h, ops["h"]), (m.omega_c, ops["c"]))
    ) + m.Omega_matrix[0, 0] * (ops["h"].T @ ops["c"] + ops["c"].T @ ops["h"])
    eye = np.eye(4)
    L = -1j * (np.kron(H, eye) - np.kron(eye, H.T))
    for b in ("h", "c"):
        _, _, nbar, g = m.bath(b)
        for op, rate, nu in ((ops[b], nbar + 1.0, -1), (ops[b].T, nbar, +1)):
            A = math.sqrt(rate) * g[0] * op
            AdA = A.conj().T @ A
            tilt = math.exp(s * nu) if b == bath else 1.0
            L = L + tilt * np.kron(A, A.conj()) - 0.5 * np.kron(AdA, eye)
            L = L - 0.5 * np.kron(eye, AdA.T)
    return L


def test_single_tls_two_state_formula():
    m = qjump.PaperModel(N=1, Omega=0.0, dissipation="independent", g_h=0.5, g_c=0.5)
    a, e = 0.25 * m.n_h, 0.25 * (m.n_h + 1.0)
    s = np.linspace(-2.0, 2.0, 11)
    ref = [
        np.max(np.linalg.eigvals([[-a, e * np.exp(-ss)], [a * np.exp(ss), -e]]).real) for ss in s
    ]
    np.testing.assert_allclose(scgf(m, s), ref, rtol=0, atol=1e-12)
    k = cumulants(m)
    assert abs(k.mean) < 1e-14


@pytest.mark.parametrize("dissipation", ["independent", "common", "cascaded"])
@pytest.mark.parametrize("bath", ["h", "c"])
def test_n1_against_independent_dense_construction(dissipation, bath):
    m = qjump.PaperModel(
        N=1,
        Omega=0.3,
        omega_h=1.7,
        omega_c=0.8,
        T_h=1.3,
        T_c=0.4,
        g_h=0.45,
        g_c=0.7,
        dissipation=dissipation,
    )
    s = np.linspace(-1.5, 1.5, 7)
    ref = [np.max(np.linalg.eigvals(_dense_tilted_n1(m, ss, bath)).real) for ss in s]
    np.testing.assert_allclose(scgf(m, s, bath), ref, rtol=0, atol=1e-12)
    assert abs(cumulants(m, bath).mean) > 1e-3  # a genuinely driven case


# ---------------------------------------------------------------------------- 5. work
@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_work_counting_mean(scenario):
    m = _model(*scenario)
    W = qjump.exact(m)["W"]
    k = cumulants(m, weights={"h": -m.omega_h, "c": -m.omega_c})
    assert _rel(k.mean, W) < 1e-10
    assert cumulants(m, weights=CountingField.work(m)) == k


# ---------------------------------------------------------------------------- 6. TUR
@pytest.mark.parametrize("omega_h", [0.5, 1.5, 2.5])
@pytest.mark.parametrize(
    "scenario",
    [("independent", "all-to-all"), ("common", "pairwise"), ("cascaded", "all-to-all")],
    ids=["ind(1)", "com(2)", "cas(1)"],
)
def test_tur_ratio_equals_independent_value(scenario, omega_h, tilted_reference):
    """(D/J^2) sigma/2 from the reference: J, D by finite differences of the independent
    SCGF, sigma from the reference steady state and the heat by definition Tr[H0 D(rho)]."""
    m = _model(*scenario, omega_h=omega_h)
    ref = tilted_reference(m)
    J, D, _ = ref.cumulants()
    paper = ref.ref
    rho, _ = paper.steady_state()
    sigma = -sum(paper.heat_by_definition(rho, i) / paper.T[i] for i in "hc")
    expected = D / J**2 * sigma / 2.0
    ratio = counting_statistics(m).tur_ratio
    print(f"{m.label}: TUR ratio {ratio:.6f}, reference {expected:.6f}")
    assert ratio == pytest.approx(expected, rel=1e-6)
    assert ratio > 1.0  # the classical bound holds for these parameters


# ---------------------------------------------------------------------------- API
def test_counting_statistics_dataclass_and_table_values():
    m = _model("independent", "all-to-all", omega_h=1.5)
    st = counting_statistics(m, "h", scgf_grid=[-0.5, 0.0, 0.5])
    assert isinstance(st, CountingStatistics)
    d = st.to_dict()
    assert set(d) == {
        "bath",
        "quanta_mean",
        "quanta_diffusion",
        "quanta_skewness",
        "heat_mean",
        "heat_diffusion",
        "heat_skewness",
        "tur_ratio",
        "scgf",
        "method",
    }
    assert d["scgf"][1] == [0.0, pytest.approx(0.0, abs=1e-14)]
    assert st.heat_diffusion == pytest.approx(1.5**2 * st.quanta_diffusion, rel=1e-14)
    # physics notes §5 table (3 significant digits, so half a unit in the last place):
    # ind(1): Q_h = 5.13e-3, D_h = 6.18e-2; com(2): Q_h = 2.33e-3, D_h = 2.83e-2
    assert st.heat_mean == pytest.approx(5.13e-3, abs=5e-6)
    assert st.heat_diffusion == pytest.approx(6.18e-2, abs=5e-5)
    com2 = counting_statistics(_model("common", "pairwise", omega_h=1.5))
    assert com2.heat_mean == pytest.approx(2.33e-3, abs=5e-6)
    assert com2.heat_diffusion == pytest.approx(2.83e-2, abs=5e-5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        st.bath = "c"


def test_bad_input():
    m = _model("common", "pairwise")
    with pytest.raises(ValueError, match="bath"):
        counting_statistics(m, "x")
    with pytest.raises(ValueError, match="weights"):
        cumulants(m, weights={"x": 1.0})
    with pytest.raises(ValueError, match="method"):
        scgf(m, 0.1, method="magic")
    with pytest.raises(ValueError, match="T_h > 0"):
        gallavotti_cohen_affinity(m.replace(T_c=0.0))


@pytest.mark.parametrize("method", ["sparse", "gmres"])
def test_solver_methods_agree(method):
    """The sparse-LU and GMRES paths (auto for N >= 3, forced here on N = 2) agree with the
    dense one."""
    m = _model("common", "all-to-all")
    s = [-0.8, 0.1, 0.6]
    k_dense, t_dense = cumulants(m, method="dense"), scgf(m, s, method="dense")
    k, t = cumulants(m, method=method), scgf(m, s, method=method)
    np.testing.assert_allclose(k, k_dense, rtol=1e-9)
    np.testing.assert_allclose(t, t_dense, rtol=0, atol=1e-11)
    st = counting_statistics(m, "c", scgf_grid=s, method=method)
    assert st.quanta_mean == pytest.approx(cumulants(m, "c", method="dense").mean, rel=1e-9)


def test_bad_method():
    m = _model("common", "pairwise")
    for call in (
        lambda: scgf(m, 0.1, method="magic"),
        lambda: cumulants(m, method="lu"),
        lambda: counting_statistics(m, method="exact"),
        lambda: qjump.steady_state(m, method="sparse"),
    ):
        with pytest.raises(ValueError, match=r"^method: expected one of 'auto'"):
            call()
