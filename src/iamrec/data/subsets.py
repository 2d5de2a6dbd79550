"""Validation and test subsets drawn across a split, so a capped evaluation still sees many users.

A chronological split is ordered by time, and its first N examples come from the few users active at its start (on
MovieLens latest-small the first 1,000 validation examples held 32 users, one of them 213 times): checkpoints selected
on them fit those users. A seeded sample spreads the cap over the whole split instead.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SAMPLE_MODES = ("examples", "users", "first")
"""`examples`: a uniform sample of the split's examples; `users`: as many users as possible, each giving the same
number of examples (one each when the cap is below the number of users); `first`: the first N examples, the
time-ordered prefix that releases before the sample used (kept to reproduce their results)."""


@dataclass(frozen=True)
class Sample:
    """At most `count` examples of a split (None: all), drawn by `mode` with `seed`; the rows keep the split's order."""

    count: int | None
    mode: str = "examples"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in SAMPLE_MODES:
            raise ValueError(f"The sample mode must be one of {list(SAMPLE_MODES)}, got {self.mode!r}.")
        if self.count is not None and self.count < 1:
            raise ValueError(f"A sample needs at least 1 example (or None for all), got {self.count}.")

    def rows(self, users: Sequence[str]) -> np.ndarray:
        """The chosen row numbers, ascending, of a split whose examples belong to `users` (one entry per example)."""
        size = len(users)
        if self.count is None or self.count >= size:
            return np.arange(size)
        if self.mode == "first":
            return np.arange(self.count)
        rng = np.random.default_rng(self.seed)
        if self.mode == "examples":
            return np.sort(rng.choice(size, size=self.count, replace=False))
        codes, uniques = pd.factorize(np.asarray(users, dtype=object))
        user_rank = rng.permutation(len(uniques))[codes]
        by_user = np.lexsort((rng.random(size), codes))  # each user's examples in a random order
        starts = np.searchsorted(codes[by_user], np.arange(len(uniques)))
        turn = np.empty(size, dtype=np.int64)
        turn[by_user] = np.arange(size) - starts[codes[by_user]]  # 0 for a user's first drawn example, 1, ...
        return np.sort(np.lexsort((user_rank, turn))[: self.count])

    def of(self, dataset):
        """The sampled `datasets.Dataset` (the whole one when it is within the cap)."""
        if self.count is None or self.count >= len(dataset):
            return dataset
        users = list(dataset["user"]) if self.mode == "users" else [""] * len(dataset)
        return dataset.select(self.rows(users))

    def to_dict(self) -> dict[str, Any]:
        """What results record about the subset."""
        return {"max_samples": self.count, "mode": self.mode, "seed": self.seed}
