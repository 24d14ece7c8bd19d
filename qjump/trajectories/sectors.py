"""Sector data of the jump engine: what the loop and every propagator read for one model.

Owns the one builder per kind of data, cached per model: channels and jump blocks
(:func:`channel_data`), those with the support of a selection of quantities
(:func:`sector_data`), eigendecompositions of the no-jump generator (:func:`eigen_data`) and
flat CSR storage of sparse sector blocks (:func:`csr_blocks`, :func:`csr_apply`).

Layout
------
The no-jump generator ``H_eff = H_S + H_cas - (i/2) sum_j L_j^dag L_j`` conserves the
excitation number, so a trajectory's state lives in one U(1) sector ``k`` of dimension
``d_k = C(2N, k)`` between jumps (physics notes §4); a jump maps sector ``k`` to ``k + 1``
(absorption) or ``k - 1`` (emission).  Arrays of all sectors are stacked: sector ``k`` of
a vector array occupies ``[loff[k], loff[k + 1])``, and of a matrix array (shape
``(loff[-1], dmax)``) the rows ``[loff[k], loff[k + 1])`` and columns ``[0, d_k)``.  The
compiled kernels take the whole array and the first row (a ``reshape`` of flat storage
costs a helper call, ~30 ns, several times per jump; a slice hides the contiguous rows
from the compiler).  Sparse blocks (jump operators ``L_j: k -> k'``, ``H_eff`` blocks) are
concatenated CSR arrays indexed by ``j * K + k``.
"""

from __future__ import annotations

import functools
from collections import namedtuple

import numba as nb
import numpy as np

from ..model import PaperModel
from ..system.context import model_system

__all__ = [
    "ABSORPTION",
    "EMISSION",
    "LANES",
    "MAX_CONDITION",
    "ChannelData",
    "CsrBlocks",
    "EigenData",
    "SectorData",
    "channel_data",
    "csr_apply",
    "csr_blocks",
    "eigen_data",
    "quantity_weights",
    "sector_data",
    "slope_matrix",
]

EMISSION, ABSORPTION = 0, 1
#: Maximum relative condition number accepted for a sector's eigenbasis.
MAX_CONDITION = 1e8
#: Vector lanes of the eigen propagators: their coefficient vectors are propagated over a
#: length rounded up to a multiple of ``LANES`` (zero coefficients past the sector), so that
#: LLVM's vectorised loop body runs in the small sectors too; the stacked eigenvalues end
#: with ``LANES - 1`` zeros for the last sector's padding.
LANES = 8

#: Concatenated CSR blocks; block ``q`` (``valid[q]``) has row pointers
#: ``rp[rp_off[q] : rp_off[q] + rows + 1]`` (relative to ``nz_off[q]``) into ``ix``/``val``.
CsrBlocks = namedtuple("CsrBlocks", "valid rp_off rp nz_off ix val")

#: Per-model channels and jump blocks (what the propagators and the jump records read).
_CHANNEL_FIELDS = [
    "dims",  # (K,) sector dimensions
    "ch_bath",  # (n_ch,) 0 = h, 1 = c
    "ch_kind",  # (n_ch,) EMISSION or ABSORPTION
    "ch_site",  # (n_ch,) site index, -1 for collective operators
    "omega",  # (2,) omega_h, omega_c
    "jumps",  # CsrBlocks of the jump operators, block j * K + k maps sector k
]
ChannelData = namedtuple("ChannelData", _CHANNEL_FIELDS)

#: Per-model and per-selection data shared by the loop and all propagators: the
#: :class:`ChannelData` fields and the support of the selected quantities.
SectorData = namedtuple(
    "SectorData",
    [
        *_CHANNEL_FIELDS,
        "sup_ptr",  # (K + 1,) support entries of sector k: sup_ptr[k]:sup_ptr[k + 1]
        "sup_a",  # row index (within the sector) of each support entry
        "sup_b",  # column index (within the sector)
        "sup_energy",  # weight of <H_S> on each support entry
        "support",  # block-vector position of each support entry (sorted by sector)
    ],
)

