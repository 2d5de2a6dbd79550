"""Item-id vectors beside the titles (`item_id_embeddings`): what they add, where, and what they leave unchanged."""

import random

import pytest
import torch

from iamrec import IAMRecConfig
from iamrec.configuration_iamrec import ITEM_ID_EMBEDDINGS
from iamrec.modeling_iamrec import IAMRecForSequentialRecommendation
from iamrec.tokenization import IAMRecProcessor
from iamrec.tokenization.collator import ITEM_ID_POSITIONS
from model_fixtures import MASK_MODES as MODES
from model_fixtures import NUM_ITEMS, batch_from_layouts, paper_allows, random_layout, tiny_config, tiny_model
from tokenizer_fixtures import TITLES, tiny_tokenizer

ID_MODES = ["add", "add_last", "token"]
SCHEDULE = ["intra", "full", "inter_last"]
PROMPTS = [
    {"history": [0, 11, 2, 5], "target": 3},
    {"history": [4], "target": 7},
    {"history": [12, 12, 1], "target": 9},
]
SEQUENCES = [
    {"history": [0, 11, 2, 5, 16], "next_items": [11, -100, 5, 16, 3]},
    {"history": [3, 4], "next_items": [4, 7]},
]


def titles_setup(mode: str, padding_side: str = "left", attn_implementation: str = "sdpa", **config):
    """A processor over the test titles and a tiny model with item vectors, its table drawn at a visible scale."""
    tokenizer = tiny_tokenizer(add_bos=True)
    processor = IAMRecProcessor(tokenizer, TITLES, padding_side=padding_side, item_id_embeddings=mode)
    model = tiny_model(
        SCHEDULE,
        attn_implementation,
        vocab_size=len(tokenizer),
        num_items=len(TITLES),
        item_id_embeddings=mode,
        **config,
    )
    if model.item_embeddings.table is not None:
        with torch.no_grad():
            model.item_embeddings.table.weight.normal_(generator=torch.Generator().manual_seed(1))
    return processor, model


def logits(model, batch) -> torch.Tensor:
    with torch.no_grad():
        return model(**batch).logits


def test_the_collator_modes_are_the_configuration_modes():
    assert ITEM_ID_POSITIONS == ITEM_ID_EMBEDDINGS


@pytest.mark.parametrize("mode", ID_MODES)
def test_the_collator_marks_each_item_with_its_catalog_id_inside_its_span(mode):
    processor, _ = titles_setup(mode)
    title_only = IAMRecProcessor(processor.tokenizer, TITLES)
    batch, plain = processor(PROMPTS[0]["history"]), title_only(PROMPTS[0]["history"])
    item_index, item_ids = batch["item_index"][0], batch["item_ids"][0]
    assert (item_ids[item_index < 0] == -1).all()  # prompt tokens and padding carry no item vector
    for slot, item in enumerate(PROMPTS[0]["history"]):
        span = (item_index == slot).nonzero().flatten()
        title_length = int((plain["item_index"][0] == slot).sum())
        marked = span[item_ids[span] >= 0]
        assert (item_ids[marked] == item).all()
        if mode == "token":  # one extra position, the last of the item's span, holding the vector
            assert len(span) == title_length + 1 and marked.tolist() == [int(span[-1])]
        else:
            assert len(span) == title_length and torch.equal(marked, span)


@pytest.mark.parametrize("mode", ["add", "add_last"])
def test_a_zeroed_id_table_scores_exactly_like_the_title_only_model(mode):
    processor, model = titles_setup(mode)
    title_only = tiny_model(SCHEDULE, "sdpa", vocab_size=model.config.vocab_size, num_items=len(TITLES))
    missing, unexpected = title_only.load_state_dict(model.state_dict(), strict=False)
    assert not missing and all(name.startswith("item_embeddings.") for name in unexpected)
    batch = processor.collator()(PROMPTS)
    without_ids = {key: value for key, value in batch.items() if key != "item_ids"}
    assert not torch.equal(logits(model, batch), logits(title_only, without_ids))  # the vectors change the scores
    with torch.no_grad():
        model.item_embeddings.table.weight.zero_()
    assert torch.equal(logits(model, batch), logits(title_only, without_ids))


