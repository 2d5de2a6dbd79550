"""Which scorers rank which split: a trained model folder beside the registered baselines, on a prepared dataset.

`evaluation` ranks any scorer and `baselines` builds on it; this module sits above both and composes them, once:
`evaluate_all` is what `iamrec evaluate` and the demo print, and a study run scores its model folder or its baseline
with `model_scorer` and `fit_baseline`.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from .baselines import BaselineSettings, build_baseline
from .data import PreparedDataset
from .evaluation import EvaluationPolicy, ModelScorer, Scorer, evaluate_scorer
from .inference import Recommender, resolve_device


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


def model_scorer(
    model_dir: str | Path,
    data: PreparedDataset,
    name: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    max_length: int | None = None,
) -> tuple[ModelScorer, dict[str, str]]:
    """The scorer of a trained model folder (named `IAMRec[<folder>]` unless `name` is given) and where it runs
    (`Recommender.placement`); refuses `data` of another catalog. `max_length`: prompt tokens at most."""
    recommender = Recommender.from_pretrained(model_dir, device=device, dtype=dtype)
    check_same_catalog(recommender, data)
    collator = recommender.processor.collator(max_length=max_length)
    scorer = ModelScorer(recommender.model, collator, name=name or f"IAMRec[{Path(model_dir).name}]")
    return scorer, recommender.placement


def fit_baseline(name: str, settings: BaselineSettings, train, validation=None) -> tuple[Scorer, dict[str, Any] | None]:
    """The registered baseline `name` fitted on `train` (early stopping on `validation`), and how it trained: a
    learned baseline's `fit_record()` (best epoch, epochs, settings) with the torch threads it ran on; None for a
    baseline that learns nothing worth recording."""
    scorer = build_baseline(name, settings, train, validation)
    if not hasattr(scorer, "fit_record"):
        return scorer, None
    return scorer, {**scorer.fit_record(), "torch_threads": torch.get_num_threads()}


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
        scorer, placement = model_scorer(model_dir, data, device=device, dtype=dtype, max_length=max_length)
        scorers.append(scorer)
    # Early stopping validates under the default policy, whatever `policy` ranks the split with.
    where = str(resolve_device(device))
    options = {"sasrec_dir": sasrec_dir, "sasrec": dict(sasrec_settings or {})}
    settings = BaselineSettings(num_items, seed=seed, device=where, options=options)
    fitted = {}
    for name in baselines:
        scorer, record = fit_baseline(name, settings, data.splits["train"], data.splits.get("validation"))
        scorers.append(scorer)
        if record is not None:
            fitted[scorer.name] = record
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
