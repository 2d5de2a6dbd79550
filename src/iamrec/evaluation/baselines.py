"""Non-learned baselines with the same scorer interface as the model: `score(examples) -> (batch, num_items)`.

A scorer is any callable taking a list of example dicts (columns `history`, `target`, ...) and returning a score
for every catalog item; `runner.evaluate_scorer` runs baselines and models through the same code.
"""

from collections.abc import Iterable, Mapping

import torch

from .ranking import check_item_ids

POPULARITY_COUNTS = ("targets", "targets+histories")


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

    @property
    def name(self) -> str:
        return f"MostPopular(count={self.count})"

    def fit(self, examples: Iterable[Mapping]) -> "MostPopular":
        """Counts item occurrences in the training examples (a `datasets.Dataset` split or any iterable of dicts)."""
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


class Random:
    """Independent uniform scores for every (example, item), reproducible from the seed.

    Rows are drawn in order from one generator, so the same seed gives the same scores for the same sequence of
    examples whatever the batch size.
    """

    def __init__(self, num_items: int, seed: int = 0):
        self.num_items = num_items
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def name(self) -> str:
        return f"Random(seed={self.seed})"

    def score(self, examples: list[Mapping]) -> torch.Tensor:
        return torch.rand(len(examples), self.num_items, generator=self.generator, dtype=torch.float64)

    __call__ = score
