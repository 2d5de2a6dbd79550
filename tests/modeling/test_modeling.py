"""Behaviour of IAMRecForSequentialRecommendation: perturbation, backends, padding, cache, training, bad input."""

import copy
import random

import pytest
import torch

from iamrec import IAMRecConfig, IAMRecForSequentialRecommendation, hatllm_schedule, iam_schedule, make_schedule
from iamrec.configuration_iamrec import DEFAULT_SCHEDULE, ITEM_MASK_MODES, SCHEDULES, TABLE5_ABLATIONS, block_sizes
from iamrec.modeling_iamrec import IAMRecInputs
from model_fixtures import NUM_ITEMS, Layout, batch_from_layouts, random_layout, tiny_config, tiny_model

HATLLM = ["intra", "full", "inter", "inter_last"]
# Prompt, then four adjacent items (no separator between them), then a closing prompt.
ADJACENT = Layout(item_index=[-1, -1, 0, 0, 1, 1, 1, 2, 3, 3, -1], spans=[(2, 4), (4, 7), (7, 8), (8, 10)])


def hidden_after_changing(model, layout: Layout, positions: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Final hidden states before and after replacing the tokens at `positions` with other ids."""
    batch = batch_from_layouts([layout], "right")
    changed = {key: value.clone() for key, value in batch.items()}
    changed["input_ids"][0, positions] = (changed["input_ids"][0, positions] + 7) % 90 + 1
    with torch.no_grad():
        before = model(**batch).last_hidden_state[0]
        after = model(**changed).last_hidden_state[0]
    return before, after


def moved(before: torch.Tensor, after: torch.Tensor) -> list[bool]:
    return [not torch.allclose(b, a, atol=1e-6) for b, a in zip(before, after)]


def test_intra_layers_keep_items_independent():
    before, after = hidden_after_changing(tiny_model(["intra"] * 3), ADJACENT, positions=[4, 5, 6])  # item 1
    # Only item 1's own tokens and the closing prompt token (which sees everything) change.
    assert moved(before, after) == [False, False, False, False, True, True, True, False, False, False, True]
    before, after = hidden_after_changing(tiny_model(["full"] * 3), ADJACENT, positions=[4, 5, 6])
    assert all(moved(before, after)[4:])  # the check can fail: plain attention leaks item 1 into items 2 and 3


def test_inter_layers_ignore_earlier_tokens_of_the_same_item():
    before, after = hidden_after_changing(tiny_model(["inter"] * 3), ADJACENT, positions=[4])  # item 1, first token
    assert moved(before, after) == [False, False, False, False, True, False, False, True, True, True, True]
    before, after = hidden_after_changing(tiny_model(["full"] * 3), ADJACENT, positions=[4])
    assert moved(before, after)[5:7] == [True, True]


def test_inter_last_layers_see_other_items_only_through_last_tokens():
    model = tiny_model(["inter_last"] * 3)
    before, after = hidden_after_changing(model, ADJACENT, positions=[4, 5])  # item 1, all but its last token
    assert moved(before, after) == [False, False, False, False, True, True, False, False, False, False, True]
    before, after = hidden_after_changing(model, ADJACENT, positions=[6])  # item 1's last token reaches later items
    assert moved(before, after) == [False, False, False, False, False, False, True, True, False, True, True]


def random_batch(padding_side: str, seed: int = 0) -> tuple[list[Layout], dict[str, torch.Tensor]]:
    rng = random.Random(seed)
    layouts = [random_layout(rng, n) for n in (1, 4, 6)]
    return layouts, batch_from_layouts(layouts, padding_side, seed=seed)


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_eager_and_sdpa_agree(padding_side):
    """An agreement test: both backends get their masks from the same rule functions (the rules themselves are
    checked against the paper's equations in test_modeling_masks.py)."""
    _, batch = random_batch(padding_side)
    with torch.no_grad():
        eager = tiny_model(HATLLM, attn_implementation="eager")(**batch)
        sdpa = tiny_model(HATLLM, attn_implementation="sdpa")(**batch)
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(sdpa.logits, eager.logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sdpa.last_hidden_state[real], eager.last_hidden_state[real], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_flex_block_masks_allow_exactly_what_the_sdpa_masks_allow(padding_side):
    """flex_attention gets a BlockMask whose mask_mod must allow the same pairs as sdpa's dense mask.

    The masks are compared rather than the outputs: torch 2.13's compiled CPU flex kernel disagrees with eager even for
    a plain LlamaModel with padding (see the README's Compatibility section).
    """
    _, batch = random_batch(padding_side)
    masks = {}
    for implementation in ("sdpa", "flex_attention"):
        model = tiny_model(HATLLM, attn_implementation=implementation)
        embeds = model.embed_tokens(batch["input_ids"])
        positions = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
        item_index = batch["item_index"].masked_fill(batch["attention_mask"] == 0, -1)
        masks[implementation] = model.item_aware_masks(embeds, batch["attention_mask"], item_index, None, positions)
    batch_size, length = batch["input_ids"].shape
    b, q, kv = torch.arange(batch_size)[:, None, None], torch.arange(length)[None, :, None], torch.arange(length)
    for mode in dict.fromkeys(HATLLM):
        dense = masks["sdpa"][mode][:, 0].bool()
        from_flex = masks["flex_attention"][mode].mask_mod(b, torch.zeros_like(b), q, kv)
        assert torch.equal(from_flex.expand_as(dense), dense), mode


@pytest.mark.parametrize("padding_side", ["left", "right"])
@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_padded_batch_equals_each_sequence_alone(padding_side, attn_implementation):
    layouts, batch = random_batch(padding_side, seed=3)
    model = tiny_model(HATLLM, attn_implementation=attn_implementation)
    with torch.no_grad():
        batched = model(**batch).logits
        for row, layout in enumerate(layouts):
            keep = batch["attention_mask"][row].bool()
            alone = {key: value[row : row + 1, keep] for key, value in batch.items()}
            torch.testing.assert_close(model(**alone).logits[0], batched[row], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_kv_cache_decoding_equals_full_forward(padding_side):
    layouts, batch = random_batch(padding_side, seed=5)
    model = tiny_model(HATLLM, attn_implementation="sdpa")
    with torch.no_grad():
        full = model(**batch)
        split = batch["input_ids"].shape[1] - 3
        first = model(
            input_ids=batch["input_ids"][:, :split],
            attention_mask=batch["attention_mask"][:, :split],
            item_index=batch["item_index"][:, :split],
            use_cache=True,
        )
        cache = first.past_key_values
        for step in range(split, batch["input_ids"].shape[1]):  # one token at a time, like decoding
            out = model(
                input_ids=batch["input_ids"][:, step : step + 1],
                attention_mask=batch["attention_mask"][:, : step + 1],
                item_index=batch["item_index"][:, : step + 1],
                past_key_values=cache,
                use_cache=True,
            )
    if padding_side == "left":  # every row ends on a real token, so the last step scores every row
        torch.testing.assert_close(out.logits, full.logits, atol=1e-5, rtol=1e-5)
    real = batch["attention_mask"][:, -1].bool()
    torch.testing.assert_close(out.last_hidden_state[real, -1], full.last_hidden_state[real, -1], atol=1e-5, rtol=1e-5)


def test_the_cache_is_taken_and_returned_under_both_names():
    """transformers 5.24 renamed `past_key_values` to `cache`: callers written for either keep working."""
    _, batch = random_batch("left", seed=5)
    model = tiny_model(HATLLM, attn_implementation="sdpa")
    head = {key: value[:, :-1] for key, value in batch.items()}
    last = dict(
        input_ids=batch["input_ids"][:, -1:], attention_mask=batch["attention_mask"], item_index=batch["item_index"]
    )
    with torch.no_grad():
        full = model(**batch).logits
        for name in ("cache", "past_key_values"):
            first = model(**head, use_cache=True)
            assert first.past_key_values is first.cache is not None
            torch.testing.assert_close(model(**last, **{name: getattr(first, name)}).logits, full, atol=1e-5, rtol=1e-5)
        first = model(**head, use_cache=True)
        with pytest.raises(ValueError, match="as `cache` or as `past_key_values`, not both"):
            model(**last, cache=first.cache, past_key_values=first.cache)


def test_hidden_states_and_attentions_are_returned_when_asked():
    _, batch = random_batch("right", seed=3)
    model = tiny_model(HATLLM)
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True, output_attentions=True)
        plain = model(**batch)
    assert plain.hidden_states is None and plain.attentions is None
    # As in transformers: the embeddings, each layer's output, the last one normalised.
    assert len(out.hidden_states) == len(HATLLM) + 1
    torch.testing.assert_close(out.hidden_states[0], model.embed_tokens(batch["input_ids"]))
    assert out.hidden_states[-1] is out.last_hidden_state
    assert not torch.allclose(out.hidden_states[1], out.hidden_states[2])
    assert len(out.attentions) == len(HATLLM)
    length = batch["input_ids"].shape[1]
    assert all(weights.shape == (3, 4, length, length) for weights in out.attentions)
    loss, logits = model(**batch, labels=torch.tensor([0, 1, 2]), return_dict=False)[:2]
    torch.testing.assert_close(logits, plain.logits)
    with pytest.raises(ValueError, match="attn_implementation='eager'"):
        tiny_model(HATLLM, attn_implementation="sdpa")(**batch, output_attentions=True)


def test_gradient_checkpointing_gives_the_same_gradients():
    _, batch = random_batch("left", seed=7)
    labels = torch.tensor([1, 2, 3])
    grads = []
    for checkpointing in (False, True):
        model = tiny_model(HATLLM, attn_implementation="sdpa").train()
        if checkpointing:
            model.gradient_checkpointing_enable()
        model(**batch, labels=labels).loss.backward()
        grads.append(model.layers[0].self_attn.q_proj.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


def test_loss_is_cross_entropy_over_the_catalog():
    _, batch = random_batch("right", seed=9)
    labels = torch.tensor([0, 5, NUM_ITEMS - 1])
    out = tiny_model(HATLLM)(**batch, labels=labels)
    assert out.logits.shape == (3, NUM_ITEMS)
    per_row = -torch.log_softmax(out.logits, -1)[torch.arange(3), labels]
    torch.testing.assert_close(out.loss, per_row.mean())
    # Under gradient accumulation the Trainer passes the number of targets in all micro-batches.
    accumulated = tiny_model(HATLLM)(**batch, labels=labels, num_items_in_batch=torch.tensor(12))
    torch.testing.assert_close(accumulated.loss, per_row.sum() / 12)


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_the_head_reads_only_the_last_real_token(padding_side):
    _, batch = random_batch(padding_side, seed=9)
    model = tiny_model(HATLLM)
    mask = batch["attention_mask"]
    rows = torch.arange(mask.shape[0])
    last = torch.full_like(rows, mask.shape[1] - 1) if padding_side == "left" else mask.sum(-1) - 1
    with torch.no_grad():
        out = model(**batch)
        torch.testing.assert_close(out.logits, model.rec_head(out.last_hidden_state[rows, last]), atol=0, rtol=0)

        def perturb(keep_last: bool):  # adds noise to the final hidden states everywhere but (or only at) `last`
            def hook(module, args, output):
                noise = torch.randn_like(output)
                at_last = torch.zeros_like(mask, dtype=torch.bool)
                at_last[rows, last] = True
                return output + noise * (~at_last if keep_last else at_last)[..., None]

            return model.norm.register_forward_hook(hook)

        for keep_last, should_change in ((True, False), (False, True)):
            handle = perturb(keep_last)
            changed = not torch.equal(model(**batch).logits, out.logits)
            handle.remove()
            assert changed == should_change


def test_a_few_training_steps_lower_the_loss():
    _, batch = random_batch("left", seed=11)
    labels = torch.tensor([1, 2, 3])
    model = tiny_model(HATLLM, attn_implementation="sdpa").train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(20):
        loss = model(**batch, labels=labels).loss
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert losses[-1] < 0.5 * losses[0]


def test_recommend_returns_the_top_k_and_honours_exclusions():
    _, batch = random_batch("left", seed=13)
    model = tiny_model(HATLLM)
    logits = model(**batch).logits
    top = model.recommend(**batch, k=4)
    torch.testing.assert_close(top.scores, logits.topk(4).values)
    assert torch.equal(top.item_ids, logits.topk(4).indices)
    excluded = model.recommend(**batch, k=4, exclude=[top.item_ids[0, :2].tolist(), [], [0]])
    assert not set(excluded.item_ids[0].tolist()) & set(top.item_ids[0, :2].tolist())
    assert 0 not in excluded.item_ids[2].tolist()
    assert torch.equal(excluded.item_ids[1], top.item_ids[1])


def test_schedules():
    assert hatllm_schedule(8, num_intra=3, num_inter_last=2) == ["intra"] * 3 + ["full"] * 3 + ["inter_last"] * 2
    assert iam_schedule(4) == ["intra", "intra", "inter", "inter"]
    assert make_schedule("full", 2) == ["full", "full"]
    with pytest.raises(ValueError, match="Cannot give 5 leading and 4 trailing"):
        hatllm_schedule(8, num_intra=5, num_inter_last=4)
    with pytest.raises(ValueError, match="Unknown schedule"):
        make_schedule("hat", 4)
    with pytest.raises(ValueError, match=r"The 'full' schedule takes no \['num_intra'\]"):
        make_schedule("full", 4, num_intra=2)
    with pytest.raises(ValueError, match=r"The 'wo_cr' schedule takes no \['num_inter_last'\]"):
        make_schedule("wo_cr", 6, num_inter_last=2)


def test_hatllms_default_blocks_are_the_papers_scaled_to_the_depth():
    """4 shallow and 1 deep layer of HatLLM's 28, rounded half up and at least one each: the default of every
    three-block schedule, so the library and the study build the same modes for a depth."""
    assert [block_sizes(depth) for depth in (2, 3, 6, 24, 25, 28, 31, 32, 42)] == [
        (1, 0, 1),
        (1, 1, 1),
        (1, 4, 1),
        (3, 20, 1),
        (4, 20, 1),
        (4, 23, 1),
        (4, 26, 1),
        (5, 26, 1),
        (6, 34, 2),
    ]
    assert hatllm_schedule(30) == ["intra"] * 4 + ["full"] * 25 + ["inter_last"]
    assert make_schedule(None, 30) == make_schedule(DEFAULT_SCHEDULE, 30) == hatllm_schedule(30)
    assert make_schedule("wo_in", 6) == ["full"] * 5 + ["inter_last"]
    with pytest.raises(ValueError, match="needs at least 2 layers, got num_hidden_layers=1: name `full` or `iam`"):
        IAMRecConfig(num_hidden_layers=1, num_items=5)
    assert hatllm_schedule(1, num_intra=1, num_inter_last=0) == ["intra"]


def test_the_registry_names_each_schedule_once_with_its_label_and_parameters():
    assert list(SCHEDULES)[:3] == ["full", "hatllm", "iam"] and DEFAULT_SCHEDULE in SCHEDULES
    assert [schedule.name for schedule in TABLE5_ABLATIONS] == list(SCHEDULES)[3:]
    assert {name: schedule.parameters for name, schedule in SCHEDULES.items() if schedule.parameters} == {
        "hatllm": ("num_intra", "num_inter_last"),
        "iam": ("num_intra",),
    }
    assert SCHEDULES["in_cr_or"].label == "IN-CR-OR" and SCHEDULES["hatllm"].label == "HatLLM (IN-OR-CR)"
    for name in SCHEDULES:  # every schedule builds for any depth from 2 layers on, from its own defaults
        for depth in (2, 3, 30):
            modes = make_schedule(name, depth)
            assert len(modes) == depth and set(modes) <= set(ITEM_MASK_MODES)


def test_the_config_derives_the_modes_from_a_named_schedule_once(tmp_path):
    """Like Qwen3Config's `layer_types`: the schedule is resolved in the config, and explicit modes win."""
    config = IAMRecConfig(num_hidden_layers=30, schedule="hatllm", num_items=5)
    assert config.item_mask_modes == ["intra"] * 4 + ["full"] * 25 + ["inter_last"]  # HatLLM's 4 and 1 at 30 layers
    shaped = IAMRecConfig(num_hidden_layers=8, schedule="iam", num_intra=3, num_items=5)
    assert shaped.item_mask_modes == ["intra"] * 3 + ["inter"] * 5
    shaped.save_pretrained(tmp_path)
    assert IAMRecConfig.from_pretrained(tmp_path).item_mask_modes == shaped.item_mask_modes
    # No schedule: the default one, whose blocks scale to the depth; the name stays unset in config.json.
    default = IAMRecConfig(num_hidden_layers=2, num_items=5)
    assert default.item_mask_modes == make_schedule(DEFAULT_SCHEDULE, 2) == ["intra", "inter_last"]
    assert default.schedule is None
    ablation = IAMRecConfig(num_hidden_layers=6, schedule="cr_pre", num_items=5)
    assert ablation.item_mask_modes == ["intra"] + ["full"] * 4 + ["inter"]
    with pytest.raises(ValueError, match="explicit item_mask_modes take none"):
        IAMRecConfig(num_hidden_layers=2, item_mask_modes=["intra", "full"], num_intra=1, num_items=5)
    with pytest.raises(ValueError, match="Unknown schedule 'bogus'"):
        IAMRecConfig(num_hidden_layers=2, schedule="bogus", num_items=5)


def test_bad_input_is_a_clear_value_error():
    _, batch = random_batch("left")
    model = tiny_model(HATLLM)
    with pytest.raises(ValueError, match="item_index has shape"):
        model(**{**batch, "item_index": batch["item_index"][:, 1:]})
    with pytest.raises(ValueError, match="outside the catalog"):
        model(**batch, labels=torch.tensor([0, NUM_ITEMS, 1]))
    with pytest.raises(ValueError, match="labels must be integer item ids"):  # used to fail deep in cross_entropy
        model(**batch, labels=torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="The batch is empty"):  # used to fail in a reshape
        model(**{key: value[:0] for key, value in batch.items()})
    with pytest.raises(ValueError, match="item_mask_modes has 3 entries but the model has num_hidden_layers=4"):
        tiny_config(["intra", "full", "inter"], num_hidden_layers=4)
    with pytest.raises(ValueError, match=r"Unknown item_mask_modes \['cross'\]"):
        tiny_config(["intra", "cross"])
    with pytest.raises(ValueError, match="num_items must be set"):
        IAMRecForSequentialRecommendation(IAMRecConfig(num_hidden_layers=2, hidden_size=32, num_attention_heads=4))


def test_item_index_covers_cached_tokens():
    _, batch = random_batch("left")
    model = tiny_model(HATLLM)
    first = model(**{key: value[:, :-1] for key, value in batch.items()}, use_cache=True)
    with pytest.raises(ValueError, match="after .* cached tokens"):
        model(
            input_ids=batch["input_ids"][:, -1:],
            attention_mask=batch["attention_mask"],
            item_index=batch["item_index"][:, -1:],
            past_key_values=first.past_key_values,
        )


def test_batch_norm_head_uses_running_statistics_at_inference():
    layouts, batch = random_batch("left", seed=17)
    model = tiny_model(HATLLM, rec_head_norm="batch").train()
    for _ in range(3):  # training updates the running statistics
        model(**batch, labels=torch.tensor([0, 1, 2])).loss.backward()
    assert model.rec_head.norm.num_batches_tracked == 3
    single = {key: value[:1] for key, value in batch.items()}
    model(**single, labels=torch.tensor([0])).loss.backward()  # a batch of one trains on the running statistics
    assert model.rec_head.norm.num_batches_tracked == 3
    model.eval()
    with torch.no_grad():
        together = model(**batch).logits
        keep = batch["attention_mask"][0].bool()
        alone = model(**{key: value[:1, keep] for key, value in batch.items()}).logits
    torch.testing.assert_close(alone[0], together[0], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="rec_head_norm must be"):
        tiny_config(HATLLM, rec_head_norm="layer")


def test_recommend_never_returns_an_excluded_item():
    """`recommend(k, exclude)` with k larger than the items left used to return excluded items scored -inf."""
    _, batch = random_batch("left", seed=13)
    model = tiny_model(HATLLM)
    almost_all = list(range(NUM_ITEMS - 2))
    top = model.recommend(**batch, k=2, exclude=[almost_all, [], [0]])
    assert set(top.item_ids[0].tolist()) == {NUM_ITEMS - 2, NUM_ITEMS - 1} and torch.isfinite(top.scores).all()
    with pytest.raises(ValueError, match="k=3, but sequence 0 leaves only 2 items after its exclusions"):
        model.recommend(**batch, k=3, exclude=[almost_all, [], [0]])


def test_a_sequence_without_real_tokens_is_an_error_and_ignored_labels_give_zero_loss():
    _, batch = random_batch("left", seed=13)
    model = tiny_model(HATLLM)
    empty = {**batch, "attention_mask": batch["attention_mask"].clone()}
    empty["attention_mask"][1] = 0
    with pytest.raises(ValueError, match=r"no real token in sequence\(s\) \[1\]"):
        model(**empty)
    loss = model(**batch, labels=torch.full((3,), -100)).loss
    assert loss.item() == 0.0  # not NaN: a batch whose rows are all ignored contributes nothing
    partly = model(**batch, labels=torch.tensor([-100, 4, 7]))
    per_row = -torch.log_softmax(partly.logits, -1)[torch.arange(3), torch.tensor([0, 4, 7])]
    torch.testing.assert_close(partly.loss, per_row[1:].mean())


def test_the_last_layers_mode_cannot_change_the_scores():
    """The head reads the final token, a prompt token whose attention no mode restricts, and no later layer reads
    what the last layer computed for item tokens: so HatLLM's single trailing `inter_last` layer scores exactly like
    `full`, and an ablation of CR needs at least two trailing layers to measure anything."""
    rng = random.Random(5)  # every prompt ends in prompt tokens (the template's "Output:"), as the collator's do
    layouts = [random_layout(rng, n) for n in (1, 4, 6)]
    layouts = [Layout(layout.item_index + [-1], layout.spans) for layout in layouts]
    batch = batch_from_layouts(layouts, "left", seed=5)
    with torch.no_grad():
        scores = {
            modes: tiny_model(list(modes), seed=3)(**batch).logits
            for modes in (("intra", "full", "inter_last"), ("intra", "full", "full"), ("intra", "inter_last", "full"))
        }
    torch.testing.assert_close(scores[("intra", "full", "inter_last")], scores[("intra", "full", "full")])
    assert not torch.allclose(scores[("intra", "inter_last", "full")], scores[("intra", "full", "full")], atol=1e-4)


@pytest.mark.parametrize("fixture", ["linear-head-0.1.0", "text-head-item-vectors"])
def test_a_checkpoint_saved_by_an_earlier_model_file_loads_every_weight_and_scores_the_same(fixture):
    """Each fixture was saved by an earlier model file (its `expected.json` says which): `linear-head-0.1.0` by iamrec
    0.1.0, whose linear head was named `IAMRecHead`; `text-head-item-vectors` (the text head with batch norm and a
    projection, item vectors with a projection, two items added after training) by the file before its top-down
    layout. Renaming a parameter or buffer would leave it missing here."""
    import json
    from pathlib import Path

    folder = Path(__file__).parent / "fixtures" / fixture
    expected = json.loads((folder / "expected.json").read_text())
    model, loading = IAMRecForSequentialRecommendation.from_pretrained(folder, output_loading_info=True)
    assert loading == {"missing_keys": set(), "unexpected_keys": set(), "mismatched_keys": set(), "error_msgs": []}
    assert sorted(model.state_dict()) == expected.get("state_dict_keys", sorted(model.state_dict()))
    with torch.no_grad():
        logits = model.eval()(**{name: torch.tensor(value) for name, value in expected["inputs"].items()}).logits
    torch.testing.assert_close(logits[0], torch.tensor(expected["logits"]))


def test_flash_attention_is_refused_because_it_would_drop_the_item_masks():
    """Flash attention takes a padding mask only: it would attend causally in every layer, whatever the schedule."""
    model = tiny_model(["intra", "inter_last"])
    with pytest.raises(ValueError, match="does not support Flash Attention"):
        model.set_attn_implementation("flash_attention_2")
    assert model.config._attn_implementation == "eager"


def test_every_mode_is_one_entry_of_the_mask_mapping():
    from iamrec.configuration_iamrec import ITEM_MASK_MODES
    from iamrec.modeling_iamrec import ITEM_MASK_FUNCTIONS, item_mask_function

    assert set(ITEM_MASK_FUNCTIONS) == set(ITEM_MASK_MODES)
    assert item_mask_function("full", torch.zeros(1, 3, dtype=torch.long)) is None
    with pytest.raises(ValueError, match="No item attention rule"):
        item_mask_function("sideways", torch.zeros(1, 3, dtype=torch.long))


def test_value_checks_run_on_cpu_inputs_and_on_other_devices_only_when_asked(monkeypatch):
    """Checks that read values (here: a sequence without a real token) would synchronise a GPU on every forward: off
    the CPU they run only with `check_input_values`. A device other than the CPU is simulated by the check's test."""
    model = tiny_model(["intra", "full"])
    batch = {"input_ids": torch.ones(2, 3, dtype=torch.long), "attention_mask": torch.tensor([[1, 1, 1], [0, 0, 0]])}
    with pytest.raises(ValueError, match="no real token"):
        model(**batch)

    class OnAnotherDevice(torch.Tensor):
        @property
        def device(self):
            return torch.device("meta")

    off_cpu = {**batch, "input_ids": batch["input_ids"].as_subclass(OnAnotherDevice)}
    IAMRecInputs(**off_cpu).check(model.config)
    with pytest.raises(ValueError, match="no real token"):
        IAMRecInputs(**off_cpu).check(model.config, check_values=True)
    monkeypatch.setattr(model, "check_input_values", True)
    with pytest.raises(ValueError, match="no real token"):
        model(**off_cpu)  # the model passes its setting on, and checks before anything runs


def test_recommend_ranks_in_eval_mode_and_leaves_a_training_model_as_it_was():
    """`recommend` right after training used to rank a batch-norm head with batch statistics and update them. With
    dropout on, a training-mode forward scores otherwise: equal rankings mean dropout was off too."""
    model = tiny_model(["intra", "full", "inter_last"], rec_head_norm="batch", attention_dropout=0.5)
    batch = batch_from_layouts([random_layout(random.Random(seed), 3) for seed in range(4)], "left")
    with torch.no_grad():
        model.train()
        model(**batch)  # running statistics away from their initial values
        training_scores = copy.deepcopy(model)(**batch).logits.topk(5).values  # a copy: the model's stay
        model.eval()
        expected = model.recommend(**batch, k=5)
    assert not model.training and not any(module.training for module in model.modules())
    assert not torch.allclose(training_scores, expected.scores)  # the training mode would rank otherwise

    buffers = {name: buffer.clone() for name, buffer in model.named_buffers()}
    assert any("running_mean" in name for name in buffers)
    for frozen in (None, model.rec_head):  # a training model, then one whose head the caller froze in eval mode
        model.train()
        if frozen is not None:
            frozen.eval()
        modes = {name: module.training for name, module in model.named_modules()}
        top = model.recommend(**batch, k=5)
        assert {name: module.training for name, module in model.named_modules()} == modes
        assert all(torch.equal(buffer, buffers[name]) for name, buffer in model.named_buffers())
        assert torch.equal(top.item_ids, expected.item_ids)
        torch.testing.assert_close(top.scores, expected.scores, atol=0, rtol=0)
