"""Every-item training: a sequence with a readout after each item scores each readout exactly as the prompt that ends
at that item, under every mode, backend and padding side; no readout sees a later item or another readout."""

import pytest
import torch

from iamrec.tokenization import IAMRecProcessor
from model_fixtures import tiny_model
from tokenizer_fixtures import TITLES, tiny_tokenizer

SCHEDULES = {
    "hatllm": ["intra", "full", "inter_last"],
    "iam": ["intra", "inter"],
    "full": ["full", "full"],
    "inter_last_mid": ["inter_last", "intra", "full"],  # a masked layer before others, so its mask reaches the scores
}
SEQUENCES = [
    {"history": [0, 11, 2, 5, 16], "next_items": [11, -100, 5, 16, 3]},
    {"history": [3, 4], "next_items": [4, 7]},
    {"history": [12, 12, 1], "next_items": [-100, 1, 9]},
]


def prompts_of(sequences: list[dict]) -> list[dict]:
    """The ordinary prompt examples each readout stands for: the history up to its item, and the next item."""
    return [
        {"history": sequence["history"][: position + 1], "target": target}
        for sequence in sequences
        for position, target in enumerate(sequence["next_items"])
        if target != -100
    ]


def setup(schedule: str, attn_implementation: str, padding_side: str = "left", **config):
    tokenizer = tiny_tokenizer(add_bos=True)
    processor = IAMRecProcessor(tokenizer, TITLES, padding_side=padding_side)
    model = tiny_model(
        SCHEDULES[schedule], attn_implementation, vocab_size=len(tokenizer), num_items=len(TITLES), **config
    )
    return processor.collator(supervision="every_item"), processor.collator(), model


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_each_readout_scores_like_the_prompt_that_ends_at_its_item(schedule, attn_implementation, padding_side):
    collate_sequences, collate_prompts, model = setup(schedule, attn_implementation, padding_side)
    batch = collate_sequences(SEQUENCES)
    prompts = collate_prompts(prompts_of(SEQUENCES))
    assert torch.equal(batch["labels"], prompts["labels"])
    with torch.no_grad():
        every_item = model(**batch)
        last = model(**prompts)
    assert every_item.logits.shape == last.logits.shape == (len(prompts["labels"]), len(TITLES))
    torch.testing.assert_close(every_item.logits, last.logits, atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(every_item.loss, last.loss)


def test_the_title_head_and_batch_norm_read_readouts_like_prompts():
    tokens = tiny_tokenizer(add_bos=True)(TITLES, add_special_tokens=False)["input_ids"]
    titles = {"rec_head_type": "text", "num_title_tokens": sum(map(len, tokens))}
    collate_sequences, collate_prompts, model = setup("hatllm", "sdpa", rec_head_norm="batch", **titles)
    model.set_item_titles(tokens)
    with torch.no_grad():
        every_item = model(**collate_sequences(SEQUENCES)).logits
        torch.testing.assert_close(every_item, model(**collate_prompts(prompts_of(SEQUENCES))).logits)


@pytest.mark.parametrize("schedule", ["hatllm", "full"])
def test_a_later_item_never_changes_an_earlier_readout(schedule):
    collate_sequences, _, model = setup(schedule, "sdpa")
    original = {"history": [0, 11, 2, 5, 16], "next_items": [11, 2, 5, 16, 3]}
    later_changed = {"history": [0, 11, 2, 9, 1], "next_items": [11, 2, 9, 1, 3]}
    earlier_changed = {"history": [14, 11, 2, 5, 16], "next_items": [11, 2, 5, 16, 3]}
    with torch.no_grad():
        logits = [
            model(**collate_sequences([sequence])).logits for sequence in (original, later_changed, earlier_changed)
        ]
    # The readouts after items 0-2 read the same items in both: equal. Those after items 3-4 read other items.
    torch.testing.assert_close(logits[1][:3], logits[0][:3], atol=0, rtol=0)
    assert not torch.allclose(logits[1][3:], logits[0][3:])
    assert not torch.allclose(logits[2], logits[0])  # an earlier item reaches every later readout


def test_readouts_train_like_their_prompts():
    """The gradients of one every-item batch equal those of its prompts: the same loss, term by term."""
    collate_sequences, collate_prompts, model = setup("hatllm", "sdpa")
    model.train()
    gradients = []
    for batch in (collate_sequences(SEQUENCES), collate_prompts(prompts_of(SEQUENCES))):
        model.zero_grad()
        model(**batch).loss.backward()
        gradients.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    torch.testing.assert_close(gradients[0], gradients[1], atol=1e-6, rtol=1e-4)


def test_bad_readout_inputs_are_clear_errors():
    collate_sequences, _, model = setup("hatllm", "sdpa", padding_side="right")
    batch = collate_sequences(SEQUENCES)
    with pytest.raises(ValueError, match="one target item id per readout, shape \\(8,\\)"):
        model(**{**batch, "labels": batch["labels"][:3]})
    with pytest.raises(ValueError, match="readout_index has shape"):
        model(**{**batch, "readout_index": batch["readout_index"][:, 1:]})
    prefix = model(
        **{key: value[:, :4] for key, value in batch.items() if key not in ("labels", "readout_index")}, use_cache=True
    )
    with pytest.raises(ValueError, match="cannot be used with cached tokens"):
        model(
            input_ids=batch["input_ids"][:, 4:],
            attention_mask=batch["attention_mask"],
            item_index=batch["item_index"],
            readout_index=batch["readout_index"],
            cache=prefix.cache,
        )
