"""Training batches by token budget: rows bucketed by their length padded to a multiple, and as many rows of one bucket
per batch as the budget holds, so that every step carries about the same number of tokens, little padding, and a
handful of shapes that repeat."""

import math
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

from ..tokenization.collator import padded_length


class TokenBudgetBatchSampler(Sampler[list[int]]):
    """Batches of row indices whose padded size (rows x bucket length) is at most `max_tokens`.

    Rows of one batch come from one length bucket (lengths padded up to `multiple` tokens). Each epoch shuffles the
    rows inside each bucket and then the order of all batches, from `seed` and the epoch (`set_epoch`, which the
    Trainer calls), so a run and its resumed copy see the same batches. The last batch of a bucket may hold fewer
    rows.
    """

    def __init__(self, lengths: Sequence[int], max_tokens: int, multiple: int, seed: int = 0):
        if multiple < 1:
            raise ValueError(f"The length multiple must be a positive number of tokens, got {multiple}.")
        if not lengths:
            raise ValueError("No training rows to batch.")
        longest = padded_length(max(lengths), multiple)
        if max_tokens < longest:
            raise ValueError(
                f"max_tokens_per_batch={max_tokens} cannot hold the longest training row ({max(lengths)} tokens, "
                f"{longest} padded to a multiple of {multiple}): raise it to at least {longest}."
            )
        self.max_tokens, self.seed, self.epoch = max_tokens, seed, 0
        buckets: dict[int, list[int]] = {}
        for row, length in enumerate(lengths):
            buckets.setdefault(padded_length(length, multiple), []).append(row)
        self.buckets = dict(sorted(buckets.items()))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def rows_per_batch(self, bucket_length: int) -> int:
        return self.max_tokens // bucket_length

    def __len__(self) -> int:
        return sum(math.ceil(len(rows) / self.rows_per_batch(length)) for length, rows in self.buckets.items())

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        batches = []
        for length, rows in self.buckets.items():
            shuffled = [rows[i] for i in torch.randperm(len(rows), generator=generator).tolist()]
            size = self.rows_per_batch(length)
            batches += [shuffled[start : start + size] for start in range(0, len(shuffled), size)]
        for batch in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[batch]
