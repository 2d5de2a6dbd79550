"""`iamrec train`: fine-tune an IAMRec model (LoRA + full head) on prepared splits with the HF Trainer.

iamrec train --data-dir runs/ml-100k --output-dir runs/model [any TrainingArguments flag]
iamrec train config.yaml [flags]              # the same names from a YAML or JSON file; flags after it override
torchrun --nproc_per_node 2 -m iamrec.cli train ...   # data-parallel (gloo on CPU, nccl on GPUs)
"""

import json
from pathlib import Path
from typing import Any

from ..arguments import IAMRecArguments, RecTrainingArguments
from ..evaluation.ranking import EvaluationPolicy
from . import parse_flags


def flags_from_file(path: Path) -> list[str]:
    """A YAML/JSON mapping as command-line flags, so argparse checks every value's type and names the field at fault.

    A null value leaves the field at its default.
    """
    import yaml

    text = path.read_text(encoding="utf-8")
    values = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of argument names to values, got {type(values).__name__}")
    flags: list[str] = []
    for name, value in values.items():
        flags += flag_values(f"--{name}", value)
    return flags


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
        argv = [*flags_from_file(Path(argv[0])), *argv[1:]]
    return parse_flags(argv, "iamrec train", IAMRecArguments, RecTrainingArguments, EvaluationPolicy)


def run(arguments: tuple[IAMRecArguments, RecTrainingArguments, EvaluationPolicy]) -> int:
    from ..train import train

    args, training_args, policy = arguments
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
    return 0
