"""The `iamrec` commands, one module each: a dataclass of the command's flags, `parse(argv)` and `run(arguments)`.

Flags come from dataclasses through `HfArgumentParser`, so every command takes both spellings (`--data_dir` and
`--data-dir`), as `iamrec train` takes the Trainer's. `iamrec.cli` dispatches and turns user errors into one line.
"""

from dataclasses import dataclass

from transformers import HfArgumentParser

from ..flags import flag


@dataclass
class Placement:
    """Where a model runs, for every command that loads one (`--device`, `--dtype`); checked before any work."""

    device: str = flag(
        "auto", help="auto (the first CUDA device when there is one, else the CPU), cpu, cuda or cuda:N."
    )
    dtype: str = flag(
        "auto",
        help="auto (bfloat16 on a CUDA device that supports it or a CPU with AMX or AVX-512 BF16, else "
        "float32), float32 or bfloat16. The head stays float32.",
    )

    def __post_init__(self):
        from ..inference import resolve_device, resolve_dtype

        resolve_dtype(self.dtype, resolve_device(self.device))


class CommandParser(HfArgumentParser):
    """Reports malformed flags as a ValueError: `iamrec.cli` prints it as one line and exits 2, instead of argparse
    printing the whole usage (train's lists every Trainer flag)."""

    def error(self, message: str):
        raise ValueError(message)


def parse_flags(argv: list[str], prog: str, *arguments: type) -> tuple:
    """One instance of each `arguments` dataclass, filled from `argv` (described by the first one's docstring);
    malformed or unknown flags raise a ValueError (exit code 2)."""
    parser = CommandParser(arguments, prog=prog, description=arguments[0].__doc__)
    return tuple(parser.parse_args_into_dataclasses(args=argv, look_for_args_file=False))
