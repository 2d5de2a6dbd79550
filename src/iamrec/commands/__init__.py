"""The `iamrec` commands, one module each: a dataclass of the command's flags, `parse(argv)` and `run(arguments)`.

Flags come from dataclasses through `HfArgumentParser`, so every command takes both spellings (`--data_dir` and
`--data-dir`), as `iamrec train` takes the Trainer's. `iamrec.cli` dispatches and turns user errors into one line.
"""

from typing import TypeVar

from transformers import HfArgumentParser

T = TypeVar("T")


class CommandParser(HfArgumentParser):
    """Reports malformed flags as a ValueError: `iamrec.cli` prints it as one line and exits 2, instead of argparse
    printing the whole usage (train's lists every Trainer flag)."""

    def error(self, message: str):
        raise ValueError(message)


def parse_flags(arguments: type[T], argv: list[str], prog: str, description: str | None = None) -> T:
    """The `arguments` dataclass filled from `argv`; argparse reports unknown or malformed flags (exit code 2)."""
    parser = CommandParser(arguments, prog=prog, description=description)
    (parsed,) = parser.parse_args_into_dataclasses(args=argv, look_for_args_file=False)
    return parsed
