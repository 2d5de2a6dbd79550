"""The study's result files: where each run's JSON goes, atomic writes, and which files count as complete."""

import json
import os
from pathlib import Path
from typing import Any

from ..folders import STUDY_RESULTS_DIR

RESULT_FORMAT = 1


def result_path(output_dir: Path, configuration: str, seed: int) -> Path:
    return Path(output_dir) / STUDY_RESULTS_DIR / configuration / f"seed-{seed}.json"


def write_json_atomic(path: Path, value: Any) -> None:
    """Writes a temporary file beside `path` and renames it into place: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(json.dumps(value, indent=1, default=str) + "\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_result(path: Path) -> dict[str, Any] | None:
    """The result at `path` if it is complete (valid JSON, marked complete, one test rank per test example)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("complete") is not True:
        return None
    if len(record.get("test_ranks", [])) != record.get("test", {}).get("num_examples"):
        return None
    return record
