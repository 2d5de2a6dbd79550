"""The title head (`rec_head_type="text"`): cold items, `add_items`, saving, LoRA merge, the Hub, and bad titles."""

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModel, AutoProcessor

from iamrec import IAMRecConfig, IAMRecForSequentialRecommendation
from iamrec.tokenization import IAMRecProcessor
from model_fixtures import tiny_config
from remote_code_fixtures import run_without_iamrec
from tokenizer_fixtures import TITLES, tiny_tokenizer

HATLLM = ["intra", "full", "inter_last"]
CATALOG = TITLES[:12]  # unique titles
NEW_TITLES = ["Heat (1995)", "Casino (1995)"]


def text_model_and_processor(
    seed: int = 0, corrections: bool = True
) -> tuple[IAMRecForSequentialRecommendation, IAMRecProcessor]:
    """A tiny text-head model on the tiny tokenizer, with trained-looking (random) corrections and biases."""
    tokenizer = tiny_tokenizer(add_bos=True)
    processor = IAMRecProcessor(tokenizer, CATALOG)
    titles = processor.title_tokens.all_token_ids()
    torch.manual_seed(seed)
    config = tiny_config(
        HATLLM,
        vocab_size=len(tokenizer),
        num_items=len(CATALOG),
        rec_head_type="text",
        rec_head_item_corrections=corrections,
        num_title_tokens=sum(map(len, titles)),
    )
    model = IAMRecForSequentialRecommendation(config)
    model.set_item_titles(titles)
    with torch.no_grad():
        if corrections:
            model.rec_head.item_corrections.normal_(std=0.02)
        model.rec_head.title_proj.weight.normal_(std=0.1)
        model.rec_head.item_bias.normal_()
    model.set_attn_implementation("eager")
    return model.eval(), processor


def scores(model, processor, histories=((0, 1, 2), (5, 3))) -> torch.Tensor:
    with torch.no_grad():
        return model(**processor([list(history) for history in histories])).logits


