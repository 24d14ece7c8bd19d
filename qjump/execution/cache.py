"""Content-addressed, crash-safe cache of task results: one folder of Parquet files per task.

A *task* is a deterministic computation (an exact solve, a batch of trajectories...) whose
result is a set of named :class:`pandas.DataFrame` objects plus a small JSON ``meta`` dict.
Its *key* (:func:`task_key`) is the sha256 of a canonical JSON encoding of everything that
determines the result -- kind, parameters, seed, options and the qjump version -- so a changed
configuration or a new qjump version never reuses a stale result.

:class:`TaskStore` keeps one folder per task, readable without qjump::

    <directory>/<key>/<frame>.parquet     one Parquet table per frame (index and dtypes kept;
                                          ``pandas.read_parquet`` opens it)
    <directory>/<key>/task.json           format, key, task specification (kind, params,
                                          seed, options, qjump version), meta, the sha256 of
                                          every Parquet file, and "sha256": that of the
                                          document's other fields (compact, sorted keys)

A folder is written under a temporary name, every file and the folder are fsynced, and only
then renamed to ``<key>``, so an entry is either complete or absent.  Reads check the JSON
checksum, the key (also against the stored task specification) and every Parquet checksum.
A damaged entry is recorded in :attr:`TaskStore.problems` (and passed to ``on_problem``),
moved aside to ``<key>.corrupt`` and treated as missing, so it is recomputed, never used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "FORMAT",
    "MemoryStore",
    "Payload",
    "StoreProblem",
    "Task",
    "TaskStore",
    "canonical_json",
    "task_key",
]

FORMAT = "qjump-task/2"
#: Name of the metadata file in a task folder.
TASK_FILE = "task.json"


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
        bad = [k for k in obj if not isinstance(k, str)]
        if bad:
            raise TypeError(f"task-key mapping keys must be str, got {bad[0]!r}")
        return {k: _canonical(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, np.ndarray):
        data = [_canonical(v) for v in obj.ravel().tolist()]
        return {"__ndarray__": str(obj.dtype), "shape": list(obj.shape), "data": data}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return {"__dataclass__": type(obj).__qualname__, "fields": _canonical(fields)}
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
        It is idempotent: the canonical encoding of the decoded text is the text itself.

    Raises
    ------
    TypeError
        For values with no canonical encoding (never silently ``str()``-ed).
    """
    return json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def task_spec(
    kind: str,
    params: Mapping[str, Any],
    seed: int | None,
    options: Mapping[str, Any],
    version: str | None = None,
) -> dict[str, Any]:
    """The JSON document a task key hashes (see :func:`task_key` for the parameters)."""
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
    return json.loads(canonical_json(doc))


def _key_of(spec: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(spec).encode("ascii")).hexdigest()


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
    return _key_of(task_spec(kind, params, seed, options, version))


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
    spec : mapping, optional
        The document the key hashes (:func:`task_spec`); stored with the result.
    """

    key: str
    fn: Callable[..., tuple[dict[str, pd.DataFrame], dict[str, Any]]]
    args: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    label: str = ""
    spec: Mapping[str, Any] | None = None

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
        spec = task_spec(kind, params, seed, options, version)
        key = _key_of(spec)
        return cls(key=key, fn=fn, args=args, label=label or f"{kind}:{key[:12]}", spec=spec)


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
        Task folder that was rejected.
    reason : str
        What was wrong.
    """

    key: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"damaged task result {self.key[:12]} ({self.path}): {self.reason}"


class CorruptEntry(ValueError):
    """A task folder failed validation."""


def _check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ValueError(f"invalid {kind} {name!r}: use letters, digits, '-' and '_'")
    return name


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json_digest(doc: Mapping[str, Any]) -> str:
    return _sha256(json.dumps(doc, sort_keys=True, allow_nan=True).encode("utf-8"))


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


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


def _parquet_bytes(name: str, frame: pd.DataFrame) -> bytes:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame {name!r} is a {type(frame).__name__}, not a DataFrame")
    buf = io.BytesIO()
    frame.to_parquet(buf, engine="pyarrow", compression="zstd")
    return buf.getvalue()


