"""PaperModel: input validation (messages name the parameter and the value), aliases,
defaults, immutability."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import qjump


@pytest.mark.parametrize(
    ("kwargs", "name", "shown"),
    [
        (dict(g_h=[0.5]), "g_h", "0.5"),
        (dict(g_c=[0.5, 0.55, 0.6]), "g_c", "0.6"),
        (dict(g_h=[0.5, -0.1]), "g_h", "-0.1"),
        (dict(g_c=-0.2), "g_c", "-0.2"),
        (dict(omega_h=math.nan), "omega_h", "nan"),
        (dict(omega_c=math.nan), "omega_c", "nan"),
        (dict(omega_h=0.0), "omega_h", "0"),
        (dict(omega_c=-1.0), "omega_c", "-1"),
        (dict(omega_h=math.inf), "omega_h", "inf"),
        (dict(T_h=-0.5), "T_h", "-0.5"),
        (dict(T_c=-1e-3), "T_c", "-0.001"),
        (dict(T_c=math.nan), "T_c", "nan"),
        (dict(N=2.5), "N", "2.5"),
        (dict(N=0), "N", "0"),
        (dict(N=-1), "N", "-1"),
        (dict(dissipation="global"), "dissipation", "global"),
        (dict(interaction="star"), "interaction", "star"),
        (dict(interaction="3"), "interaction", "3"),
        (dict(Omega=[0.1, 0.2, 0.3]), "Omega", "(3,)"),
        (dict(Omega=[[0.1, 0.2], [0.3, 0.4]]), "Omega", "(2, 2)"),
        (dict(Omega=[0.1, 0.2], interaction="all-to-all"), "Omega", "(2,)"),
        (dict(Omega=[[0.1, 0.2, 0.3]] * 2, interaction="all-to-all"), "Omega", "(2, 3)"),
        (dict(Omega=math.nan), "Omega", "nan"),
    ],
)
def test_bad_input_names_parameter_and_value(kwargs, name, shown):
    with pytest.raises(ValueError) as info:
        qjump.PaperModel(**kwargs)
    msg = str(info.value)
    assert name in msg
    assert shown in msg


def test_omega_zero_is_invalid_but_temperature_zero_is_valid():
    with pytest.raises(ValueError, match="omega_c"):
        qjump.PaperModel(omega_c=0)
    m = qjump.PaperModel(T_h=0, T_c=0.0)
    assert m.n_h == 0.0 and m.n_c == 0.0


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("ind", "independent"),
        ("com", "common"),
        ("cas", "cascaded"),
        ("independent", "independent"),
        ("common", "common"),
        ("cascaded", "cascaded"),
    ],
)
def test_dissipation_aliases(alias, canonical):
    m = qjump.PaperModel(dissipation=alias)
    assert m.dissipation == canonical
    assert m == qjump.PaperModel(dissipation=canonical)


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        (1, "all-to-all"),
        (2, "pairwise"),
        ("1", "all-to-all"),
        ("2", "pairwise"),
        ("all-to-all", "all-to-all"),
        ("pairwise", "pairwise"),
    ],
)
def test_interaction_aliases(alias, canonical):
    assert qjump.PaperModel(interaction=alias).interaction == canonical


@pytest.mark.parametrize(
    ("d", "i", "label"),
    [("ind", 1, "ind(1)"), ("com", 2, "com(2)"), ("cas", "1", "cas(1)"), ("cas", 2, "cas(2)")],
)
def test_label(d, i, label):
    assert qjump.PaperModel(dissipation=d, interaction=i).label == label


def test_defaults():
    m = qjump.PaperModel()
    assert (m.N, m.omega_h, m.omega_c, m.T_h, m.T_c) == (2, 1.5, 1.0, 2.0, 1.0)
    assert m.g_h == (0.5, 0.55) and m.g_c == (0.5, 0.55)
    assert m.interaction == "pairwise" and m.dissipation == "common"
    np.testing.assert_array_equal(m.Omega_matrix, np.diag([0.1, 0.1]))
    m3 = qjump.PaperModel(N=3)
    assert m3.g_h == pytest.approx((0.5, 0.55, 0.6), abs=1e-15)
    assert m3.g_c == pytest.approx((0.5, 0.55, 0.6), abs=1e-15)
    a2a = qjump.PaperModel(interaction=1)
    np.testing.assert_array_equal(a2a.Omega_matrix, np.full((2, 2), 0.1))


def test_bose_occupations():
    m = qjump.PaperModel(omega_h=1.5, T_h=2.0, omega_c=1.0, T_c=1.0)
    assert m.n_h == pytest.approx(1 / (math.exp(0.75) - 1), rel=1e-14)
    assert m.n_c == pytest.approx(1 / (math.e - 1), rel=1e-14)


def test_omega_shapes_accepted():
    m = qjump.PaperModel(Omega=[0.1, -0.2])
    np.testing.assert_array_equal(m.Omega_matrix, np.diag([0.1, -0.2]))
    M = [[0.1, 0.2], [0.3, 0.4]]
    m = qjump.PaperModel(Omega=M, interaction="all-to-all")
    np.testing.assert_array_equal(m.Omega_matrix, np.array(M))
    assert qjump.PaperModel(g_h=0.3).g_h == (0.3, 0.3)


def test_frozen():
    m = qjump.PaperModel()
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.omega_h = 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.N = 3
    assert m.omega_h == 1.5


def test_replace_validates_and_copies():
    m = qjump.PaperModel()
    m2 = m.replace(omega_h=2.5, dissipation="cas")
    assert (m2.omega_h, m2.dissipation) == (2.5, "cascaded")
    assert (m.omega_h, m.dissipation) == (1.5, "common")
    with pytest.raises(ValueError, match="omega_h"):
        m.replace(omega_h=-1.0)
    m3 = m.replace(N=3)
    assert m3.g_h == pytest.approx((0.5, 0.55, 0.6), abs=1e-15)
    assert m3.Omega_matrix.shape == (3, 3)
