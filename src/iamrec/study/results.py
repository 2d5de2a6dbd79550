"""The study's result files: where each run's JSON goes and which files count as complete."""

import json
from pathlib import Path
from typing import Any

from ..folders import STUDY_RESULTS_DIR

RESULT_FORMAT = 1


def result_path(output_dir: Path, configuration: str, seed: int) -> Path:
    return Path(output_dir) / STUDY_RESULTS_DIR / configuration / f"seed-{seed}.json"


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
