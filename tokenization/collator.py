"""Examples (history item ids, optional target) to item-aware model inputs, from token ids cached once per title."""

import operator
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

import torch
from transformers import PreTrainedTokenizerBase
from transformers.utils import logging

from .templates import PromptTemplate

Supervision = Literal["last", "every_item"]
"""What an example supervises, the format a collator reads: `"last"`, a prompt whose target (when given) follows its
last history item, one per example (what validation, test and inference rank); `"every_item"`, a training sequence
whose `NEXT_ITEMS` give the item after each history item, every one predicted in one forward."""
SUPERVISIONS: tuple[Supervision, ...] = get_args(Supervision)


def check_supervision(supervision: str) -> None:
    """Raises unless `supervision` is one of `SUPERVISIONS` (also checked by `iamrec train` and the study before
    anything loads)."""
    if supervision not in SUPERVISIONS:
        raise ValueError(f"supervision must be one of {list(SUPERVISIONS)}, got {supervision!r}.")


NEXT_ITEMS = "next_items"
"""The key of a training sequence's targets: for each history item, the item that follows it, or `IGNORED`."""
IGNORED = -100


class PromptTooLong(ValueError):
    """An example whose prompt cannot fit `max_length` (its newest title alone, or a training sequence)."""


class TitleTokenCache:
    """Token ids of every catalog title, each tokenized on its own (no special tokens) the first time it is needed.

    Tokenizing each title alone, never inside the prompt, makes item boundaries exact; caching turns collation into
    list concatenation. Ids are kept as int32 arrays (about 100 bytes per title), so a fully tokenized 1M-item catalog
    takes about 100 MB. Titles are tokenized lazily, in one batched call per collated batch; `tokenize_all` does it up
    front (e.g. before DataLoader workers fork, so they share the cache instead of each building its own).
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, titles: Sequence[str]):
        titles = tuple(titles)
        if not titles:
            raise ValueError("The item catalog is empty: at least one item title is needed.")
        check_titles(titles)
        self.tokenizer = tokenizer
        self.titles = titles
        self._tokens: list[array | None] = [None] * len(titles)

    def tokenize(self, titles: Sequence[str]) -> list[list[int]]:
        """Token ids of titles, each tokenized alone without special tokens (as every cached title is)."""
        return self.tokenizer(list(titles), add_special_tokens=False)["input_ids"]

    def extend(self, titles: Sequence[str], token_ids: Sequence[Sequence[int]]) -> list[int]:
        """Appends titles and their token ids (from `tokenize`) as items after the last one; returns their item ids."""
        first = len(self.titles)
        check_titles(titles, first)
        self.titles += tuple(titles)
        self._tokens += [array("i", ids) for ids in token_ids]
        return list(range(first, len(self.titles)))

    def all_token_ids(self) -> list[list[int]]:
        """Every title's token ids, by item id (what the text head of a model stores)."""
        self.tokenize_all()
        return [tokens.tolist() for tokens in self._tokens]

    def __len__(self) -> int:
        return len(self.titles)

    def __getitem__(self, item_id: int) -> array:
        if not 0 <= item_id < len(self.titles):
            raise IndexError(f"Item id {item_id} is not in the catalog of {len(self.titles)} items.")
        tokens = self._tokens[item_id]
        if tokens is None:
            self.ensure((item_id,))
            tokens = self._tokens[item_id]
        return tokens

    def ensure(self, item_ids: Iterable[int]) -> None:
        """Tokenizes, in one batched call, those of `item_ids` (valid ids) that are not cached yet."""
        missing = sorted({item_id for item_id in item_ids if self._tokens[item_id] is None})
        if missing:
            self._encode(missing)

    def tokenize_all(self, batch_size: int = 10_000) -> None:
        """Tokenizes every title not cached yet, with a progress bar on large catalogs."""
        missing = [item_id for item_id, tokens in enumerate(self._tokens) if tokens is None]
        starts = range(0, len(missing), batch_size)
        for start in logging.tqdm(starts, desc="Tokenizing titles", unit="batch", disable=len(starts) <= 1):
            self._encode(missing[start : start + batch_size])

    def _encode(self, item_ids: list[int]) -> None:
        encoded = self.tokenize([self.titles[item_id] for item_id in item_ids])
        for item_id, ids in zip(item_ids, encoded):
            if not ids:
                raise ValueError(f"The title of item {item_id} ({self.titles[item_id]!r}) tokenizes to no tokens.")
            self._tokens[item_id] = array("i", ids)


