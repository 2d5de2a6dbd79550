"""Loading a trained model folder and recommending from histories given as titles or item ids (`iamrec recommend`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError
from transformers import AutoModel

from . import auto_classes  # noqa: F401  (AutoModel must know IAMRec folders)
from .folders import check_model_dir
from .tokenization import IAMRecProcessor


@dataclass
class Recommendation:
    item_id: int
    title: str
    score: float


class Recommender:
    """A trained model and its processor: histories in (titles or ids), top-k catalog items out, in batches."""

    def __init__(self, model, processor: IAMRecProcessor):
        if model.config.num_items != processor.num_items:
            raise ValueError(
                f"The model scores {model.config.num_items} items but the processor's catalog has "
                f"{processor.num_items}: they come from different data."
            )
        self.model = model.eval()
        self.processor = processor

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, device: str | None = None) -> "Recommender":
        path = check_model_dir(model_dir)
        try:
            model = AutoModel.from_pretrained(path)
        except (OSError, ValueError, RuntimeError, SafetensorError) as error:
            raise ValueError(f"Could not load the model in {path}; the checkpoint looks corrupt: {error}") from error
        if device is not None:
            model = model.to(device)
        return cls(model, IAMRecProcessor.from_pretrained(path))

    def recommend(
        self,
        histories: Sequence[Sequence[str | int]],
        k: int = 10,
        exclude_history: bool = True,
        batch_size: int = 32,
    ) -> list[list[Recommendation]]:
        """Top-k items for each history (best first); history items are never recommended unless asked."""
        results = []
        for start in range(0, len(histories), batch_size):
            chunk = [self.processor.to_item_ids(history) for history in histories[start : start + batch_size]]
            batch = self.processor(chunk).to(self.model.device)
            top = self.model.recommend(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                item_index=batch["item_index"],
                k=k,
                exclude=chunk if exclude_history else None,
            )
            for ids, scores in zip(top.item_ids.tolist(), top.scores.tolist()):
                results.append([Recommendation(i, self.processor.titles[i], s) for i, s in zip(ids, scores)])
        return results