def read_entry(folder: Path, key: str) -> Payload:
    """Validate and load one task folder.

    Parameters
    ----------
    folder : Path
        The task folder.
    key : str
        Expected task key.

    Returns
    -------
    Payload
        The frames and meta.

    Raises
    ------
    CorruptEntry
        If any check fails (the message says which).
    """
    try:
        doc = json.loads((folder / TASK_FILE).read_text(encoding="utf-8"))
        checksum = doc.pop("sha256")
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError, KeyError) as e:
        raise CorruptEntry(f"unreadable {TASK_FILE} ({type(e).__name__})") from e
    if _json_digest(doc) != checksum:
        raise CorruptEntry(f"{TASK_FILE} checksum mismatch")
    if doc.get("format") != FORMAT:
        raise CorruptEntry(f"unknown format {doc.get('format')!r}")
    if doc.get("key") != key:
        raise CorruptEntry(f"key mismatch: folder holds {doc.get('key')!r}")
    if doc.get("task") is not None and _key_of(doc["task"]) != key:
        raise CorruptEntry("the stored task specification does not hash to the key")
    frames = {}
    for name, digest in doc["frames"].items():
        try:
            raw = (folder / f"{_check_name('frame name', name)}.parquet").read_bytes()
        except (OSError, ValueError) as exc:
            raise CorruptEntry(f"unreadable {name}.parquet ({type(exc).__name__})") from exc
        if _sha256(raw) != digest:
            raise CorruptEntry(f"{name}.parquet checksum mismatch")
        try:
            frames[name] = pd.read_parquet(io.BytesIO(raw), engine="pyarrow")
        except Exception as exc:  # noqa: BLE001 - any decoding failure means a bad entry
            raise CorruptEntry(f"undecodable {name}.parquet ({type(exc).__name__})") from exc
    return Payload(frames=frames, meta=doc["meta"])


class TaskStore:
    """Directory of content-addressed task results, one folder ``<key>/`` per task.

    Parameters
    ----------
    directory : str or path-like
        Store directory (created if needed).
    on_problem : callable, optional
        Called with each :class:`StoreProblem` found on read (in addition to appending it
        to :attr:`problems`).
    quarantine : bool, optional
        If true (default), a damaged entry is renamed to ``<key>.corrupt`` so it is kept
        for inspection and reported only once.

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
        """Folder of `key` (letters, digits, ``-`` and ``_`` only)."""
        return self.directory / _check_name("task key", key)

    def keys(self) -> Iterator[str]:
        """Keys with a stored folder (not validated)."""
        for p in sorted(self.directory.iterdir()):
            if p.is_dir() and all(c.isalnum() or c in "-_" for c in p.name):
                yield p.name

    def _report(self, key: str, path: Path, reason: str) -> None:
        problem = StoreProblem(key=key, path=str(path), reason=reason)
        self.problems.append(problem)
        if self.quarantine:
            aside = path.with_name(path.name + ".corrupt")
            shutil.rmtree(aside, ignore_errors=True)
            try:
                os.replace(path, aside)
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
            ``(frames, meta)``; ``None`` for a missing entry, and also for a damaged one,
            which is then reported (see :attr:`problems`).
        """
        path = self.path(key)
        if not os.path.lexists(path):
            return None
        try:
            return read_entry(path, key)
        except CorruptEntry as exc:
            self._report(key, path, str(exc))
            return None

    def __contains__(self, key: object) -> bool:
        """True if a *valid* result is stored for `key` (damaged entries are reported)."""
        return isinstance(key, str) and self.get(key) is not None

    def put(
        self,
        key: str,
        frames: Mapping[str, pd.DataFrame],
        meta: Mapping[str, Any] | None = None,
        spec: Mapping[str, Any] | None = None,
    ) -> Path:
        """Store a result atomically (a complete folder appears under its final name).

        Parameters
        ----------
        key : str
            Task key.
        frames : mapping of str to DataFrame
            Result frames (names: letters, digits, ``-``, ``_``; string column names).
        meta : mapping, optional
            Small JSON-serialisable metadata (wall times go here, not into frames).
        spec : mapping, optional
            The task specification that `key` hashes (:func:`task_spec`), checked on load.

        Returns
        -------
        Path
            The task folder.
        """
        path = self.path(key)
        blobs = {_check_name("frame name", n): _parquet_bytes(n, f) for n, f in frames.items()}
        if spec is not None and _key_of(spec) != key:
            raise ValueError(f"task specification does not hash to the key {key[:12]}")
        from .. import __version__

        doc = {
            "format": FORMAT,
            "key": key,
            "qjump_version": __version__,
            "task": None if spec is None else dict(spec),
            "meta": dict(meta or {}),
            "frames": {name: _sha256(blob) for name, blob in blobs.items()},
        }
        doc["sha256"] = _json_digest(doc)
        text = json.dumps(doc, allow_nan=True, indent=1)  # frames keep their order
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=self.directory))
        try:
            for name, blob in blobs.items():
                _write_synced(tmp / f"{name}.parquet", blob)
            _write_synced(tmp / TASK_FILE, text.encode("utf-8"))
            os.chmod(tmp, 0o755)
            _fsync_dir(tmp)
            if os.path.lexists(path):  # replace: the old entry goes aside first
                old = tmp.with_suffix(".old")
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
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

    def put(
        self,
        key: str,
        frames: Mapping[str, pd.DataFrame],
        meta: Mapping[str, Any] | None = None,
        spec: Mapping[str, Any] | None = None,
    ) -> None:
        self._data[key] = Payload(dict(frames), dict(meta or {}))