def test_the_linear_head_stays_the_default_with_its_weight_names():
    config = tiny_config(HATLLM)
    assert config.rec_head_type == "linear" and config.num_title_tokens is None
    names = set(IAMRecForSequentialRecommendation(config).state_dict())
    assert {name for name in names if name.startswith("rec_head.")} == {"rec_head.items.weight", "rec_head.items.bias"}
    assert not any(name.startswith("item_titles.") for name in names)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rec_head_type": "mlp"}, "rec_head_type must be one of"),
        ({"rec_head_type": "text"}, "num_title_tokens must count"),
        ({"rec_head_type": "text", "num_title_tokens": 3}, "num_title_tokens must count"),
        ({"num_title_tokens": 30}, "rec_head_type='linear' takes none"),
        ({"rec_head_item_corrections": False}, "rec_head_type='linear' has none"),
    ],
)
def test_the_config_refuses_an_inconsistent_head(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(HATLLM, **overrides)


def test_scores_come_from_titles_corrections_and_bias():
    model, processor = text_model_and_processor()
    hidden = torch.randn(2, model.config.hidden_size)
    titles = processor.title_tokens.all_token_ids()
    means = torch.stack([model.embed_tokens.weight[ids].mean(0) for ids in titles])
    head = model.rec_head
    expected = hidden @ (means @ head.title_proj.weight.T + head.item_corrections).T + head.item_bias
    with torch.no_grad():
        torch.testing.assert_close(head(hidden, model.item_titles, model.embed_tokens.weight), expected)


def test_without_corrections_every_item_is_scored_from_its_title_and_bias(tmp_path):
    model, processor = text_model_and_processor(corrections=False)
    assert model.rec_head.item_corrections is None
    assert not any("item_corrections" in name for name in model.state_dict())
    hidden = torch.randn(2, model.config.hidden_size)
    means = torch.stack([model.embed_tokens.weight[ids].mean(0) for ids in processor.title_tokens.all_token_ids()])
    head = model.rec_head
    expected = hidden @ (means @ head.title_proj.weight.T).T + head.item_bias
    with torch.no_grad():
        torch.testing.assert_close(head(hidden, model.item_titles, model.embed_tokens.weight), expected)
    processor.add_items(NEW_TITLES, model=model)  # new items need only a bias row: the mean of the others
    torch.testing.assert_close(model.rec_head.item_bias[12:], model.rec_head.item_bias[:12].mean().expand(2))
    expected = scores(model, processor, [[0, 12], [13, 5, 1]])
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    reloaded = AutoModel.from_pretrained(tmp_path, attn_implementation="eager").eval()
    assert reloaded.config.rec_head_item_corrections is False and reloaded.rec_head.item_corrections is None
    torch.testing.assert_close(
        scores(reloaded, AutoProcessor.from_pretrained(tmp_path), [[0, 12], [13, 5, 1]]), expected
    )


def test_new_items_get_finite_scores_and_leave_the_trained_items_alone():
    model, processor = text_model_and_processor()
    before = scores(model, processor)
    new_ids = processor.add_items(NEW_TITLES, model=model)
    assert new_ids == [12, 13] and model.config.num_items == processor.num_items == 14
    assert processor.decode_items(new_ids) == NEW_TITLES and processor.to_item_ids(NEW_TITLES) == new_ids
    after = scores(model, processor, [[0, 1, 2], [12, 3]])[:1]
    torch.testing.assert_close(after[:, :12], before[:1], atol=0, rtol=0)  # the trained items are untouched
    assert after.shape == (1, 14) and after.isfinite().all()
    assert not model.rec_head.item_corrections[12:].any()  # scored from the title alone
    torch.testing.assert_close(model.rec_head.item_bias[12:], model.rec_head.item_bias[:12].mean().expand(2))


def test_reset_items_scores_trained_items_from_their_titles_alone():
    model, processor = text_model_and_processor()
    before = scores(model, processor)
    model.rec_head.reset_items([3, 7])  # what the cold-start study does to items only ever seen as negatives
    after = scores(model, processor)
    others = [i for i in range(12) if i not in (3, 7)]
    torch.testing.assert_close(after[:, others], before[:, others], atol=0, rtol=0)  # the other items are untouched
    assert not model.rec_head.item_corrections[[3, 7]].any() and model.rec_head.item_corrections[others].all()
    torch.testing.assert_close(model.rec_head.item_bias[[3, 7]], model.rec_head.item_bias[others].mean().expand(2))
    assert after.isfinite().all() and not torch.equal(after[:, [3, 7]], before[:, [3, 7]])


def test_a_new_item_bias_moves_new_items_by_exactly_its_gap_to_the_mean(tmp_path):
    model, processor = text_model_and_processor()
    by_mean, _ = text_model_and_processor()
    mean = model.rec_head.item_bias.mean().item()
    assert processor.add_items(NEW_TITLES, model=model, bias=[3.0, -1.5]) == [12, 13]
    IAMRecProcessor(tiny_tokenizer(add_bos=True), CATALOG).add_items(NEW_TITLES, model=by_mean)
    assert model.rec_head.item_bias[12:].tolist() == [3.0, -1.5]
    histories = [[0, 12], [13, 5, 1]]
    moved = scores(model, processor, histories) - scores(by_mean, processor, histories)
    torch.testing.assert_close(moved[:, :12], torch.zeros(2, 12), atol=0, rtol=0)  # trained items untouched
    torch.testing.assert_close(moved[:, 12:], torch.tensor([3.0 - mean, -1.5 - mean]).expand(2, 2))
    model.rec_head.reset_items([0, 13], bias=7.0)  # one value for every reset item
    assert model.rec_head.item_bias[[0, 13]].tolist() == [7.0, 7.0]
    model.save_pretrained(tmp_path)
    assert AutoModel.from_pretrained(tmp_path).rec_head.item_bias[[0, 12, 13]].tolist() == [7.0, 3.0, 7.0]


@pytest.mark.parametrize(
    ("bias", "message"),
    [
        ([1.0, 2.0, 3.0], r"one number or one per new item \(2\); got shape \(3,\)"),
        ([[1.0], [2.0]], r"one number or one per new item \(2\); got shape \(2, 1\)"),
        (float("nan"), r"bias must be finite; got nan"),
        ([0.0, float("inf")], r"bias must be finite"),
        ("high", r"bias must be a number or a list of numbers; got 'high'"),
    ],
)
def test_a_bad_new_item_bias_is_refused_and_changes_nothing(bias, message):
    model, processor = text_model_and_processor()
    with pytest.raises(ValueError, match=message):
        processor.add_items(NEW_TITLES, model=model, bias=bias)
    assert processor.num_items == model.config.num_items == 12 and len(model.item_titles) == 12
    assert len(model.rec_head.item_bias) == 12


def test_a_new_item_bias_needs_a_head_with_biases():
    model, processor = text_model_and_processor(corrections=False)
    model.rec_head.item_bias = None  # as rec_head_bias=False builds it
    with pytest.raises(ValueError, match="needs a head with item biases"):
        processor.add_items(NEW_TITLES, model=model, bias=1.0)
    assert processor.num_items == model.config.num_items == 12


def test_a_cold_item_reaches_the_top_on_its_title_alone():
    model, processor = text_model_and_processor()
    [new_id] = processor.add_items(["Toy Story 2 (1999)"], model=model)
    batch = processor([[0, 1]])
    with torch.no_grad():
        model.rec_head.item_bias.zero_()
        model.rec_head.item_corrections.zero_()
        # A title projection that sends the state h to |h| (v . t_i), with v . t_new = 1 and v . t_i = 0 for every
        # trained title: the new item then ranks first, and only through its title's token embeddings.
        means = torch.stack([model.embed_tokens.weight[ids].mean(0) for ids in processor.title_tokens.all_token_ids()])
        v = torch.linalg.pinv(means) @ torch.nn.functional.one_hot(torch.tensor(new_id), new_id + 1).float()
        hidden = model(**batch).last_hidden_state[0, -1]
        model.rec_head.title_proj.weight.copy_(torch.outer(hidden / hidden.norm(), v))
    top = model.recommend(**batch, k=3)
    assert top.item_ids[0, 0] == new_id and top.scores.isfinite().all()
    assert top.scores[0, 0] > top.scores[0, 1] + 0.1


def test_add_items_then_save_and_reload_gives_identical_scores(tmp_path):
    model, processor = text_model_and_processor()
    processor.add_items(NEW_TITLES, model=model)
    expected = scores(model, processor, [[0, 12], [13, 5, 1]])
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    reloaded = AutoModel.from_pretrained(tmp_path, attn_implementation="eager").eval()
    reloaded_processor = AutoProcessor.from_pretrained(tmp_path)
    assert reloaded.config.num_items == 14 and reloaded_processor.titles[12:] == tuple(NEW_TITLES)
    torch.testing.assert_close(scores(reloaded, reloaded_processor, [[0, 12], [13, 5, 1]]), expected, atol=0, rtol=0)
    in_bf16 = AutoModel.from_pretrained(tmp_path, attn_implementation="eager", dtype=torch.bfloat16)
    assert in_bf16.item_titles.token_ids.dtype == torch.long  # integer buffers are not cast with the head
    assert in_bf16.rec_head.item_corrections.dtype == torch.float32


def test_scores_agree_before_and_after_merging_lora(tmp_path):
    model, processor = text_model_and_processor()
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "up_proj"], modules_to_save=["rec_head"])
    peft_model = get_peft_model(model, lora).train()
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    batch = processor([[0, 1, 2], [5, 3], [7]], targets=[3, 4, 8])
    for _ in range(5):
        peft_model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    head = peft_model.base_model.model.rec_head.modules_to_save["default"]
    assert head.title_proj.weight.grad is None and head.item_corrections.abs().sum() > 0  # the head was trained
    peft_model.eval()
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    with torch.no_grad():
        before = peft_model(**inputs).logits
    merged = peft_model.merge_and_unload()
    with torch.no_grad():
        after = merged(**inputs).logits
    # Only the decoder's LoRA weights are folded in (W + BA instead of Wx + BAx): float32 rounding of the hidden
    # state, measured 5e-7 on scores of magnitude 2 (2e-7 relative, float32's epsilon); 1e-5 leaves a 20x margin. The
    # item vectors are bit-identical, as embed_tokens and the head are untouched by the merge.
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(
        merged.rec_head.item_vectors(merged.item_titles, merged.embed_tokens.weight),
        head.item_vectors(merged.item_titles, merged.embed_tokens.weight),
        atol=0,
        rtol=0,
    )
    merged.save_pretrained(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(
            AutoModel.from_pretrained(tmp_path, attn_implementation="eager")(**inputs).logits, after, atol=0, rtol=0
        )


def test_a_lora_adapter_on_the_input_embeddings_is_refused():
    model, processor = text_model_and_processor()
    peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=["embed_tokens"]))
    with pytest.raises(ValueError, match="Leave embed_tokens out of LoRA"):
        peft_model(**processor([[0, 1]]))


