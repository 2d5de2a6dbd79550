"""The study's result files: where each run's JSON goes and which files count as complete."""

import json
import logging
from pathlib import Path
from typing import Any

from ..folders import STUDY_RESULTS_DIR

RESULT_FORMAT = 1
logger = logging.getLogger(__name__)


def result_path(output_dir: Path, configuration: str, seed: int) -> Path:
    return Path(output_dir) / STUDY_RESULTS_DIR / configuration / f"seed-{seed}.json"


REQUIRED_KEYS = (
    "configuration",
    "seed",
    "budget",
    "item_mask_modes",
    "test",
    "validation",
    "training",
    "test_ranks",
    "torch_threads",
)
"""What the study and its summary read from every result."""


def read_result(path: Path) -> dict[str, Any] | None:
    """The result at `path` if it is complete (valid JSON, marked complete, one test rank per test example).

    A file that is there but incomplete (cut short, edited) is named in a warning: the study runs it again, and a
    summary leaves it out.
    """
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return incomplete(path, "not readable JSON (cut short?)")
    if not isinstance(record, dict) or record.get("complete") is not True:
        return incomplete(path, "not marked complete")
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        return incomplete(path, f"{', '.join(missing)} missing")
    if not isinstance(record["test"], dict) or len(record["test_ranks"]) != record["test"].get("num_examples"):
        return incomplete(path, "its test ranks do not match its test examples")
    return record


def incomplete(path: Path, problem: str) -> None:
    logger.warning("Ignoring the result %s: %s; the study runs it again.", path, problem)
    return None
