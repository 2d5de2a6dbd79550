# Copyright 2026 The iamrec authors. Licensed under the Apache License, Version 2.0.
"""IAMRec: a Llama decoder whose layers use item-aware attention masks, with a next-item recommendation head.

Implements the per-layer masks of HatLLM (arXiv 2510.10955, eqs. 3-5) and IAM (arXiv 2603.19693). This file ships
to the Hub next to the weights, so it imports only torch, transformers and (relatively) its configuration.

It reads top-down, like transformers' model files: the output classes; the item-aware mask functions and their mode
registry, with the positions and readouts of a sequence; the heads, each with its own catalog (the linear head's item
rows; the text head's titles and their packing), and the input-side item vectors; the loss, the ranking and the input
checks; then the model, which wires them together.
"""

import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn
from transformers import LlamaModel
from transformers import initialization as init
from transformers.cache_utils import Cache, DynamicCache
from transformers.masking_utils import and_masks, create_causal_mask, or_masks
from transformers.modeling_outputs import ModelOutput
from transformers.models.llama.modeling_llama import LlamaDecoderLayer

from .configuration_iamrec import IAMRecConfig


def cache_keyword(function: Callable) -> str:
    """The keyword `function` takes the KV cache under: `cache` from transformers 5.24 on, `past_key_values` before.

    Detected from the signature (decorators that rename keywords keep it through `functools.wraps`), so the Hub file
    talks to whichever transformers the user has installed, without reading version strings.
    """
    return "cache" if "cache" in inspect.signature(function).parameters else "past_key_values"


MASK_CACHE_KEYWORD = cache_keyword(create_causal_mask)
LAYER_CACHE_KEYWORD = cache_keyword(LlamaDecoderLayer.forward)


@dataclass
class IAMRecOutput(ModelOutput):
    r"""
    Output of [`IAMRecForSequentialRecommendation`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` are given):
            Cross-entropy of the target items over the full catalog.
        logits (`torch.FloatTensor` of shape `(batch_size, num_items)`):
            A score for every catalog item, from the hidden state at each sequence's final real token (with
            `readout_index`: at each readout's last token, shape `(num_readouts, num_items)`).
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, sequence_length, hidden_size)`):
            The normalised output of the last decoder layer.
        cache (`Cache`, *optional*):
            The key/value cache, when `use_cache=True` (also readable as `past_key_values`, its name before
            transformers 5.24).
        hidden_states (`tuple(torch.FloatTensor)`, *optional*, returned when `output_hidden_states=True`):
            The embeddings, the output of every decoder layer but the last, and `last_hidden_state`.
        attentions (`tuple(torch.FloatTensor)`, *optional*, returned when `output_attentions=True`):
            Every layer's attention weights (needs `attn_implementation="eager"`).
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    last_hidden_state: torch.FloatTensor | None = None
    cache: Cache | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None

    @property
    def past_key_values(self) -> Cache | None:
        """The key/value cache under the name callers written for transformers < 5.24 use."""
        return self.cache


class Recommendations(NamedTuple):
    """Top-k items per sequence, best first."""

    item_ids: torch.LongTensor
    scores: torch.FloatTensor


def last_item_tokens(item_index: torch.LongTensor) -> torch.BoolTensor:
    """Marks the last token of each item: an item token whose right neighbour belongs to another item (or none)."""
    next_index = torch.nn.functional.pad(item_index[:, 1:], (0, 1), value=-1)
    return (item_index >= 0) & (next_index != item_index)


def itself(batch_idx, head_idx, q_idx, kv_idx):
    return q_idx == kv_idx


def either_is_prompt(item_index: torch.LongTensor) -> Callable:
    """Pairs with a prompt token (item id -1): every mode allows them (HatLLM masks only when F(j) = F(k) = 1)."""

    def mask(batch_idx, head_idx, q_idx, kv_idx):
        return (item_index[batch_idx, q_idx] < 0) | (item_index[batch_idx, kv_idx] < 0)

    return mask


def intra_item_mask(item_index: torch.LongTensor) -> Callable:
    """`intra` (HatLLM eq. 3): item tokens see their own item only."""

    def same_item(batch_idx, head_idx, q_idx, kv_idx):
        return item_index[batch_idx, q_idx] == item_index[batch_idx, kv_idx]

    return or_masks(either_is_prompt(item_index), same_item)


def inter_item_mask(item_index: torch.LongTensor) -> Callable:
    """`inter` (HatLLM eq. 4, CR-pre): item tokens see other items, and themselves."""

    def other_item(batch_idx, head_idx, q_idx, kv_idx):
        return item_index[batch_idx, q_idx] != item_index[batch_idx, kv_idx]

    return or_masks(either_is_prompt(item_index), other_item, itself)


def inter_last_item_mask(item_index: torch.LongTensor) -> Callable:
    """`inter_last` (HatLLM eq. 5, CR): only items' last tokens see each other, and every token itself."""
    is_last = last_item_tokens(item_index)

    def both_last(batch_idx, head_idx, q_idx, kv_idx):
        return is_last[batch_idx, q_idx] & is_last[batch_idx, kv_idx]

    return or_masks(either_is_prompt(item_index), both_last, itself)


ITEM_MASK_FUNCTIONS: dict[str, Callable[[torch.LongTensor], Callable] | None] = {
    "intra": intra_item_mask,
    "full": None,  # plain causal attention: no rule beyond the causal and padding masks
    "inter": inter_item_mask,
    "inter_last": inter_last_item_mask,
}
"""Each mode of `IAMRecConfig.item_mask_modes`, by name, to the builder of its mask function over per-token item ids.
A new mode is one entry here (and its name in the configuration's `ITEM_MASK_MODES`)."""


