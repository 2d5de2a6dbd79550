"""`iamrec evaluate`: full-catalog metrics of a trained model and of baselines on one split, as one JSON object."""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .baselines import MostPopular, Random
from .data import PreparedDataset, load_prepared
from .evaluation import ModelScorer, evaluate_scorer
from .inference import Recommender
from .metrics import EvaluationPolicy

BASELINES = ("most_popular", "random")


def check_same_catalog(recommender: Recommender, data: PreparedDataset) -> None:
    """A model only scores the catalog it was trained on: refuse data whose item ids mean other items."""
    model_titles, data_titles = list(recommender.processor.titles), list(data.titles)
    if model_titles != data_titles:
        first = next((i for i, (a, b) in enumerate(zip(model_titles, data_titles)) if a != b), None)
        where = f"item {first} is {model_titles[first]!r} for the model, {data_titles[first]!r} in the data" if first is not None else ""
        raise ValueError(
            f"The data's catalog ({len(data_titles)} items) differs from the model's ({len(model_titles)} items)"
            f"{': ' + where if where else ''}. Evaluate with the data dir the model was trained on."
        )


def evaluate_all(
    data: PreparedDataset,
    split: str = "test",
    model_dir: str | Path | None = None,
    baselines: tuple[str, ...] = ("most_popular",),
    policy: EvaluationPolicy = EvaluationPolicy(),
    batch_size: int = 32,
    max_length: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Scores the split with the model (if given) and each baseline; baselines are fitted on the train split only."""
    if split not in data.splits:
        raise ValueError(f"Unknown split {split!r}; the data has {sorted(data.splits)}.")
    dataset, num_items = data.splits[split], len(data.titles)
    scorers = []
    if model_dir is not None:
        recommender = Recommender.from_pretrained(model_dir)
        check_same_catalog(recommender, data)
        collator = recommender.processor.collator(max_length=max_length)
        scorers.append(ModelScorer(recommender.model, collator, name=f"IAMRec[{Path(model_dir).name}]"))
    for name in baselines:
        if name == "most_popular":
            scorers.append(MostPopular(num_items).fit(data.splits["train"]))
        elif name == "random":
            scorers.append(Random(num_items, seed=seed))
        else:
            raise ValueError(f"Unknown baseline {name!r}; choose from {BASELINES}.")
    results = {}
    for scorer in scorers:
        result = evaluate_scorer(scorer, dataset, num_items, policy, batch_size=batch_size, split=split)
        results[result["scorer"]] = result["metrics"]
    return {"split": split, "num_examples": len(dataset), "num_items": num_items, "policy": policy.to_dict(),
            "results": results}


def check_output_file(path: Path) -> None:
    """A results file can be written at `path`: its folder exists and the path is not a folder itself."""
    if path.is_dir():
        raise ValueError(f"--output {path} is a folder; give the path of a JSON file to write")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--output {path}: the folder {path.parent} does not exist; create it first")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iamrec evaluate", description=__doc__)
    parser.add_argument("--data-dir", required=True, help="a folder written by `iamrec prepare`")
    parser.add_argument("--model", help="a model folder written by `iamrec train` (omit to score baselines only)")
    parser.add_argument("--split", default="test", help="train, validation or test (default: test)")
    parser.add_argument("--baselines", nargs="*", default=["most_popular"], choices=BASELINES)
    parser.add_argument("--exclude-history", action="store_true", help="rank without the user's history items")
    parser.add_argument("--ties", default="pessimistic", choices=["pessimistic", "optimistic"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=None, help="prompt tokens at most (default: processor's)")
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args(argv)
    try:
        if args.output:  # checked first, so that results are never computed and then lost
            check_output_file(Path(args.output))
        report = evaluate_all(
            load_prepared(args.data_dir), args.split, args.model, tuple(args.baselines),
            EvaluationPolicy(exclude_history=args.exclude_history, ties=args.ties), args.batch_size, args.max_length,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"iamrec evaluate: error: {error}", file=sys.stderr)
        return 1
    text = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    print(text)
    return 0
