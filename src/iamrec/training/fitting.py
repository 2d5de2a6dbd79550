"""Training and validation examples whose prompt fits `max_length`: one title longer than the budget would otherwise
stop the whole run at the length computation (every_item) or at its first batch."""

import logging

from datasets import Dataset

from ..tokenization.collator import NEXT_ITEMS, IAMRecCollator, PromptTooLong

logger = logging.getLogger(__name__)


def fitting_examples(examples: Dataset, collator: IAMRecCollator, what: str = "training") -> Dataset:
    """`examples` without those whose prompt cannot fit the collator's `max_length`, said in a warning with their
    count; none left is an error."""
    histories = examples["history"]
    targets = examples[NEXT_ITEMS] if NEXT_ITEMS in examples.column_names else [None] * len(histories)

    def fits(history: list[int], next_items: list[int] | None) -> bool:
        try:
            collator.prompt_lengths([history], None if next_items is None else [next_items])
        except PromptTooLong:
            return False
        return True

    keep = [row for row, (history, next_items) in enumerate(zip(histories, targets)) if fits(history, next_items)]
    if len(keep) == len(histories):
        return examples
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
    return examples.select(keep)
