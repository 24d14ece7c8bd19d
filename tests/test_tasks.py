"""Task keys and the crash-safe task cache (one folder of Parquet files per task)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from killing import echo_task

import qjump
from qjump.execution.cache import (
    TASK_FILE,
    Payload,
    StoreProblem,
    Task,
    TaskStore,
    canonical_json,
    task_key,
    task_spec,
)

PARAMS = {"omega_h": 1.0, "T_h": 0.1, "n": 3, "shape": (2, 3)}
OPTIONS = {"tol": 1e-12, "method": "direct"}


# -- keys ------------------------------------------------------------------------------------
def test_key_is_stable_and_order_independent():
    k1 = task_key("exact", PARAMS, 7, OPTIONS, "1.0")
    k2 = task_key("exact", dict(reversed(list(PARAMS.items()))), 7, dict(OPTIONS), "1.0")
    assert k1 == k2
    assert len(k1) == 64 and all(c in "0123456789abcdef" for c in k1)
    # pinned value: the canonical encoding must not drift silently between releases
    assert canonical_json({"b": (1, 0.1), "a": None}) == '{"a":null,"b":[1,0.1]}'


def test_key_default_version_is_package_version():
    assert task_key("exact", PARAMS, 1, OPTIONS) == task_key(
        "exact", PARAMS, 1, OPTIONS, qjump.__version__
    )


@pytest.mark.parametrize(
    "change",
    [
        {"params": {**PARAMS, "T_h": 0.1000000001}},
        {"params": {**PARAMS, "omega_h": 1}},  # int 1 vs float 1.0
        {"params": {**PARAMS, "extra": None}},
        {"seed": None},
        {"seed": 8},
        {"options": {**OPTIONS, "tol": 1e-11}},
        {"kind": "trajectories"},
        {"version": "1.0.1"},
    ],
)
def test_any_change_changes_key(change):
    base = {"kind": "exact", "params": PARAMS, "seed": 7, "options": OPTIONS, "version": "1.0"}
    assert task_key(**base) != task_key(**{**base, **change})


def test_key_canonicalisation_details():
    assert canonical_json(0.1) == "0.1"
    assert canonical_json(np.float64(0.1)) == canonical_json(0.1)
    assert canonical_json(np.int64(3)) == canonical_json(3)
    assert canonical_json((1, 2)) == canonical_json([1, 2])
    assert canonical_json(-0.0) != canonical_json(0.0)
    assert canonical_json(float("nan")) == '{"__float__":"nan"}'
    assert canonical_json(1 + 2j) != canonical_json([1.0, 2.0])
    assert canonical_json(np.array([0.1, 0.2])) != canonical_json([0.1, 0.2])
    with pytest.raises(TypeError):
        canonical_json({"f": object()})
    with pytest.raises(TypeError):
        canonical_json({1: "non-str key"})


def test_task_make():
    t = Task.make("echo", echo_task, {"n": 3}, seed=2, version="9")
    assert t.key == task_key("echo", {"n": 3}, 2, {}, "9")
    assert t.args == {"params": {"n": 3}, "seed": 2, "options": {}}
    assert t.spec == task_spec("echo", {"n": 3}, 2, {}, "9")
    assert t.spec["params"] == {"n": 3} and t.spec["seed"] == 2 and t.spec["version"] == "9"
    assert hashlib.sha256(canonical_json(t.spec).encode()).hexdigest() == t.key
    with pytest.raises(dataclasses_frozen_error()):
        t.key = "x"  # type: ignore[misc]


def dataclasses_frozen_error() -> type[Exception]:
    import dataclasses

    return dataclasses.FrozenInstanceError


# -- store round trip ------------------------------------------------------------------------
def _frames() -> dict[str, pd.DataFrame]:
    frames, _ = echo_task(n=7, seed=3, tag="q")
    frames["wide"] = pd.DataFrame(
        {
            "i32": np.arange(4, dtype=np.int32),
            "u8": np.arange(4, dtype=np.uint8),
            "f": [0.1, np.nan, np.inf, -0.0],
            "nullable": pd.array([1, None, 3, 4], dtype="Int64"),
            "when": pd.date_range("2024-01-01", periods=4, freq="h", tz="UTC"),
        },
        index=pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["l", "m"]),
    )
    frames["empty"] = pd.DataFrame({"z": pd.Series([], dtype=np.float64)})
    return frames


def _assert_frames_equal(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert list(a) == list(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
        assert a[name].dtypes.to_dict() == b[name].dtypes.to_dict()


def test_round_trip_preserves_frames_and_dtypes(tmp_path):
    store = TaskStore(tmp_path / "store")
    task = Task.make("echo", echo_task, {"n": 7}, 3, version="t")
    frames = _frames()
    assert store.get(task.key) is None and task.key not in store
    path = store.put(task.key, frames, {"wall_time_s": 0.5, "note": "hi"}, task.spec)
    assert path == tmp_path / "store" / task.key
    got = store.get(task.key)
    assert isinstance(got, Payload)
    _assert_frames_equal(got.frames, frames)
    assert got.meta == {"wall_time_s": 0.5, "note": "hi"}
    assert task.key in store
    assert list(store.keys()) == [task.key]
    assert store.problems == []
    # no temporaries left behind
    assert [p.name for p in (tmp_path / "store").iterdir()] == [task.key]
    assert sorted(p.name for p in path.iterdir()) == sorted(
        [TASK_FILE] + [f"{name}.parquet" for name in frames]
    )


def test_cached_task_opens_with_pandas_and_json(tmp_path):
    store = TaskStore(tmp_path)
    task = Task.make("echo", echo_task, {"n": 7}, 3, {"tol": 0.1})
    frames = _frames()
    folder = store.put(task.key, frames, {"wall_time_s": 0.5}, task.spec)
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(
            pd.read_parquet(folder / f"{name}.parquet"), frame, check_exact=True
        )
    doc = json.loads((folder / TASK_FILE).read_text())
    assert doc["key"] == task.key and doc["qjump_version"] == qjump.__version__
    assert doc["task"]["params"] == {"n": 7} and doc["task"]["seed"] == 3
    assert doc["task"]["options"] == {"tol": 0.1} and doc["meta"] == {"wall_time_s": 0.5}
    assert doc["task"]["version"] == qjump.__version__
    assert doc["frames"] == {
        name: hashlib.sha256((folder / f"{name}.parquet").read_bytes()).hexdigest()
        for name in frames
    }


def test_put_is_atomic_and_fsyncs(tmp_path, monkeypatch):
    store = TaskStore(tmp_path)
    key = "a" * 64
    store.put(key, _frames(), {"v": 1})

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.put(key, {"other": pd.DataFrame({"x": [1]})}, {"v": 2})
    # the Parquet file, task.json and the folder are fsynced before the rename
    assert len(synced) == 3
    assert [p.name for p in tmp_path.iterdir()] == [key]  # temporary folder removed
    monkeypatch.undo()
    _assert_frames_equal(store.get(key).frames, _frames())
    assert store.get(key).meta == {"v": 1}
    # a successful put replaces the entry as a whole
    store.put(key, {"other": pd.DataFrame({"x": [1]})}, {"v": 2})
    assert list(store.get(key).frames) == ["other"] and store.get(key).meta == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == [key]
    assert sorted(p.name for p in store.path(key).iterdir()) == ["other.parquet", TASK_FILE]


def test_put_rejects_unstorable_input(tmp_path):
    store = TaskStore(tmp_path)
    with pytest.raises(TypeError, match="'f' is a list"):
        store.put("b" * 64, {"f": [1, 2]}, {})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="frame name"):
        store.put("b" * 64, {"../f": pd.DataFrame({"x": [1.0]})}, {})
    with pytest.raises(ValueError, match="does not hash to the key"):
        store.put("b" * 64, {"f": pd.DataFrame({"x": [1.0]})}, {}, task_spec("e", {}, 1, {}))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="task key"):
        store.path("../escape")


def test_unfinished_write_is_ignored(tmp_path):
    # what a run killed inside put() leaves: a temporary folder that never got its name
    store = TaskStore(tmp_path)
    key = "e" * 64
    partial = tmp_path / f".{key[:16]}.x1y2.tmp"
    partial.mkdir()
    (partial / "samples.parquet").write_bytes(b"PAR1 half written")
    assert list(store.keys()) == [] and store.get(key) is None and store.problems == []


# -- corruption ------------------------------------------------------------------------------
def _edit_json(edit):
    def damage(folder: Path, other: Path) -> None:
        doc = json.loads((folder / TASK_FILE).read_text())
        edit(doc)
        (folder / TASK_FILE).write_text(json.dumps(doc))

    return damage


def _flip(name: str, where: float = 0.5):
    def damage(folder: Path, other: Path) -> None:
        raw = bytearray((folder / name).read_bytes())
        raw[int(where * (len(raw) - 1))] ^= 0x01
        (folder / name).write_bytes(bytes(raw))

    return damage


def _truncate(folder: Path, other: Path) -> None:
    raw = (folder / "samples.parquet").read_bytes()
    (folder / "samples.parquet").write_bytes(raw[: len(raw) // 2])


def _garbage_json(folder: Path, other: Path) -> None:
    (folder / TASK_FILE).write_bytes(os.urandom(300))


def _empty_json(folder: Path, other: Path) -> None:
    (folder / TASK_FILE).write_bytes(b"")


def _missing_frame(folder: Path, other: Path) -> None:
    (folder / "summary.parquet").unlink()


def _missing_json(folder: Path, other: Path) -> None:
    (folder / TASK_FILE).unlink()


def _wrong_key(folder: Path, other: Path) -> None:
    shutil.rmtree(folder)
    shutil.copytree(other, folder)


def _file_not_folder(folder: Path, other: Path) -> None:
    shutil.rmtree(folder)
    folder.write_bytes(b"garbage")


def _resealed_params(doc: dict) -> None:
    # edit the parameters and recompute the JSON checksum: the key check still catches it
    doc["task"]["params"]["n"] = 8
    doc.pop("sha256")
    text = json.dumps(doc, sort_keys=True, allow_nan=True)
    doc["sha256"] = hashlib.sha256(text.encode()).hexdigest()


DAMAGES = {  # damage -> what the report says
    "truncate": (_truncate, "samples.parquet checksum mismatch"),
    "flip-parquet-data": (_flip("samples.parquet", 0.5), "samples.parquet checksum mismatch"),
    "flip-parquet-footer": (_flip("wide.parquet", 0.99), "wide.parquet checksum mismatch"),
    "flip-json-meta": (_edit_json(lambda d: d["meta"].update(m=2)), "task.json checksum mismatch"),
    "flip-json-checksum": (_flip(TASK_FILE, 0.5), "task.json"),
    "garbage-json": (_garbage_json, "unreadable task.json"),
    "empty-json": (_empty_json, "unreadable task.json (JSONDecodeError)"),
    "missing-frame": (_missing_frame, "unreadable summary.parquet (FileNotFoundError)"),
    "missing-json": (_missing_json, "unreadable task.json (FileNotFoundError)"),
    "wrong-key": (_wrong_key, "key mismatch"),
    "file-not-folder": (_file_not_folder, "unreadable task.json (NotADirectoryError)"),
    "resealed-params": (_edit_json(_resealed_params), "specification does not hash to the key"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_entry_is_reported_and_treated_as_missing(tmp_path, damage):
    seen: list[StoreProblem] = []
    store = TaskStore(tmp_path, on_problem=seen.append)
    task = Task.make("echo", echo_task, {"n": 7}, 3)
    other = "d" * 64
    frames = _frames()
    store.put(task.key, frames, {"m": 1}, task.spec)
    store.put(other, {"x": pd.DataFrame({"v": [1.0]})}, {"m": 2})
    damage_entry, reason = DAMAGES[damage]
    damage_entry(store.path(task.key), store.path(other))

    assert store.get(task.key) is None
    assert len(store.problems) == 1 and seen == store.problems
    problem = store.problems[0]
    assert problem.key == task.key and reason in problem.reason
    assert str(problem).startswith(f"damaged task result {task.key[:12]} (")
    assert "\n" not in str(problem)
    # moved aside for inspection, reported once, and a fresh put works again
    assert not store.path(task.key).exists()
    assert store.path(task.key).with_name(task.key + ".corrupt").exists()
    assert list(store.keys()) == [other]
    assert store.get(task.key) is None and len(store.problems) == 1
    store.put(task.key, frames, {"m": 1}, task.spec)
    _assert_frames_equal(store.get(task.key).frames, frames)
    assert store.get(other).meta == {"m": 2}