@pytest.mark.parametrize(
    ("titles", "message"),
    [
        (["Heat (1995)", "Heat (1995)"], r"got the title\(s\) \['Heat \(1995\)'\] more than once"),
        (["Heat (1995)", CATALOG[3]], r"already in the catalog"),
        (["Heat (1995)", "   "], r"Item 13 has no title \('   '\)"),
        ([""], r"Item 12 has no title"),
        ([], "No item to add"),
        ("Heat (1995)", "not a single string"),
    ],
)
def test_bad_titles_are_refused_and_change_nothing(titles, message):
    model, processor = text_model_and_processor()
    with pytest.raises(ValueError, match=message):
        processor.add_items(titles, model=model)
    assert processor.num_items == model.config.num_items == 12 and len(model.item_titles) == 12


def test_a_linear_head_model_cannot_take_new_items():
    processor = IAMRecProcessor(tiny_tokenizer(add_bos=True), CATALOG)
    model = IAMRecForSequentialRecommendation(tiny_config(HATLLM, vocab_size=400, num_items=len(CATALOG)))
    with pytest.raises(ValueError, match="add_items needs the title head.*has none for new ones"):
        processor.add_items(NEW_TITLES, model=model)
    assert processor.num_items == 12


def test_a_model_of_another_catalog_is_refused():
    model, processor = text_model_and_processor()
    other = IAMRecProcessor(tiny_tokenizer(add_bos=True), CATALOG[:5])
    with pytest.raises(ValueError, match="The model's catalog has 12 items and this processor's 5"):
        other.add_items(NEW_TITLES, model=model)


