"""Runs any scorer (a model or a baseline) over a dataset split and returns metrics with their policy recorded."""

import math
from collections.abc import Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from .ranking import DEFAULT_KS, EvaluationPolicy, RankingAccumulator, check_ks, metrics_from_ranks
from .scorers import Scorer

REQUIRED_COLUMNS = ("history", "target")


def iter_example_batches(dataset, batch_size: int):
    """Yields lists of example dicts from a `datasets.Dataset` / `IterableDataset`, one batch at a time."""
    for columns in dataset.iter(batch_size=batch_size):
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise ValueError(f"The dataset lacks the column(s) {missing}; it has {sorted(columns)}.")
        yield [dict(zip(columns, values)) for values in zip(*columns.values())]


def rank_targets(
    scorer: Scorer,
    dataset,
    num_items: int,
    policy: EvaluationPolicy,
    batch_size: int,
    *,
    progress: str | None = None,
) -> torch.LongTensor:
    """Every example's target rank among all `num_items` items under `policy`, in dataset order: what every metric
    and every paired comparison of runs is computed from. `progress` labels a tqdm bar (none when None)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    accumulator = RankingAccumulator(policy=policy, num_items=num_items)
    try:
        total = math.ceil(len(dataset) / batch_size)
    except TypeError:  # an IterableDataset has no length
        total = None
    batches = tqdm(iter_example_batches(dataset, batch_size), total=total, desc=progress, disable=progress is None)
    for examples in batches:
        histories = [example["history"] for example in examples] if policy.exclude_history else None
        accumulator.update(scorer(examples), [example["target"] for example in examples], histories)
    return accumulator.ranks


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
        scorer: a `Scorer` (or any callable) taking a list of example dicts (columns `history`, `target`, ...) and
            returning a `(batch_size, num_items)` score tensor; `ModelScorer` and every baseline qualify.
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
    ks = check_ks(ks)
    scorer_name = getattr(scorer, "name", type(scorer).__name__)
    split = split if split is not None else getattr(dataset, "split", None)
    split = str(split) if split is not None else None
    progress = f"Evaluating {scorer_name}" + (f" on {split}" if split else "") if show_progress else None
    ranks = rank_targets(scorer, dataset, num_items, policy, batch_size, progress=progress)
    return {
        "metrics": metrics_from_ranks(ranks, ks),
        "policy": policy.to_dict(),
        "split": split,
        "num_examples": len(ranks),
        "num_items": num_items,
        "scorer": scorer_name,
    }
