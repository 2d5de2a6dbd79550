"""`iamrec evaluate`: full-catalog HR/NDCG/MRR of a model and baselines on one split, printed as one JSON object."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..evaluation.ranking import EvaluationPolicy
from ..flags import flag
from . import Placement, parse_flags


@dataclass
class EvaluateArguments:
    """Full-catalog metrics of a trained model and of baselines on one split, as one JSON object."""

    data_dir: str = flag(help="A folder written by `iamrec prepare`.")
    model: str | None = flag(None, help="A model folder written by `iamrec train` (omit to score baselines only).")
    split: Literal["train", "validation", "test", "test_cold"] = flag(
        "test", help="The split to rank (test_cold: the cold-item test examples of `prepare --cold_items_fraction`)."
    )
    sasrec_dir: str | None = flag(
        None,
        help="A SASRec saved by SASRec.save_pretrained, for --baselines sasrec (omit: train one here, "
        "to early stopping; about 8 minutes on ML-100K on 2 CPU cores).",
    )
    baselines: list[str] = flag(
        ["most_popular"],
        help="Registered baselines (iamrec.baselines): most_popular, most_popular_histories, random, sasrec, or none.",
    )
    sasrec_epochs: int | None = flag(None, help="SASRec trained here: at most this many epochs (default 200).")
    sasrec_patience: int | None = flag(
        None, help="SASRec trained here: stop after this many epochs without a better validation NDCG@10 (8)."
    )
    save_baselines: str | None = flag(
        None,
        help="Save each trained baseline that can be saved under this folder (SASRec: DIR/sasrec, which "
        "--sasrec_dir and `iamrec train --item_id_init` read).",
    )
    threads: int | None = flag(
        None,
        help="torch threads for this command (default: torch's, one per core). On a busy machine fewer run "
        "faster: an epoch of SASRec on latest-small took 404 s with 2 threads on 2 busy cores, 54 s with 1.",
    )
    batch_size: int = flag(32, help="Examples per model forward.")
    max_length: int | None = flag(None, help="Prompt tokens at most (default: the processor's).")
    output: str | None = flag(None, help="Also write the JSON to this file.")

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
        for name in ("sasrec_epochs", "sasrec_patience", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name} must be at least 1, got {value}")
        if self.save_baselines is not None and Path(self.save_baselines).is_file():
            raise FileExistsError(f"--save_baselines {self.save_baselines} is a file; give a folder")

    @property
    def sasrec_settings(self) -> dict[str, int]:
        """The `SASRecConfig` fields these flags set."""
        chosen = {"max_epochs": self.sasrec_epochs, "patience": self.sasrec_patience}
        return {name: value for name, value in chosen.items() if value is not None}


def check_output_file(path: Path) -> None:
    """A results file can be written at `path`: its folder exists and the path is not a folder itself."""
    if path.is_dir():
        raise IsADirectoryError(f"--output {path} is a folder; give the path of a JSON file to write")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--output {path}: the folder {path.parent} does not exist; create it first")


def parse(argv: list[str]) -> tuple[EvaluateArguments, EvaluationPolicy, Placement]:
    return parse_flags(argv, "iamrec evaluate", EvaluateArguments, EvaluationPolicy, Placement)


def run(arguments: tuple[EvaluateArguments, EvaluationPolicy, Placement]) -> int:
    from ..comparison import evaluate_all
    from ..data import load_prepared

    args, policy, placement = arguments
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
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
        sasrec_settings=args.sasrec_settings,
        save_baselines=args.save_baselines,
    )
    text = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    print(text)
    return 0
