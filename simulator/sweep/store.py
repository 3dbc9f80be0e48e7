"""The results store: one SQLite database per sweep (`--out/sweep.sqlite`), one row per point.

A row is keyed by the point's content key (`simulator.sweep.keys`) and holds its inputs, its result JSON or its
error, the tool version and the wall time. Rows are committed as points finish (WAL journal), so a sweep killed
at any moment, SIGKILL included, loses no finished point; `--resume` skips the points with a result. While a sweep
runs it holds an exclusive lock on `sweep.lock` (released by the OS when the process dies), so a second sweep on
the same store is refused instead of doubling its rows. A file that is not such a store is refused, never
overwritten.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cascade_base.files import writable_dir
from simulator.errors import SimulatorError
from simulator.sweep.keys import tool_version

STORE_FILE = "sweep.sqlite"
LOCK_FILE = "sweep.lock"
LEGACY_FILE = "results.jsonl"
FORMAT = "cascade-sweep-store"
SCHEMA = "1"
_SQLITE_MAGIC = b"SQLite format 3\x00"

_CREATE = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE points (
    key TEXT PRIMARY KEY,          -- hash of the point's values, the files it depends on, the tool version
    point_id TEXT NOT NULL,        -- hash of the point's values alone (to find stale rows)
    inputs TEXT NOT NULL,          -- the point as JSON
    result TEXT,                   -- the result as JSON, or NULL when it failed
    error TEXT,                    -- the one-line error, or NULL
    tool_version TEXT NOT NULL,
    wall_s REAL NOT NULL,
    finished_at REAL NOT NULL
);
CREATE INDEX points_by_id ON points(point_id);
"""


@dataclass(frozen=True)
class StoredPoint:
    key: str
    point: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    tool_version: str
    wall_s: float


@dataclass(frozen=True)
class Finished:
    """One evaluated point, as a worker returns it."""

    key: str
    point_id: str
    point: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    wall_s: float


class SweepStore:
    """The open, locked store of one sweep. Use as a context manager; `close` releases the lock."""

    def __init__(self, out_dir: str | Path, sweep_name: str, resume: bool = False) -> None:
        self.out_dir = writable_dir(out_dir, "--out", SimulatorError)
        self.path = self.out_dir / STORE_FILE
        legacy = self.out_dir / LEGACY_FILE
        if legacy.exists():
            raise SimulatorError(f"{legacy} holds results of an older sweep format (keyed by file paths, not "
                                 "content, so they cannot be resumed safely); it is left untouched: choose another "
                                 "--out, or move it away", source="--out")
        self._lock = _lock(self.out_dir / LOCK_FILE)
        try:
            self._db = self._open(sweep_name)
            rows = self.count()
            if rows and not resume:
                raise SimulatorError(f"{self.path} already holds {rows} points of sweep '{sweep_name}'; pass "
                                     "--resume to continue it, or choose another --out", source="--out")
        except BaseException:
            self._release()
            raise

    def _open(self, sweep_name: str) -> sqlite3.Connection:
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists:
            with self.path.open("rb") as handle:
                if handle.read(16) != _SQLITE_MAGIC:
                    raise self._foreign("it is not an SQLite database")
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:
                db.execute("BEGIN")
                for statement in filter(str.strip, _CREATE.split(";")):
                    db.execute(statement)
                db.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("format", FORMAT), ("schema", SCHEMA), ("sweep", sweep_name),
                    ("created_by", tool_version()), ("created_at", str(time.time()))])
                db.execute("COMMIT")
                return db
            meta = dict(db.execute("SELECT name, value FROM meta")) if "meta" in tables else {}
            if meta.get("format") != FORMAT or "points" not in tables:
                raise self._foreign("it is an SQLite database of something else")
            if meta.get("schema") != SCHEMA:
                raise self._foreign(f"its schema is {meta.get('schema')}, this cascade reads {SCHEMA}")
            if meta.get("sweep") != sweep_name:
                raise SimulatorError(f"{self.path} is the store of sweep '{meta.get('sweep')}', not "
                                     f"'{sweep_name}'; choose another --out", source="--out")
            db.execute("SELECT count(*) FROM points").fetchone()
            return db
        except sqlite3.DatabaseError as exc:
            db.close()
            raise self._foreign(f"it cannot be read ({exc})") from None
        except BaseException:
            db.close()
            raise

    def _foreign(self, why: str) -> SimulatorError:
        return SimulatorError(f"{self.path} is not a cascade sweep store ({why}); it is left untouched: choose "
                              "another --out, or move the file away", source="--out")

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM points").fetchone()[0])

    def done_keys(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT key FROM points WHERE result IS NOT NULL")}

    def add(self, finished: Iterable[Finished]) -> None:
        """Store finished points in one transaction; a stored result is never replaced (a failure may be)."""
        rows = [(f.key, f.point_id, json.dumps(f.point, default=str),
                 None if f.result is None else json.dumps(f.result, allow_nan=False), f.error, tool_version(),
                 f.wall_s, time.time()) for f in finished]
        if not rows:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "result=excluded.result, error=excluded.error, tool_version=excluded.tool_version, "
                "wall_s=excluded.wall_s, finished_at=excluded.finished_at WHERE points.result IS NULL", rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def load(self, keys: Iterable[str]) -> dict[str, StoredPoint]:
        """The stored rows of `keys`."""
        wanted = list(dict.fromkeys(keys))
        out: dict[str, StoredPoint] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            query = ("SELECT key, inputs, result, error, tool_version, wall_s FROM points WHERE key IN "
                     f"({','.join('?' * len(chunk))})")
            for key, inputs, result, error, version, wall_s in self._db.execute(query, chunk):
                out[key] = StoredPoint(key, json.loads(inputs), None if result is None else json.loads(result),
                                       error, version, wall_s)
        return out

    def stale(self, current: dict[str, str]) -> list[str]:
        """Keys of stored rows whose point is in the sweep (`current`: point_id -> key) under another key: the
        target, mapping, cascade or tool changed since they were computed."""
        rows = self._db.execute("SELECT key, point_id FROM points")
        return [key for key, pid in rows if pid in current and current[pid] != key]

    def close(self) -> None:
        try:
            self._db.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lock(path: Path) -> Any:
    """An exclusive, non-blocking lock on `path` (the OS drops it when the holder dies, even by SIGKILL)."""
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise SimulatorError(f"another sweep (pid {holder}) is running on {path.parent}; wait for it to finish, or "
                             "choose another --out", source="--out") from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
