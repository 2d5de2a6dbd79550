"""The Random baseline: what a recommender that knows nothing scores (a floor every model must clear)."""

from collections.abc import Mapping

import torch

from .base import BaselineSettings, register_baseline


@register_baseline("random", label="Random")
class Random:
    """Independent uniform scores for every (example, item), reproducible from the seed.

    Rows are drawn in order from one generator, so the same seed gives the same scores for the same sequence of
    examples whatever the batch size.
    """

    def __init__(self, num_items: int, seed: int = 0):
        self.num_items = num_items
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    @classmethod
    def from_settings(cls, settings: BaselineSettings) -> "Random":
        return cls(settings.num_items, seed=settings.seed)

    @property
    def name(self) -> str:
        return f"Random(seed={self.seed})"

    def fit(self, train=None, validation=None) -> "Random":
        """Nothing to learn; returns `self`."""
        return self

    def score(self, examples: list[Mapping]) -> torch.Tensor:
        return torch.rand(len(examples), self.num_items, generator=self.generator, dtype=torch.float64)

    __call__ = score
