"""Every file and folder name of a prepared dataset, a training run and a model folder; their completeness checks;
reading a JSON file that must hold an object; and writing a folder or a JSON file so that readers see the old one or
the complete new one, never half of one."""

import json
import logging
import os
import secrets
import shutil
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

# A prepared dataset (`iamrec prepare --output-dir`).
PROTOCOL_FILE = "protocol.json"
SPLITS_DIR = "splits"
CATALOG_DIR = "catalog"

# A training run (`iamrec train --output_dir`): Trainer checkpoints, and the final model folder.
MODEL_DIR = "model"
CHECKPOINT_PREFIX = "checkpoint-"
CHECKPOINT_STATE_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
"""What a Trainer checkpoint needs besides its weights to resume exactly where it stopped."""
CHECKPOINT_WEIGHTS_FILES = ("adapter_model.safetensors", "model.safetensors")
ADAPTER_CONFIG = "adapter_config.json"
"""Beside LoRA weights: without it the Trainer cannot load them back."""
RNG_STATE_PATTERN = "rng_state*.pth"
"""rng_state.pth, or one rng_state_<rank>.pth per process of a data-parallel run."""

# A model folder: what `save_pretrained` of model and processor write, and what iamrec adds beside them.
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PROCESSOR_FILE = "processor_config.json"
TOKENIZER_FILE = "tokenizer.json"
RUN_FILE = "iamrec_run.json"
"""Written by `iamrec train`: arguments, schedule, data protocol, best validation metric, log history."""
EVAL_FILE = "eval_results.json"
"""Written by `iamrec evaluate --output` (or the demo): the test metrics the model card shows."""
REQUIRED_MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE, PROCESSOR_FILE, TOKENIZER_FILE)
MODEL_CONFIG_HOLDS = "the model configuration written by `iamrec train`"
MODEL_CONFIG_KEYS = ("model_type", "num_items", "num_hidden_layers", "item_mask_modes")
"""What the loaders and the model card read from `config.json` before transformers checks the rest."""
SHIPPED_FILES = (
    CONFIG_FILE,
    WEIGHTS_FILE,
    "model.safetensors.index.json",
    "configuration_iamrec.py",
    "modeling_iamrec.py",
    PROCESSOR_FILE,
    "processing_iamrec.py",
    "collator.py",
    "templates.py",
    TOKENIZER_FILE,
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    EVAL_FILE,
    RUN_FILE,
)
"""What a Hub user needs from a model folder, by name; anything else there (notes, credentials) stays behind."""
SHIPPED_PATTERNS = ("model-*-of-*.safetensors",)  # sharded weights

# `iamrec study --output-dir`: results/<configuration>/seed-<seed>.json, the summaries, and work/ while training.
STUDY_RESULTS_DIR, STUDY_WORK_DIR = "results", "work"
STUDY_SUMMARY_JSON, STUDY_SUMMARY_MD = "summary.json", "summary.md"

# `iamrec analyze-attention --output-dir`.
ATTENTION_JSON, ATTENTION_PLOT = "attention_shares.json", "attention_shares.png"

# `iamrec demo --output-dir`.
DEMO_DATA_DIR, DEMO_TRAIN_DIR, DEMO_HUB_DIR, DEMO_REPORT_FILE = "data", "train", "hub_upload", "demo_report.json"


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
    read_json_object(path / CONFIG_FILE, MODEL_CONFIG_HOLDS, MODEL_CONFIG_KEYS)
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


def checkpoint_problem(checkpoint: Path) -> str | None:
    """Why `checkpoint` cannot be resumed from (a run killed while saving it), or None if it is complete.

    Each file the Trainer reads on resuming is read here first, so that a damaged one is skipped by name instead of
    failing the run deep in the Trainer once the model is built.
    """
    for name in CHECKPOINT_STATE_FILES:
        if not (checkpoint / name).is_file():
            return f"{name} is missing"
    rng_states = sorted(checkpoint.glob(RNG_STATE_PATTERN))
    if not rng_states:
        return "rng_state.pth is missing"
    if problem := json_object_problem(checkpoint / CHECKPOINT_STATE_FILES[0]) or weights_problem(checkpoint):
        return problem
    for path in [checkpoint / name for name in CHECKPOINT_STATE_FILES[1:]] + rng_states:
        if problem := torch_file_problem(path):
            return problem
    return None


def json_object_problem(path: Path) -> str | None:
    """Why `path` is not a readable JSON object (missing, cut short), or None."""
    if not path.is_file():
        return f"{path.name} is missing"
    try:
        read_json_object(path, "an object")
    except ValueError:
        return f"{path.name} is not a JSON object (truncated?)"
    return None


