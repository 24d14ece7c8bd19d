"""qjump against an independent dense transcription of the paper (tests/paper_reference.py).

* Liouvillian: Eq. (4) with Eqs. (10), (11) [common], (10)+(15) [cascaded], (10) only
  [independent], H_S of Eqs. (1), (7), (29)/(31).
* Steady state: null vector of the reference Liouvillian.
* Explicit current and coherence formulas (25)-(28), (32)-(39), (42)-(49), evaluated on
  qjump's steady state, against qjump.exact.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIO_IDS, SCENARIOS, exact_cached, paper_model
from paper_reference import PaperReference

import qjump
from qjump.liouville.liouvillian import full_liouvillian
from qjump.liouville.steady import commutant_is_trivial, exact_memory_estimate

OMEGAS = (0.5, 1.5, 2.5)

# Non-default parameters that make index mix-ups visible: unequal Omega entries (Omega_12 !=
# Omega_21), unequal couplings in the two baths, other temperatures.
ODD = dict(g_h=(0.3, 0.7), g_c=(0.45, 0.6), T_h=1.3, T_c=0.4, omega_c=0.8)
ODD_OMEGA = {"all-to-all": [[0.1, 0.07], [-0.05, 0.12]], "pairwise": [0.1, -0.07]}


def odd_model(dissipation, interaction, omega_h=1.7):
    return qjump.PaperModel(
        N=2,
        omega_h=omega_h,
        Omega=ODD_OMEGA[interaction],
        interaction=interaction,
        dissipation=dissipation,
        **ODD,
    )


# --------------------------------------------------------------------------- Liouvillian
@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
@pytest.mark.parametrize("which", ["paper", "odd"])
def test_liouvillian_equals_paper_N2(dissipation, interaction, which):
    if which == "paper":
        model = paper_model(dissipation, interaction, 1.5)
    else:
        model = odd_model(dissipation, interaction)
    ref = PaperReference.from_model(model)
    L_ref = ref.liouvillian()
    L_cols = ref.liouvillian_by_columns()  # built without any kron identity
    L_q = full_liouvillian(model).toarray()
    assert L_q.shape == (256, 256)
    np.testing.assert_allclose(L_ref, L_cols, rtol=0, atol=1e-13)
    np.testing.assert_allclose(L_q, L_ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
def test_liouvillian_equals_paper_N3(dissipation, interaction):
    """N = 3 (4096 x 4096): compare the action on random matrices with Eq. (4) applied directly.

    Agreement on generic random matrices is equivalent to equality of the superoperators
    (a difference would have to annihilate all probes, a measure-zero event).
    """
    Omega = (
        0.1
        if interaction == "pairwise"
        else [[0.1, 0.07, -0.03], [0.02, 0.12, 0.05], [-0.06, 0.04, 0.09]]
    )
    model = qjump.PaperModel(
        N=3,
        omega_h=1.3,
        T_h=1.7,
        T_c=0.6,
        g_h=(0.5, 0.55, 0.6),
        g_c=(0.4, 0.65, 0.3),
        Omega=Omega,
        interaction=interaction,
        dissipation=dissipation,
    )
    ref = PaperReference.from_model(model)
    L_q = full_liouvillian(model)
    assert L_q.shape == (4096, 4096)
    rng = np.random.default_rng(3)
    for _ in range(3):
        X = rng.normal(size=(64, 64)) + 1j * rng.normal(size=(64, 64))
        lhs = (L_q @ X.reshape(-1)).reshape(64, 64)
        np.testing.assert_allclose(lhs, ref.rhs(X), rtol=0, atol=1e-12 * np.abs(X).max() * 10)


def test_cascade_is_one_way():
    """Eq. (15) differs from Eq. (11): the common and cascaded Liouvillians are not equal, and
    the cascaded one changes when the order of the TLSs (their couplings) is reversed."""
    m = paper_model("cascaded", "pairwise", 1.5)
    L_cas = full_liouvillian(m).toarray()
    L_com = full_liouvillian(m.replace(dissipation="common")).toarray()
    assert np.abs(L_cas - L_com).max() > 1e-3
    ref = PaperReference.from_model(m)
    np.testing.assert_allclose(L_cas, ref.liouvillian(), atol=1e-12, rtol=0)


@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
def test_generator_controls_are_the_adjoint_of_the_paper_liouvillian(dissipation, interaction):
    """Each sampled control ``gen_<A>`` is ``L^dag(A)``: ``Tr[L^dag(A) rho] = Tr[A L(rho)]``
    for random (not block-diagonal) states, with ``L`` the reference transcription of Eq. (4),
    at odd parameters (N = 2) and at N = 1, where the controls that are combinations of
    others (``H0_i^2``, ``Gamma_i``) are left out."""
    from qjump.system.context import model_system

    rng = np.random.default_rng(17)
    for model in (odd_model(dissipation, interaction), paper_model(dissipation, interaction, 1.5)):
        ref = PaperReference.from_model(model)
        q = model_system(model).quantity_set("all", controls=True)
        assert len(q.control_names) == 10
        for _ in range(2):
            X = rng.normal(size=(16, 16)) + 1j * rng.normal(size=(16, 16))
            rho = X @ X.conj().T
            L_rho = ref.rhs(rho)
            for name in q.control_names:
                A = q.control_observable(name[4:]).toarray()
                G = q.operators[name].toarray()
                np.testing.assert_allclose(
                    np.trace(G @ rho), np.trace(A @ L_rho), rtol=1e-12, atol=1e-12, err_msg=name
                )
    one = qjump.PaperModel(N=1, dissipation=dissipation, interaction=interaction)
    assert model_system(one).quantities.control_names == [
        "gen_H0_h",
        "gen_H0_c",
        "gen_H_I",
        "gen_flow_h",
    ]


# --------------------------------------------------------------------------- steady state
@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
@pytest.mark.parametrize("omega_h", OMEGAS)
def test_steady_state_equals_reference_null_vector(dissipation, interaction, omega_h):
    model = paper_model(dissipation, interaction, omega_h)
    rho_ref, sv = PaperReference.from_model(model).steady_state()
    assert sv[-1] < 1e-12 and sv[-2] > 1e-8, "reference null space must be one-dimensional"
    ss = qjump.steady_state(model)
    np.testing.assert_allclose(ss.full(), rho_ref, rtol=0, atol=1e-10)
    assert ss.residual < 1e-10


@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
def test_steady_state_methods_agree(dissipation, interaction):
    """The GMRES path (auto for N >= 3) gives the dense path's state and currents (N = 2)."""
    model = paper_model(dissipation, interaction, 1.5)
    dense = qjump.steady_state(model, method="dense")
    it = qjump.steady_state(model, method="gmres")
    assert (dense.method, it.method) == ("dense", "gmres")
    assert it.residual < 1e-10
    np.testing.assert_allclose(it.vector, dense.vector, rtol=0, atol=1e-10)
    for key, value in qjump.exact(model, method="gmres").values.items():
        assert value == pytest.approx(exact_cached(model)[key], rel=1e-8, abs=1e-12), key


