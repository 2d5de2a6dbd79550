"""IAMRecCollator: exact item boundaries, BOS handling, whole-item truncation, padding, labels and errors."""

import pytest
import torch
from datasets import Dataset
from torch.utils.data import DataLoader

from iamrec import IAMRecConfig, IAMRecForSequentialRecommendation
from iamrec.tokenization import IAMRecCollator, PromptTemplate, TitleTokenCache
from tokenizer_fixtures import TITLES, tiny_tokenizer


def make_collator(tokenizer, **kwargs) -> IAMRecCollator:
    return IAMRecCollator(TitleTokenCache(tokenizer, TITLES), **kwargs)


def real_rows(batch):
    """(token ids, item index) of each row without its padding."""
    for ids, mask, index in zip(batch["input_ids"], batch["attention_mask"], batch["item_index"]):
        keep = mask.bool()
        yield ids[keep].tolist(), index[keep].tolist()


def title_tokens_by_slot(ids: list[int], index: list[int]) -> list[list[int]]:
    """Tokens of each history slot, checking that slots are contiguous runs numbered 0, 1, 2, ... in order."""
    slots: list[list[int]] = []
    previous = -1
    for token, slot in zip(ids, index):
        if slot == -1:
            previous = -1
            continue
        if slot != previous:
            assert slot == len(slots), f"slot {slot} starts after {len(slots)} slots: not in prompt order or split"
            slots.append([])
        slots[slot].append(token)
        previous = slot
    return slots


def kept_titles(tokenizer, ids, index) -> list[str]:
    return [tokenizer.decode(tokens) for tokens in title_tokens_by_slot(ids, index)]


def adds_bos(tokenizer) -> bool:
    return tokenizer("x")["input_ids"][0] != tokenizer("x", add_special_tokens=False)["input_ids"][0]


def test_item_index_marks_exactly_each_title(any_tokenizer):
    collator = make_collator(any_tokenizer)
    histories = [[0, 11, 5, 12, 13], [14, 2]]
    batch = collator([{"history": history} for history in histories])
    prefix = [any_tokenizer.bos_token_id] if adds_bos(any_tokenizer) else []
    for (ids, index), history in zip(real_rows(batch), histories):
        titles = [TITLES[item_id] for item_id in history]
        by_slot = title_tokens_by_slot(ids, index)
        # Each slot holds exactly the title's own tokens, tokenized alone, and decodes back to the title.
        assert by_slot == [any_tokenizer(title, add_special_tokens=False)["input_ids"] for title in titles]
        assert [any_tokenizer.decode(tokens) for tokens in by_slot] == titles
        # Everything else is prompt (-1): BOS if the tokenizer adds one, then exactly the template's text.
        assert ids[: len(prefix)] == prefix and all(slot == -1 for slot in index[: len(prefix)])
        assert any_tokenizer.decode(ids[len(prefix) :]) == PromptTemplate().render(titles)
        assert sum(slot == -1 for slot in index) == len(ids) - sum(map(len, by_slot))


def test_bos_only_when_the_tokenizer_adds_it():
    with_bos, without_bos = tiny_tokenizer(add_bos=True), tiny_tokenizer(add_bos=False)
    first = make_collator(with_bos)([{"history": [0]}])["input_ids"][0, 0].item()
    assert first == with_bos.bos_token_id
    ids = make_collator(without_bos)([{"history": [0]}])["input_ids"][0].tolist()
    assert with_bos.bos_token_id not in ids  # same vocabulary: <s> has the same id in both
    head = without_bos(PromptTemplate().head, add_special_tokens=False)["input_ids"]
    assert ids[: len(head)] == head


def test_empty_history_is_all_prompt(any_tokenizer):
    batch = make_collator(any_tokenizer)([{"history": []}, {"history": [3]}])
    (ids, index), _ = real_rows(batch)
    assert set(index) == {-1}
    assert PromptTemplate().empty in any_tokenizer.decode(ids)


def test_truncation_keeps_the_most_recent_whole_items(any_tokenizer):
    history = [5, 0, 11, 12, 13, 1, 10]
    full_collator = make_collator(any_tokenizer)

    def full_length(items):
        return int(full_collator([{"history": items}])["attention_mask"].sum())

    lengths_seen = set()
    for max_length in range(full_length(history[-1:]), full_length(history) + 2):
        batch = make_collator(any_tokenizer, max_length=max_length)([{"history": history}])
        [(ids, index)] = real_rows(batch)
        assert len(ids) <= max_length
        kept = kept_titles(any_tokenizer, ids, index)
        lengths_seen.add(len(kept))
        # A suffix of the history, of whole titles; the next older item would not have fit.
        assert kept == [TITLES[item_id] for item_id in history[len(history) - len(kept) :]]
        if len(kept) < len(history):
            assert full_length(history[len(history) - len(kept) - 1 :]) > max_length
    assert lengths_seen == set(range(1, len(history) + 1))