@pytest.mark.parametrize("mode", ID_MODES)
def test_a_model_with_ids_still_ranks_from_titles_alone_when_asked(mode):
    processor, model = titles_setup(mode)
    title_batch = processor.collator(item_id_embeddings="none")(PROMPTS)
    assert "item_ids" not in title_batch
    with torch.no_grad():
        model.item_embeddings.table.weight.zero_()
    reference = tiny_model(SCHEDULE, "sdpa", vocab_size=model.config.vocab_size, num_items=len(TITLES))
    reference.load_state_dict(model.state_dict(), strict=False)
    assert torch.equal(logits(model, title_batch), logits(reference, title_batch))


def test_add_last_adds_the_vector_to_the_last_title_token_only():
    processor, model = titles_setup("add_last")
    batch = processor.collator()(PROMPTS[:1])
    seen = {}
    model.layers[0].register_forward_pre_hook(lambda module, args: seen.setdefault("input", args[0]))
    logits(model, batch)
    plain = model.embed_tokens(batch["input_ids"])
    changed = (seen["input"] - plain).abs().sum(-1)[0] > 0
    item_index = batch["item_index"][0]
    last = (item_index >= 0) & (torch.nn.functional.pad(item_index[1:], (0, 1), value=-1) != item_index)
    assert torch.equal(changed, last)


