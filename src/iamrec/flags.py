"""Command-line flags declared as dataclass fields: `HfArgumentParser` turns each field of a flag dataclass (every
command's, `iamrec train`'s and `EvaluationPolicy`) into `--name`, with the field's default and its help text."""

from dataclasses import MISSING, field
from typing import Any


def flag(default: Any = MISSING, *, help: str, **argparse_settings: Any) -> Any:
    """A dataclass field for `--name`: its default (none: the flag is required) and `--help` text, in one call.

    A list default is copied for each instance, as a mutable default must be. `argparse_settings` go to argparse
    beside the help (`aliases`, `choices`)."""
    metadata = {"help": help, **argparse_settings}
    if isinstance(default, list):
        return field(default_factory=default.copy, metadata=metadata)
    return field(default=default, metadata=metadata)