#: Eigendecompositions ``H_eff^(k) = V diag(lam) V^-1`` of every sector (stacked storage:
#: the matrices have shape ``(loff[-1], dmax)``, sector ``k`` in rows ``loff[k]:loff[k + 1]``).
EigenData = namedtuple(
    "EigenData",
    [
        "loff",  # (K + 1,) offsets of sector k in lam / dark and rows of V / Vinv / G / S / T
        "lam",  # eigenvalues, shifted by the mean real part of the sector (a global phase),
        # then LANES - 1 zeros
        "dark",  # eigenvalues with zero decay
        "V",
        "Vinv",
        "G",  # Gram matrices V^dag V
        "S",  # slope matrices i (conj(lam_a) - lam_b) G_ab
        "T",  # curvature matrices i (conj(lam_a) - lam_b) S_ab
        "condition",  # worst eigenbasis condition number
    ],
)


def csr_blocks(blocks, n_blocks: int) -> CsrBlocks:
    """Concatenate ``(q, scipy CSR block)`` pairs into :class:`CsrBlocks` (``q < n_blocks``)."""
    valid = np.zeros(n_blocks, bool)
    rp_off = np.zeros(n_blocks, np.int64)
    nz_off = np.zeros(n_blocks, np.int64)
    rps, ixs, vals = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, complex)]
    n_rp = n_nz = 0
    for q, B in blocks:
        valid[q] = True
        rp_off[q] = n_rp
        nz_off[q] = n_nz
        rps.append(B.indptr.astype(np.int64))
        ixs.append(B.indices.astype(np.int64))
        vals.append(B.data.astype(complex))
        n_rp += B.indptr.size
        n_nz += B.nnz
    return CsrBlocks(
        valid, rp_off, np.concatenate(rps), nz_off, np.concatenate(ixs), np.concatenate(vals)
    )


@nb.njit(cache=True)
def csr_apply(blocks, q, d_out, x, y):
    """``y = B_q x`` for block ``q`` of ``blocks`` (``d_out`` rows); returns ``||y||^2``."""
    rp0 = blocks.rp_off[q]
    nz0 = blocks.nz_off[q]
    rp, ix, val = blocks.rp, blocks.ix, blocks.val
    w = 0.0
    for a in range(d_out):
        u = 0j
        for p in range(rp[rp0 + a], rp[rp0 + a + 1]):
            u += val[nz0 + p] * x[ix[nz0 + p]]
        y[a] = u
        w += u.real**2 + u.imag**2
    return w