@pytest.mark.parametrize("method", ["dense", "gmres"])
def test_non_unique_steady_state_detected_by_both_methods(method):
    """Equal couplings with common dissipation: several stationary states (physics notes §1)."""
    model = paper_model("common", "pairwise", 1.5).replace(g_h=(0.5, 0.5), g_c=(0.5, 0.5))
    with pytest.raises(qjump.NonUniqueSteadyStateError, match="not unique"):
        qjump.steady_state(model, method=method)


@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
def test_uniqueness_certificate(dissipation, interaction):
    """The commutant certificate holds for the figure parameters (unique, reference null space
    one-dimensional) and fails for equal couplings under common dissipation (not unique)."""
    model = paper_model(dissipation, interaction, 1.5)
    assert commutant_is_trivial(model)
    assert qjump.steady_state(model, method="gmres").uniqueness == "commutant"
    equal = model.replace(g_h=(0.5, 0.5), g_c=(0.5, 0.5))
    _, sv = PaperReference.from_model(equal).steady_state()
    if sv[-2] < 1e-12:
        assert not commutant_is_trivial(equal)


def test_memory_guard_refuses_before_allocating():
    """N = 9 needs terabytes: refused with one line naming N, the estimate, the available
    memory and the alternative, before the block space (9e9 unknowns) exists."""
    model = qjump.PaperModel(N=9)
    assert exact_memory_estimate(model) > 2**40
    assert exact_memory_estimate(qjump.PaperModel(N=3)) < exact_memory_estimate(
        qjump.PaperModel(N=4)
    )
    for call in (lambda: qjump.exact(model), lambda: qjump.counting_statistics(model)):
        with pytest.raises(
            ValueError, match=r"^N: the exact solve of N = 9 needs about .*TiB"
        ) as e:
            call()
        assert "available; use trajectories" in str(e.value) and "\n" not in str(e.value)