@pytest.mark.parametrize("mode", ID_MODES)
@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_readouts_score_like_prompts_and_padding_changes_nothing(mode, attn_implementation):
    scores = {}
    for padding_side in ("left", "right"):
        processor, model = titles_setup(mode, padding_side, attn_implementation)
        collator = processor.collator()
        every_item = logits(model, processor.collator(supervision="every_item")(SEQUENCES))
        prompts = [
            {"history": sequence["history"][: position + 1], "target": target}
            for sequence in SEQUENCES
            for position, target in enumerate(sequence["next_items"])
            if target != -100
        ]
        torch.testing.assert_close(every_item, logits(model, collator(prompts)), atol=2e-6, rtol=1e-5)
        scores[padding_side] = every_item
    torch.testing.assert_close(scores["left"], scores["right"], atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("mode", ID_MODES)
def test_changing_a_later_items_id_leaves_earlier_predictions_unchanged(mode):
    processor, model = titles_setup(mode)
    batch = processor.collator(supervision="every_item")(SEQUENCES[:1])
    item_index = batch["item_index"][0]
    last_slot = int(item_index.max())
    changed = {**batch, "item_ids": batch["item_ids"].clone()}
    later = (item_index == last_slot) & (batch["item_ids"][0] >= 0)
    changed["item_ids"][0, later] = 7  # another catalog item's vector for the last history item only
    before, after = logits(model, batch), logits(model, changed)
    torch.testing.assert_close(before[:-1], after[:-1], atol=0, rtol=0)  # readouts of earlier items
    assert not torch.equal(before[-1], after[-1])  # the readout after the changed item reads its vector


@pytest.mark.parametrize("mode", ID_MODES)
@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_attention_still_follows_the_equations_with_item_vectors(mode, padding_side):
    rng = random.Random(f"ids-{mode}-{padding_side}")
    model = tiny_model(MODES, attn_implementation="eager", item_id_embeddings=mode)
    layouts = [random_layout(rng, rng.randint(1, 5)) for _ in range(3)]
    batch = batch_from_layouts(layouts, padding_side)
    slots = batch["item_index"]
    batch["item_ids"] = torch.where(slots >= 0, (slots * 5 + 3) % NUM_ITEMS, -1)
    with torch.no_grad():
        attentions = model(**batch, output_attentions=True).attentions
    width = batch["input_ids"].shape[1]
    for row, layout in enumerate(layouts):
        offset = width - len(layout) if padding_side == "left" else 0
        for layer, layer_mode in enumerate(MODES):
            for j in range(len(layout)):
                for k in range(len(layout)):
                    allowed = paper_allows(layer_mode, layout, j, k)
                    assert bool((attentions[layer][row, :, offset + j, offset + k] > 0).all()) == allowed


def test_items_without_a_vector_are_read_from_their_titles_alone():
    tokenizer = tiny_tokenizer(add_bos=True)
    titles = TITLES[:10]
    processor = IAMRecProcessor(tokenizer, titles, item_id_embeddings="add")
    ids = processor.title_tokens.all_token_ids()
    model = tiny_model(
        SCHEDULE,
        "sdpa",
        vocab_size=len(tokenizer),
        num_items=len(titles),
        rec_head_type="text",
        num_title_tokens=sum(map(len, ids)),
        item_id_embeddings="add",
    )
    model.set_item_titles(ids)
    with torch.no_grad():
        model.item_embeddings.table.weight.normal_()
    (new_item,) = processor.add_items(["A Film Added Later"], model=model)
    assert model.config.num_items == 11 and model.config.num_id_items == 10
    batch = processor([[new_item]])
    without_ids = {key: value for key, value in batch.items() if key != "item_ids"}
    assert torch.equal(logits(model, batch), logits(model, without_ids))
    known = processor([[3]])
    assert not torch.equal(logits(model, known), logits(model, {k: v for k, v in known.items() if k != "item_ids"}))


def test_tied_vectors_are_the_heads_item_rows():
    model = tiny_model(SCHEDULE, item_id_embeddings="add", item_id_tie_head=True)
    assert model.item_embeddings.table is None and model.item_embeddings.proj is None
    ids = torch.tensor([[2, -1, 5]])
    torch.testing.assert_close(
        model.item_embeddings(ids, model.rec_head.items.weight)[0, 0], model.rec_head.items.weight[2]
    )
    assert (model.item_embeddings(ids, model.rec_head.items.weight)[0, 1] == 0).all()


def test_a_projected_table_maps_to_the_hidden_size():
    model = tiny_model(SCHEDULE, item_id_embeddings="token", item_id_dim=8)
    assert model.item_embeddings.table.weight.shape == (NUM_ITEMS, 8)
    assert model.item_embeddings(torch.tensor([[0, 1]])).shape == (1, 2, model.config.hidden_size)


@pytest.mark.parametrize("mode", ID_MODES)
def test_save_and_load_keep_the_vectors_and_the_processor_mode(tmp_path, mode):
    processor, model = titles_setup(mode, item_id_dim=8)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded = IAMRecForSequentialRecommendation.from_pretrained(tmp_path).eval()
    loaded_processor = IAMRecProcessor.from_pretrained(tmp_path)
    assert loaded_processor.item_id_embeddings == mode
    assert "item_ids" in loaded_processor.model_input_names
    batch = loaded_processor.collator()(PROMPTS)
    torch.testing.assert_close(logits(loaded, batch), logits(model, batch), atol=0, rtol=0)


def test_title_only_models_and_processors_save_as_before(tmp_path):
    tiny_model(SCHEDULE).save_pretrained(tmp_path)
    IAMRecProcessor(tiny_tokenizer(add_bos=True), TITLES).save_pretrained(tmp_path)
    for name in ("config.json", "processor_config.json"):
        assert "item_id" not in (tmp_path / name).read_text()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"item_id_embeddings": "prefix"}, "item_id_embeddings must be one of"),
        ({"item_id_dim": 8}, "item_id_embeddings='none' has none"),
        ({"item_id_embeddings": "add", "num_id_items": NUM_ITEMS + 1}, "num_id_items must be in"),
        ({"item_id_embeddings": "add", "item_id_dim": 0}, "item_id_dim must be positive"),
        ({"item_id_embeddings": "add", "item_id_tie_head": True, "rec_head_dim": 8}, "Tied item vectors"),
    ],
)
def test_bad_item_id_settings_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(SCHEDULE, **overrides)


def test_bad_item_ids_are_refused():
    plain, with_ids = tiny_model(SCHEDULE), tiny_model(SCHEDULE, item_id_embeddings="add")
    batch = batch_from_layouts([random_layout(random.Random(0), 2)], "left")
    ids = torch.where(batch["item_index"] >= 0, 1, -1)
    with pytest.raises(ValueError, match="no item vectors"):
        plain(**batch, item_ids=ids)
    with pytest.raises(ValueError, match="must match the new tokens"):
        with_ids(**batch, item_ids=ids[:, 1:])
    with pytest.raises(ValueError, match="catalog ids"):
        with_ids(**batch, item_ids=ids.masked_fill(ids >= 0, NUM_ITEMS))


def test_from_llama_config_starts_an_iamrec_checkpoints_config_without_its_item_vectors():
    config = tiny_config(SCHEDULE, item_id_embeddings="token", item_id_dim=8)
    fresh = IAMRecConfig.from_llama_config(config, num_items=5)
    assert fresh.item_id_embeddings == "none" and fresh.item_id_dim is None and fresh.num_id_items is None
