"""Where attention goes, per layer (HatLLM Figure 2): the share of item tokens' attention that stays in their own item,
reaches other items or reaches the prompt, and the same for the final token whose hidden state is scored."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

ITEM_TARGETS = ("same_item", "other_items", "prompt")
"""Where an item token's attention can go: tokens of its own item, tokens of other items, prompt tokens."""
FINAL_TARGETS = ("items", "prompt")
"""Where the final token's attention can go: item tokens (any item), prompt tokens (itself included)."""


@dataclass
class AttentionShares:
    """Attention weights summed per layer and per target, over every query counted so far.

    `item_weight[l, t]` sums, over item-token queries, the head-averaged weight on target `t` of `ITEM_TARGETS`;
    `item_pairs[l, t]` counts the (query, key) pairs causal attention could weigh there, so `weight / pairs` is
    HatLLM's average weight per token pair. `final_weight` is the same for the final token over `FINAL_TARGETS`.
    """

    num_layers: int
    item_weight: torch.Tensor = field(init=False)
    item_pairs: torch.Tensor = field(init=False)
    item_queries: int = 0
    final_weight: torch.Tensor = field(init=False)
    final_queries: int = 0

    def __post_init__(self):
        self.item_weight = torch.zeros(self.num_layers, len(ITEM_TARGETS), dtype=torch.float64)
        self.item_pairs = torch.zeros(self.num_layers, len(ITEM_TARGETS), dtype=torch.float64)
        self.final_weight = torch.zeros(self.num_layers, len(FINAL_TARGETS), dtype=torch.float64)

    def add(self, attentions: Sequence[torch.Tensor], item_index: torch.Tensor, attention_mask: torch.Tensor) -> None:
        """Counts one batch: `attentions[l]` of shape (batch, heads, T, T) (a model's `output_attentions`),
        `item_index` and `attention_mask` of shape (batch, T) as the collator made them (-1: prompt or padding)."""
        if len(attentions) != self.num_layers:
            raise ValueError(f"Expected attention weights of {self.num_layers} layers, got {len(attentions)}.")
        real = attention_mask.bool()
        item_index = item_index.masked_fill(~real, -1)
        is_item = item_index >= 0
        length = item_index.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=real.device).tril()
        visible = causal & real[:, None, :]  # (batch, query, key): the keys causal attention may weigh
        prompt_keys = real & ~is_item
        same = is_item[:, :, None] & (item_index[:, :, None] == item_index[:, None, :])
        other = is_item[:, :, None] & is_item[:, None, :] & ~same
        prompt = is_item[:, :, None] & prompt_keys[:, None, :]
        item_targets = torch.stack([same, other, prompt])  # (target, batch, query, key)
        final = (torch.arange(length, device=real.device) * real).argmax(-1)  # each row's last real token
        rows = torch.arange(real.shape[0], device=real.device)
        final_targets = torch.stack([is_item, prompt_keys])  # (target, batch, key)

        for layer, weights in enumerate(attentions):
            mean_weights = weights.detach().float().mean(1)  # over heads: (batch, query, key)
            per_query = torch.einsum("bqk,tbqk->tbq", mean_weights, item_targets.float())
            self.item_weight[layer] += per_query[:, is_item].sum(-1).double().cpu()
            pairs = (item_targets & visible).sum(-1)  # (target, batch, query)
            self.item_pairs[layer] += pairs[:, is_item].sum(-1).double().cpu()
            final_row = mean_weights[rows, final]  # (batch, key)
            self.final_weight[layer] += (final_row * final_targets.float()).sum(-1).sum(-1).double().cpu()
        self.item_queries += int(is_item.sum())
        self.final_queries += real.shape[0]

    def summary(self) -> dict[str, Any]:
        """Per layer: mean shares of item tokens and of the final token, and the average weight per token pair."""
        if self.item_queries == 0 or self.final_queries == 0:
            raise ValueError("No attention was counted: the examples hold no item tokens.")
        item_share = self.item_weight / self.item_queries
        pair_weight = self.item_weight / self.item_pairs.clamp(min=1)
        final_share = self.final_weight / self.final_queries
        return {
            "item_tokens": {
                target: [round(float(value), 6) for value in item_share[:, column]]
                for column, target in enumerate(ITEM_TARGETS)
            },
            "item_tokens_weight_per_pair": {
                target: [round(float(value), 6) for value in pair_weight[:, column]]
                for column, target in enumerate(ITEM_TARGETS)
            },
            "final_token": {
                target: [round(float(value), 6) for value in final_share[:, column]]
                for column, target in enumerate(FINAL_TARGETS)
            },
            "item_token_queries": self.item_queries,
            "final_token_queries": self.final_queries,
        }


def first_example_per_user(dataset, num_users: int) -> list[dict]:
    """The first example (in split order) of each of the first `num_users` users of a prepared split."""
    if num_users < 1:
        raise ValueError(f"num_users must be at least 1, got {num_users}.")
    chosen, seen = [], set()
    for example in dataset:
        if example["user"] not in seen:
            seen.add(example["user"])
            chosen.append(example)
            if len(chosen) == num_users:
                break
    return chosen


def measure_attention(model, collator, examples: Sequence[dict], batch_size: int = 8) -> dict[str, Any]:
    """The per-layer shares of `AttentionShares.summary` for a model over `examples`. The model is switched to eager
    attention, the only implementation that returns attention weights, and stays so."""
    model.set_attn_implementation("eager")
    model.eval()
    shares = AttentionShares(model.config.num_hidden_layers)
    with torch.no_grad():
        for start in tqdm(range(0, len(examples), batch_size), desc="attention", unit="batch"):
            batch = collator(list(examples[start : start + batch_size]))
            inputs = {key: value.to(model.device) for key, value in batch.items() if key != "labels"}
            output = model(**inputs, output_attentions=True)
            shares.add(output.attentions, inputs["item_index"], inputs["attention_mask"])
    return {"item_mask_modes": list(model.config.item_mask_modes), **shares.summary()}