def test_cli_exact_refuses_large_N(capsys):
    """``qjump exact --N 9`` ends with the one-line estimate and exit code 2, no traceback."""
    from qjump.cli import main

    assert main(["exact", "--N", "9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "instead of exact above N = " in err[0]


# --------------------------------------------------------------------------- explicit formulas
def _formulas(ref: PaperReference, rho: np.ndarray) -> dict[str, float]:
    """The paper's explicit formula for every key of qjump.exact (N = 2)."""
    d, it = ref.dissipation, ref.interaction
    out = {}
    for i in "hc":
        out[f"Q_{i}_loc"] = ref.Q_loc_eq25(rho, i)
        out[f"Q_{i}_nonloc"] = {
            "common": ref.Q_nonloc_eq26,
            "cascaded": ref.Q_nonloc_eq43,
            "independent": lambda r, b: 0.0,
        }[d](rho, i)
        out[f"Q_{i}"] = out[f"Q_{i}_loc"] + out[f"Q_{i}_nonloc"]
    out["W_loc"] = ref.W_loc_eq32(rho) if it == "all-to-all" else ref.W_loc_eq36(rho)
    if d == "common":
        out["W_nonloc"] = ref.W_nonloc_eq34(rho) if it == "all-to-all" else ref.W_nonloc_eq38(rho)
    elif d == "cascaded":
        out["W_nonloc"] = ref.W_nonloc_eq44(rho) if it == "all-to-all" else ref.W_nonloc_eq45(rho)
    else:
        out["W_nonloc"] = 0.0
    out["W"] = out["W_loc"] + out["W_nonloc"]
    out["C_loc"] = ref.C_loc_eq33(rho) if it == "all-to-all" else ref.C_loc_eq37(rho)
    if d == "cascaded":
        out["C_nonloc"] = ref.C_nonloc_eq46(rho) if it == "all-to-all" else ref.C_nonloc_eq47(rho)
        out["C_nonloc_product"] = (
            ref.C_product_type1_cascaded(rho) if it == "all-to-all" else ref.C_product_eq49(rho)
        )
    else:  # common and independent use the common-bath terms (qjump/observables.py)
        out["C_nonloc"] = ref.C_nonloc_eq35(rho) if it == "all-to-all" else ref.C_nonloc_eq39(rho)
        out["C_nonloc_product"] = (
            ref.C_product_type1_common(rho) if it == "all-to-all" else ref.C_product_eq48(rho)
        )
    out["energy"] = float(np.real(np.trace(ref.H_S() @ rho)))
    for i in "hc":
        for n in (1, 2):
            out[f"pop_{i}{n}"] = float(np.real(np.trace(ref.sp(i, n) @ ref.sm(i, n) @ rho)))
            out[f"sz_{i}{n}"] = float(np.real(np.trace(ref.sz(i, n) @ rho)))
    for n in (1, 2):
        for q in (1, 2):
            out[f"coh_h{n}c{q}"] = ref._pair(rho, "h", n, "c", q)
    return out


def _check_formulas(model):
    ref = PaperReference.from_model(model)
    rho = qjump.steady_state(model).full()
    r = exact_cached(model)
    expected = _formulas(ref, rho)
    assert set(expected) <= set(r.names)
    for key, val in expected.items():
        assert r[key] == pytest.approx(val, abs=1e-10, rel=0), key
    # the general-N forms (27)-(28) / (42) and the definitions Tr[H D(rho)] agree too
    W_nl_general = {
        "common": ref.W_nonloc_eq28,
        "cascaded": ref.W_nonloc_eq42,
        "independent": lambda r_: 0.0,
    }[model.dissipation](rho)
    assert r["W_loc"] == pytest.approx(ref.W_loc_eq27(rho), abs=1e-10, rel=0)
    assert r["W_nonloc"] == pytest.approx(W_nl_general, abs=1e-10, rel=0)
    for part, key in (("loc", "W_loc"), ("nonloc", "W_nonloc"), ("total", "W")):
        assert r[key] == pytest.approx(ref.work_by_definition(rho, part), abs=1e-10, rel=0)
    for i in "hc":
        for part, suffix in (("loc", "_loc"), ("nonloc", "_nonloc"), ("total", "")):
            assert r[f"Q_{i}{suffix}"] == pytest.approx(
                ref.heat_by_definition(rho, i, part), abs=1e-10, rel=0
            )
    return r


@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
@pytest.mark.parametrize("omega_h", OMEGAS)
def test_explicit_formulas_match_exact(dissipation, interaction, omega_h):
    r = _check_formulas(paper_model(dissipation, interaction, omega_h))
    # non-trivial values: a test of all-zero quantities would prove nothing
    assert abs(r["Q_h"]) > 1e-5 and abs(r["W_loc"]) > 1e-6 and abs(r["C_loc"]) > 1e-4
    if dissipation != "independent":
        assert abs(r["W_nonloc"]) > 1e-7 and abs(r["Q_h_nonloc"]) > 1e-6


@pytest.mark.parametrize(("dissipation", "interaction"), SCENARIOS, ids=SCENARIO_IDS)
def test_explicit_formulas_with_unequal_parameters(dissipation, interaction):
    """Same check with Omega_12 != Omega_21 and unequal g's: catches transposed indices."""
    _check_formulas(odd_model(dissipation, interaction))


def test_paper_eq45_as_printed_is_a_typo():
    """Eq. (45) printed with (s+_{h,1} s-_{h,2})_+ in the second term does not give the work
    current; the corrected operator (s+_{c,1} s-_{h,2})_+ does (checked above)."""
    model = paper_model("cascaded", "pairwise", 1.5)
    ref = PaperReference.from_model(model)
    rho = qjump.steady_state(model).full()
    hot = ref.Omega[1] * ref._dg("h") * ref._zpair(rho, "h", 2, "h", 1, "c", 2)
    cold = ref.Omega[1] * ref._dg("c") * ref._zpair(rho, "c", 2, "h", 1, "h", 2)
    printed = hot + cold
    assert abs(printed - exact_cached(model)["W_nonloc"]) > 1e-7
