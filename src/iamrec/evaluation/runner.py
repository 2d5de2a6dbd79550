"""Runs any scorer (a model or a baseline) over a dataset split and returns metrics with their policy recorded;
`evaluate_all` scores a trained model folder and the baselines on one split of a prepared dataset."""

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..data import PreparedDataset
from ..inference import Recommender, resolve_device
from .baselines import MostPopular, Random
from .ranking import DEFAULT_KS, EvaluationPolicy, RankingAccumulator
from .scorers import ModelScorer, Scorer

REQUIRED_COLUMNS = ("history", "target")


def iter_example_batches(dataset, batch_size: int):
    """Yields lists of example dicts from a `datasets.Dataset` / `IterableDataset`, one batch at a time."""
    for columns in dataset.iter(batch_size=batch_size):
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise ValueError(f"The dataset lacks the column(s) {missing}; it has {sorted(columns)}.")
        yield [dict(zip(columns, values)) for values in zip(*columns.values())]


def evaluate_scorer(
    scorer: Scorer,
    dataset,
    num_items: int,
    policy: EvaluationPolicy = EvaluationPolicy(),
    batch_size: int = 32,
    ks: Sequence[int] = DEFAULT_KS,
    split: str | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Ranks every example's target among all `num_items` catalog items with `scorer` and averages the metrics.

    Args:
        scorer: a callable taking a list of example dicts (columns `history`, `target`, ...) and returning a
            `(batch_size, num_items)` score tensor; `ModelScorer`, `MostPopular` and `Random` all qualify.
        dataset: a `datasets.Dataset` or `IterableDataset` split with columns `history` and `target`.
        num_items: catalog size; every score matrix must have this many columns.
        policy: history exclusion and tie handling, recorded in the result.
        batch_size: examples per scorer call; memory is O(batch_size x num_items).
        ks: cut-offs of HR@k and NDCG@k.
        split: name recorded in the result; defaults to the dataset's own split name.
        show_progress: show a tqdm progress bar.

    Returns:
        `{"metrics": {"HR@5": ..., "NDCG@10": ..., "MRR": ...}, "policy": {...}, "split": ..., "num_examples": n,
        "num_items": ..., "scorer": name}`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    accumulator = RankingAccumulator(ks=ks, policy=policy, num_items=num_items)
    scorer_name = getattr(scorer, "name", type(scorer).__name__)
    split = split if split is not None else getattr(dataset, "split", None)
    split = str(split) if split is not None else None
    try:
        total = math.ceil(len(dataset) / batch_size)
    except TypeError:  # an IterableDataset has no length
        total = None
    batches = tqdm(
        iter_example_batches(dataset, batch_size),
        total=total,
        desc=f"Evaluating {scorer_name}" + (f" on {split}" if split else ""),
        disable=not show_progress,
    )
    for examples in batches:
        scores = scorer(examples)
        histories = [example["history"] for example in examples] if policy.exclude_history else None
        accumulator.update(scores, [example["target"] for example in examples], histories)
    metrics = accumulator.compute()
    return {
        "metrics": {name: value for name, value in metrics.items() if name != "num_examples"},
        "policy": policy.to_dict(),
        "split": split,
        "num_examples": metrics["num_examples"],
        "num_items": num_items,
        "scorer": scorer_name,
    }


BASELINES = ("most_popular", "random", "sasrec")


def check_same_catalog(recommender: Recommender, data: PreparedDataset) -> None:
    """A model only scores the catalog it was trained on: refuse data whose item ids mean other items."""
    model_titles, data_titles = list(recommender.processor.titles), list(data.titles)
    if model_titles != data_titles:
        first = next((i for i, (a, b) in enumerate(zip(model_titles, data_titles)) if a != b), None)
        where = (
            f"item {first} is {model_titles[first]!r} for the model, {data_titles[first]!r} in the data"
            if first is not None
            else ""
        )
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
    device: str = "auto",
    dtype: str = "auto",
    sasrec_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Scores the split with the model (if given) and each baseline; baselines are fitted on the train split only.

    The model runs on `device` in `dtype` (`auto`: the GPU in bfloat16 when there is one, else the CPU in float32),
    `batch_size` examples per forward; the report records where it ran. The `sasrec` baseline is loaded from
    `sasrec_dir` when given (`SASRec.save_pretrained`), else trained here to early stopping on the validation split.
    """
    if split not in data.splits:
        raise ValueError(f"Unknown split {split!r}; the data has {sorted(data.splits)}.")
    dataset, num_items = data.splits[split], len(data.titles)
    scorers, placement = [], None
    if model_dir is not None:
        recommender = Recommender.from_pretrained(model_dir, device=device, dtype=dtype)
        placement = recommender.placement
        check_same_catalog(recommender, data)
        collator = recommender.processor.collator(max_length=max_length)
        scorers.append(ModelScorer(recommender.model, collator, name=f"IAMRec[{Path(model_dir).name}]"))
    for name in baselines:
        if name == "most_popular":
            scorers.append(MostPopular(num_items).fit(data.splits["train"]))
        elif name == "random":
            scorers.append(Random(num_items, seed=seed))
        elif name == "sasrec":
            from .sasrec import SASRec  # imported when asked: it imports this module

            where = str(resolve_device(device))
            scorers.append(
                SASRec.from_pretrained(sasrec_dir, device=where)
                if sasrec_dir is not None
                else SASRec.fit(data.splits["train"], data.splits["validation"], num_items, seed=seed, device=where)
            )
        else:
            raise ValueError(f"Unknown baseline {name!r}; choose from {BASELINES}.")
    results = {}
    for scorer in scorers:
        result = evaluate_scorer(scorer, dataset, num_items, policy, batch_size=batch_size, split=split)
        results[result["scorer"]] = result["metrics"]
    return {
        "split": split,
        "num_examples": len(dataset),
        "num_items": num_items,
        "policy": policy.to_dict(),
        "results": results,
        **({"model_placement": placement} if placement else {}),
    }
