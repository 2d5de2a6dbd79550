"""The ranking metrics as an `evaluate` module, built locally (no Hub, works offline).

`add_batch(predictions=scores, references=target_ids)` reduces the `(batch, num_items)` score matrix to target
ranks at once; only the ranks and target ids reach evaluate's Arrow cache, so memory stays O(examples).
"""

from collections.abc import Sequence

import datasets
import evaluate
import torch

from .ranking import DEFAULT_KS, EvaluationPolicy, check_ks, metrics_from_ranks, target_ranks

_DESCRIPTION = """Full-catalog next-item ranking metrics: HR@k, NDCG@k (one relevant item) and MRR (not truncated).
Ranks follow an explicit EvaluationPolicy (tie handling, history exclusion) that is returned with the metrics."""

_INPUTS_DESCRIPTION = """
Args:
    predictions: a `(batch_size, num_items)` score matrix (tensor, array or nested list), higher is better.
    references: the `(batch_size,)` target item ids.
    histories (*optional*, `add_batch`/`compute` only): per row, the history item ids; needed when the policy
        excludes history items.
Stored per example: the target's rank (in the `predictions` column) and the target id, never the scores.
Returns:
    "HR@k" and "NDCG@k" for every k, "MRR", "num_examples" and "policy" (the policy as a dict).
"""


class RankingMetric(evaluate.Metric):
    """An `evaluate.Metric` whose `add_batch` turns score matrices into target ranks before storing anything."""

    def __init__(self, ks: Sequence[int] = DEFAULT_KS, policy: EvaluationPolicy = EvaluationPolicy(), **kwargs):
        self.ks = check_ks(ks)
        self.policy = policy
        kwargs.setdefault("keep_in_memory", kwargs.get("num_process", 1) == 1)
        # Distinct cache folders per setting, for distributed runs that write to disk.
        cut_offs = "-".join(map(str, self.ks))
        kwargs.setdefault("config_name", f"k{cut_offs}_{policy.ties}_exclude{int(policy.exclude_history)}")
        super().__init__(**kwargs)

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
            format="numpy",
        )

    def add_batch(self, *, predictions=None, references=None, histories=None, **kwargs) -> None:
        """Adds a batch of `(batch, num_items)` scores and target ids, stored as target ranks."""
        if predictions is None or references is None:
            raise ValueError("add_batch needs both predictions (scores) and references (target item ids).")
        scores = torch.as_tensor(predictions)
        targets = torch.as_tensor(references, device=scores.device)
        ranks = target_ranks(scores, targets, self.policy, histories)
        super().add_batch(predictions=ranks.tolist(), references=targets.cpu().tolist(), **kwargs)

    def add(self, *, prediction=None, reference=None, history=None, **kwargs) -> None:
        """Adds one example: a `(num_items,)` score vector and its target id."""
        if prediction is None or reference is None:
            raise ValueError("add needs both a prediction (scores) and a reference (target item id).")
        histories = None if history is None else [history]
        self.add_batch(
            predictions=torch.as_tensor(prediction)[None], references=[reference], histories=histories, **kwargs
        )

    def compute(self, *, predictions=None, references=None, histories=None, **kwargs) -> dict | None:
        """Computes the metrics over everything added (plus `predictions`/`references`, if given)."""
        if predictions is not None or references is not None:
            self.add_batch(predictions=predictions, references=references, histories=histories)
        return super().compute(**kwargs)

    def _compute(self, predictions, references) -> dict:
        metrics = metrics_from_ranks(predictions, self.ks)
        return {**metrics, "num_examples": len(predictions), "policy": self.policy.to_dict()}


def ranking_metric(
    ks: Sequence[int] = DEFAULT_KS, policy: EvaluationPolicy = EvaluationPolicy(), **module_kwargs
) -> RankingMetric:
    """An `evaluate.EvaluationModule` computing HR@k, NDCG@k and MRR over the full catalog.

    `module_kwargs` go to `evaluate.Metric` (e.g. `num_process`/`process_id` for distributed evaluation; the
    cache is kept in memory for a single process).

    Example:

    ```python
    >>> metric = iamrec.ranking_metric(ks=(5, 10))
    >>> for batch in loader:
    ...     metric.add_batch(predictions=model(**batch).logits, references=batch["labels"])
    >>> metric.compute()["NDCG@10"]
    ```
    """
    return RankingMetric(ks=ks, policy=policy, **module_kwargs)
