"""The results store: one JSON line per finished point, appended and flushed at once, so an interrupted
sweep loses nothing it already computed and `--resume` skips what is there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cascade_base.files import writable_dir
from simulator.errors import SimulatorError

RESULTS_FILE = "results.jsonl"


def point_key(point: dict[str, Any]) -> str:
    """A canonical string identifying a point (field order does not matter)."""
    return json.dumps({k: v for k, v in point.items() if v is not None}, sort_keys=True, default=str)


def load_records(out_dir: Path) -> list[dict[str, Any]]:
    """Every record stored so far; a torn last line (the run was killed mid-write) is ignored."""
    path = out_dir / RESULTS_FILE
    if not path.exists():
        return []
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise SimulatorError(f"cannot read {path} ({exc.strerror})", source="--out") from None
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("key"), str):
            records.append(record)
    return records


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that was never finished, so the next record starts on a line of its own."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


class ResultStore:
    """Append-only JSONL of {"key", "point", "result"} or {"key", "point", "error"} records."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = writable_dir(out_dir, "--out", SimulatorError)
        self.done = {r["key"] for r in load_records(out_dir) if "result" in r}
        _drop_torn_tail(out_dir / RESULTS_FILE)
        self._file = (out_dir / RESULTS_FILE).open("a")

    def add(self, point: dict[str, Any], result: dict[str, Any] | None, error: str | None = None) -> None:
        record = {"key": point_key(point), "point": point}
        record.update({"result": result} if error is None else {"error": error})
        self._file.write(json.dumps(record, default=str) + "\n")
        self._file.flush()
        if error is None:
            self.done.add(record["key"])

    def close(self) -> None:
        self._file.close()
