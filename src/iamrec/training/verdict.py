"""After training: is the model's best validation NDCG@10 any better than MostPopular's on the same examples?

A budget tuned on one dataset can leave a model on another log that barely learned (MovieLens latest-small at the
demo's budget: validation NDCG@10 flat at .015 beside MostPopular's .013), and a silent success hides it.
"""

import numpy as np

from ..baselines import BaselineSettings, build_baseline
from ..data import load_prepared
from ..data.subsets import Sample
from ..evaluation import EvaluationPolicy, rank_targets

NOISE_STANDARD_ERRORS = 2.0
"""The model is within noise of MostPopular when its best validation NDCG@10 is less than this many standard errors
(of MostPopular's per-example NDCG@10 on the same examples) above MostPopular's."""


def popularity_ndcg(data_dir: str, sample: Sample) -> tuple[float, float, int]:
    """MostPopular's validation NDCG@10 on `sample` of the validation split: (mean, standard error, examples)."""
    data = load_prepared(data_dir)
    validation = sample.of(data.splits["validation"])
    popular = build_baseline("most_popular", BaselineSettings(len(data.titles)), data.splits["train"])
    ranks = rank_targets(popular, validation, len(data.titles), EvaluationPolicy(), 256).double().numpy()
    gains = np.where(ranks <= 10, 1 / np.log2(ranks + 1), 0.0)
    return float(gains.mean()), float(gains.std(ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else 0.0, len(gains)


def within_noise_note(best: float | None, popular: tuple[float, float, int]) -> str | None:
    """One line saying the model did not clearly beat MostPopular, with what to try; None when it did."""
    mean, error, examples = popular
    if best is not None and best - mean >= NOISE_STANDARD_ERRORS * error:
        return None
    shown = "none" if best is None else f"{best:.4f}"
    return (
        f"Note: the best validation NDCG@10 ({shown}) is within noise of MostPopular's ({mean:.4f} ± {error:.4f} on "
        f"the same {examples:,} examples): the model learned little beyond popularity; try more steps (--max_steps), "
        "a larger model (--base_model_layers), or another --learning_rate."
    )
