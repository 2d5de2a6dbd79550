"""Token-budget batches: within the budget, one length bucket each, every row once per epoch, seeded order."""

import random

import pytest

from iamrec.tokenization.collator import padded_length
from iamrec.training.batching import TokenBudgetBatchSampler

LENGTHS = [random.Random(0).randint(40, 300) for _ in range(500)]


def test_every_row_comes_once_per_epoch_in_batches_within_the_budget():
    sampler = TokenBudgetBatchSampler(LENGTHS, max_tokens=1024, multiple=32)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(row for batch in batches for row in batch) == list(range(len(LENGTHS)))
    for batch in batches:
        widths = {padded_length(LENGTHS[row], 32) for row in batch}
        assert len(widths) == 1  # one bucket: the collator pads the batch to exactly that width
        assert len(batch) * widths.pop() <= 1024
    assert len({padded_length(length, 32) for length in LENGTHS}) <= 9  # a handful of shapes


def test_the_order_follows_the_seed_and_the_epoch():
    first, again = (
        TokenBudgetBatchSampler(LENGTHS, 1024, 32, seed=3),
        TokenBudgetBatchSampler(LENGTHS, 1024, 32, seed=3),
    )
    assert list(first) == list(again)
    first.set_epoch(1)
    assert list(first) != list(again) and sorted(map(sorted, first)) != sorted(map(sorted, again))
    again.set_epoch(1)
    assert list(first) == list(again)
    assert list(TokenBudgetBatchSampler(LENGTHS, 1024, 32, seed=4)) != list(TokenBudgetBatchSampler(LENGTHS, 1024, 32))


def test_padded_length_rounds_up_to_the_multiple():
    assert [padded_length(length, 32) for length in (1, 32, 33, 64)] == [32, 32, 64, 64]


@pytest.mark.parametrize(
    ("lengths", "max_tokens", "multiple", "message"),
    [
        ([100, 300], 256, 32, "max_tokens_per_batch=256 cannot hold the longest training row .300 tokens, 320 padded"),
        ([100], 256, 0, "length multiple must be a positive number of tokens, got 0"),
        ([], 256, 32, "No training rows to batch"),
    ],
)
def test_bad_settings_are_one_clear_error(lengths, max_tokens, multiple, message):
    with pytest.raises(ValueError, match=message):
        TokenBudgetBatchSampler(lengths, max_tokens, multiple)