def item_mask_function(mode: str, item_index: torch.LongTensor) -> Callable | None:
    """The `mask_function(batch_idx, head_idx, q_idx, kv_idx)` of a mode, for `create_causal_mask(and_mask_function=)`
    (None for `full`).

    It reads per-token item ids (`item_index` covers cached and new tokens, so `q_idx` and `kv_idx` index it directly),
    like transformers' packed-sequence masks, so flex attention can build a sparse block mask from it. Each mode only
    restricts pairs of item tokens (HatLLM: F(j) = F(k) = 1): a pair with a prompt token is always allowed.
    """
    if mode not in ITEM_MASK_FUNCTIONS:
        raise ValueError(f"No item attention rule for mode {mode!r}.")
    build = ITEM_MASK_FUNCTIONS[mode]
    return None if build is None else build(item_index)


def readout_mask_function(readout_index: torch.LongTensor) -> Callable:
    """The mask function that hides each readout's tokens from every token outside that readout.

    A readout is a copy of the prompt's closing text placed after an item of a longer training sequence (see
    `readout_index` in [`IAMRecForSequentialRecommendation.forward`]): it reads the sequence before it like the end of
    a prompt, and no later token reads it, so several targets train in one sequence without leaking into each other.
    """

    def outside_other_readouts(batch_idx, head_idx, q_idx, kv_idx):
        kv_readout = readout_index[batch_idx, kv_idx]
        return (kv_readout < 0) | (kv_readout == readout_index[batch_idx, q_idx])

    return outside_other_readouts


def readout_positions(attention_mask: torch.Tensor, readout_index: torch.LongTensor) -> torch.LongTensor:
    """Position ids of a sequence with readouts: the shared tokens count on from 0 (padding skipped), and each
    readout's tokens continue from the token before it, as the end of a prompt would, without moving later tokens."""
    in_readout = readout_index >= 0
    shared = (attention_mask != 0) & ~in_readout
    readout_tokens = in_readout.long().cumsum(-1)
    before_readout = torch.where(shared, readout_tokens, 0).cummax(-1).values
    return (shared.long().cumsum(-1) - 1 + readout_tokens - before_readout).clamp(min=0)


def last_readout_tokens(readout_index: torch.LongTensor) -> torch.BoolTensor:
    """Marks the last token of each readout (where its prediction is read)."""
    next_index = torch.nn.functional.pad(readout_index[:, 1:], (0, 1), value=-1)
    return (readout_index >= 0) & (next_index != readout_index)


def default_position_ids(
    attention_mask: torch.Tensor, readout_index: torch.LongTensor | None, past_length: int
) -> torch.LongTensor:
    """Position ids of the new tokens when the caller gives none: real tokens count on from 0, so left padding does
    not shift them, and readouts continue from the token before them (`readout_positions`)."""
    if readout_index is not None:
        return readout_positions(attention_mask, readout_index)
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, past_length:]


def scored_hidden_states(
    hidden_states: torch.Tensor, new_attention_mask: torch.Tensor, readout_index: torch.LongTensor | None
) -> torch.Tensor:
    """The hidden states the head scores: each sequence's last real token (left or right padding), or, with
    `readout_index`, each readout's last token in sequence order."""
    if readout_index is not None:
        return hidden_states[last_readout_tokens(readout_index)]
    positions = torch.arange(new_attention_mask.shape[1], device=new_attention_mask.device)
    final_position = (positions * (new_attention_mask != 0)).argmax(dim=-1)
    return hidden_states[torch.arange(hidden_states.shape[0], device=hidden_states.device), final_position]


