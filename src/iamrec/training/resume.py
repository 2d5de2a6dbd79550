"""Resuming a training run: the newest checkpoint that is complete, each file the Trainer reads checked first, so a
checkpoint damaged by a kill while saving is skipped by name instead of failing the run deep in the Trainer; and the
settings that define the run, recorded in each checkpoint and compared with the resuming run's."""

import errno
import json
import logging
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from ..atomic import write_json_atomic
from ..folder_checks import read_json_object
from ..folders import (
    ADAPTER_CONFIG,
    CHECKPOINT_PREFIX,
    CHECKPOINT_SETTINGS_FILE,
    CHECKPOINT_STATE_FILES,
    CHECKPOINT_WEIGHTS_FILES,
    RNG_STATE_PATTERN,
)
from .arguments import IAMRecArguments

NOT_DEFINING = ("data_dir", "budget", "max_eval_samples", "eval_sample", "eval_sample_seed")
"""Arguments a resumed run may change: the data folder may move (its protocol is compared instead), and validation
may rank fewer, more or other examples; a named budget only stands for settings that are compared themselves."""

logger = logging.getLogger(__name__)


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


def resumable_checkpoint(resume_from_checkpoint: str, output_dir: Path) -> str:
    """The checkpoint `--resume_from_checkpoint` names (`last`: the newest complete one in `output_dir`), checked
    before anything loads: a damaged one named by its path is one error line, not a failure deep in the Trainer."""
    if resume_from_checkpoint == "last":
        return last_complete_checkpoint(output_dir)
    checkpoint = Path(resume_from_checkpoint)
    problem = checkpoint_problem(checkpoint) if checkpoint.is_dir() else "it is not a folder"
    if problem is not None:
        raise FileNotFoundError(
            f"--resume_from_checkpoint {checkpoint}: cannot resume from it, {problem}; name another checkpoint or "
            "pass last for the newest complete one"
        )
    return str(checkpoint)


def run_settings(args: IAMRecArguments, data_protocol: dict[str, Any]) -> dict[str, Any]:
    """What defines a run (model, adapters, head, supervision, data), as JSON values: resuming a checkpoint with
    other settings would go on training another model from its weights, or fail on their shapes."""
    settings = {key: value for key, value in asdict(args).items() if key not in NOT_DEFINING}
    base = Path(args.base_model)
    settings["base_model"] = str(base.resolve()) if base.exists() else args.base_model
    settings["data"] = data_protocol
    return json.loads(json.dumps(settings, default=str))


class RecordRunSettings(TrainerCallback):
    """Writes the run's settings into every checkpoint it saves, for `check_resume_settings`."""

    def __init__(self, settings: dict[str, Any]):
        self.settings = settings

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            checkpoint = Path(args.output_dir) / f"{CHECKPOINT_PREFIX}{state.global_step}"
            write_json_atomic(checkpoint / CHECKPOINT_SETTINGS_FILE, self.settings)
        return control


def check_resume_settings(checkpoint: str | None, settings: dict[str, Any]) -> None:
    """Refuses to resume `checkpoint` with settings other than its own, naming each difference (a checkpoint from
    before settings were recorded is resumed unchecked)."""
    recorded_path = Path(checkpoint or "") / CHECKPOINT_SETTINGS_FILE
    if checkpoint is None or not recorded_path.is_file():
        return
    recorded = read_json_object(recorded_path, "the settings of the run that saved the checkpoint")
    differences = [
        "another prepared dataset" if key == "data" else f"{key} {recorded.get(key)!r} (now {value!r})"
        for key, value in settings.items()
        if recorded.get(key) != value
    ]
    if differences:
        raise ValueError(
            f"--resume_from_checkpoint {checkpoint}: it was trained with other settings: {'; '.join(differences)}; "
            "resume with the checkpoint's settings, or start a new run in another --output_dir"
        )


NO_SPACE_MESSAGES = ("No space left on device", "file write failed")
"""How a full disk reads when torch (`PytorchStreamWriter failed writing file`) or safetensors raise it as their own
error instead of an OSError."""


@contextmanager
def disk_full_reported(output_dir: Path) -> Iterator[None]:
    """Turns a full disk while saving a checkpoint or the model into one OSError saying so, after removing the
    checkpoints it left half-written (a resume would skip them, but they hold the space that is missing)."""
    try:
        yield
    except Exception as error:
        full = getattr(error, "errno", None) == errno.ENOSPC or any(text in str(error) for text in NO_SPACE_MESSAGES)
        if not full:
            raise
        damaged = [path for path in output_dir.glob(f"{CHECKPOINT_PREFIX}*") if checkpoint_problem(path)]
        for path in damaged:
            shutil.rmtree(path, ignore_errors=True)
        removed = f"removed the half-written {', '.join(sorted(path.name for path in damaged))}; " if damaged else ""
        raise OSError(
            errno.ENOSPC,
            f"no space left on device while saving in {output_dir}; {removed}free space, then continue with "
            "--resume_from_checkpoint last",
        ) from error
