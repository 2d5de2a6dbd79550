"""Full-catalog ranking metrics (HR@k, NDCG@k, MRR) with explicit, recorded evaluation policies.

Every score matrix is reduced to one rank per example as soon as it arrives, so evaluating a split costs
O(batch x items) memory for the batch at hand plus one integer per example, never O(examples x items).
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..flags import flag

TIE_POLICIES = ("pessimistic", "optimistic")
DEFAULT_KS = (5, 10)


@dataclass(frozen=True)
class EvaluationPolicy:
    """How ranks are computed; recorded with every result because the numbers depend on it. It is also the flag
    dataclass of `iamrec train` and `iamrec evaluate` (`--exclude_history`, `--ties`), so it is declared once.

    Args:
        exclude_history (`bool`, defaults to `False`):
            Remove the user's history items from the ranking (they can neither outrank the target nor be
            counted). The target itself is never removed, even when it also occurs in the history (a repeat
            consumption): removing it would make the example unanswerable. HatLLM keeps history items, hence
            the default.
        ties (`str`, defaults to `"pessimistic"`):
            `"pessimistic"`: rank = 1 + number of other items scoring >= the target, so a constant scorer ranks
            every target last. `"optimistic"`: rank = 1 + number of items scoring strictly more than the target.
    """

    exclude_history: bool = flag(False, help="Rank without the user's history items.")
    ties: str = flag(
        "pessimistic",
        help="Tied scores count against the target (pessimistic) or for it (optimistic).",
        choices=TIE_POLICIES,
    )

    def __post_init__(self):
        if self.ties not in TIE_POLICIES:
            raise ValueError(f"Unknown tie policy {self.ties!r}; choose one of {TIE_POLICIES}.")
        if not isinstance(self.exclude_history, bool):
            raise ValueError(f"exclude_history must be a bool, got {self.exclude_history!r}.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    """Validates the metric cut-offs and returns them sorted and unique."""
    ks = tuple(ks)
    if not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in ks):
        raise ValueError(f"ks must be a non-empty sequence of positive integers, got {ks!r}.")
    return tuple(sorted(set(ks)))


def check_item_ids(ids: torch.Tensor, rows: torch.Tensor, num_items: int, what: str) -> None:
    """Raises, naming the first offending row, when an item id lies outside the catalog [0, num_items)."""
    outside = (ids < 0) | (ids >= num_items)
    if outside.any():
        first = int(outside.nonzero()[0])
        raise ValueError(
            f"{what} of row {int(rows[first])} holds item id {int(ids[first])}, outside the catalog [0, {num_items})."
        )


def history_mask(
    histories: Sequence[Sequence[int]] | torch.Tensor, num_items: int, device: torch.device | str = "cpu"
) -> torch.BoolTensor:
    """A `(batch, num_items)` mask of each row's history items. Negative ids are padding and are skipped."""
    if isinstance(histories, torch.Tensor):
        if histories.dim() != 2:
            raise ValueError(f"histories as a tensor must be (batch, length), got shape {tuple(histories.shape)}.")
        rows, cols = (histories >= 0).nonzero(as_tuple=True)
        items = histories[rows, cols].long()
    else:
        rows = [row for row, history in enumerate(histories) for item in history if item >= 0]
        items = [int(item) for history in histories for item in history if item >= 0]
        rows, items = torch.tensor(rows, dtype=torch.long), torch.tensor(items, dtype=torch.long)
    check_item_ids(items, rows, num_items, "The history")
    mask = torch.zeros(len(histories), num_items, dtype=torch.bool, device=device)
    mask[rows.to(device), items.to(device)] = True
    return mask