class ItemScoringHead(nn.Module):
    """What both heads do first: standardise the hidden state (`rec_head_norm`) and project it to the scoring size
    (`rec_head_dim`; the identity when it is None)."""

    def __init__(self, config: IAMRecConfig):
        super().__init__()
        self.norm = (
            nn.BatchNorm1d(config.hidden_size, affine=False) if config.rec_head_norm == "batch" else nn.Identity()
        )
        if config.rec_head_dim is None:
            self.proj = nn.Identity()
        else:
            self.proj = nn.Linear(config.hidden_size, config.rec_head_dim, bias=False)

    def project(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if isinstance(self.norm, nn.BatchNorm1d) and self.training and hidden_states.shape[0] == 1:
            # One example has no batch statistics: standardise it with the running ones instead.
            return self.proj(nn.functional.batch_norm(hidden_states, self.norm.running_mean, self.norm.running_var))
        return self.proj(self.norm(hidden_states))


class IAMRecLinearHead(ItemScoringHead):
    """The paper's head (`rec_head_type="linear"`): one learned row per catalog item, so it scores only the items it
    was trained with, and its catalog cannot grow. Its parameters keep the names they had when it was called
    `IAMRecHead` (iamrec 0.1.0), so checkpoints saved then load."""

    def __init__(self, config: IAMRecConfig):
        super().__init__(config)
        dim = config.hidden_size if config.rec_head_dim is None else config.rec_head_dim
        self.items = nn.Linear(dim, config.num_items, bias=config.rec_head_bias)

    @property
    def dtype(self) -> torch.dtype:
        return self.items.weight.dtype

    def start_from_item_bias(self, bias: torch.Tensor) -> None:
        """Zero item rows and the given per-item bias: every score starts at the bias (e.g. log popularity)."""
        if self.items.bias is None:
            raise ValueError("Starting from an item bias needs a head bias (rec_head_bias=True).")
        with torch.no_grad():
            self.items.weight.zero_()
            self.items.bias.copy_(bias)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.items(self.project(hidden_states))


TITLE_CHUNK_ITEMS = 8192
"""Items whose title vectors are computed at once: bounds the (items x hidden_size) temporaries of 100k+ catalogs."""


def pack_titles(title_token_ids: Sequence[Sequence[int]], vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Titles' token ids as one flat tensor and `len(titles) + 1` offsets (title `i`: `ids[offsets[i]:offsets[i+1]]`).

    Raises, naming the title, when one has no token or a token outside the vocabulary.
    """
    for position, ids in enumerate(title_token_ids):
        if len(ids) == 0:
            raise ValueError(f"Title {position} has no token: every item title needs at least one.")
        outside = [token for token in ids if not 0 <= token < vocab_size]
        if outside:
            raise ValueError(f"Title {position} holds token ids {outside} outside the vocabulary [0, {vocab_size}).")
    offsets = torch.zeros(len(title_token_ids) + 1, dtype=torch.long)
    torch.cumsum(torch.tensor([len(ids) for ids in title_token_ids], dtype=torch.long), 0, out=offsets[1:])
    return torch.tensor([token for ids in title_token_ids for token in ids], dtype=torch.long), offsets


class ItemTitles(nn.Module):
    """Every catalog title's token ids, as persistent buffers that save with the weights: one flat id tensor and
    `num_items + 1` offsets (title `i` is `token_ids[offsets[i]:offsets[i+1]]`), sized by `num_items` and
    `num_title_tokens` in the config. So the text head scores items without a tokenizer.

    It sits beside `rec_head`, not in it: transformers casts every tensor of a `_keep_in_fp32_modules_strict` module to
    fp32 when loading in bf16, integer buffers included.
    """

    def __init__(self, config: IAMRecConfig):
        super().__init__()
        self.register_buffer("token_ids", torch.zeros(config.num_title_tokens, dtype=torch.long))
        self.register_buffer("offsets", torch.zeros(config.num_items + 1, dtype=torch.long))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def replace(self, token_ids: torch.Tensor, offsets: torch.Tensor) -> None:
        """Replaces every title (from `pack_titles`); the catalog size stays."""
        if len(offsets) != len(self.offsets):
            raise ValueError(f"Got {len(offsets) - 1} titles for a catalog of {len(self)} items.")
        self.token_ids = token_ids.to(self.token_ids.device)
        self.offsets = offsets.to(self.offsets.device)

    def append(self, token_ids: torch.Tensor, offsets: torch.Tensor) -> None:
        """Adds titles (from `pack_titles`) after the last one."""
        self.offsets = torch.cat([self.offsets, offsets[1:].to(self.offsets) + self.offsets[-1]])
        self.token_ids = torch.cat([self.token_ids, token_ids.to(self.token_ids)])

    def mean_embeddings(self, token_embeddings: torch.Tensor) -> Iterator[torch.Tensor]:
        """Each title's mean token embedding, `TITLE_CHUNK_ITEMS` titles at a time, in item order."""
        for start in range(0, len(self), TITLE_CHUNK_ITEMS):
            offsets = self.offsets[start : start + TITLE_CHUNK_ITEMS + 1]
            tokens = self.token_ids[offsets[0] : offsets[-1]]
            yield nn.functional.embedding_bag(tokens, token_embeddings, offsets[:-1] - offsets[0], mode="mean")


class IAMRecTextHead(ItemScoringHead):
    """The title head (`rec_head_type="text"`): item `i` scores `project(h) . (title_proj(t_i) + correction_i) + b_i`,
    where `t_i` is the mean of the backbone's input token embeddings over item `i`'s title tokens ([`ItemTitles`]).

    Why this shape:
    - New items need no training: their title gives `t_i`, and their correction row is zero (so a cold item is
      scored from its text alone) while trained items keep in their correction what their title does not say.
    - It is stable under LoRA merge: `t_i` reads `embed_tokens`, which LoRA does not adapt (the model refuses an
      adapted one), and `title_proj`, the corrections and the bias are plain fp32 weights of `rec_head`, trained
      fully. So the same weights give the same item vectors in training, after `merge_and_unload`, after
      `save_pretrained` and when loaded from the Hub. Encoding titles with the decoder itself would tie each item
      vector to the LoRA-adapted layers and cost a forward pass per item.
    Item vectors are computed once per forward for the whole catalog, a chunk of titles at a time.
    """

    def __init__(self, config: IAMRecConfig):
        super().__init__(config)
        dim = config.hidden_size if config.rec_head_dim is None else config.rec_head_dim
        self.title_proj = nn.Linear(config.hidden_size, dim, bias=False)
        corrections = config.rec_head_item_corrections
        self.item_corrections = nn.Parameter(torch.zeros(config.num_items, dim)) if corrections else None
        self.item_bias = nn.Parameter(torch.zeros(config.num_items)) if config.rec_head_bias else None

    @property
    def dtype(self) -> torch.dtype:
        return self.title_proj.weight.dtype

    def start_from_item_bias(self, bias: torch.Tensor) -> None:
        """A zero title projection and the given per-item bias: every score starts at the bias."""
        if self.item_bias is None:
            raise ValueError("Starting from an item bias needs a head bias (rec_head_bias=True).")
        with torch.no_grad():
            self.title_proj.weight.zero_()
            self.item_bias.copy_(bias)

    def set_titles(self, titles: ItemTitles, title_token_ids: Sequence[Sequence[int]], vocab_size: int) -> None:
        """Gives `titles` the token ids of every catalog title (title `i` is item `i`); the catalog size stays."""
        if len(title_token_ids) != len(titles):
            raise ValueError(f"Got {len(title_token_ids)} titles for a catalog of {len(titles)} items.")
        titles.replace(*pack_titles(title_token_ids, vocab_size))

    def add_items(
        self,
        titles: ItemTitles,
        title_token_ids: Sequence[Sequence[int]],
        vocab_size: int,
        bias: float | Sequence[float] | None = None,
    ) -> None:
        """Extends the catalog with items given by their titles' token ids: their titles join `titles` and their rows
        start as `reset_items` sets them. Every title and the bias are checked before anything changes."""
        if not title_token_ids:
            raise ValueError("No item to add: give at least one title.")
        self.check_new_bias(bias, len(title_token_ids))
        titles.append(*pack_titles(title_token_ids, vocab_size))
        self.append_items(len(title_token_ids), bias)

    def append_items(self, count: int, bias: float | Sequence[float] | None = None) -> None:
        """Rows for `count` new items, set as `reset_items` sets them (a head without per-item rows needs none)."""
        rows = [row for row in (self.item_corrections, self.item_bias) if row is not None]
        if not rows:
            self.check_new_bias(bias, count)
            return
        first = rows[0].shape[0]
        with torch.no_grad():
            if self.item_corrections is not None:
                corrections = self.item_corrections.new_zeros(count, self.item_corrections.shape[1])
                self.item_corrections = nn.Parameter(torch.cat([self.item_corrections, corrections]))
            if self.item_bias is not None:
                self.item_bias = nn.Parameter(torch.cat([self.item_bias, self.item_bias.new_zeros(count)]))
        self.reset_items(range(first, first + count), bias)

    def reset_items(self, item_ids: Sequence[int], bias: float | Sequence[float] | None = None) -> None:
        """Scores these items as new ones: a zero correction (the title alone scores them) and a bias.

        The bias defaults to the mean bias of the other items (an average-popularity prior: zero could rank a new
        item above every trained one). Give `bias` (one value, or one per item) to place new items elsewhere: a
        trained item's bias is its log-popularity plus what training learned, so a high value promotes new items
        over popular trained ones, at a cost to the trained items' ranks. Training on cold-start data uses it for the
        cold items, which it keeps out of the catalog (their rows never train): they are saved as new items.
        """
        ids = torch.as_tensor(list(item_ids), dtype=torch.long, device=self.title_proj.weight.device)
        new_bias = self.check_new_bias(bias, len(ids))
        with torch.no_grad():
            if self.item_corrections is not None:
                self.item_corrections[ids] = 0.0
            if self.item_bias is None:
                return
            if new_bias is None:
                others = torch.ones_like(self.item_bias, dtype=torch.bool)
                others[ids] = False
                new_bias = self.item_bias[others].mean() if others.any() else torch.tensor(0.0)
            self.item_bias[ids] = new_bias.to(self.item_bias)

    def check_new_bias(self, bias: float | Sequence[float] | None, count: int) -> torch.Tensor | None:
        """`bias` as a tensor that broadcasts over `count` new items (None stays None); raises on a bad one."""
        if bias is None:
            return None
        if self.item_bias is None:
            raise ValueError("A new-item bias needs a head with item biases (rec_head_bias=True); this one has none.")
        try:
            values = torch.as_tensor(bias, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"bias must be a number or a list of numbers; got {bias!r}.") from None
        if values.dim() > 1 or (values.dim() == 1 and len(values) != count):
            raise ValueError(f"bias must be one number or one per new item ({count}); got shape {tuple(values.shape)}.")
        if not values.isfinite().all():
            raise ValueError(f"bias must be finite; got {values.tolist()}.")
        return values

    def item_vectors(self, titles: ItemTitles, token_embeddings: torch.Tensor) -> torch.Tensor:
        """`(num_items, dim)`: each item's projected mean title embedding plus its correction."""
        projected = [self.title_proj(means.to(self.dtype)) for means in titles.mean_embeddings(token_embeddings)]
        vectors = torch.cat(projected)
        return vectors if self.item_corrections is None else vectors + self.item_corrections

    def forward(self, hidden_states: torch.Tensor, titles: ItemTitles, token_embeddings: torch.Tensor) -> torch.Tensor:
        logits = self.project(hidden_states) @ self.item_vectors(titles, token_embeddings).T
        return logits if self.item_bias is None else logits + self.item_bias


class ItemIdEmbeddings(nn.Module):
    """A learned vector per catalog item for the input side (`item_id_embeddings`), beside the item's title tokens.

    The vectors are rows of a table of `num_id_items` rows, or the linear head's item rows (`item_id_tie_head`), mapped
    to the hidden size by a learned projection when `item_id_dim` is set (LLaRA's projector). An id without a row
    (an item added after training) or set to -1 gets the zero vector: its item is read from its title alone.
    """

    def __init__(self, config: IAMRecConfig):
        super().__init__()
        width = config.item_id_dim or config.hidden_size
        self.table = None if config.item_id_tie_head else nn.Embedding(config.num_id_items, width)
        self.proj = None if config.item_id_dim is None else nn.Linear(width, config.hidden_size, bias=False)
        self.num_id_items = config.num_id_items
        self.mode = config.item_id_embeddings

    def forward(self, item_ids: torch.LongTensor, head_rows: torch.Tensor | None = None) -> torch.Tensor:
        """`(*item_ids.shape, hidden_size)`: each id's vector, zero where the id is -1 or has no row."""
        rows = self.table.weight if self.table is not None else head_rows[: self.num_id_items]
        known = (item_ids >= 0) & (item_ids < self.num_id_items)
        vectors = nn.functional.embedding(item_ids.masked_fill(~known, 0), rows) * known.unsqueeze(-1).to(rows.dtype)
        return vectors if self.proj is None else self.proj(vectors.to(self.proj.weight.dtype))

    def add_to_inputs(
        self,
        inputs_embeds: torch.Tensor,
        item_ids: torch.LongTensor,
        item_index: torch.LongTensor,
        head_rows: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The input embeddings with each item's vector added (`add`, `add_last`) or in its own position (`token`)."""
        if self.mode == "add_last":
            item_ids = item_ids.masked_fill(~last_item_tokens(item_index), -1)
        vectors = self(item_ids.to(inputs_embeds.device), head_rows).to(inputs_embeds.dtype)
        if self.mode == "token":
            return torch.where((item_ids >= 0).unsqueeze(-1), vectors, inputs_embeds)
        return inputs_embeds + vectors

    def forget(self, item_ids: Sequence[int]) -> None:
        """Zeroes these items' rows (items kept out of training, which read as new ones); tied rows are the head's."""
        if self.table is None:
            raise ValueError("Tied item vectors are the head's rows: they cannot be cleared apart from its scores.")
        with torch.no_grad():
            self.table.weight[torch.as_tensor(list(item_ids), dtype=torch.long)] = 0.0


def catalog_cross_entropy(
    logits: torch.Tensor, labels: torch.LongTensor, num_items_in_batch: torch.Tensor | int | None = None
) -> torch.Tensor:
    """The full-catalog cross-entropy of the target items (`labels`, -100 ignores a row), in fp32.

    Summed, then divided by the rows that count: the Trainer's count over all gradient-accumulation micro-batches when
    it passes `num_items_in_batch`, else this batch's (a batch whose rows are all -100 has loss 0, not NaN).
    """
    labels = labels.to(logits.device)
    loss = nn.functional.cross_entropy(logits.float(), labels, ignore_index=-100, reduction="sum")
    counted = num_items_in_batch if num_items_in_batch is not None else (labels != -100).sum().clamp(min=1)
    return loss / counted


def exclusion_mask(
    exclude: torch.BoolTensor | list[list[int]], logits: torch.Tensor, num_items: int
) -> torch.BoolTensor:
    """`exclude` (a `logits`-shaped boolean mask, or one list of item ids per row) as a boolean mask on `logits`."""
    if isinstance(exclude, torch.Tensor):
        if exclude.shape != logits.shape:
            raise ValueError(f"exclude mask has shape {tuple(exclude.shape)}; expected {tuple(logits.shape)}.")
        return exclude.to(device=logits.device, dtype=torch.bool)
    if len(exclude) != logits.shape[0]:
        raise ValueError(f"exclude has {len(exclude)} lists of item ids for {logits.shape[0]} sequences.")
    mask = torch.zeros_like(logits, dtype=torch.bool)
    for row, item_ids in enumerate(exclude):
        ids = torch.as_tensor(list(item_ids), dtype=torch.long, device=logits.device)
        if ids.numel() and (ids.min() < 0 or ids.max() >= num_items):
            raise ValueError(f"exclude[{row}] holds item ids outside [0, {num_items}).")
        mask[row, ids] = True
    return mask


def top_items(logits: torch.Tensor, k: int, exclude: torch.BoolTensor | list[list[int]] | None) -> Recommendations:
    """The `k` best-scored items of each row, best first, none of them in `exclude` (see `exclusion_mask`).

    Refuses scores with a NaN (topk would rank it first), as evaluation does, and a row whose exclusions leave fewer
    than `k` items (it would return excluded items scored -inf).
    """
    nan_rows = logits.isnan().any(dim=-1)
    if nan_rows.any():
        raise ValueError(
            f"scores contain NaN in rows {nan_rows.nonzero().flatten().tolist()[:10]}: the model's weights or "
            "inputs are not finite (a diverged or damaged model), so it cannot rank."
        )
    if exclude is not None:
        num_items = logits.shape[-1]
        excluded = exclusion_mask(exclude, logits, num_items)
        left = num_items - excluded.sum(-1)
        if (left < k).any():
            row = int((left < k).nonzero()[0])
            raise ValueError(f"k={k}, but sequence {row} leaves only {int(left[row])} items after its exclusions.")
        logits = logits.masked_fill(excluded, float("-inf"))
    scores, item_ids = logits.topk(k, dim=-1)
    return Recommendations(item_ids=item_ids, scores=scores)


@dataclass
class IAMRecInputs:
    """The inputs of a forward that describe its tokens, checked together before anything runs (`check`).

    Shapes and dtypes are always checked. Checks that read values (a sequence without a real token, item ids and
    labels outside the catalog, the label count of readouts) run only when the inputs are on the CPU, where they cost
    no device synchronisation, or on any device when asked (`check_values`; the model's `check_input_values`).
    """

    input_ids: torch.LongTensor | None = None
    inputs_embeds: torch.Tensor | None = None
    attention_mask: torch.Tensor | None = None
    item_index: torch.LongTensor | None = None
    readout_index: torch.LongTensor | None = None
    labels: torch.LongTensor | None = None
    cache: Cache | None = None
    past_key_values: Cache | None = None
    item_ids: torch.LongTensor | None = None

    def check(self, config: IAMRecConfig, check_values: bool = False) -> None:
        """Raises a ValueError naming the first input that the model cannot take."""
        if (self.input_ids is None) == (self.inputs_embeds is None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        if self.cache is not None and self.past_key_values is not None:
            raise ValueError("Pass the key/value cache once, as `cache` or as `past_key_values`, not both.")
        tokens = self.input_ids if self.input_ids is not None else self.inputs_embeds
        self.check_shapes(config, *tokens.shape[:2])
        if check_values or tokens.device.type == "cpu":
            self.check_values(config)

    @property
    def past_length(self) -> int:
        """Tokens already in the key/value cache (given under either name)."""
        cache = self.cache if self.cache is not None else self.past_key_values
        return cache.get_seq_length() if cache is not None else 0

    def check_shapes(self, config: IAMRecConfig, batch_size: int, seq_length: int) -> None:
        """The checks that read no value: each input's shape against `batch_size` new sequences of `seq_length`
        tokens after the cached ones, the labels' dtype, and inputs this model cannot take."""
        past_length = self.past_length
        expected = (batch_size, past_length + seq_length)
        attention_mask, item_index, readout_index = self.attention_mask, self.item_index, self.readout_index
        labels, item_ids = self.labels, self.item_ids
        if attention_mask is not None and attention_mask.shape != expected:
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)}; expected (batch_size, past_length + "
                f"sequence_length) = {expected}."
            )
        if item_index is not None and item_index.shape != expected:
            raise ValueError(
                f"item_index has shape {tuple(item_index.shape)} but must match the tokens it describes, "
                f"{expected} (input_ids of shape {(batch_size, seq_length)} after {past_length} cached tokens)."
            )
        if batch_size == 0:
            raise ValueError("The batch is empty (batch_size 0): give at least one sequence.")
        if readout_index is not None and past_length:
            raise ValueError("readout_index trains on whole sequences; it cannot be used with cached tokens.")
        if readout_index is not None and readout_index.shape != expected:
            raise ValueError(
                f"readout_index has shape {tuple(readout_index.shape)} but must match the tokens it describes, "
                f"{expected}."
            )
        if item_ids is not None and config.item_id_embeddings == "none":
            raise ValueError("item_ids given, but this model has no item vectors (item_id_embeddings='none').")
        if item_ids is not None and item_ids.shape != (batch_size, seq_length):
            raise ValueError(
                f"item_ids has shape {tuple(item_ids.shape)} but must match the new tokens, {(batch_size, seq_length)}."
            )
        if labels is not None and (labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool):
            raise ValueError(f"labels must be integer item ids (torch.long), got dtype {labels.dtype}.")
        if labels is not None and readout_index is None and labels.shape != (batch_size,):
            raise ValueError(
                f"labels must hold one target item id per sequence, shape {(batch_size,)}; got {tuple(labels.shape)}."
            )

    def check_values(self, config: IAMRecConfig) -> None:
        """The checks that read values, each one a device synchronisation off the CPU."""
        attention_mask, readout_index, labels, item_ids = (
            self.attention_mask,
            self.readout_index,
            self.labels,
            self.item_ids,
        )
        if attention_mask is not None:
            empty = ~attention_mask.bool().any(-1)
            if empty.any():
                raise ValueError(
                    f"attention_mask marks no real token in sequence(s) {empty.nonzero().flatten().tolist()}: there "
                    "is nothing to recommend from."
                )
        if item_ids is not None and ((item_ids < -1) | (item_ids >= config.num_items)).any():
            raise ValueError(f"item_ids must be catalog ids in [0, {config.num_items}) or -1 for other tokens.")
        if labels is None:
            return
        if readout_index is not None:
            visible = readout_index if attention_mask is None else readout_index.masked_fill(attention_mask == 0, -1)
            rows = int(last_readout_tokens(visible).sum())
            if labels.shape != (rows,):
                raise ValueError(
                    f"labels must hold one target item id per readout, shape {(rows,)}; got {tuple(labels.shape)}."
                )
        outside = (labels != -100) & ((labels < 0) | (labels >= config.num_items))
        if outside.any():
            raise ValueError(
                f"labels {labels[outside].tolist()} are outside the catalog: item ids must be in "
                f"[0, {config.num_items})."
            )


class IAMRecForSequentialRecommendation(LlamaModel):
    """A Llama decoder with per-layer item-aware attention masks and a head that scores every catalog item.

    Build it from a pretrained Llama-family checkpoint with [`~IAMRecForSequentialRecommendation.from_llama`].
    Inputs carry `item_index`: for every token, the history slot of the item title it belongs to, or -1 for prompt
    and padding tokens (the collator's boundary ids).

    It subclasses `LlamaModel` itself, with no `IAMRecPreTrainedModel` base between: there is one IAMRec model class,
    so such a base would have a single user, and being a `LlamaModel` keeps its weights where every saved checkpoint
    has them (`embed_tokens.*`, `layers.*`, `norm.*` at the top, beside `rec_head.*`), where `from_llama` loads a
    `LlamaForCausalLM`'s `model.*` weights by `base_model_prefix`. What transformers reads from a base class (the
    configuration class, the attention backends, `_init_weights` for the head) is declared here instead.
    """

    config_class = IAMRecConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["LlamaDecoderLayer"]
    # The item-aware masks are mask functions that `create_causal_mask` turns into sdpa, eager and flex masks. Flash
    # attention takes only a padding mask, so it would drop them and attend causally: it is refused, as are external
    # attention backends, which would not receive them.
    _supports_sdpa = True
    _supports_flex_attn = True
    _supports_flash_attn = False
    _supports_attention_backend = False
    # Scores of 1,000s of items in bf16 (8 bits of mantissa) would tie and reorder: the head stays in fp32.
    _keep_in_fp32_modules_strict = ["rec_head"]
    _keys_to_ignore_on_load_unexpected = [r"^lm_head\."]
    check_input_values = False
    """Check input values (not only shapes) on GPUs too, at the cost of a device synchronisation per forward; on the
    CPU they are always checked. The tests set it."""

    def __init__(self, config: IAMRecConfig):
        if config.num_items is None:
            raise ValueError("IAMRecConfig.num_items must be set: the head scores every item of the catalog.")
        super().__init__(config)
        if config.rec_head_type == "text":
            self.item_titles = ItemTitles(config)
            self.rec_head = IAMRecTextHead(config)
        else:
            self.rec_head = IAMRecLinearHead(config)
        if config.item_id_embeddings != "none":
            self.item_embeddings = ItemIdEmbeddings(config)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """Llama's initialisation (the linear head's rows and the item vectors as its linear and embedding layers),
        and the text head's per-item corrections and bias at zero (through transformers' `init`, which leaves loaded
        weights alone)."""
        super()._init_weights(module)
        if isinstance(module, IAMRecTextHead):
            if module.item_corrections is not None:
                init.zeros_(module.item_corrections)
            if module.item_bias is not None:
                init.zeros_(module.item_bias)

    @classmethod
    def from_llama(
        cls,
        pretrained_model_name_or_path: str,
        num_items: int,
        schedule: str | None = None,
        item_mask_modes: list[str] | None = None,
        config_overrides: dict | None = None,
        item_title_token_ids: Sequence[Sequence[int]] | None = None,
        **kwargs,
    ) -> "IAMRecForSequentialRecommendation":
        """Loads any Llama-family checkpoint (local folder or Hub id), keeping its weights, with a chosen schedule.

        The head is freshly initialised (an IAMRec checkpoint keeps its head if `num_items` matches). `schedule` is a
        name of `SCHEDULES` (None: `DEFAULT_SCHEDULE`), shaped by the config fields `num_intra`/`num_inter_last` in
        `config_overrides`; `item_mask_modes` gives the per-layer modes directly instead. `config_overrides` sets any
        other config field; with `rec_head_type="text"` there, `item_title_token_ids` (every catalog title's token
        ids, e.g. `processor.title_tokens.all_token_ids()`) is required. `kwargs` (`torch_dtype`,
        `attn_implementation`, ...) go to `from_pretrained`.
        """
        from transformers import AutoConfig

        base_config = AutoConfig.from_pretrained(pretrained_model_name_or_path)
        if base_config.model_type not in ("llama", IAMRecConfig.model_type):
            raise ValueError(
                f"{pretrained_model_name_or_path} is a {base_config.model_type!r} model; IAMRec builds on Llama-family "
                "checkpoints (model_type 'llama')."
            )
        overrides = dict(config_overrides or {})
        if (overrides.get("rec_head_type") == "text") != (item_title_token_ids is not None):
            raise ValueError("item_title_token_ids go with, and only with, config_overrides={'rec_head_type': 'text'}.")
        if item_title_token_ids is not None:
            overrides["num_title_tokens"] = sum(len(ids) for ids in item_title_token_ids)
        config = IAMRecConfig.from_llama_config(
            base_config,
            num_items=num_items,
            **{
                "schedule": schedule,
                "item_mask_modes": item_mask_modes,
                **overrides,
            },
        )
        if base_config.model_type == IAMRecConfig.model_type:  # a head for another catalog size is re-initialised
            kwargs.setdefault("ignore_mismatched_sizes", True)
        model = cls.from_pretrained(pretrained_model_name_or_path, config=config, **kwargs)
        if item_title_token_ids is not None:
            model.set_item_titles(item_title_token_ids)
        return model

    def item_aware_masks(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        item_index: torch.LongTensor,
        cache: Cache | None,
        position_ids: torch.LongTensor,
        readout_index: torch.LongTensor | None = None,
    ) -> dict[str, object]:
        """One attention mask per distinct mode in the schedule, in the format of the attention implementation; with
        `readout_index`, each also hides every readout from the tokens outside it."""
        masks = {}
        for mode in dict.fromkeys(self.config.item_mask_modes):
            rules = [rule for rule in (item_mask_function(mode, item_index),) if rule is not None]
            if readout_index is not None:
                rules.append(readout_mask_function(readout_index))
            masks[mode] = create_causal_mask(
                config=self.config,
                inputs_embeds=inputs_embeds,
                attention_mask=attention_mask,
                position_ids=position_ids,
                and_mask_function=and_masks(*rules) if rules else None,
                **{MASK_CACHE_KEYWORD: cache},
            )
        return masks

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        item_index: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        past_key_values: Cache | None = None,
        readout_index: torch.LongTensor | None = None,
        item_ids: torch.LongTensor | None = None,
        **kwargs,
    ) -> IAMRecOutput | tuple:
        r"""
        item_index (`torch.LongTensor` of shape `(batch_size, past_length + sequence_length)`):
            History slot of the item each token belongs to, -1 for prompt and padding tokens. With a cache it covers
            the cached tokens and the new ones, like `attention_mask`. Omitted, every token counts as a prompt token
            and all modes reduce to causal attention.
        labels (`torch.LongTensor` of shape `(batch_size,)`, or `(num_readouts,)` with `readout_index`, *optional*):
            Target item ids in `[0, num_items)` (or -100 to ignore a row); gives a full-catalog cross-entropy loss,
            averaged over the rows, or summed and divided by `num_items_in_batch` when the Trainer passes it (so that
            gradient accumulation averages over all accumulated rows).
        cache (`Cache`, *optional*):
            Key/value cache of earlier tokens; `past_key_values` is accepted as its older name.
        readout_index (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
            For training on every item of a sequence in one forward (the collator's `next_items` examples): the readout
            (0, 1, ... per sequence) each token belongs to, -1 for the shared sequence. A readout is a copy of the
            prompt's closing text after one item; it sees the sequence up to that item and no other token sees it, so
            its last token holds exactly what the final token of a prompt ending at that item would. The logits then
            hold one row per readout, in sequence order (`(num_readouts, num_items)`), and position ids are derived
            from it when not given. Not used with a cache.
        item_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
            Models with `item_id_embeddings`: the catalog id of the item whose vector each token carries, -1 for the
            others (the processor's collator emits it). Omitted, items are read from their titles alone.
        """
        IAMRecInputs(
            input_ids=input_ids,
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            item_index=item_index,
            readout_index=readout_index,
            labels=labels,
            cache=cache,
            past_key_values=past_key_values,
            item_ids=item_ids,
        ).check(self.config, check_values=self.check_input_values)
        cache = cache if cache is not None else past_key_values
        use_cache = self.config.use_cache if use_cache is None else use_cache
        output_attentions = self.config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = (
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )
        return_dict = self.config.return_dict if return_dict is None else return_dict
        num_items_in_batch = kwargs.pop("num_items_in_batch", None)
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids)
        batch_size, seq_length = inputs_embeds.shape[:2]

        if use_cache and cache is None:
            cache = DynamicCache(config=self.config)
        past_length = cache.get_seq_length() if cache is not None else 0
        # A 2-D mask is always passed on: without one, restarting position ids would switch on packed-sequence masking.
        if attention_mask is None:
            attention_mask = torch.ones(
                batch_size, past_length + seq_length, dtype=torch.long, device=inputs_embeds.device
            )
        if item_index is None:
            item_index = torch.full_like(attention_mask, -1, dtype=torch.long)
        item_index = item_index.masked_fill(attention_mask == 0, -1)
        if item_ids is not None:
            head_rows = self.rec_head.items.weight if self.config.item_id_tie_head else None
            inputs_embeds = self.item_embeddings.add_to_inputs(
                inputs_embeds, item_ids, item_index[:, past_length:], head_rows
            )
        if readout_index is not None:
            readout_index = readout_index.masked_fill(attention_mask == 0, -1)
        if position_ids is None:
            position_ids = default_position_ids(attention_mask, readout_index, past_length)

        masks = self.item_aware_masks(inputs_embeds, attention_mask, item_index, cache, position_ids, readout_index)
        hidden_states, all_hidden_states, attentions = self._run_decoder_layers(
            inputs_embeds, masks, position_ids, cache, use_cache, output_attentions, output_hidden_states, **kwargs
        )
        hidden_states = self.norm(hidden_states)
        if output_hidden_states:  # as in transformers: each layer's input, then the normalised output
            all_hidden_states = (*all_hidden_states, hidden_states)

        logits = self._score_items(scored_hidden_states(hidden_states, attention_mask[:, past_length:], readout_index))
        loss = None if labels is None else catalog_cross_entropy(logits, labels, num_items_in_batch)
        output = IAMRecOutput(
            loss=loss,
            logits=logits,
            last_hidden_state=hidden_states,
            cache=cache,
            hidden_states=all_hidden_states,
            attentions=attentions,
        )
        return output if return_dict else output.to_tuple()

    def _run_decoder_layers(
        self,
        hidden_states: torch.Tensor,
        masks: dict[str, object],
        position_ids: torch.LongTensor,
        cache: Cache | None,
        use_cache: bool,
        output_attentions: bool,
        output_hidden_states: bool,
        **kwargs,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None, tuple[torch.Tensor, ...] | None]:
        """Runs each decoder layer with its mode's mask; returns the output, and each layer's input and attention
        weights when asked.

        The weights are read with forward hooks on the attention modules (which return them under eager attention),
        so no transformers-internal output capturing is needed.
        """
        layers = self.layers[: self.config.num_hidden_layers]
        position_embeddings = self.rotary_emb(hidden_states, position_ids=position_ids)
        layer_inputs, attentions = [], []
        hooks = [
            layer.self_attn.register_forward_hook(lambda module, args, output: attentions.append(output[1]))
            for layer in (layers if output_attentions else [])
        ]
        try:
            for decoder_layer, mode in zip(layers, self.config.item_mask_modes):
                layer_inputs.append(hidden_states)
                hidden_states = decoder_layer(
                    hidden_states,
                    attention_mask=masks[mode],
                    position_embeddings=position_embeddings,
                    position_ids=position_ids,
                    use_cache=use_cache,
                    **{LAYER_CACHE_KEYWORD: cache},
                    **kwargs,
                )
        finally:
            for hook in hooks:
                hook.remove()
        if output_attentions and any(weights is None for weights in attentions):
            raise ValueError(
                "output_attentions=True needs attention weights, which only attn_implementation='eager' returns; "
                "load the model with attn_implementation='eager' or call model.set_attn_implementation('eager')."
            )
        return (
            hidden_states,
            tuple(layer_inputs) if output_hidden_states else None,
            tuple(attentions) if output_attentions else None,
        )

    def _score_items(self, final_hidden: torch.Tensor) -> torch.Tensor:
        """Every catalog item's score from each sequence's final hidden state, in the head's fp32 even under bf16
        autocast (scores of 1,000s of items in bf16 would tie)."""
        if self.config.rec_head_type == "text" and not isinstance(self.embed_tokens, nn.Embedding):
            raise ValueError(
                f"The title head reads the input embeddings, but embed_tokens is a {type(self.embed_tokens).__name__} "
                "(a LoRA adapter?): its titles would score differently once merged. Leave embed_tokens out of LoRA."
            )
        with torch.autocast(final_hidden.device.type, enabled=False):
            final_hidden = final_hidden.to(self.rec_head.dtype)
            if self.config.rec_head_type == "linear":
                return self.rec_head(final_hidden)
            return self.rec_head(final_hidden, self.item_titles, self.embed_tokens.weight)

    @torch.no_grad()
    def recommend(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        item_index: torch.LongTensor | None = None,
        k: int = 10,
        exclude: torch.BoolTensor | list[list[int]] | None = None,
        item_ids: torch.LongTensor | None = None,
    ) -> Recommendations:
        """Top-k item ids and scores per sequence, optionally never recommending the items in `exclude`.

        `exclude` is a `(batch_size, num_items)` boolean mask or one list of item ids per sequence (e.g. its history).
        It ranks in eval mode (no dropout, a batch-norm head's running statistics read, not updated) and gives every
        module back the mode it was in (a training model with a frozen part in eval mode stays so).
        """
        if not 1 <= k <= self.config.num_items:
            raise ValueError(f"k must be between 1 and num_items={self.config.num_items}, got {k}.")
        modes = {module: module.training for module in self.modules()}
        self.eval()
        try:
            logits = self(
                input_ids=input_ids, attention_mask=attention_mask, item_index=item_index, item_ids=item_ids
            ).logits.float()
        finally:
            for module, training in modes.items():
                module.training = training
        return top_items(logits, k, exclude)

    def set_item_titles(self, title_token_ids: Sequence[Sequence[int]]) -> None:
        """Gives the text head the token ids of every catalog title (title `i` is item `i`), e.g. from
        `processor.title_tokens.all_token_ids()`; `num_title_tokens` in the config follows."""
        self._require_text_head("set_item_titles")
        self.rec_head.set_titles(self.item_titles, title_token_ids, self.config.vocab_size)
        self.config.num_title_tokens = len(self.item_titles.token_ids)

    def add_items(
        self, title_token_ids: Sequence[Sequence[int]], bias: float | Sequence[float] | None = None
    ) -> list[int]:
        """Extends the catalog with items given by their titles' token ids; returns their item ids.

        A new item has a zero correction (it is scored from its title alone) and, unless `bias` (one value, or one
        per item) says otherwise, the mean item bias: see [`IAMRecTextHead.reset_items`]. `num_items` and
        `num_title_tokens` in the config follow, so `save_pretrained` and loading keep the new items. Use
        `IAMRecProcessor.add_items`, which tokenizes the titles and extends the processor's catalog too.
        """
        self._require_text_head("add_items")
        first = self.config.num_items
        self.rec_head.add_items(self.item_titles, title_token_ids, self.config.vocab_size, bias)
        self.config.num_items = len(self.item_titles)
        self.config.num_title_tokens = len(self.item_titles.token_ids)
        return list(range(first, self.config.num_items))

    def _require_text_head(self, action: str) -> None:
        if self.config.rec_head_type != "text":
            raise ValueError(
                f"{action} needs the title head (rec_head_type='text'); this model has the "
                f"{self.config.rec_head_type!r} head, which learns one row per trained item and has none for new ones."
            )


__all__ = [
    "IAMRecForSequentialRecommendation",
    "IAMRecInputs",
    "IAMRecLinearHead",
    "IAMRecOutput",
    "IAMRecTextHead",
    "ItemIdEmbeddings",
    "ItemTitles",
    "Recommendations",
]
