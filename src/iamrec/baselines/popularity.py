"""Popularity baselines: MostPopular (training targets counted) and the popularity fallback (history mentions too,
so that an item never a training target still has a popularity: the cold-start grid's reference)."""

from collections.abc import Iterable, Mapping

import torch

from ..evaluation.ranking import check_item_ids
from .base import BaselineSettings, register_baseline

POPULARITY_COUNTS = ("targets", "targets+histories")


@register_baseline("most_popular", label="MostPopular")
class MostPopular:
    """Scores items by how often they occur in the training split; equal counts break ties by lower item id.

    Scores are the popularity order itself (distinct values, `num_items` for the most popular item down to 1), so
    the tie policy of the evaluation never matters for this baseline.

    Args:
        num_items (`int`): catalog size.
        count (`str`, defaults to `"targets"`): what counts as a training interaction.
            `"targets"` counts each example's target: under the sliding-window protocol every training interaction
            is a target exactly once (except each user's first), while histories would count each interaction up to
            `window` times. `"targets+histories"` also counts history items: use it when a user contributes a single
            training example (leave-one-out), where the history holds the interactions.
    """

    def __init__(self, num_items: int, count: str = "targets"):
        if count not in POPULARITY_COUNTS:
            raise ValueError(f"Unknown popularity count {count!r}; choose one of {POPULARITY_COUNTS}.")
        self.num_items = num_items
        self.count = count
        self.counts: torch.LongTensor | None = None
        self.ranks: torch.LongTensor | None = None
        """Each item's popularity rank after `fit`: 0 for the most popular, ties broken by lower item id."""
        self._scores: torch.Tensor | None = None

    @classmethod
    def from_settings(cls, settings: BaselineSettings, **kwargs) -> "MostPopular":
        return cls(settings.num_items, **kwargs)

    @property
    def name(self) -> str:
        return f"MostPopular(count={self.count})"

    def fit(self, examples: Iterable[Mapping], validation=None) -> "MostPopular":
        """Counts item occurrences in the training examples (a `datasets.Dataset` split or any iterable of dicts);
        `validation` is not read."""
        items, rows = [], []
        for row, example in enumerate(examples):
            row_items = [example["target"], *(example["history"] if self.count == "targets+histories" else ())]
            items.extend(row_items)
            rows.extend([row] * len(row_items))
        items = torch.tensor(items, dtype=torch.long)
        check_item_ids(items, torch.tensor(rows), self.num_items, "The training example")
        self.counts = torch.bincount(items, minlength=self.num_items)
        # A stable sort by descending count keeps ascending item ids within equal counts.
        order = torch.sort(self.counts, descending=True, stable=True).indices
        self.ranks = torch.empty(self.num_items, dtype=torch.long)
        self.ranks[order] = torch.arange(self.num_items)
        self._scores = (self.num_items - self.ranks).double()
        return self

    def score(self, examples: list[Mapping]) -> torch.Tensor:
        if self._scores is None:
            raise ValueError("MostPopular must be fit on the training split before scoring.")
        return self._scores.expand(len(examples), -1)

    __call__ = score


@register_baseline("most_popular_histories", label="MostPopular, histories counted")
class PopularityFallback(MostPopular):
    """MostPopular counting history items too (`count="targets+histories"`): an item that is never a training target
    (a cold item) still has a popularity. The popularity fallback of the cold-start grid."""

    def __init__(self, num_items: int):
        super().__init__(num_items, count="targets+histories")
