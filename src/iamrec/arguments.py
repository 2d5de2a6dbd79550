"""Moved to `iamrec.training.arguments`; its names still import from here."""

from .tokenization.collator import SUPERVISIONS  # noqa: F401
from .training.arguments import IAMRecArguments, RecTrainingArguments  # noqa: F401