def target_ranks(
    scores: torch.Tensor,
    targets: Sequence[int] | torch.Tensor,
    policy: EvaluationPolicy = EvaluationPolicy(),
    histories: Sequence[Sequence[int]] | torch.Tensor | None = None,
) -> torch.LongTensor:
    """The 1-based rank of each target among all catalog items, under `policy`.

    Args:
        scores (`torch.Tensor` of shape `(batch_size, num_items)`): a score per catalog item, higher is better.
        targets (`(batch_size,)` integers): the target item id of each row.
        policy (`EvaluationPolicy`): tie handling and history exclusion.
        histories (*optional*): per row, the item ids of the history (lists, or a padded tensor with negative
            padding). Required when `policy.exclude_history` is set, ignored otherwise.

    Returns:
        `torch.LongTensor` of shape `(batch_size,)` on the CPU.
    """
    if scores.dim() != 2:
        raise ValueError(f"scores must be (batch_size, num_items), got shape {tuple(scores.shape)}.")
    batch_size, num_items = scores.shape
    targets = torch.as_tensor(targets, device=scores.device)
    if targets.dtype.is_floating_point or targets.dtype.is_complex or targets.dtype == torch.bool:
        raise ValueError(f"targets must be integer item ids, got dtype {targets.dtype}.")
    if targets.shape != (batch_size,):
        raise ValueError(f"targets must have shape ({batch_size},) to match scores, got {tuple(targets.shape)}.")
    check_item_ids(targets, torch.arange(batch_size), num_items, "The target")
    nan_rows = scores.isnan().any(dim=1)
    if nan_rows.any():
        raise ValueError(f"scores contain NaN in rows {nan_rows.nonzero().flatten().tolist()[:10]}.")

    targets = targets.long()
    target_scores = scores.gather(1, targets[:, None])
    outranks = scores >= target_scores if policy.ties == "pessimistic" else scores > target_scores
    outranks[torch.arange(batch_size, device=scores.device), targets] = False
    if policy.exclude_history:
        if histories is None:
            raise ValueError("policy.exclude_history is set but no histories were given.")
        if len(histories) != batch_size:
            raise ValueError(f"Got {len(histories)} histories for {batch_size} rows of scores.")
        # The target is already False in `outranks`, so excluding the history can never remove it.
        outranks &= ~history_mask(histories, num_items, scores.device)
    return (1 + outranks.sum(dim=1)).cpu()


def metrics_from_ranks(ranks: Sequence[int] | torch.Tensor, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """HR@k, NDCG@k (binary relevance, a single target: 1/log2(rank + 1) when rank <= k) and MRR.

    MRR is the full mean reciprocal rank, not truncated at any k.
    """
    ks = check_ks(ks)
    ranks = torch.as_tensor(ranks, dtype=torch.float64).flatten()
    if ranks.numel() == 0:
        raise ValueError("No examples to compute ranking metrics on.")
    if (ranks < 1).any():
        raise ValueError("Ranks are 1-based; got a rank below 1.")
    gains = 1.0 / torch.log2(ranks + 1)
    metrics = {f"HR@{k}": (ranks <= k).double().mean().item() for k in ks}
    metrics.update({f"NDCG@{k}": torch.where(ranks <= k, gains, 0.0).mean().item() for k in ks})
    metrics["MRR"] = (1.0 / ranks).mean().item()
    return metrics


class RankingAccumulator:
    """Streams batches of scores into target ranks and computes the metrics at the end.

    Keeps one integer per example; each score matrix is dropped once its ranks are known.

    Example:

    ```python
    >>> accumulator = RankingAccumulator(ks=(5, 10), policy=EvaluationPolicy())
    >>> for scores, targets in batches:
    ...     accumulator.update(scores, targets)
    >>> accumulator.compute()
    {"HR@5": ..., "HR@10": ..., "NDCG@5": ..., "NDCG@10": ..., "MRR": ..., "num_examples": ...}
    ```
    """

    def __init__(
        self,
        ks: Sequence[int] = DEFAULT_KS,
        policy: EvaluationPolicy = EvaluationPolicy(),
        num_items: int | None = None,
    ):
        self.ks = check_ks(ks)
        self.policy = policy
        self.num_items = num_items
        self._buffer = torch.empty(0, dtype=torch.long)
        self._count = 0

    def update(
        self,
        scores: torch.Tensor,
        targets: Sequence[int] | torch.Tensor,
        histories: Sequence[Sequence[int]] | torch.Tensor | None = None,
    ) -> torch.LongTensor:
        """Adds a batch; returns its target ranks. The catalog size is fixed by the first batch if not given."""
        if scores.dim() == 2:
            if self.num_items is None:
                self.num_items = scores.shape[1]
            elif scores.shape[1] != self.num_items:
                raise ValueError(f"scores have {scores.shape[1]} columns but the catalog has {self.num_items} items.")
        ranks = target_ranks(scores, targets, self.policy, histories)
        self._append(ranks)
        return ranks

    def _append(self, ranks: torch.LongTensor) -> None:
        # One buffer grown by doubling, rather than a small tensor kept per batch: small long-lived blocks between
        # the large per-batch temporaries fragment glibc's heap, and the process can then grow by up to a score
        # matrix per batch (measured: +0.5-1 GiB over 64 batches of 256 x 100k scores, see bench_evaluation.py).
        needed = self._count + len(ranks)
        if needed > len(self._buffer):
            grown = torch.empty(max(needed, 2 * len(self._buffer), 1024), dtype=torch.long)
            grown[: self._count] = self._buffer[: self._count]
            self._buffer = grown
        self._buffer[self._count : needed] = ranks
        self._count = needed

    @property
    def ranks(self) -> torch.LongTensor:
        """All target ranks so far, in order."""
        return self._buffer[: self._count].clone()

    def compute(self) -> dict[str, float | int]:
        ranks = self.ranks
        return {**metrics_from_ranks(ranks, self.ks), "num_examples": ranks.numel()}
