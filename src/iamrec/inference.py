"""Loading a trained model folder and recommending from histories given as titles or item ids (`iamrec recommend`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from transformers import AutoModel

from . import auto_classes  # noqa: F401  (AutoModel must know IAMRec folders)
from .folder_checks import check_model_dir
from .precision import resolve_dtype
from .tokenization import IAMRecProcessor

DEVICES = "auto, cpu, cuda or cuda:N"


def resolve_device(device: str = "auto") -> torch.device:
    """`auto` is the first CUDA device when there is one, else the CPU; a CUDA device that is absent is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"Unknown device {device!r}; choose {DEVICES}.") from error
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"Unknown device {device!r}; choose {DEVICES}.")
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"Device {device!r} is not available: this machine has {torch.cuda.device_count()} CUDA "
            "device(s); use --device cpu or auto."
        )
    return resolved


@dataclass
class Recommendation:
    item_id: int
    title: str
    score: float


def check_all_weights_loaded(path: Path, loading: dict[str, Any]) -> None:
    """Refuses a folder whose weights file lacks weights of the model or holds others: transformers only reports
    them, initialising the missing ones at random (a half-trained model that still ranks) or dropping layers that the
    config does not declare."""
    problems = [
        f"{what}: {', '.join(sorted(loading[key])[:5])}{' ...' if len(loading[key]) > 5 else ''}"
        for key, what in (
            ("missing_keys", "missing weights"),
            ("unexpected_keys", "weights the config has no place for"),
        )
        if loading[key]
    ]
    if problems:
        raise ValueError(f"{path} is an incomplete or inconsistent checkpoint, {'; '.join(problems)}")


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
    def from_pretrained(cls, model_dir: str | Path, device: str = "auto", dtype: str = "auto") -> "Recommender":
        """Loads a model folder onto `device` in `dtype` (see `resolve_device`, `resolve_dtype`); the head stays
        in float32 whatever the dtype, so that item scores do not tie."""
        path = check_model_dir(model_dir)
        target = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, target)
        try:
            model, loading = AutoModel.from_pretrained(path, dtype=torch_dtype, output_loading_info=True)
        except (OSError, ValueError, RuntimeError, SafetensorError) as error:
            raise ValueError(f"Could not load the model in {path}; the checkpoint looks corrupt: {error}") from error
        check_all_weights_loaded(path, loading)
        try:
            processor = IAMRecProcessor.from_pretrained(path)
        except Exception as error:  # tokenizers reports a malformed tokenizer.json as a bare Exception
            raise ValueError(f"Could not load the tokenizer or processor in {path}: {error}") from error
        return cls(model.to(target), processor)

    @property
    def placement(self) -> dict[str, str]:
        """Where the model runs, as recorded with results: `{"device": "cuda:0", "dtype": "bfloat16"}`."""
        return {"device": str(self.model.device), "dtype": str(self.model.dtype).removeprefix("torch.")}

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
                item_ids=batch.get("item_ids"),
                k=k,
                exclude=chunk if exclude_history else None,
            )
            for ids, scores in zip(top.item_ids.tolist(), top.scores.tolist()):
                results.append([Recommendation(i, self.processor.titles[i], s) for i, s in zip(ids, scores)])
        return results
