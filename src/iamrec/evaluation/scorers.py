"""What a scorer is, and the scorer of a trained model: examples in, one score per catalog item out.

A scorer follows the `Scorer` protocol (RecBole's fixed model interface, reduced to ranking): `fit(train,
validation)`, `score(examples) -> (batch, num_items)` (also its `__call__`) and a `name`. The model (`ModelScorer`) and
every baseline (`iamrec.baselines`) qualify. `CandidateScorer` ranks a subset.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class Scorer(Protocol):
    """Examples in (dicts with `history`, `target`, ...), one score per catalog item out; fitted on training data."""

    name: str

    def fit(self, train, validation=None) -> "Scorer":
        """Learns from the `train` split (a learned scorer may early-stop on `validation`); returns `self`."""
        ...

    def score(self, examples: list[Mapping]) -> torch.Tensor:
        """`(len(examples), num_items)` scores; a higher score ranks first."""
        ...

    def __call__(self, examples: list[Mapping]) -> torch.Tensor: ...


class ModelScorer:
    """Scores examples with a model: `collator(examples)` gives the batch, `model(**batch).logits` the scores.

    The collator's `labels` are dropped so the forward pass computes no loss. Runs under `torch.no_grad()` with
    the model in eval mode (dropout off).

    Args:
        model: any module returning an output with `.logits` of shape `(batch_size, num_items)`.
        collator: a callable mapping a list of example dicts to a dict of model inputs.
        device: where the batch goes; defaults to the model's device.
        name: recorded in results; defaults to the model's class name.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        collator: Callable[[list[dict]], Mapping[str, Any]],
        device: torch.device | str | None = None,
        name: str | None = None,
    ):
        self.model = model
        self.collator = collator
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.name = name or type(model).__name__

    def fit(self, train=None, validation=None) -> "ModelScorer":
        """The model is trained by `iamrec train`; returns `self`."""
        return self

    def score(self, examples: list[dict]) -> torch.Tensor:
        batch = {key: value for key, value in self.collator(examples).items() if key != "labels"}
        batch = {key: value.to(self.device) if torch.is_tensor(value) else value for key, value in batch.items()}
        self.model.eval()
        with torch.no_grad():
            return self.model(**batch).logits

    __call__ = score


class CandidateScorer:
    """Wraps a scorer so that only `candidates` can be ranked: every other item scores -inf.

    Ranking the cold-start test examples among the cold items is the usual cold-start protocol (new items get a slot
    of their own); a ranking over the whole catalog, led by popular trained items, hides how they are ordered.
    """

    def __init__(self, scorer: Scorer, candidates: Sequence[int], num_items: int):
        self.scorer = scorer
        self.excluded = torch.ones(num_items, dtype=torch.bool)
        self.excluded[torch.as_tensor(list(candidates), dtype=torch.long)] = False

    def __call__(self, examples: list[dict]) -> torch.Tensor:
        scores = self.scorer(examples).float()
        return scores.masked_fill(self.excluded.to(scores.device), float("-inf"))
