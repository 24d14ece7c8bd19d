"""Content-addressed, crash-safe store of task results.

A *task* is a deterministic computation (an exact solve, a batch of trajectories...) whose
result is a set of named :class:`pandas.DataFrame` objects plus a small JSON ``meta`` dict.
Its *key* (:func:`task_key`) is the sha256 of a canonical JSON encoding of everything that
determines the result -- kind, parameters, seed, options and the qjump version -- so a changed
configuration or a new qjump version never reuses a stale result.

:class:`TaskStore` keeps one file ``<key>.qjt`` per task.  File layout (all integers
little-endian)::

    b"QJT1\\n\\x00\\x00\\x00"         8-byte magic
    uint64 header_length
    header                          UTF-8 JSON: format, key, data_sha256, data_length,
                                    blobs = [[name, offset, length], ...]
    data                            concatenated blobs: "meta" JSON, then one Parquet
                                    file per frame (pickle-free, dtypes and index kept)
    sha256(everything above)        32-byte trailer

Writes are atomic (temporary file in the same directory, flush, ``os.fsync``,
``os.replace``, fsync of the directory).  Reads verify the trailer, the header, the key and
the data checksum; any damage (truncation, flipped byte, garbage, wrong key, undecodable
Parquet) is recorded in :attr:`TaskStore.problems` (and passed to ``on_problem``), the file
is moved aside to ``<key>.qjt.corrupt``, and the task is treated as missing so it will be
recomputed -- a damaged result is never used.

Wall-clock timings belong in ``meta`` only, so data comparisons can ignore them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import math
import os
import struct
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "Payload",
    "StoreProblem",
    "Task",
    "TaskStore",
    "canonical_json",
    "task_key",
]

logger = logging.getLogger(__name__)

MAGIC = b"QJT1\n\x00\x00\x00"
FORMAT = "qjump-task-store/1"
SUFFIX = ".qjt"
_META_BLOB = "meta"
_FRAME_PREFIX = "frame:"
_DIGEST = 32


# --------------------------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------------------------
def _canonical(obj: Any) -> Any:
    """Convert `obj` to plain JSON types, tagging anything JSON would otherwise blur."""
    if obj is None or isinstance(obj, str | bool):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        if math.isfinite(value):
            # json writes floats with repr(): 0.1 -> "0.1", 1.0 -> "1.0" (distinct from 1)
            return value
        return {"__float__": repr(value)}
    if isinstance(obj, complex | np.complexfloating):
        return {"__complex__": [_canonical(obj.real), _canonical(obj.imag)]}
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"task-key mapping keys must be str, got {k!r}")
            out[k] = _canonical(v)
        return out
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return {
            "__ndarray__": str(obj.dtype),
            "shape": list(obj.shape),
            "data": [_canonical(v) for v in obj.ravel().tolist()],
        }
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            "__dataclass__": type(obj).__qualname__,
            "fields": _canonical(
                {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            ),
        }
    raise TypeError(f"cannot canonicalise {type(obj).__name__} for a task key: {obj!r}")


def canonical_json(obj: Any) -> str:
    """Canonical JSON text of `obj` (sorted keys, no whitespace, floats via ``repr``).

    Parameters
    ----------
    obj : Any
        Nested dicts (str keys), lists, tuples (encoded as lists), str, bool, int, float,
        complex, None, numpy scalars/arrays and dataclass instances.

    Returns
    -------
    str
        The canonical encoding.  Non-finite floats and complex numbers are tagged objects.

    Raises
    ------
    TypeError
        For values with no canonical encoding (never silently ``str()``-ed).
    """
    return json.dumps(
        _canonical(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=True,
        allow_nan=False,
    )


def task_key(
    kind: str,
    params: Mapping[str, Any],
    seed: int | None,
    options: Mapping[str, Any],
    version: str | None = None,
) -> str:
    """Content hash identifying one task's result.

    Parameters
    ----------
    kind : str
        Task kind, e.g. ``"exact"`` or ``"trajectories"``.
    params : mapping
        Physical parameters.
    seed : int or None
        Random seed (``None`` for deterministic solvers).
    options : mapping
        Numerical options (tolerances, batch size, ...).
    version : str, optional
        Code version; defaults to ``qjump.__version__``.

    Returns
    -------
    str
        64-character hex sha256 digest.
    """
    if version is None:
        from .. import __version__ as version
    doc = {
        "schema": "qjump-task/1",
        "kind": kind,
        "params": params,
        "seed": seed,
        "options": options,
        "version": version,
    }
    return hashlib.sha256(canonical_json(doc).encode("ascii")).hexdigest()


@dataclasses.dataclass(frozen=True)
class Task:
    """One unit of work for :func:`qjump.execution.backends.run_tasks`.

    Parameters
    ----------
    key : str
        Content key (see :func:`task_key`).
    fn : callable
        Picklable top-level function called as ``fn(**args)``; returns
        ``(frames: dict[str, DataFrame], meta: dict)``.
    args : mapping
        Keyword arguments for `fn` (must contain any seed).
    label : str, optional
        Human-readable name used in messages.
    """

    key: str
    fn: Callable[..., tuple[dict[str, pd.DataFrame], dict[str, Any]]]
    args: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    label: str = ""

    @classmethod
    def make(
        cls,
        kind: str,
        fn: Callable[..., tuple[dict[str, pd.DataFrame], dict[str, Any]]],
        params: Mapping[str, Any],
        seed: int | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        args: Mapping[str, Any] | None = None,
        version: str | None = None,
        label: str = "",
    ) -> Task:
        """Build a task whose key is derived from its specification.

        Parameters
        ----------
        kind, params, seed, options, version
            Passed to :func:`task_key`.
        fn : callable
            The task function.
        args : mapping, optional
            Keyword arguments for `fn`; default ``{"params": params, "seed": seed,
            "options": options}``.  They must be determined by the key's inputs.
        label : str, optional
            Human-readable name.

        Returns
        -------
        Task
            The task.
        """
        options = {} if options is None else options
        if args is None:
            args = {"params": dict(params), "seed": seed, "options": dict(options)}
        key = task_key(kind, params, seed, options, version)
        return cls(key=key, fn=fn, args=args, label=label or f"{kind}:{key[:12]}")


# --------------------------------------------------------------------------------------------
# store
# --------------------------------------------------------------------------------------------
class Payload(NamedTuple):
    """A stored task result: named frames plus a JSON-able meta dict."""

    frames: dict[str, pd.DataFrame]
    meta: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class StoreProblem:
    """A damaged or unreadable stored result (it was treated as missing).

    Attributes
    ----------
    key : str
        Task key.
    path : str
        File that was rejected.
    reason : str
        What was wrong.
    """

    key: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"corrupt task result {self.key[:12]} ({self.path}): {self.reason}"


class CorruptTaskFile(ValueError):
    """Raised internally when a ``.qjt`` file fails validation."""


def _frame_to_parquet(name: str, frame: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame {name!r} is a {type(frame).__name__}, not a DataFrame")
    bad = [c for c in frame.columns if not isinstance(c, str)]
    if bad:
        raise TypeError(f"frame {name!r}: column names must be str, got {bad!r}")
    table = pa.Table.from_pandas(frame, preserve_index=None)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def _parquet_to_frame(blob: bytes) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(blob)).to_pandas()


def encode_payload(key: str, frames: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> bytes:
    """Serialise one task result to the ``.qjt`` byte format.

    Parameters
    ----------
    key : str
        Task key (embedded in the header and checked on read).
    frames : mapping of str to DataFrame
        The result frames (string column names).
    meta : mapping
        JSON-serialisable metadata.

    Returns
    -------
    bytes
        File contents.
    """
    meta_blob = json.dumps(dict(meta), sort_keys=True, allow_nan=True).encode("utf-8")
    blobs: list[tuple[str, bytes]] = [(_META_BLOB, meta_blob)]
    for name, frame in frames.items():
        if not isinstance(name, str):
            raise TypeError(f"frame names must be str, got {name!r}")
        blobs.append((_FRAME_PREFIX + name, _frame_to_parquet(name, frame)))
    index = []
    offset = 0
    for name, blob in blobs:
        index.append([name, offset, len(blob)])
        offset += len(blob)
    data = b"".join(blob for _, blob in blobs)
    header = json.dumps(
        {
            "format": FORMAT,
            "key": key,
            "data_sha256": hashlib.sha256(data).hexdigest(),
            "data_length": len(data),
            "blobs": index,
        },
        sort_keys=True,
    ).encode("utf-8")
    body = MAGIC + struct.pack("<Q", len(header)) + header + data
    return body + hashlib.sha256(body).digest()


def decode_payload(raw: bytes, key: str) -> Payload:
    """Validate and decode ``.qjt`` bytes.

    Parameters
    ----------
    raw : bytes
        File contents.
    key : str
        Expected task key.

    Returns
    -------
    Payload
        The decoded frames and meta.

    Raises
    ------
    CorruptTaskFile
        If any check fails.
    """
    fixed = len(MAGIC) + 8
    if len(raw) < fixed + _DIGEST:
        raise CorruptTaskFile(f"file too short ({len(raw)} bytes)")
    if raw[: len(MAGIC)] != MAGIC:
        raise CorruptTaskFile("bad magic (not a qjump task file)")
    body, trailer = raw[:-_DIGEST], raw[-_DIGEST:]
    if hashlib.sha256(body).digest() != trailer:
        raise CorruptTaskFile("file checksum mismatch (truncated or modified)")
    (hlen,) = struct.unpack("<Q", raw[len(MAGIC) : fixed])
    if fixed + hlen > len(body):
        raise CorruptTaskFile("header length exceeds file size")
    try:
        header = json.loads(body[fixed : fixed + hlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptTaskFile(f"unreadable header: {exc}") from exc
    if not isinstance(header, dict):
        raise CorruptTaskFile("header is not a JSON object")
    if header.get("format") != FORMAT:
        raise CorruptTaskFile(f"unknown format {header.get('format')!r}")
    if header.get("key") != key:
        raise CorruptTaskFile(f"key mismatch: file holds {header.get('key')!r}")
    data = body[fixed + hlen :]
    if len(data) != header.get("data_length"):
        raise CorruptTaskFile("data length mismatch")
    if hashlib.sha256(data).hexdigest() != header.get("data_sha256"):
        raise CorruptTaskFile("data checksum mismatch")
    frames: dict[str, pd.DataFrame] = {}
    meta: dict[str, Any] | None = None
    expected = 0
    try:
        for name, offset, length in header["blobs"]:
            if offset != expected:
                raise CorruptTaskFile("blob index is not contiguous")
            expected = offset + length
            blob = data[offset : offset + length]
            if name == _META_BLOB:
                meta = json.loads(blob.decode("utf-8"))
            elif name.startswith(_FRAME_PREFIX):
                frames[name[len(_FRAME_PREFIX) :]] = _parquet_to_frame(blob)
            else:
                raise CorruptTaskFile(f"unknown blob {name!r}")
    except CorruptTaskFile:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a bad file
        raise CorruptTaskFile(f"undecodable content: {type(exc).__name__}: {exc}") from exc
    if expected != len(data) or meta is None:
        raise CorruptTaskFile("blob index does not cover the data")
    return Payload(frames=frames, meta=meta)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class TaskStore:
    """Directory of content-addressed task results, one ``<key>.qjt`` file per task.

    Parameters
    ----------
    directory : str or path-like
        Store directory (created if needed).
    on_problem : callable, optional
        Called with each :class:`StoreProblem` found on read (in addition to logging a
        warning and appending to :attr:`problems`).
    quarantine : bool, optional
        If true (default), a damaged file is renamed to ``<key>.qjt.corrupt`` so it is
        kept for inspection and reported only once.

    Attributes
    ----------
    problems : list of StoreProblem
        Damaged results found so far (each was treated as missing).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        on_problem: Callable[[StoreProblem], None] | None = None,
        quarantine: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.on_problem = on_problem
        self.quarantine = quarantine
        self.problems: list[StoreProblem] = []

    def __repr__(self) -> str:
        return f"TaskStore({str(self.directory)!r})"

    def path(self, key: str) -> Path:
        """File path of `key` (which must be a hex digest-like token)."""
        if not key or not all(c.isalnum() or c in "-_" for c in key):
            raise ValueError(f"invalid task key {key!r}")
        return self.directory / (key + SUFFIX)

    def keys(self) -> Iterator[str]:
        """Keys with a stored file (not validated)."""
        for p in sorted(self.directory.glob("*" + SUFFIX)):
            yield p.name[: -len(SUFFIX)]

    def _report(self, key: str, path: Path, reason: str) -> None:
        problem = StoreProblem(key=key, path=str(path), reason=reason)
        self.problems.append(problem)
        logger.warning("%s", problem)
        if self.quarantine:
            try:
                os.replace(path, path.with_name(path.name + ".corrupt"))
            except OSError:
                pass
        if self.on_problem is not None:
            self.on_problem(problem)

    def get(self, key: str) -> Payload | None:
        """Load a result, or ``None`` if it is missing or damaged.

        Parameters
        ----------
        key : str
            Task key.

        Returns
        -------
        Payload or None
            ``(frames, meta)``; ``None`` for a missing file, and also for a damaged one,
            which is then reported (see :attr:`problems`).
        """
        path = self.path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._report(key, path, f"unreadable: {exc}")
            return None
        try:
            return decode_payload(raw, key)
        except CorruptTaskFile as exc:
            self._report(key, path, str(exc))
            return None

    def __contains__(self, key: object) -> bool:
        """True if a *valid* result is stored for `key` (damaged files are reported)."""
        return isinstance(key, str) and self.get(key) is not None

    def put(
        self,
        key: str,
        frames: Mapping[str, pd.DataFrame],
        meta: Mapping[str, Any] | None = None,
    ) -> Path:
        """Store a result atomically.

        Parameters
        ----------
        key : str
            Task key.
        frames : mapping of str to DataFrame
            Result frames (string column names; pickle-free Parquet encoding).
        meta : mapping, optional
            Small JSON-serialisable metadata (wall times go here, not into frames).

        Returns
        -------
        Path
            The written file.
        """
        path = self.path(key)
        raw = encode_payload(key, frames, {} if meta is None else meta)
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                if hasattr(os, "fchmod"):
                    os.fchmod(fh.fileno(), 0o644)
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        _fsync_dir(self.directory)
        return path


class MemoryStore:
    """In-memory stand-in for :class:`TaskStore` (same interface, nothing persisted).

    Used when a run is not saved, so that saved and unsaved runs go through the same
    :func:`qjump.execution.backends.run_tasks` path.
    """

    def __init__(self) -> None:
        self.directory = "memory"
        self.problems: list[StoreProblem] = []
        self._data: dict[str, Payload] = {}

    def get(self, key: str) -> Payload | None:
        return self._data.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def keys(self) -> Iterator[str]:
        return iter(list(self._data))

    def put(self, key: str, frames: Mapping[str, pd.DataFrame], meta: Mapping[str, Any] | None
            = None) -> None:
        self._data[key] = Payload(dict(frames), dict(meta or {}))
