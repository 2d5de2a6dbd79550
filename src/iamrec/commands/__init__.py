"""The `iamrec` commands, one module each: a dataclass of the command's flags, `parse(argv)` and `run(arguments)`.

Flags come from dataclasses through `HfArgumentParser`, so every command takes both spellings (`--data_dir` and
`--data-dir`), as `iamrec train` takes the Trainer's. `iamrec.cli` dispatches and turns user errors into one line.
"""

from typing import TypeVar

from transformers import HfArgumentParser

T = TypeVar("T")


def parse_flags(arguments: type[T], argv: list[str], prog: str, description: str | None = None) -> T:
    """The `arguments` dataclass filled from `argv`; argparse reports unknown or malformed flags (exit code 2)."""
    parser = HfArgumentParser(arguments, prog=prog, description=description)
    (parsed,) = parser.parse_args_into_dataclasses(args=argv, look_for_args_file=False)
    return parsed
