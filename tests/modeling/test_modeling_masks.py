"""Attention masks against HatLLM's equations, checked on the attention weights the model actually uses."""

import random

import pytest
import torch

from model_fixtures import MASK_MODES as MODES
from model_fixtures import Layout, batch_from_layouts, paper_allows, random_layout, tiny_model


@pytest.mark.parametrize("padding_side", ["left", "right"])
@pytest.mark.parametrize("adjacent", [False, True])
def test_attention_weights_follow_the_equations(padding_side, adjacent):
    rng = random.Random(f"{padding_side}-{adjacent}")  # a fixed seed per case (str seeds are not salted, hash() is)
    model = tiny_model(MODES, attn_implementation="eager")
    for trial in range(3):
        layouts = [random_layout(rng, rng.randint(1, 5), adjacent=adjacent) for _ in range(3)]
        batch = batch_from_layouts(layouts, padding_side, seed=trial)
        with torch.no_grad():
            attentions = model(**batch, output_attentions=True).attentions
        assert len(attentions) == len(MODES)
        width = batch["input_ids"].shape[1]
        for row, layout in enumerate(layouts):
            offset = width - len(layout) if padding_side == "left" else 0
            for layer, mode in enumerate(MODES):
                weights = attentions[layer][row]  # heads x width x width
                real = weights[:, offset : offset + len(layout), :]
                torch.testing.assert_close(real.sum(-1), torch.ones_like(real.sum(-1)))
                for j in range(len(layout)):
                    for key_col in range(width):
                        k = key_col - offset
                        on_real_key = 0 <= k < len(layout)
                        column = weights[:, offset + j, key_col]
                        if on_real_key and paper_allows(mode, layout, j, k):
                            assert (column > 0).all(), (mode, layout, j, k)
                        else:
                            assert (column == 0).all(), (mode, layout, j, k)


def test_one_token_items_and_prompt_tokens_attend_causally():
    """A hand-checked layout: P i0 P i1 i1 i2 P (i1/i2 adjacent, i0 a one-token item)."""
    layout = Layout(item_index=[-1, 0, -1, 1, 1, 2, -1], spans=[(1, 2), (3, 5), (5, 6)])
    model = tiny_model(MODES)
    batch = batch_from_layouts([layout], "right")
    with torch.no_grad():
        attentions = model(**batch, output_attentions=True).attentions
    allowed = {mode: (attentions[i][0, 0] > 0) for i, mode in enumerate(MODES)}
    # The final prompt token sees everything before it in every mode.
    for mode in MODES:
        assert allowed[mode][6].all()
    # Token 4 (second token of item 1): intra sees P, P, token 3, itself; not item 0 (token 1).
    assert allowed["intra"][4].tolist() == [True, False, True, True, True, False, False]
    # inter: token 4 sees item 0 and the prompt but not token 3 of its own item.
    assert allowed["inter"][4].tolist() == [True, True, True, False, True, False, False]
    # inter_last: token 4 is item 1's last token, so it sees token 1 (item 0's last and only token), not token 3.
    assert allowed["inter_last"][4].tolist() == [True, True, True, False, True, False, False]
    # inter_last: token 3 is not a last token: among item tokens it sees only itself.
    assert allowed["inter_last"][3].tolist() == [True, False, True, True, False, False, False]
    # token 5 (item 2, one token, adjacent to item 1): intra sees only the prompt and itself.
    assert allowed["intra"][5].tolist() == [True, False, True, False, False, True, False]
    assert allowed["inter_last"][5].tolist() == [True, True, True, False, True, True, False]
