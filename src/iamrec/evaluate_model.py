"""Full-catalog metrics of a trained model and of baselines on one split, as one JSON-ready report (`iamrec evaluate`)."""

from pathlib import Path
from typing import Any

from .baselines import MostPopular, Random
from .data import PreparedDataset
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
