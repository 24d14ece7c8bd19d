"""Jump records and window summaries as pandas DataFrames (documented schemas).

Window summary (:func:`window_frame`), one row per trajectory and window:

=================  =========================================================================
column             meaning
=================  =========================================================================
``trajectory``     trajectory id (int)
``window``         window index (int), windows tile ``[burn_in, t_final]``
``t_start``        window start time
``t_end``          window end time
``absorbed_h``     absorptions from the hot bath (quanta taken from it)
``emitted_h``      emissions into the hot bath
``absorbed_c``     absorptions from the cold bath
``emitted_c``      emissions into the cold bath
``quanta_h``       net quanta from the hot bath ``absorbed_h - emitted_h``
``quanta_c``       net quanta from the cold bath
``heat_h``         heat from the hot bath ``omega_h quanta_h`` (positive into the system)
``heat_c``         heat from the cold bath ``omega_c quanta_c``
``energy_start``   conditional energy ``<H_S>`` at ``t_start``
``energy_end``     conditional energy ``<H_S>`` at ``t_end``
``work``           stochastic first law ``energy_end - energy_start - heat_h - heat_c``
=================  =========================================================================

Jump records (:func:`record_frame`), one row per jump after the burn-in:

================  ==========================================================================
column            meaning
================  ==========================================================================
``trajectory``    trajectory id
``time``          jump time
``bath``          ``"h"`` or ``"c"`` (categorical)
``kind``          ``"absorption"`` (quantum from the bath) or ``"emission"`` (categorical)
``channel``       ``"1".."N"`` (site, independent dissipation) or ``"collective"``
``heat``          ``+omega_i`` for an absorption, ``-omega_i`` for an emission
================  ==========================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import PaperModel
from .sectors import channel_data
from .trajectory import TrajectoryOutput, TrajectorySpec

__all__ = ["WINDOW_COLUMNS", "RECORD_COLUMNS", "check_ids", "record_frame", "window_frame"]

WINDOW_COLUMNS = [
    "trajectory",
    "window",
    "t_start",
    "t_end",
    "absorbed_h",
    "emitted_h",
    "absorbed_c",
    "emitted_c",
    "quanta_h",
    "quanta_c",
    "heat_h",
    "heat_c",
    "energy_start",
    "energy_end",
    "work",
]
RECORD_COLUMNS = ["trajectory", "time", "bath", "kind", "channel", "heat"]


def check_ids(ids: list[int], outputs: list[TrajectoryOutput]) -> None:
    """Raise ``ValueError`` unless there is one trajectory id per output."""
    if len(ids) != len(outputs):
        raise ValueError(f"ids: {len(ids)} ids for {len(outputs)} trajectory outputs")


def window_frame(
    model: PaperModel, spec: TrajectorySpec, ids: list[int], outputs: list[TrajectoryOutput]
) -> pd.DataFrame:
    """Window summaries of several trajectories (schema in the module docstring)."""
    check_ids(ids, outputs)
    if not outputs:
        return pd.DataFrame(columns=WINDOW_COLUMNS)
    nw = spec.n_windows
    edges = spec.burn_in + spec.window * np.arange(nw + 1)
    edges[-1] = spec.t_final
    # one frame for the whole batch (a frame per trajectory took 0.3 ms each)
    c = np.concatenate([out.counts for out in outputs])
    energy = np.stack([out.edge_energy for out in outputs])
    qh = c[:, 0, 1] - c[:, 0, 0]
    qc = c[:, 1, 1] - c[:, 1, 0]
    heat_h = model.omega_h * qh
    heat_c = model.omega_c * qc
    e0, e1 = energy[:, :-1].ravel(), energy[:, 1:].ravel()
    n = len(outputs)
    return pd.DataFrame(
        {
            "trajectory": np.repeat(np.asarray(ids, np.int64), nw),
            "window": np.tile(np.arange(nw, dtype=np.int64), n),
            "t_start": np.tile(edges[:-1], n),
            "t_end": np.tile(edges[1:], n),
            "absorbed_h": c[:, 0, 1],
            "emitted_h": c[:, 0, 0],
            "absorbed_c": c[:, 1, 1],
            "emitted_c": c[:, 1, 0],
            "quanta_h": qh,
            "quanta_c": qc,
            "heat_h": heat_h,
            "heat_c": heat_c,
            "energy_start": e0,
            "energy_end": e1,
            "work": e1 - e0 - heat_h - heat_c,
        }
    )


def record_frame(
    model: PaperModel, ids: list[int], outputs: list[TrajectoryOutput]
) -> pd.DataFrame:
    """Raw jump records of several trajectories (schema in the module docstring)."""
    un = channel_data(model)
    bath = np.array(["h", "c"])[un.ch_bath]
    kind = np.array(["emission", "absorption"])[un.ch_kind]
    channel = np.array(["collective" if s < 0 else str(s + 1) for s in un.ch_site])
    omega = un.omega[un.ch_bath]
    sign = np.where(un.ch_kind == 1, 1.0, -1.0)
    check_ids(ids, outputs)
    if any(out.record_time is None for out in outputs):
        raise ValueError("records: this run did not keep jump records (records=False)")
    if not outputs:
        df = pd.DataFrame(columns=RECORD_COLUMNS)
    else:
        ch = np.concatenate([out.record_channel for out in outputs]).astype(np.int64)
        sizes = [out.record_channel.size for out in outputs]
        df = pd.DataFrame(
            {
                "trajectory": np.repeat(np.asarray(ids, np.int64), sizes),
                "time": np.concatenate([out.record_time for out in outputs]),
                "bath": bath[ch],
                "kind": kind[ch],
                "channel": channel[ch],
                "heat": omega[ch] * sign[ch],
            }
        )
    for col, cats in (("bath", ["h", "c"]), ("kind", ["absorption", "emission"])):
        df[col] = pd.Categorical(df[col], categories=cats)
    return df
