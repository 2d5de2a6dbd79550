"""Tiny random IAMRec models and random item layouts, batched: what the model, mask and Hub tests run on."""

import random
from dataclasses import dataclass

import torch

from iamrec import IAMRecConfig, IAMRecForSequentialRecommendation

VOCAB_SIZE = 97
NUM_ITEMS = 13
MASK_MODES = ["intra", "full", "inter", "inter_last"]


def tiny_config(item_mask_modes: list[str], **overrides) -> IAMRecConfig:
    values = dict(
        vocab_size=VOCAB_SIZE,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        num_hidden_layers=len(item_mask_modes),
        item_mask_modes=item_mask_modes,
        num_items=NUM_ITEMS,
        pad_token_id=0,
    )
    values.update(overrides)
    return IAMRecConfig(**values)


def tiny_model(item_mask_modes: list[str], attn_implementation: str = "eager", seed: int = 0, **overrides):
    torch.manual_seed(seed)
    model = IAMRecForSequentialRecommendation(tiny_config(item_mask_modes, **overrides))
    model.set_attn_implementation(attn_implementation)
    return model.eval()


@dataclass
class Layout:
    """One token sequence: which item (history slot) each token belongs to, and the item spans [start, end)."""

    item_index: list[int]
    spans: list[tuple[int, int]]  # spans[slot] = (start, end)

    def __len__(self) -> int:
        return len(self.item_index)


def random_layout(rng: random.Random, num_items: int, adjacent: bool = False) -> Layout:
    """Prompt tokens before, between (unless `adjacent`) and after items; items of 1 to 4 tokens."""
    item_index, spans = [-1] * rng.randint(1, 3), []
    for slot in range(num_items):
        if slot and not adjacent and rng.random() < 0.6:
            item_index += [-1] * rng.randint(1, 2)
        length = rng.choice([1, 1, 2, 3, 4])
        spans.append((len(item_index), len(item_index) + length))
        item_index += [slot] * length
    item_index += [-1] * rng.randint(0, 2)
    return Layout(item_index, spans)


def batch_from_layouts(layouts: list[Layout], padding_side: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random token ids for each layout, padded to a batch (pad id 0, item_index -1 on padding)."""
    generator = torch.Generator().manual_seed(seed)
    width = max(len(layout) for layout in layouts)
    input_ids = torch.zeros(len(layouts), width, dtype=torch.long)
    attention_mask = torch.zeros(len(layouts), width, dtype=torch.long)
    item_index = torch.full((len(layouts), width), -1, dtype=torch.long)
    for row, layout in enumerate(layouts):
        n = len(layout)
        cols = slice(width - n, width) if padding_side == "left" else slice(0, n)
        input_ids[row, cols] = torch.randint(1, VOCAB_SIZE, (n,), generator=generator)
        attention_mask[row, cols] = 1
        item_index[row, cols] = torch.tensor(layout.item_index)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "item_index": item_index}


def paper_allows(mode: str, layout: Layout, j: int, k: int) -> bool:
    """Whether query token j may attend to key token k (k <= j), written straight from HatLLM eqs. 2-5.

    F(i): token i is an item token. B(j, k): j and k belong to the same item. L(i): i is the last token of its item.
    The equations add -inf to the causal mask (eq. 2) exactly in the listed cases.
    """
    if k > j:
        return False  # eq. 2
    span_of = {t: slot for slot, (start, end) in enumerate(layout.spans) for t in range(start, end)}
    F = lambda t: t in span_of  # noqa: E731
    B = lambda a, b: F(a) and F(b) and span_of[a] == span_of[b]  # noqa: E731
    L = lambda t: F(t) and t == layout.spans[span_of[t]][1] - 1  # noqa: E731
    if mode == "intra":  # eq. 3
        return not (F(j) and F(k) and not B(j, k))
    if mode == "inter":  # eq. 4
        return not (j != k and F(j) and F(k) and B(j, k))
    if mode == "inter_last":  # eq. 5
        return not (j != k and F(j) and F(k) and (not L(j) or not L(k)))
    return True  # "full": the original causal attention
