"""Three transformers warnings that every training run on a Llama base printed although nothing was wrong: while
`quiet_expected_reports()` holds, those three are dropped, and every other warning still shows.

- The load report of `from_llama`: a Llama checkpoint has no recommendation head or item vectors, so the report
  lists `rec_head.*` (and `item_embeddings.*`) as MISSING: they are new by design and start as the config says. A
  report that names any other key, or another status (UNEXPECTED, MISMATCH), is kept whole.
- "You are using a model of type `llama` to instantiate a model of type `iamrec`": at every checkpoint save PEFT
  reads the base model's config.json with the model's config class to see whether the vocabulary was resized; it
  reads only the vocabulary size, which IAMRec never changes.
- "`is_gradient_checkpointing` is deprecated" (a FutureWarning): PEFT reads that attribute when it wraps a model and at
  every checkpoint save; the rename is theirs to follow, and nothing of the run depends on it.

All are matched on their text, with standard `logging` filters on the two transformers loggers that print the first
two and a `warnings` filter for the third: if a release rewords one, it shows again, which is the safe way to fail.
"""

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

FRESH_MODULES = ("rec_head.", "item_embeddings.")
"""The modules that IAMRec adds to a Llama backbone: missing from any Llama checkpoint."""

_LOADING_LOGGER = "transformers.modeling_utils"
_CONFIG_LOGGER = "transformers.configuration_utils"
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
_LLAMA_AS_IAMREC = "You are using a model of type `llama` to instantiate a model of type `iamrec`."
_CHECKPOINTING_RENAME = r"`is_gradient_checkpointing` is deprecated"


def is_fresh_head_report(message: str) -> bool:
    """Whether `message` is a load report whose every row is a MISSING key of a module IAMRec adds."""
    text = _COLOUR.sub("", message)
    if "LOAD REPORT" not in text:
        return False
    rows = [[cell.strip() for cell in line.split("|")[:2]] for line in text.splitlines() if "|" in line]
    rows = [row for row in rows if row[0] != "Key" and not row[0].startswith("-")]  # the header and its rule
    return bool(rows) and all(status == "MISSING" and key.startswith(FRESH_MODULES) for key, status in rows)


class ExpectedReports(logging.Filter):
    """Drops the two expected log records named in the module docstring."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith(_LLAMA_AS_IAMREC) or is_fresh_head_report(message))


@contextmanager
def quiet_expected_reports() -> Iterator[None]:
    """Within the block, the expected warnings of building and checkpointing an IAMRec model on a Llama base are
    dropped (see the module docstring)."""
    expected = ExpectedReports()
    loggers = [logging.getLogger(name) for name in (_LOADING_LOGGER, _CONFIG_LOGGER)]
    for logger in loggers:
        logger.addFilter(expected)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_CHECKPOINTING_RENAME, category=FutureWarning)
            yield
    finally:
        for logger in loggers:
            logger.removeFilter(expected)
