"""Whether a folder is what a command needs (a complete model folder, a complete prepared dataset), and reading a JSON
file that must hold an object: each fails early with one line naming the file and what is missing."""

import json
import os
from collections.abc import Sequence
from pathlib import Path

from .folders import (
    CATALOG_DIR,
    CONFIG_FILE,
    MODEL_CONFIG_HOLDS,
    MODEL_CONFIG_KEYS,
    MODEL_DIR,
    PROCESSOR_FILE,
    PROTOCOL_FILE,
    REQUIRED_MODEL_FILES,
    SPLITS_DIR,
)


def is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


MODEL_CONFIG_TYPES = (
    ("num_items", "a whole number", is_count),
    ("num_hidden_layers", "a whole number", is_count),
    ("item_mask_modes", "a list of mode names", lambda value: isinstance(value, list)),
)
"""The types of `MODEL_CONFIG_KEYS` that loading relies on: a quoted number otherwise fails deep in transformers."""


def check_model_dir(model_dir: str | os.PathLike) -> Path:
    """Fails early, naming the missing or malformed pieces, when a folder is not a complete `iamrec train` model."""
    path = Path(model_dir)
    if not path.is_dir():
        raise FileNotFoundError(
            f"No model folder at {path} (expected the `{MODEL_DIR}/` folder written by `iamrec train`)."
        )
    missing = [name for name in REQUIRED_MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{path} is not a complete iamrec model: {', '.join(missing)} missing.")
    config = read_json_object(path / CONFIG_FILE, MODEL_CONFIG_HOLDS, MODEL_CONFIG_KEYS)
    wrong = [
        f"{key!r} should be {kind}, got {json_kind(config[key])}"
        for key, kind, check in MODEL_CONFIG_TYPES
        if not check(config[key])
    ]
    if wrong:
        raise ValueError(f"{path / CONFIG_FILE}: {'; '.join(wrong)}")
    read_json_object(path / PROCESSOR_FILE, "the processor settings: the catalog titles and the prompt", ("titles",))
    return path


def check_prepared_dir(root: Path) -> Path:
    """Fails, naming what is missing, when `root` is not a complete prepared dataset."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no prepared dataset here (run `iamrec prepare --output-dir {root}` first)")
    missing = [name for name in (SPLITS_DIR, CATALOG_DIR, PROTOCOL_FILE) if not (root / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"{root}: incomplete prepared dataset, missing {missing}; prepare it again with --overwrite"
        )
    return root


def read_json_object(path: Path, holds: str, keys: Sequence[str] = ()) -> dict:
    """The JSON object in `path`, which should hold `holds` (with each of `keys`).

    A file that is not JSON, holds another value (a list, a string) or lacks a key raises a one-line ValueError
    naming the file and what it should hold, instead of an error far from the file (`'list' object has no
    attribute 'get'`).
    """
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:  # JSONDecodeError (with line and column), UnicodeDecodeError
        raise ValueError(f"{path}: not valid JSON ({error}); it should hold {holds}") from error
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object ({holds}), got {json_kind(value)}")
    missing = [key for key in keys if key not in value]
    if missing:
        raise ValueError(f"{path}: {', '.join(map(repr, missing))} missing; it should hold {holds}")
    return value


def json_kind(value: object) -> str:
    """How a JSON (or YAML) value is called in an error: `a list`, `a string`, `null`."""
    if value is None:
        return "null"
    kinds = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)