def _support_arrays(quantities, dims):
    """Support of the quantity functionals grouped by sector (see :class:`SectorData`).

    The support is sorted by block-vector position, which already groups it by sector (the
    blocks are stored in order of ``k``), so it keeps the order of
    :attr:`QuantitySet.support <qjump.system.quantities.QuantitySet.support>`.
    """
    space = quantities.space
    K = dims.size
    support, F = quantities.support_functionals
    sector_of = np.searchsorted(space.offsets, support, side="right") - 1
    local = support - space.offsets[sector_of]
    d_of = dims[sector_of]
    sup_ptr = np.searchsorted(sector_of, np.arange(K + 1)).astype(np.int64)
    energy_row = quantities.names.index("energy")
    sup_energy = np.asarray(F[energy_row].toarray()).ravel().astype(complex)
    sup_a = (local // d_of).astype(np.int64)
    sup_b = (local % d_of).astype(np.int64)
    return sup_ptr, sup_a, sup_b, sup_energy, support


@functools.lru_cache(maxsize=32)
def channel_data(model: PaperModel) -> ChannelData:
    """Channels and sparse jump blocks of ``model`` (cached)."""
    ops = model_system(model).ops
    dims = np.array(ops.spins.sector_dims, dtype=np.int64)
    K = dims.size
    chans = ops.channels
    jumps = csr_blocks(((j * K + k, Lb) for j, _, k, _, Lb in ops.jump_blocks()), len(chans) * K)
    return ChannelData(
        dims=dims,
        ch_bath=np.array([0 if c.bath == "h" else 1 for c in chans], np.int64),
        ch_kind=np.array(
            [ABSORPTION if c.kind == "absorption" else EMISSION for c in chans], np.int64
        ),
        ch_site=np.array([-1 if c.site is None else c.site for c in chans], np.int64),
        omega=np.array([model.omega_h, model.omega_c]),
        jumps=jumps,
    )


@functools.lru_cache(maxsize=32)
def sector_data(model: PaperModel, quantities: str = "all") -> SectorData:
    """Channels, jump blocks and the support of the ``quantities`` selection and the generator
    controls (cached)."""
    ch = channel_data(model)
    sup_ptr, sup_a, sup_b, sup_energy, support = _support_arrays(
        model_system(model).quantity_set(quantities, controls=True), ch.dims
    )
    return SectorData(
        **ch._asdict(),
        sup_ptr=sup_ptr,
        sup_a=sup_a,
        sup_b=sup_b,
        sup_energy=sup_energy,
        support=support,
    )


@functools.lru_cache(maxsize=8)
def quantity_weights(model: PaperModel, quantities: str = "all") -> np.ndarray:
    """``(n_support, n_quantities)`` weights: quantity ``q`` of a state ``rho`` given on the
    support (in :class:`SectorData` order) is ``Re sum_p W[p, q] rho_p``; the quantities are
    the ``sampled_names`` of ``model_system(model).quantity_set(quantities, controls=True)``."""
    F = model_system(model).quantity_set(quantities, controls=True).support_functionals[1]
    return np.ascontiguousarray(F.T.toarray().astype(complex))


def slope_matrix(lam: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``i (conj(lambda_a) - lambda_b) M_ab``: with ``M = G`` the slope matrix ``S`` of
    ``n'(tau) = c^dag S c``, with ``M = S`` the curvature matrix ``T`` of ``n''(tau)``."""
    return 1j * (lam.conj()[:, None] - lam[None, :]) * M


@functools.lru_cache(maxsize=8)
def eigen_data(model: PaperModel) -> EigenData:
    """Eigendecomposition of ``H_eff`` in every sector (cached).

    Raises
    ------
    ValueError
        If a sector's ``H_eff`` is too close to defective for an accurate eigenbasis.
    """
    ops = model_system(model).ops
    spins = ops.spins
    dims = np.array(spins.sector_dims, dtype=np.int64)
    loff = np.concatenate([[0], np.cumsum(dims)]).astype(np.int64)
    dmax = int(dims.max())
    lam = np.zeros(loff[-1] + LANES - 1, complex)
    dark = np.zeros(loff[-1], bool)
    V = np.zeros((loff[-1], dmax), complex)
    Vinv = np.zeros((loff[-1], dmax), complex)
    G = np.zeros((loff[-1], dmax), complex)
    S = np.zeros((loff[-1], dmax), complex)
    T = np.zeros((loff[-1], dmax), complex)
    worst = 1.0
    rate_scale = max(float(np.abs(ops.decay.diagonal()).max()), 1e-300)
    for k in range(dims.size):
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
        # a real shift of a sector's spectrum is a global phase: it changes no norm and no
        # |psi><psi|, and it keeps the phases small
        rows = slice(loff[k], loff[k + 1])
        lam[rows] = w - np.mean(w.real)
        dark[rows] = w.imag > -1e-13 * rate_scale
        V[rows, : dims[k]] = v
        Vinv[rows, : dims[k]] = np.linalg.inv(v)
        gram = v.conj().T @ v
        G[rows, : dims[k]] = gram
        slope = slope_matrix(lam[rows], gram)
        S[rows, : dims[k]] = slope
        T[rows, : dims[k]] = slope_matrix(lam[rows], slope)
    return EigenData(loff, lam, dark, V, Vinv, G, S, T, float(worst))