def padded_length(length: int, multiple: int) -> int:
    """`length` rounded up to a multiple of `multiple`: the width a batch is padded to with `pad_to_multiple_of`."""
    return -(-length // multiple) * multiple


ITEM_ID_POSITIONS = ("none", "add", "add_last", "token")
"""The model's `item_id_embeddings` modes (this file ships without the configuration, so they are repeated here; a test
keeps the two equal), as the collator marks them: no `item_ids`; the catalog id on every title token (`add`, and
`add_last`, whose model reads the last one); or one extra position closing each item (`token`)."""


def check_titles(titles: Sequence[str], first_id: int = 0) -> None:
    """Every title must be a non-blank string; the error names the item id (`first_id` is the first title's)."""
    for item_id, title in enumerate(titles, start=first_id):
        if not isinstance(title, str) or not title.strip():
            raise ValueError(f"Item {item_id} has no title ({title!r}): every catalog item needs a title.")


def special_prefix(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The special tokens (usually BOS) that the tokenizer's normal encoding puts before the text, if any.

    Trailing special tokens (an EOS some tokenizers append) are not used: the model reads the prompt's last token.
    """
    probe = "Given a list"
    plain = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return list(full[:start])
    raise ValueError(
        f"Cannot tell which special tokens {type(tokenizer).__name__} adds: encoding {probe!r} gives {full} with "
        f"special tokens and {plain} without."
    )


class IAMRecCollator:
    """Batches prompts `{"history": [item ids], "target": item id}` (`supervision="last"`, the default) into
    `input_ids`, `attention_mask`, `item_index` and, when the examples have targets, `labels` (LongTensors).

    `item_index` is the history slot (0, 1, ... in prompt order) of each title token and -1 for every other token
    (BOS, instruction, quotes, separators, padding). Other keys of an example (`user`, `timestamp`, ...) are ignored.
    With `max_length`, the most recent whole items that fit are kept (never part of a title), oldest dropped first.
    With `supervision="every_item"` it batches training sequences `{"history": [item ids], "next_items": [...]}`
    instead (one entry per history item: the item that follows it, or -100), which train on every item at once (an
    example of the other format is an error): each item with a next item gets a readout, a copy of the
    prompt's closing text that only its own tokens see, and `labels` holds one next item per readout (see
    `readout_index` in the model's forward). A readout reads exactly what the final token of `_encode`'s prompt for the
    history up to that item would, so a model trained this way is evaluated on ordinary prompts.
    For a model with `item_id_embeddings`, give the same mode here: batches then carry `item_ids`, the catalog id of
    the item whose vector each token carries (every title token, or with `"token"` one extra position closing each
    item's span, whose input id is the pad token's and which the model replaces by the vector), -1 elsewhere.
    As a Trainer `data_collator`, set `remove_unused_columns=False` so that `history` and `target` reach it.
    Build it with `IAMRecProcessor.collator(...)`, which shares the processor's title cache, or from a
    [`TitleTokenCache`] directly.
    """

    def __init__(
        self,
        title_tokens: TitleTokenCache,
        template: PromptTemplate | None = None,
        max_length: int | None = None,
        padding_side: str = "left",
        pad_to_multiple_of: int | None = None,
        item_id_embeddings: str = "none",
        supervision: Supervision = "last",
    ):
        if padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}.")
        if pad_to_multiple_of is not None and pad_to_multiple_of < 1:
            raise ValueError(f"pad_to_multiple_of must be a positive integer, got {pad_to_multiple_of}.")
        if item_id_embeddings not in ITEM_ID_POSITIONS:
            raise ValueError(
                f"item_id_embeddings must be one of {list(ITEM_ID_POSITIONS)}, got {item_id_embeddings!r}."
            )
        check_supervision(supervision)
        tokenizer = title_tokens.tokenizer
        self.title_tokens = title_tokens
        self.template = template if template is not None else PromptTemplate()
        self.max_length = max_length
        self.padding_side = padding_side
        self.pad_to_multiple_of = pad_to_multiple_of
        self.item_id_embeddings = item_id_embeddings
        self.supervision = supervision
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        if self.pad_token_id is None:
            raise ValueError(f"{type(tokenizer).__name__} has no pad token and no eos token: set tokenizer.pad_token.")

        def encode(text: str) -> list[int]:
            return tokenizer(text, add_special_tokens=False)["input_ids"]

        prefix = special_prefix(tokenizer)
        self._head = prefix + encode(self.template.head)
        self._between = encode(self.template.between)
        self._tail = encode(self.template.tail)
        self._empty = prefix + encode(self.template.empty)
        if max_length is not None:
            needed = max(len(self._head) + 1 + len(self._tail), len(self._empty))
            if max_length < needed:
                raise ValueError(
                    f"max_length={max_length} cannot hold the prompt ({len(self._head) + len(self._tail)} tokens) "
                    f"plus one title token: use max_length >= {needed}."
                )

    @property
    def num_items(self) -> int:
        return len(self.title_tokens)

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if not examples:
            raise ValueError("Cannot collate an empty list of examples.")
        if self.supervision == "every_item":
            return self._collate_sequences(examples)
        histories = [self._item_ids(example, row) for row, example in enumerate(examples)]
        sequence = next((row for row, example in enumerate(examples) if NEXT_ITEMS in example), None)
        if sequence is not None:
            raise ValueError(
                f"Example {sequence} is a training sequence (it has '{NEXT_ITEMS}'), but this collator builds prompts "
                "(supervision='last'): build it with supervision='every_item'."
            )
        self.title_tokens.ensure(item_id for history in histories for item_id in history)
        batch = self._pad([self._encode(history, row) for row, history in enumerate(histories)])
        labels = self._labels(examples)
        if labels is not None:
            batch["labels"] = labels
        return batch

    def _pad(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        """Pads each row's token columns (`input_ids` with the pad token, index columns with -1) into tensors, with
        the `attention_mask`."""
        length = max(len(row["input_ids"]) for row in rows)
        if self.pad_to_multiple_of is not None:
            length = padded_length(length, self.pad_to_multiple_of)
        columns: dict[str, list[int]] = {name: [] for name in rows[0]}
        for row in rows:
            padding = length - len(row["input_ids"])
            for name, values in row.items():
                pad = [self.pad_token_id if name == "input_ids" else -1] * padding
                columns[name] += pad + values if self.padding_side == "left" else values + pad

        lengths = torch.tensor([len(row["input_ids"]) for row in rows])
        positions = torch.arange(length)
        if self.padding_side == "left":
            attention_mask = positions >= (length - lengths)[:, None]
        else:
            attention_mask = positions < lengths[:, None]
        batch = {
            name: torch.tensor(values, dtype=torch.long).view(len(rows), length) for name, values in columns.items()
        }
        batch["attention_mask"] = attention_mask.long()
        return batch

    def _collate_sequences(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        """Training sequences `{"history": [item ids], "next_items": [item id or -100 per history item]}`: one
        sequence of titles each, with a readout (a copy of the prompt's closing text, `readout_index`) after every
        item whose next item is given. `labels` holds those next items, one per readout, in order."""
        encoded, labels = [], []
        for row, example in enumerate(examples):
            history = self._item_ids(example, row)
            if NEXT_ITEMS not in example:
                raise ValueError(
                    f"Example {row} has no '{NEXT_ITEMS}' (one per history item), but this collator builds training "
                    "sequences (supervision='every_item'): build prompts with supervision='last'."
                )
            next_items = example[NEXT_ITEMS]
            if len(next_items) != len(history):
                raise ValueError(
                    f"Example {row}: '{NEXT_ITEMS}' has {len(next_items)} entries for {len(history)} history items "
                    "(one per item: the item that follows it, or -100)."
                )
            targets = [None if item == IGNORED else self._item_id(item, row, NEXT_ITEMS) for item in next_items]
            encoded.append((history, targets))
            labels += [target for target in targets if target is not None]
        if not labels:
            raise ValueError(f"No example of the batch has a next item to predict (every '{NEXT_ITEMS}' is -100).")
        self.title_tokens.ensure(item_id for history, _ in encoded for item_id in history)
        batch = self._pad(
            [self._encode_sequence(history, targets, row) for row, (history, targets) in enumerate(encoded)]
        )
        batch["labels"] = torch.tensor(labels, dtype=torch.long)
        return batch

    def prompt_lengths(
        self, histories: Iterable[Sequence[int]], next_items: Iterable[Sequence[int]] | None = None
    ) -> list[int]:
        """Tokens in each history's prompt (or, with `next_items`, which `supervision="every_item"` needs and `"last"`
        refuses, each training sequence) before padding: what a length-grouped sampler sorts by."""
        if (next_items is not None) != (self.supervision == "every_item"):
            raise ValueError(
                f"prompt_lengths takes next_items with, and only with, supervision='every_item' (this collator's is "
                f"{self.supervision!r})."
            )
        histories = [[self._item_id(item, row, "history") for item in history] for row, history in enumerate(histories)]
        self.title_tokens.ensure(item_id for history in histories for item_id in history)
        if next_items is None:
            return [len(self._encode(history, row)["input_ids"]) for row, history in enumerate(histories)]
        return [
            len(
                self._encode_sequence(history, [None if item == IGNORED else item for item in targets], row)[
                    "input_ids"
                ]
            )
            for row, (history, targets) in enumerate(zip(histories, next_items))
        ]

    def _item_ids(self, example: Mapping[str, Any], row: int) -> list[int]:
        """The history of one example as validated integer item ids."""
        if not isinstance(example, Mapping) or "history" not in example:
            keys = sorted(example) if isinstance(example, Mapping) else type(example).__name__
            raise ValueError(
                f"Example {row} has no 'history' of item ids (got {keys}). As a Trainer data_collator it needs "
                "TrainingArguments(remove_unused_columns=False), or the Trainer drops the 'history' column."
            )
        return [self._item_id(item, row, "history") for item in example["history"]]

    def _item_id(self, item: Any, row: int, field: str) -> int:
        try:
            item_id = operator.index(item)
        except TypeError:
            raise ValueError(
                f"Example {row}: {field} must hold integer item ids, got {item!r} (the processor maps titles to ids)."
            ) from None
        if not 0 <= item_id < self.num_items:
            raise ValueError(
                f"Example {row}: {field} item id {item_id} is not in the catalog of {self.num_items} items "
                f"(ids 0 to {self.num_items - 1})."
            )
        return item_id

    def _encode(self, history: list[int], row: int) -> dict[str, list[int]]:
        """Token ids and item index of one prompt, keeping the most recent whole items that fit in max_length."""
        if not history:
            row_tokens = self._new_row(with_readouts=False)
            self._append(row_tokens, self._empty)
            return row_tokens
        titles = [self._item_tokens(item_id) for item_id in history]
        if self.max_length is not None:
            budget = self.max_length - len(self._head) - len(self._tail)
            if len(titles[-1]) > budget:
                raise PromptTooLong(
                    f"Example {row}: the most recent history item {history[-1]} "
                    f"({self.title_tokens.titles[history[-1]]!r}) takes {len(titles[-1])} tokens, but "
                    f"max_length={self.max_length} leaves {budget} beside the prompt: raise max_length."
                )
            kept, used = 0, 0
            for tokens in reversed(titles):
                cost = len(tokens) + (len(self._between) if kept else 0)
                if used + cost > budget:
                    break
                kept, used = kept + 1, used + cost
            titles, history = titles[-kept:], history[-kept:]
        row_tokens = self._titles_row(titles, history)
        self._append(row_tokens, self._tail)
        return row_tokens

    def _encode_sequence(self, history: list[int], targets: list[int | None], row: int) -> dict[str, list[int]]:
        """Token ids, item index and readout index of one training sequence: the prompt's head and titles, and after
        each item with a target the prompt's closing text as a readout, so that each readout ends exactly the prompt
        `_encode` would build for the history up to that item."""
        if not history:
            raise ValueError(f"Example {row}: a training sequence needs at least one history item.")
        row_tokens = self._titles_row([self._item_tokens(item_id) for item_id in history], history, targets)
        if self.max_length is not None and len(row_tokens["input_ids"]) > self.max_length:
            raise PromptTooLong(
                f"Example {row}: the training sequence of {len(history)} items takes {len(row_tokens['input_ids'])} "
                f"tokens, more than max_length={self.max_length}: use fewer items per sequence or raise max_length."
            )
        return row_tokens

    def _item_tokens(self, item_id: int) -> Sequence[int]:
        """One history item's tokens: its title's, and with `item_id_embeddings="token"` one more for its vector."""
        tokens = self.title_tokens[item_id]
        return [*tokens, self.pad_token_id] if self.item_id_embeddings == "token" else tokens

    def _new_row(self, with_readouts: bool) -> dict[str, list[int]]:
        """Empty token columns of one row: ids and item index, and the item-id and readout columns when used."""
        row_tokens = {"input_ids": [], "item_index": []}
        if self.item_id_embeddings != "none":
            row_tokens["item_ids"] = []
        if with_readouts:
            row_tokens["readout_index"] = []
        return row_tokens

    def _titles_row(
        self, titles: list[Sequence[int]], history: list[int], targets: list[int | None] | None = None
    ) -> dict[str, list[int]]:
        """The head and the items' tokens joined by the separator text; with `targets`, a readout after each item
        whose target is not None (and a `readout_index` column)."""
        row_tokens = self._new_row(with_readouts=targets is not None)
        self._append(row_tokens, self._head)
        readouts = 0
        for slot, (tokens, item_id) in enumerate(zip(titles, history)):
            if slot:
                self._append(row_tokens, self._between)
            self._append(row_tokens, tokens, item=slot, catalog_id=item_id)
            if targets is not None and targets[slot] is not None:
                self._append(row_tokens, self._tail, readout=readouts)
                readouts += 1
        return row_tokens

    def _append(
        self,
        row_tokens: dict[str, list[int]],
        tokens: Sequence[int],
        item: int = -1,
        readout: int = -1,
        catalog_id: int = -1,
    ) -> None:
        row_tokens["input_ids"] += tokens
        row_tokens["item_index"] += [item] * len(tokens)
        if "item_ids" in row_tokens:
            marked = 1 if self.item_id_embeddings == "token" else len(tokens)
            row_tokens["item_ids"] += [-1] * (len(tokens) - marked) + [catalog_id] * marked
        if "readout_index" in row_tokens:
            row_tokens["readout_index"] += [readout] * len(tokens)

    def _labels(self, examples: Sequence[Mapping[str, Any]]) -> torch.Tensor | None:
        targets = [example.get("target") for example in examples]
        missing = [row for row, target in enumerate(targets) if target is None]
        if len(missing) == len(targets):
            return None
        if missing:
            raise ValueError(f"Examples {missing} have no target while others have one: give all or none.")
        return torch.tensor([self._item_id(target, row, "target") for row, target in enumerate(targets)])
