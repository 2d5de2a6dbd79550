"""IAMRecProcessor: tokenizer, item catalog and prompt template in one object that saves beside a checkpoint."""

import collections
import difflib
import operator
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import BatchEncoding, PreTrainedTokenizerBase, ProcessorMixin
from transformers.utils import PROCESSOR_NAME

from .collator import IAMRecCollator, Supervision, TitleTokenCache, check_titles
from .templates import PromptTemplate


class IAMRecProcessor(ProcessorMixin):
    """Turns user histories (item titles or ids) into model inputs, and predicted item ids back into titles.

    It bundles the tokenizer, the catalog titles (title `i` is item id `i`) and the prompt template. Training and
    inference share one code path: `processor(histories)` and the Trainer collator from `processor.collator()` are the
    same [`IAMRecCollator`] over one title token cache. `save_pretrained(dir)` writes the tokenizer files,
    `processor_config.json` (titles, template, settings) and this code, so that
    `AutoProcessor.from_pretrained(dir, trust_remote_code=True)` loads it without `iamrec` installed.

    Titles are matched exactly. A title shared by several items (ML-100K has a few) is left out of `title_to_id`
    and must be given by item id.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        titles: Sequence[str],
        template: PromptTemplate | dict[str, str] | None = None,
        max_length: int | None = None,
        padding_side: str = "left",
        item_id_embeddings: str = "none",
    ):
        super().__init__(tokenizer)
        if template is None:
            template = PromptTemplate()
        elif isinstance(template, dict):
            template = PromptTemplate.from_dict(template)
        self.template = template
        self.max_length = max_length
        self.padding_side = padding_side
        self.item_id_embeddings = item_id_embeddings
        self.title_tokens = TitleTokenCache(tokenizer, titles)
        self.title_to_id, self._shared_titles = _index_titles(self.title_tokens.titles)
        self._collators: dict[tuple, IAMRecCollator] = {}
        self._collator_for_call()  # checks max_length and padding_side now rather than on first use

    @property
    def titles(self) -> tuple[str, ...]:
        """Catalog titles, indexed by item id."""
        return self.title_tokens.titles

    @property
    def num_items(self) -> int:
        return len(self.title_tokens)

    @property
    def model_input_names(self) -> list[str]:
        names = ["input_ids", "attention_mask", "item_index"]
        return names if self.item_id_embeddings == "none" else [*names, "item_ids"]

    def collator(
        self,
        max_length: int | None = None,
        padding_side: str | None = None,
        pad_to_multiple_of: int | None = None,
        item_id_embeddings: str | None = None,
        supervision: Supervision = "last",
    ) -> IAMRecCollator:
        """A Trainer `data_collator` sharing this processor's template and title cache (defaults: its settings;
        `item_id_embeddings="none"` gives a model with item vectors inputs without them, read from titles alone), for
        prompts or, with `supervision="every_item"`, training sequences."""
        return IAMRecCollator(
            self.title_tokens,
            self.template,
            max_length=self.max_length if max_length is None else max_length,
            padding_side=self.padding_side if padding_side is None else padding_side,
            pad_to_multiple_of=pad_to_multiple_of,
            item_id_embeddings=self.item_id_embeddings if item_id_embeddings is None else item_id_embeddings,
            supervision=supervision,
        )

    def __call__(self, histories: Sequence[Any], targets: Any = None) -> BatchEncoding:
        """One history or a batch of them, each a list of titles or of item ids, to `input_ids`, `attention_mask`,
        `item_index` (and `labels` when `targets`, titles or ids, are given)."""
        single = _is_single_history(histories)
        batch = [histories] if single else list(histories)
        if targets is not None:
            targets = [targets] if single else list(targets)
            if len(targets) != len(batch):
                raise ValueError(f"Got {len(batch)} histories but {len(targets)} targets.")
        examples = [{"history": self.to_item_ids(history)} for history in batch]
        for example, target in zip(examples, targets or ()):
            example["target"] = self.to_item_ids([target])[0]
        return BatchEncoding(self._collator_for_call()(examples))

    def add_items(self, titles: Sequence[str], *, model: Any, bias: float | Sequence[float] | None = None) -> list[int]:
        """Adds new items to this processor's catalog and to `model`'s, without retraining; returns their item ids.

        `model` must have the title head (`rec_head_type="text"`): it stores each new title's token ids and scores
        the item from its title alone (a zero per-item correction) plus a bias: by default the mean item bias, or
        `bias` (one value, or one per title; higher promotes new items over trained ones). A linear-head model is
        refused, as it has one learned row per trained item and none for new ones. Titles must be non-blank and new
        (not already in the catalog, not repeated in `titles`). `model.save_pretrained` and
        `processor.save_pretrained` then keep the new items, as does loading them from the Hub.
        """
        if isinstance(titles, str):
            raise ValueError("add_items takes a list of titles, not a single string: wrap it in a list.")
        titles = list(titles)
        if not titles:
            raise ValueError("No item to add: give at least one title.")
        check_titles(titles, self.num_items)
        repeated = sorted(title for title, count in collections.Counter(titles).items() if count > 1)
        if repeated:
            raise ValueError(
                f"add_items got the title(s) {repeated[:5]} more than once: each new item needs one title."
            )
        known = [title for title in titles if title in self.title_to_id or title in self._shared_titles]
        if known:
            raise ValueError(f"The title(s) {known[:5]} are already in the catalog: an item cannot be added twice.")
        if model.config.num_items != self.num_items:
            raise ValueError(
                f"The model's catalog has {model.config.num_items} items and this processor's {self.num_items}: "
                "add items to a model and the processor saved with it."
            )
        token_ids = self.title_tokens.tokenize(titles)
        model.add_items(token_ids, bias)  # first: it refuses a linear head or a bad title or bias before any change
        new_ids = self.title_tokens.extend(titles, token_ids)
        self.title_to_id, self._shared_titles = _index_titles(self.title_tokens.titles)
        return new_ids

    def _collator_for_call(self) -> IAMRecCollator:
        key = (self.max_length, self.padding_side)
        if key not in self._collators:
            self._collators = {key: self.collator()}
        return self._collators[key]

    def to_item_ids(self, history: Sequence[str | int]) -> list[int]:
        """Item ids of a history given as exact titles and/or item ids."""
        if isinstance(history, torch.Tensor):
            history = history.tolist()
        return [self._title_id(item) if isinstance(item, str) else self._checked_id(item) for item in history]

    def _title_id(self, title: str) -> int:
        item_id = self.title_to_id.get(title)
        if item_id is not None:
            return item_id
        if title in self._shared_titles:
            raise ValueError(
                f"The title {title!r} is shared by items {self._shared_titles[title]}: give the item id instead."
            )
        suggestions = closest_titles(title, [*self.title_to_id, *self._shared_titles])
        hint = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        raise ValueError(f"Unknown title {title!r}: no item of the {self.num_items}-item catalog has it.{hint}")

    def _checked_id(self, item: Any) -> int:
        try:
            item_id = operator.index(item)
        except TypeError:
            raise ValueError(f"Items are given as titles (str) or item ids (int), got {item!r}.") from None
        if not 0 <= item_id < self.num_items:
            raise ValueError(
                f"Item id {item_id} is not in the catalog of {self.num_items} items (ids 0 to {self.num_items - 1})."
            )
        return item_id

    def decode_items(self, item_ids: Any) -> Any:
        """Titles of item ids: an int gives a title; lists, nested lists and tensors (e.g. the `item_ids` of
        `model.recommend`) give titles nested the same way."""
        if isinstance(item_ids, torch.Tensor):
            item_ids = item_ids.tolist()
        if isinstance(item_ids, (list, tuple)):
            return [self.decode_items(item) for item in item_ids]
        return self.titles[self._checked_id(item_ids)]

    def to_dict(self) -> dict[str, Any]:
        """What `processor_config.json` holds (the tokenizer is saved in its own files)."""
        output = {
            "processor_class": type(self).__name__,
            "titles": list(self.titles),
            "template": self.template.to_dict(),
            "max_length": self.max_length,
            "padding_side": self.padding_side,
        }
        if self.item_id_embeddings != "none":  # so that the processors of title-only models are saved as before
            output["item_id_embeddings"] = self.item_id_embeddings
        if getattr(self, "auto_map", None) is not None:
            output["auto_map"] = self.auto_map
        return output

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs) -> list[str]:
        """Saves tokenizer files, `processor_config.json` and this code into `save_directory` (which may already hold
        a checkpoint). Files are written to a staging folder inside it and moved in one by one, the processor config
        last, so an interrupted save never leaves a processor config without its tokenizer."""
        save_directory = Path(save_directory)
        save_directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=save_directory, prefix=".iamrec-processor-") as staging:
            super().save_pretrained(staging)
            names = sorted(os.listdir(staging), key=lambda name: name == PROCESSOR_NAME)
            for name in names:
                os.replace(os.path.join(staging, name), save_directory / name)
        if push_to_hub:
            self.push_to_hub(kwargs.pop("repo_id", save_directory.name), **kwargs)
        return [str(save_directory / name) for name in names]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(tokenizer={type(self.tokenizer).__name__}, num_items={self.num_items}, "
            f"template={self.template}, max_length={self.max_length}, padding_side={self.padding_side!r}, "
            f"item_id_embeddings={self.item_id_embeddings!r})"
        )


def _index_titles(titles: Sequence[str]) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Maps each title held by exactly one item to its id; titles shared by several items go to a second map."""
    title_to_id: dict[str, int] = {}
    shared: dict[str, list[int]] = {}
    for item_id, title in enumerate(titles):
        first = title_to_id.setdefault(title, item_id)
        if first != item_id:
            shared.setdefault(title, [first]).append(item_id)
    for title in shared:
        del title_to_id[title]
    return title_to_id, shared


