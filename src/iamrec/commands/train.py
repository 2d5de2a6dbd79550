"""`iamrec train`: fine-tune an IAMRec model (LoRA + full head) on prepared splits with the HF Trainer.

iamrec train --data-dir runs/ml-100k --output-dir runs/model [any TrainingArguments flag]
iamrec train config.yaml [flags]              # the same names from a YAML or JSON file; flags after it override
torchrun --nproc_per_node 2 -m iamrec.cli train ...   # data-parallel (gloo on CPU, nccl on GPUs)
"""

import argparse
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ..evaluation.ranking import EvaluationPolicy
from ..folder_checks import json_kind, read_json_object
from ..training.arguments import IAMRecArguments, RecTrainingArguments
from . import CommandParser, parse_flags

ARGUMENTS = (IAMRecArguments, RecTrainingArguments, EvaluationPolicy)


def flags_from_file(path: Path) -> list[str]:
    """A YAML/JSON mapping as command-line flags, so argparse checks every value's type and names the field at fault.

    A null value leaves the field at its default.
    """
    flags: list[str] = []
    for name, value in read_config(path).items():
        flags += flag_values(f"--{name}", value)
    return flags


def read_config(path: Path) -> dict:
    """The mapping in a YAML or JSON config file; anything else is one error line naming the file (and the line)."""
    if path.suffix not in (".yaml", ".yml"):
        return read_json_object(path, "argument names and their values")
    try:
        text = path.read_text(encoding="utf-8")
        values = yaml.safe_load(text)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not a text file ({error})") from error
    except yaml.MarkedYAMLError as error:
        raise ValueError(yaml_problem(path, text, error)) from error
    except yaml.YAMLError as error:  # a character YAML does not allow; the message gives its position
        raise ValueError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of argument names to values, got {json_kind(values)}")
    return values


def yaml_problem(path: Path, text: str, error: yaml.MarkedYAMLError) -> str:
    """The error line for a YAML file: where, and what; a tag (`!!python/object/apply:...`) is refused as such."""
    mark = error.problem_mark or error.context_mark
    where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
    rest = text[mark.pointer :] if mark else ""
    if rest.startswith("!"):
        tag = rest.split()[0]
        return f"{where}: tags such as {tag} are not allowed in a config (plain values, lists and mappings only)"
    return f"{where}: not valid YAML ({error.problem or error.context})"


def flag_values(flag: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [flag, *(str(item) for item in value)] if value else []
    if isinstance(value, dict):
        return [flag, json.dumps(value)]
    return [flag, str(value).lower() if isinstance(value, bool) else str(value)]


def parse(argv: list[str]) -> tuple[IAMRecArguments, RecTrainingArguments, EvaluationPolicy]:
    """Flags, or a YAML/JSON file of the same names followed by optional flags."""
    if argv and argv[0].endswith((".yaml", ".yml", ".json")):
        path, file_flags = Path(argv[0]), flags_from_file(Path(argv[0]))
        argv = [*file_flags, *argv[1:]]
        refuse_unknown_keys(path, file_flags, argv)
    parsed = parse_flags(with_budget(argv), "iamrec train", *ARGUMENTS)
    check_amounts(*parsed[:2])
    return parsed


def with_budget(argv: list[str]) -> list[str]:
    """`argv` after the settings of its `--budget` (`training.budgets.TRAIN_PRESETS`), so that every other flag
    overrides them; the budget's steps follow `--supervision` when it is given."""
    from ..training.budgets import preset_settings

    picker = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    picker.add_argument("--budget")
    picker.add_argument("--supervision")
    chosen, _ = picker.parse_known_args(argv)
    if chosen.budget is None:
        return argv
    settings = preset_settings(chosen.budget, chosen.supervision)
    flags: list[str] = []
    for name, value in settings.items():
        flags += flag_values(f"--{name}", value)
    return [*flags, *argv]


def check_amounts(args: IAMRecArguments, training_args: RecTrainingArguments) -> None:
    """Refuses amounts that would only fail (or do something else) later: validating on no example fails at the
    first validation, after training to it; 0 steps trains one."""
    if args.max_eval_samples is not None and args.max_eval_samples < 1:
        raise ValueError(f"--max_eval_samples must be at least 1 (or left out for all), got {args.max_eval_samples}")
    if training_args.max_steps == 0:
        raise ValueError("--max_steps 0 trains nothing; give a positive number (or -1 to train --num_train_epochs)")


def refuse_unknown_keys(path: Path, file_flags: list[str], argv: list[str]) -> None:
    """Names a key of the config file that no `iamrec train` setting has, as a key of that file (argparse would
    report an unused flag)."""
    _, unknown = CommandParser(ARGUMENTS).parse_known_args(argv)
    keys = [flag.removeprefix("--") for flag in unknown if flag.startswith("--") and flag in file_flags]
    if keys:
        raise ValueError(f"{path}: unknown key {keys[0]!r} (not a setting of `iamrec train`)")


def run(arguments: tuple[IAMRecArguments, RecTrainingArguments, EvaluationPolicy]) -> int:
    from ..training import train

    args, training_args, policy = arguments
    with interruption_reported(Path(training_args.output_dir)):
        result = train(args, training_args, policy)
    if result.model_dir is not None:
        print(
            json.dumps(
                {
                    "model_dir": str(result.model_dir),
                    "best_checkpoint": result.best_checkpoint,
                    "best_metric": result.best_metric,
                    "global_step": result.global_step,
                },
                indent=2,
            )
        )
        if training_args.eval_strategy != "no" and training_args.metric_for_best_model == "NDCG@10":
            note_if_within_noise(args, result.best_metric)
    return 0


def note_if_within_noise(args: IAMRecArguments, best: float | None) -> None:
    """Prints one line when the best validation NDCG@10 is within noise of MostPopular's on the same examples."""
    from ..training.verdict import popularity_ndcg, within_noise_note

    note = within_noise_note(best, popularity_ndcg(args.data_dir, args.validation_sample))
    if note is not None:
        print(note)


@contextmanager
def interruption_reported(output_dir: Path) -> Iterator[None]:
    """Ends a Ctrl-C during training with one line saying where the last complete checkpoint is.

    An interrupt that lands inside a PyTorch operation surfaces as a RuntimeError (`INTERNAL ASSERT FAILED`), not a
    KeyboardInterrupt: the handler notes that the interrupt came, so either is reported as such.
    """
    from ..training.resume import last_complete_checkpoint

    interrupted = False

    def on_interrupt(signum, frame):
        nonlocal interrupted
        interrupted = True
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    except (KeyboardInterrupt, RuntimeError) as error:
        if not interrupted:
            raise
        try:
            where = f"the last complete checkpoint is {last_complete_checkpoint(output_dir)}: continue from it with "
            where += "--resume_from_checkpoint last"
        except FileNotFoundError:
            where = "no checkpoint was saved yet"
        raise InterruptedError(f"interrupted; {where}") from error
    finally:
        signal.signal(signal.SIGINT, previous)
