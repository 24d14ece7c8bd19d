"""Task keys and the crash-safe task store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qjump
from qjump.execution.backends import echo_task
from qjump.execution.cache import (
    SUFFIX,
    Payload,
    StoreProblem,
    Task,
    TaskStore,
    canonical_json,
    decode_payload,
    encode_payload,
    task_key,
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


def test_round_trip_preserves_frames_and_dtypes(tmp_path):
    store = TaskStore(tmp_path / "store")
    key = task_key("echo", {"n": 7}, 3, {}, "t")
    frames = _frames()
    assert store.get(key) is None and key not in store
    path = store.put(key, frames, {"wall_time_s": 0.5, "note": "hi"})
    assert path == tmp_path / "store" / f"{key}{SUFFIX}"
    got = store.get(key)
    assert isinstance(got, Payload)
    _assert_frames_equal(got.frames, frames)
    for name in frames:
        assert got.frames[name].dtypes.to_dict() == frames[name].dtypes.to_dict()
    assert got.meta == {"wall_time_s": 0.5, "note": "hi"}
    assert key in store
    assert list(store.keys()) == [key]
    assert store.problems == []
    # no temporaries left behind
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [path.name]


def test_encoding_is_deterministic():
    frames = _frames()
    assert encode_payload("k", frames, {"a": 1}) == encode_payload("k", frames, {"a": 1})


def test_put_is_atomic_and_fsyncs(tmp_path, monkeypatch):
    store = TaskStore(tmp_path)
    key = "a" * 64
    frames = _frames()
    store.put(key, frames, {"v": 1})
    before = store.path(key).read_bytes()

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.put(key, {"other": pd.DataFrame({"x": [1]})}, {"v": 2})
    assert synced, "data must be fsynced before the rename"
    assert store.path(key).read_bytes() == before  # old content intact
    assert [p.name for p in tmp_path.iterdir()] == [store.path(key).name]  # temp cleaned
    monkeypatch.undo()
    assert store.get(key).meta == {"v": 1}


def test_put_rejects_unstorable_frames(tmp_path):
    store = TaskStore(tmp_path)
    with pytest.raises(TypeError):
        store.put("b" * 64, {"f": pd.DataFrame({0: [1.0]})}, {})
    with pytest.raises(TypeError):
        store.put("b" * 64, {"f": [1, 2]}, {})  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        store.path("../escape")


# -- corruption ------------------------------------------------------------------------------
def _flip(offset_from_end: int | None = None, offset: int | None = None):
    def damage(path: Path, other: Path) -> None:
        raw = bytearray(path.read_bytes())
        i = offset if offset is not None else len(raw) - offset_from_end
        raw[i] ^= 0x01
        path.write_bytes(bytes(raw))

    return damage


def _truncate(path: Path, other: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _garbage(path: Path, other: Path) -> None:
    path.write_bytes(os.urandom(3000))


def _empty(path: Path, other: Path) -> None:
    path.write_bytes(b"")


def _wrong_key(path: Path, other: Path) -> None:
    shutil.copyfile(other, path)


def _directory(path: Path, other: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGES = {
    "truncate": _truncate,
    "flip-data": _flip(offset_from_end=200),
    "flip-trailer": _flip(offset_from_end=1),
    "flip-header": _flip(offset=20),
    "flip-magic": _flip(offset=0),
    "garbage": _garbage,
    "empty": _empty,
    "wrong-key": _wrong_key,
    "unreadable": _directory,
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_corrupt_file_is_reported_and_treated_as_missing(tmp_path, damage):
    seen: list[StoreProblem] = []
    store = TaskStore(tmp_path, on_problem=seen.append)
    key, other = "c" * 64, "d" * 64
    frames = _frames()
    store.put(key, frames, {"m": 1})
    store.put(other, {"x": pd.DataFrame({"v": [1.0]})}, {"m": 2})
    DAMAGES[damage](store.path(key), store.path(other))

    assert store.get(key) is None
    assert len(store.problems) == 1 and seen == store.problems
    problem = store.problems[0]
    assert problem.key == key and problem.reason and key[:12] in str(problem)
    # moved aside for inspection, reported once, and a fresh put works again
    assert not store.path(key).exists()
    assert store.path(key).with_name(store.path(key).name + ".corrupt").exists()
    assert store.get(key) is None and len(store.problems) == 1
    store.put(key, frames, {"m": 1})
    _assert_frames_equal(store.get(key).frames, frames)
    assert store.get(other).meta == {"m": 2}


def test_bad_header_with_valid_trailer_is_rejected():
    # A consistent file (valid trailer) whose header is for another key or lies about the data.
    frames = {"x": pd.DataFrame({"v": [1.0, 2.0]})}
    raw = encode_payload("k1", frames, {})
    with pytest.raises(ValueError, match="key mismatch"):
        decode_payload(raw, "k2")
    assert decode_payload(raw, "k1").frames["x"].equals(frames["x"])
