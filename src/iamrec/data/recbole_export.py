"""A prepared folder as RecBole's pre-split benchmark files, so RecBole's models train and test on our exact examples.

RecBole reads `<name>.<split>.inter` from `data_path/<name>/` when its config sets `benchmark_filename`: one tab-
separated atomic file per split whose header types each column, with the history as a space-separated token
sequence. Items are written as iamrec item ids (catalog rows) and users as their raw ids, so RecBole's rankings map
back onto the catalog that `iamrec evaluate` ranks.
"""

import os
import re
from pathlib import Path

from ..atomic import staged_dir
from .prepare import load_prepared

HEADER = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
SPLIT_FILES = {"train": "train", "validation": "valid", "test": "test"}
"""Our split names and the suffixes RecBole's benchmark config names them by (`benchmark_filename`)."""
_UNWRITABLE = re.compile(r'[\t\r\n]|^"')  # a field separator, a line break, or pandas' quote at the start


def export_recbole(
    data_dir: str | os.PathLike, output_dir: str | os.PathLike, name: str | None = None, overwrite: bool = False
) -> list[Path]:
    """Write `<name>.{train,valid,test}.inter` of the prepared `data_dir` into `output_dir` (RecBole's
    `data_path/<name>`; `name` defaults to the folder's name) atomically, and return their paths."""
    prepared = load_prepared(data_dir)
    output = Path(output_dir)
    name = name or output.resolve().name
    files = [f"{name}.{suffix}.inter" for suffix in SPLIT_FILES.values()]
    _check_replaceable(output, files, overwrite)
    with staged_dir(output) as staging:
        for split, file in zip(SPLIT_FILES, files):
            _write_split(prepared.splits[split], staging / file, split)
    return [output / file for file in files]


def _check_replaceable(output: Path, files: list[str], overwrite: bool) -> None:
    """An existing folder is replaced only with `overwrite`, and only if it holds nothing but these files."""
    if not output.exists():
        return
    if not output.is_dir():
        raise FileExistsError(f"{output} exists and is not a folder.")
    present = sorted(path.name for path in output.iterdir())
    if present and not overwrite:
        raise FileExistsError(f"{output} is not empty; pass --overwrite to replace its RecBole files.")
    others = sorted(set(present) - set(files))
    if others:
        raise FileExistsError(f"{output} holds other files ({', '.join(others[:3])}): choose another --output_dir.")


def _write_split(split, path: Path, split_name: str) -> None:
    """One atomic file: a header, then `user \\t history items \\t target` per example, in the split's order."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(HEADER)
        for row, (user, history, target) in enumerate(zip(split["user"], split["history"], split["target"])):
            if _UNWRITABLE.search(user):
                raise ValueError(
                    f"The {split_name} example {row} has a user id with a tab, a line break or a leading quote, "
                    "which RecBole's files cannot hold."
                )
            handle.write(f"{user}\t{' '.join(map(str, history))}\t{target}\n")