def weights_problem(checkpoint: Path) -> str | None:
    """Why the weights of `checkpoint` cannot be loaded (none, a truncated file, LoRA weights without their config)."""
    from safetensors import safe_open

    weights = [checkpoint / name for name in CHECKPOINT_WEIGHTS_FILES if (checkpoint / name).is_file()]
    if not weights:
        return "it holds no weights"
    if weights[0].name == CHECKPOINT_WEIGHTS_FILES[0] and (problem := json_object_problem(checkpoint / ADAPTER_CONFIG)):
        return problem
    try:
        with safe_open(weights[0], "pt"):  # reads the header and checks that the file is as long as it declares
            pass
    except Exception:  # safetensors raises its own error types for truncated files
        return f"{weights[0].name} is unreadable (truncated?)"
    return None


def torch_file_problem(path: Path) -> str | None:
    """Why the Trainer could not `torch.load` `path` (truncated, or not a torch file), or None.

    A torch file is a zip archive whose directory is written last, so a file cut short by a kill has none; the file
    is then loaded as the Trainer loads it (weights only, numpy arrays allowed for the RNG state).
    """
    import torch
    from transformers.trainer_pt_utils import safe_globals

    if not zipfile.is_zipfile(path):
        return f"{path.name} is truncated"
    try:
        with safe_globals():
            torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch raises RuntimeError, pickle or zip errors depending on what is damaged
        return f"{path.name} is unreadable (damaged?)"
    return None


def last_complete_checkpoint(output_dir: Path) -> str:
    """The newest checkpoint in `output_dir` that is complete; says which newer ones it skips, and why."""
    steps = {path: path.name.removeprefix(CHECKPOINT_PREFIX) for path in output_dir.glob(f"{CHECKPOINT_PREFIX}*")}
    numbered = [path for path, step in steps.items() if path.is_dir() and step.isdigit()]
    for checkpoint in sorted(numbered, key=lambda path: int(steps[path]), reverse=True):
        problem = checkpoint_problem(checkpoint)
        if problem is None:
            return str(checkpoint)
        logger.warning("Skipping %s: %s (was the run killed while saving it?)", checkpoint.name, problem)
    raise FileNotFoundError(
        f"--resume_from_checkpoint last: {output_dir} holds no complete checkpoint to resume from; drop the flag to "
        "start from step 0"
    )


def sibling_dir(target: Path, tag: str) -> Path:
    """A new hidden directory next to `target` (same filesystem, so renames are atomic; mode from the umask)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    path = target.parent / f".{target.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir()
    return path


def remove_stale_siblings(target: Path) -> None:
    """Deletes the staging folders of `target` left by processes that are gone (killed mid-write)."""
    for path in target.parent.glob(f".{target.name}.*-*-*"):
        tag_and_pid = path.name[len(target.name) + 2 :].rsplit("-", 2)
        if len(tag_and_pid) != 3 or tag_and_pid[0] not in ("tmp", "old") or not tag_and_pid[1].isdigit():
            continue
        try:
            os.kill(int(tag_and_pid[1]), 0)
        except ProcessLookupError:  # no such process: nobody will finish or remove this folder
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:  # a live process of another user
            pass


def check_replaceable(target: Path) -> Path:
    """`target` as an absolute path ("." has no name to stage beside); refuses the current folder or one holding it."""
    target = Path(os.path.abspath(target))  # abspath, not resolve: a link stays a link
    if Path.cwd() == target or target in Path.cwd().parents:
        raise ValueError(
            f"{target} is the current folder or holds it; write to a new folder instead (it is built "
            "beside the target and renamed into place)"
        )
    return target


@contextmanager
def staged_dir(target: Path, before_replace: Callable[[], None] | None = None) -> Iterator[Path]:
    """Yields a staging folder; on success it replaces `target` by renames, on any failure it is removed.

    An existing `target` is first moved aside and deleted only after the new folder is in place. `before_replace`
    runs just before the swap (e.g. to re-check that overwriting is still allowed).
    """
    target = check_replaceable(target)
    if target.parent.is_dir():
        remove_stale_siblings(target)
    staging = sibling_dir(target, "tmp")
    try:
        yield staging
        if before_replace is not None:
            before_replace()
        if target.exists():
            retired = sibling_dir(target, "old")
            os.rename(target, retired / target.name)
            os.rename(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_json_atomic(path: Path, value: object) -> None:
    """Writes a temporary file beside `path` and renames it into place: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(json.dumps(value, indent=1, default=str) + "\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


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