def test_max_length_too_small_is_a_clear_error(any_tokenizer):
    collator = make_collator(any_tokenizer)
    prompt_only = len(collator._head) + len(collator._tail)
    with pytest.raises(ValueError, match=f"max_length={prompt_only} cannot hold the prompt"):
        make_collator(any_tokenizer, max_length=prompt_only)
    tight = make_collator(any_tokenizer, max_length=prompt_only + 1)
    long_item = 5  # "Shanghai Triad (...)": many tokens with every tokenizer
    with pytest.raises(ValueError, match=f"most recent history item {long_item} .* raise max_length"):
        tight([{"history": [0, long_item]}])


def test_target_is_a_label_never_an_input(any_tokenizer):
    collator = make_collator(any_tokenizer)
    examples = [{"history": [0, 1], "target": 7, "user": "u1", "timestamp": 881250949}, {"history": [2], "target": 8}]
    batch = collator(examples)
    assert batch["labels"].tolist() == [7, 8] and batch["labels"].dtype == torch.long
    for ids, _ in real_rows(batch):
        text = any_tokenizer.decode(ids)
        assert "Babe" not in text and "Dead Man Walking" not in text
    assert "labels" not in collator([{"history": [0, 1]}])
    assert set(batch) == {"input_ids", "attention_mask", "item_index", "labels"}


def test_left_and_right_padding_hold_the_same_rows(any_tokenizer):
    examples = [{"history": [0, 5, 12]}, {"history": [1]}, {"history": []}]
    left = make_collator(any_tokenizer, padding_side="left")(examples)
    right = make_collator(any_tokenizer, padding_side="right")(examples)
    assert list(real_rows(left)) == list(real_rows(right))
    pad = any_tokenizer.pad_token_id if any_tokenizer.pad_token_id is not None else any_tokenizer.eos_token_id
    for batch, padded_first in ((left, True), (right, False)):
        mask = batch["attention_mask"]
        assert (batch["input_ids"][mask == 0] == pad).all() and (batch["item_index"][mask == 0] == -1).all()
        assert bool(mask[1, 0] == 0) is padded_first and bool(mask[1, -1] == 0) is not padded_first
        assert all(tensor.dtype == torch.long for tensor in batch.values())


def test_rows_do_not_depend_on_the_batch(any_tokenizer):
    prompt = make_collator(any_tokenizer)([{"history": []}])["input_ids"].shape[1]
    collator = make_collator(any_tokenizer, max_length=prompt + 25, pad_to_multiple_of=8)
    examples = [{"history": [0, 5, 12, 3, 4, 6]}, {"history": [1, 2]}]  # the first one is truncated
    together = collator(examples)
    assert len(title_tokens_by_slot(*next(real_rows(together)))) < 6
    assert together["input_ids"].shape[1] % 8 == 0
    alone = [next(real_rows(collator([example]))) for example in examples]
    assert list(real_rows(together)) == alone
    assert all(torch.equal(together[key], collator(examples)[key]) for key in together)


def test_titles_are_tokenized_once(any_tokenizer):
    collator = make_collator(any_tokenizer)
    calls: list[list[str]] = []

    def counting_tokenizer(texts, **kwargs):
        calls.append(list(texts))
        return any_tokenizer(texts, **kwargs)

    collator.title_tokens.tokenizer = counting_tokenizer
    collator([{"history": [3, 1, 3]}, {"history": [1, 2]}])
    collator([{"history": [2, 3]}, {"history": [1, 4]}])
    assert calls == [[TITLES[1], TITLES[2], TITLES[3]], [TITLES[4]]]


def test_adjacent_items_without_separators_keep_distinct_slots():
    tokenizer = tiny_tokenizer(add_bos=True)
    template = PromptTemplate(title_open="", title_close="", separator="")
    batch = make_collator(tokenizer, template=template)([{"history": [0, 1, 2]}])
    [(ids, index)] = real_rows(batch)
    assert kept_titles(tokenizer, ids, index) == TITLES[:3]


@pytest.mark.parametrize(
    ("examples", "message"),
    [
        ([{"history": [0, 18]}], "Example 0: history item id 18 is not in the catalog of 18 items \\(ids 0 to 17\\)"),
        ([{"history": [1]}, {"history": [-1]}], "Example 1: history item id -1 is not in the catalog of 18 items"),
        ([{"history": ["Toy Story (1995)"]}], "must hold integer item ids, got 'Toy Story \\(1995\\)'"),
        ([{"history": [0], "target": 99}], "Example 0: target item id 99 is not in the catalog"),
        ([{"history": [0], "target": 1}, {"history": [1]}], "Examples \\[1\\] have no target"),
        ([{"items": [0]}], "Example 0 has no 'history' of item ids \\(got \\['items'\\]\\)"),
        ([], "empty list of examples"),
    ],
)
def test_bad_examples_are_clear_errors(examples, message):
    with pytest.raises(ValueError, match=message):
        make_collator(tiny_tokenizer(add_bos=True))(examples)