def test_remote_code_adds_items_and_reloads_without_iamrec(tmp_path):
    model, processor = text_model_and_processor()
    model.save_pretrained(tmp_path / "checkpoint")
    processor.save_pretrained(tmp_path / "checkpoint")
    result = run_without_iamrec(
        """
        import torch
        from transformers import AutoModel, AutoProcessor
        load = dict(trust_remote_code=True)
        model = AutoModel.from_pretrained("checkpoint", attn_implementation="eager", **load).eval()
        processor = AutoProcessor.from_pretrained("checkpoint", **load)
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        new_ids = processor.add_items(["Heat (1995)", "Casino (1995)"], model=model)
        assert new_ids == [12, 13], new_ids
        batch = processor([[0, 12], [13, 5]])
        with torch.no_grad():
            expected = model(**batch).logits
        model.save_pretrained("extended")
        processor.save_pretrained("extended")
        model = AutoModel.from_pretrained("extended", attn_implementation="eager", **load).eval()
        processor = AutoProcessor.from_pretrained("extended", **load)
        with torch.no_grad():
            torch.testing.assert_close(model(**processor([[0, 12], [13, 5]])).logits, expected, atol=0, rtol=0)
        print("REMOTE-OK", model.recommend(**batch, k=14).item_ids.shape)
        """,
        tmp_path,
    )
    assert "REMOTE-OK" in result.stdout, result.stderr[-3000:]


def test_from_llama_builds_a_text_head_from_title_token_ids(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    processor = IAMRecProcessor(tiny_tokenizer(add_bos=True), CATALOG)
    torch.manual_seed(0)
    llama = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(processor.tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
        )
    )
    llama.save_pretrained(tmp_path)
    titles = processor.title_tokens.all_token_ids()
    model = IAMRecForSequentialRecommendation.from_llama(
        str(tmp_path),
        num_items=len(CATALOG),
        schedule="full",
        config_overrides={"rec_head_type": "text"},
        item_title_token_ids=titles,
    )
    assert isinstance(model.config, IAMRecConfig) and model.config.num_title_tokens == sum(map(len, titles))
    assert model.item_titles.token_ids.tolist() == [token for ids in titles for token in ids]
    assert model.rec_head.item_corrections.abs().sum() == 0 and model.rec_head.item_bias.abs().sum() == 0
    assert scores(model.eval(), processor).isfinite().all()
    with pytest.raises(ValueError, match="item_title_token_ids go with"):
        IAMRecForSequentialRecommendation.from_llama(
            str(tmp_path), num_items=12, schedule="full", item_title_token_ids=titles
        )
