"""Moved to `iamrec.training.arguments`; its names still import from here."""

from .training.arguments import SUPERVISIONS, IAMRecArguments, RecTrainingArguments  # noqa: F401