def test_works_as_a_dataloader_collate_fn_over_a_dataset():
    dataset = Dataset.from_dict(
        {"user": [1, 1, 2], "history": [[0, 1], [0, 1, 2], [5]], "target": [2, 3, 6], "timestamp": [10, 11, 12]}
    )
    loader = DataLoader(dataset, batch_size=2, collate_fn=make_collator(tiny_tokenizer(add_bos=False)))
    batches = list(loader)
    assert [batch["labels"].tolist() for batch in batches] == [[2, 3], [6]]
    assert batches[0]["item_index"].max().item() == 2


def hidden_states_of(model, collator, history: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    batch = collator([{"history": history}])
    with torch.no_grad():
        return model(**batch).last_hidden_state[0], batch["item_index"][0]


@pytest.mark.parametrize("mode", ["intra", "full"])
def test_the_collators_boundaries_keep_titles_apart_in_the_model(any_tokenizer, mode):
    """The collator's item_index drives a real model: in a one-layer `intra` model, replacing one history title leaves
    every other title's hidden states exactly as they were; under `full` the titles after it change.

    One layer, because from the second layer on the prompt tokens between titles (which attend causally to all) carry
    a change onward, as the paper intends.
    """
    collator = make_collator(any_tokenizer)
    lengths = [len(collator.title_tokens[item]) for item in range(len(TITLES))]
    first, second = next(
        (a, b) for a in range(len(TITLES)) for b in range(a + 1, len(TITLES)) if lengths[a] == lengths[b]
    )
    others = [item for item in range(len(TITLES)) if item not in (first, second)][:2]
    config = IAMRecConfig(
        vocab_size=len(any_tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        item_mask_modes=[mode],
        num_items=len(TITLES),
    )
    torch.manual_seed(0)
    model = IAMRecForSequentialRecommendation(config).eval()
    before, index = hidden_states_of(model, collator, [others[0], first, others[1]])
    after, index_after = hidden_states_of(model, collator, [others[0], second, others[1]])
    assert torch.equal(index, index_after)  # same layout: only the tokens of slot 1 differ
    unchanged = [torch.allclose(before[index == slot], after[index == slot], atol=1e-6) for slot in range(3)]
    assert unchanged == ([True, False, True] if mode == "intra" else [True, False, False])


def test_prompt_lengths_are_the_unpadded_token_counts(any_tokenizer):
    prompt = make_collator(any_tokenizer)([{"history": []}])["input_ids"].shape[1]
    collator = make_collator(any_tokenizer, max_length=prompt + 25)  # the longest history is truncated
    histories = [[0, 11, 5, 12, 13, 1, 2, 3, 4, 6], [14, 2], [], [3]]
    batch = collator([{"history": history} for history in histories])
    assert collator.prompt_lengths(histories) == batch["attention_mask"].sum(dim=1).tolist()
    with pytest.raises(ValueError, match="not in the catalog"):
        collator.prompt_lengths([[0, len(TITLES)]])


SEQUENCE = {"history": [0, 11, 2], "next_items": [11, -100, 5]}


def test_the_collator_reads_the_format_it_is_told_and_names_a_mismatch_in_one_line():
    """No guessing from an example's keys: a prompt collator refuses a training sequence and the other way round."""
    prompts = make_collator(tiny_tokenizer(add_bos=True))
    sequences = make_collator(tiny_tokenizer(add_bos=True), supervision="every_item")
    assert (prompts.supervision, sequences.supervision) == ("last", "every_item")
    assert sequences([SEQUENCE])["labels"].tolist() == [11, 5] and "readout_index" in sequences([SEQUENCE])
    assert "readout_index" not in prompts([{"history": [0, 11, 2], "target": 5}])
    with pytest.raises(ValueError, match=r"^Example 1 is a training sequence \(it has 'next_items'\), but this .*"):
        prompts([{"history": [0]}, SEQUENCE])
    with pytest.raises(ValueError, match=r"^Example 0 has no 'next_items' \(one per history item\), but this .*"):
        sequences([{"history": [0, 11], "target": 5}])
    with pytest.raises(ValueError, match=r"supervision must be one of \['last', 'every_item'\], got 'all'"):
        make_collator(tiny_tokenizer(add_bos=True), supervision="all")


def test_prompt_lengths_follow_the_collators_format():
    sequences = make_collator(tiny_tokenizer(add_bos=True), supervision="every_item")
    batch = sequences([SEQUENCE])
    assert sequences.prompt_lengths([SEQUENCE["history"]], [SEQUENCE["next_items"]]) == [batch["input_ids"].shape[1]]
    with pytest.raises(ValueError, match="next_items with, and only with, supervision='every_item'"):
        sequences.prompt_lengths([SEQUENCE["history"]])
    with pytest.raises(ValueError, match="this collator's is 'last'"):
        make_collator(tiny_tokenizer(add_bos=True)).prompt_lengths([[0]], [[1]])
