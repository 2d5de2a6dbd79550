"""Training and validation examples whose prompt fits `max_length`: one title longer than the budget would otherwise
stop the whole run at the length computation (every_item) or at its first batch."""

import logging

from datasets import Dataset

from ..tokenization.collator import NEXT_ITEMS, IAMRecCollator, PromptTooLong

logger = logging.getLogger(__name__)


def fitting_examples(examples: Dataset, collator: IAMRecCollator, what: str = "training") -> tuple[Dataset, list[int]]:
    """`examples` (in the collator's `supervision` format) without those whose prompt cannot fit the collator's
    `max_length`, said in a warning with their count (none left is an error), and the prompt length of each kept one
    (what length-grouped and token-budget samplers read)."""
    histories = examples["history"]
    targets = examples[NEXT_ITEMS] if collator.supervision == "every_item" else [None] * len(histories)

    def length(history: list[int], next_items: list[int] | None) -> int | None:
        try:
            return collator.prompt_lengths([history], None if next_items is None else [next_items])[0]
        except PromptTooLong:
            return None

    lengths = [length(history, next_items) for history, next_items in zip(histories, targets)]
    keep = [row for row, value in enumerate(lengths) if value is not None]
    if len(keep) == len(histories):
        return examples, lengths
    if not keep:
        raise ValueError(f"No {what} example fits max_length={collator.max_length}: raise --max_length.")
    logger.warning(
        "Skipping %d of %d %s examples: their prompt does not fit max_length=%d (a title too long for it); "
        "raise --max_length to keep them.",
        len(histories) - len(keep),
        len(histories),
        what,
        collator.max_length,
    )
    return examples.select(keep), [lengths[row] for row in keep]