def _is_single_history(histories: Any) -> bool:
    """Whether `histories` is one history (a list of titles/ids) rather than a batch of them."""
    if isinstance(histories, str):
        raise ValueError("A history is a list of titles or item ids, not a single string: wrap it in a list.")
    if len(histories) == 0:  # ambiguous between no history and one empty one, for lists and tensors alike
        raise ValueError("No history given: pass a list of titles or item ids, or [[]] for one history without items.")
    if isinstance(histories, torch.Tensor):
        return histories.dim() == 1
    first = histories[0]
    if isinstance(first, torch.Tensor) or hasattr(first, "ndim"):  # torch or numpy: a scalar is one item id
        return first.ndim == 0
    return isinstance(first, str) or hasattr(first, "__index__")


IAMRecProcessor.register_for_auto_class()


_TRAILING_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")


def _comparable(title: str) -> str:
    """A title as a person compares it: case, spacing and a trailing "(1995)" do not count (some catalogs carry
    the year in the title, some in a column of their own)."""
    return " ".join(_TRAILING_YEAR.sub("", title).lower().split())


def closest_titles(title: str, candidates: Sequence[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to `n` of `candidates` that look like `title`, closest first (ties alphabetically).

    `difflib.get_close_matches` on raw titles ranks "Toy Story 3" above "Toy Story" for "Toy Story (1995)": the year
    costs more than the sequel number. Comparing without case and year puts the same film first.
    """
    matcher = difflib.SequenceMatcher(b=_comparable(title))
    scored = []
    for candidate in candidates:
        matcher.set_seq1(_comparable(candidate))
        if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff and matcher.ratio() >= cutoff:
            raw = difflib.SequenceMatcher(a=candidate, b=title).ratio()
            scored.append((-matcher.ratio(), -raw, candidate))
    return [candidate for *_, candidate in sorted(scored)[:n]]
