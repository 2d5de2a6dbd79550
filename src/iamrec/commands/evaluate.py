"""`iamrec evaluate`: full-catalog HR/NDCG/MRR of a model and baselines on one split, printed as one JSON object."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..evaluation.ranking import EvaluationPolicy
from . import Placement, parse_flags


@dataclass
class EvaluateArguments:
    """Full-catalog metrics of a trained model and of baselines on one split, as one JSON object."""

    data_dir: str = field(metadata={"help": "A folder written by `iamrec prepare`."})
    model: str | None = field(
        default=None, metadata={"help": "A model folder written by `iamrec train` (omit to score baselines only)."}
    )
    split: Literal["train", "validation", "test", "test_cold"] = field(
        default="test",
        metadata={
            "help": "The split to rank (test_cold: the cold-item test examples of `prepare --cold_items_fraction`)."
        },
    )
    sasrec_dir: str | None = field(
        default=None,
        metadata={
            "help": "A SASRec saved by SASRec.save_pretrained, for --baselines sasrec (omit: train one here, "
            "to early stopping; about 8 minutes on ML-100K on 2 CPU cores)."
        },
    )
    baselines: list[str] = field(
        default_factory=lambda: ["most_popular"],
        metadata={
            "help": "Registered baselines (iamrec.baselines): most_popular, most_popular_histories, random, sasrec, "
            "or none."
        },
    )
    batch_size: int = field(default=32, metadata={"help": "Examples per model forward."})
    max_length: int | None = field(default=None, metadata={"help": "Prompt tokens at most (default: the processor's)."})
    output: str | None = field(default=None, metadata={"help": "Also write the JSON to this file."})

    def __post_init__(self):
        from ..baselines import BASELINES

        self.baselines = [] if self.baselines == ["none"] else self.baselines
        unknown = sorted(set(self.baselines) - set(BASELINES))
        if unknown:
            raise ValueError(f"--baselines: unknown {unknown}; choose from {list(BASELINES)} or none")
        if self.model is None and not self.baselines:
            raise ValueError("nothing to evaluate: give --model, a baseline, or both")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {self.batch_size}")


def check_output_file(path: Path) -> None:
    """A results file can be written at `path`: its folder exists and the path is not a folder itself."""
    if path.is_dir():
        raise IsADirectoryError(f"--output {path} is a folder; give the path of a JSON file to write")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--output {path}: the folder {path.parent} does not exist; create it first")


def parse(argv: list[str]) -> tuple[EvaluateArguments, EvaluationPolicy, Placement]:
    return parse_flags(argv, "iamrec evaluate", EvaluateArguments, EvaluationPolicy, Placement)


def run(arguments: tuple[EvaluateArguments, EvaluationPolicy, Placement]) -> int:
    from ..data import load_prepared
    from ..evaluation import evaluate_all

    args, policy, placement = arguments

    if args.output:  # checked first, so that results are never computed and then lost
        check_output_file(Path(args.output))
    report = evaluate_all(
        load_prepared(args.data_dir),
        args.split,
        args.model,
        tuple(args.baselines),
        policy,
        args.batch_size,
        args.max_length,
        device=placement.device,
        dtype=placement.dtype,
        sasrec_dir=args.sasrec_dir,
    )
    text = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    print(text)
    return 0
