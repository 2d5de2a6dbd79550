"""The cold-start option of the protocol: some items are never a training or validation target, and the test examples
whose target is one of them form their own split, `test_cold`, to measure recommending items a model never learned."""

import numpy as np

COLD_SPLIT = "test_cold"
COLD_AMONG_COLD = "test_cold_among_cold"
"""`test_cold` ranked among the cold items only (the study reports both rankings)."""


def pick_cold_items(targets: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """`round(fraction * n)` (at least one) of the n distinct target items, drawn uniformly without replacement by
    `numpy.random.default_rng(seed)`, as sorted item ids. Only targets are candidates: an item that is never a target
    could not be measured."""
    candidates = np.unique(targets)
    count = max(1, round(fraction * len(candidates)))
    return np.sort(np.random.default_rng(seed).choice(candidates, size=count, replace=False))


def split_cold(rows: dict[str, np.ndarray], targets: np.ndarray, cold: np.ndarray) -> dict[str, np.ndarray]:
    """The split rows without any example whose target is cold, plus `test_cold`: the test rows whose target is cold.

    Training and validation examples with a cold target are dropped; histories keep cold items, as a log of the
    period would (a cold item is one the model never learned to predict, not one it never read). `test` keeps the
    warm targets, so that its metrics stay comparable with a model that had all items.
    """
    is_cold = np.isin(targets, cold)
    warm = {name: split[~is_cold[split]] for name, split in rows.items()}
    return {**warm, COLD_SPLIT: rows["test"][is_cold[rows["test"]]]}
