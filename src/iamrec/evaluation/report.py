"""`evaluate_all`: a trained model folder and the registered baselines, ranked on one split of a prepared dataset
(what `iamrec evaluate` and the demo print)."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ..baselines import BaselineSettings, build_baseline
from ..data import PreparedDataset
from ..inference import Recommender, resolve_device
from .ranking import EvaluationPolicy
from .runner import evaluate_scorer
from .scorers import ModelScorer


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
    baselines: Sequence[str] = ("most_popular",),
    policy: EvaluationPolicy = EvaluationPolicy(),
    batch_size: int = 32,
    max_length: int | None = None,
    seed: int = 0,
    device: str = "auto",
    dtype: str = "auto",
    sasrec_dir: str | Path | None = None,
    sasrec_settings: Mapping[str, Any] | None = None,
    save_baselines: str | Path | None = None,
) -> dict[str, Any]:
    """Scores the split with the model (if given) and each baseline; baselines are fitted on the train split only.

    The model runs on `device` in `dtype` (`auto`: the GPU in bfloat16 when there is one, else the CPU in float32),
    `batch_size` examples per forward; the report records where it ran. `baselines` are names registered in
    `iamrec.baselines.BASELINES`, built with `seed` and fitted on the train split (early stopping on validation); the
    `sasrec` baseline is loaded from `sasrec_dir` when given (`SASRec.save_pretrained`) instead, or trained with
    `sasrec_settings` (`SASRecConfig` fields, e.g. `max_epochs`, `patience`). A baseline that learns records how it
    trained under `fitted` (best epoch, epochs, settings, torch threads), and with `save_baselines` it is saved to
    `save_baselines/<name>` (SASRec: `SASRec.from_pretrained` and `--sasrec_dir` read it back).
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
    # Early stopping validates under the default policy, whatever `policy` ranks the split with.
    where = str(resolve_device(device))
    options = {"sasrec_dir": sasrec_dir, "sasrec": dict(sasrec_settings or {})}
    settings = BaselineSettings(num_items, seed=seed, device=where, options=options)
    fitted = {}
    for name in baselines:
        scorer = build_baseline(name, settings, data.splits["train"], data.splits.get("validation"))
        scorers.append(scorer)
        if hasattr(scorer, "fit_record"):
            fitted[scorer.name] = {**scorer.fit_record(), "torch_threads": torch.get_num_threads()}
        if save_baselines is not None and hasattr(scorer, "save_pretrained"):
            scorer.save_pretrained(Path(save_baselines) / name)
            fitted.setdefault(scorer.name, {})["saved_to"] = str(Path(save_baselines) / name)
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
        **({"fitted": fitted} if fitted else {}),
        **({"model_placement": placement} if placement else {}),
    }
