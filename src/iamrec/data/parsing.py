"""Line-level plumbing shared by the readers: opening (gzip by suffix), bad-line accounting, compact columns.

Sources can hold millions of lines, so rows are converted one at a time into interned id codes and int64
arrays instead of being kept as parsed dicts.
"""

import gzip
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

FieldKind = Literal["id", "time", "text"]


@dataclass(frozen=True)
class Field:
    """One output column: `name` in the result, `key` in the source (JSON key, header name or position)."""

    name: str
    key: str | int
    kind: FieldKind

    @property
    def required(self) -> bool:
        # A missing title only makes an item untitled (the protocol drops it); a missing id or time is a bad line.
        return self.kind != "text"


PROGRESS_EVERY = 1 << 16
Line = TypeVar("Line")


def with_progress(lines: Iterable[tuple[int, Line]], path: Path, progress: bool) -> Iterator[tuple[int, Line]]:
    """Passes numbered lines through while a progress bar counts them (in steps of `PROGRESS_EVERY`, for speed)."""
    with tqdm(desc=f"reading {path.name}", unit=" lines", disable=not progress, leave=False) as bar:
        for lineno, line in lines:
            if lineno % PROGRESS_EVERY == 0:
                bar.update(PROGRESS_EVERY)
            yield lineno, line


def open_binary(path: Path) -> IO[bytes]:
    """Open `path` for reading bytes, decompressing when the name ends in `.gz`."""
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def open_text(path: Path, encoding: str, errors: str = "strict") -> IO[str]:
    """Open `path` as text (newline="" as the csv module wants), decompressing when the name ends in `.gz`."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding, errors=errors, newline="")
    return open(path, encoding=encoding, errors=errors, newline="")


@dataclass
class LineReport:
    """Counts the rows read and the lines skipped in one file; with `strict`, the first bad line is an error.

    Reasons name the line and the field, never a data value, because the record ends up in shared model cards.
    """

    path: Path
    role: str
    strict: bool = False
    rows: int = 0
    skipped: int = 0
    first_bad: str | None = None

    def bad(self, line: int, reason: str) -> None:
        where = f"{self.path}:{line}: {reason}"
        if self.strict:
            raise ValueError(f"{where} (strict mode stops at the first unparsable line)")
        self.skipped += 1
        if self.first_bad is None:
            self.first_bad = where

    def as_dict(self) -> dict[str, Any]:
        """The record kept in protocol.json: the file by name only, as the run file and model card show it."""
        first_bad = self.first_bad and self.path.name + self.first_bad.removeprefix(str(self.path))
        return {
            "file": self.path.name,
            "role": self.role,
            "rows": self.rows,
            "skipped": self.skipped,
            "first_bad": first_bad,
        }


def kind_of(value: Any) -> str:
    """What a raw value is, without quoting it (messages must not leak data)."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return "text" if value else "an empty string"
    return type(value).__name__


def convert(value: Any, kind: FieldKind) -> Any:
    """Convert one raw value to the field's kind; raises ValueError with a short reason when it cannot."""
    if kind == "text":
        if value is None or isinstance(value, str):
            return value
        raise ValueError(f"expected a string, got {kind_of(value)}")
    if isinstance(value, bool):
        raise ValueError(f"expected {'an id' if kind == 'id' else 'a time'}, got a boolean")
    if kind == "id":
        if isinstance(value, int) or (isinstance(value, str) and value):
            return str(value)
        raise ValueError(f"expected a non-empty id, got {kind_of(value)}")
    seconds = to_seconds(value)
    if seconds is None:
        raise ValueError(f"expected {TIME_FORMATS}, got {kind_of(value)}")
    if not INT64_MIN <= seconds <= INT64_MAX:  # columns are int64 (a timestamp of 10**30 is no time)
        raise ValueError("integer out of the 64-bit range")
    return seconds


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


TIME_FORMATS = "integer epoch seconds or an ISO 8601 date (2016-03-01, 2016-03-01T12:00:00; UTC without an offset)"


def to_seconds(value: Any) -> int | None:
    """`value` as epoch seconds: an integer (see `to_integer`) or an ISO 8601 date or date-time, else None.

    Logs exported from spreadsheets and databases write dates, not epoch seconds; a time without an offset is UTC,
    so the same file gives the same seconds on every machine.
    """
    integer = to_integer(value)
    if integer is not None or not isinstance(value, str):
        return integer
    text = value.strip()
    try:  # "Z" is spelled out for Python 3.10, whose fromisoformat does not read it
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def to_integer(value: Any) -> int | None:
    """`value` as an integer (from an int, a whole float, or text such as "881250949" or "881250949.0"), or None."""
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            number = float(value)  # "881250949.0" in RecBole files
        except ValueError:
            return None
        return int(number) if number.is_integer() else None
    return None


def append_row(
    builder: "ColumnBuilder",
    report: LineReport,
    lineno: int,
    fields: tuple[Field, ...],
    value_of: Callable[[Field], Any],
    what: str,
) -> None:
    """Converts one record's fields and appends them, or counts the line as bad (naming the `what` at fault)."""
    row = {}
    for f in fields:
        try:
            row[f.name] = convert(value_of(f), f.kind)
        except ValueError as error:
            report.bad(lineno, f"{what} {f.key!r}: {error}")
            return
    builder.append(row)
    report.rows += 1


class ColumnBuilder:
    """Accumulates converted rows into compact columns: ids interned to int32 codes, integers in int64 arrays."""

    def __init__(self, fields: tuple[Field, ...]) -> None:
        self.fields = fields
        self._codes = {f.name: array("i") for f in fields if f.kind == "id"}
        self._vocab: dict[str, dict[str, int]] = {f.name: {} for f in fields if f.kind == "id"}
        self._ints = {f.name: array("q") for f in fields if f.kind == "time"}
        self._texts: dict[str, list[str | None]] = {f.name: [] for f in fields if f.kind == "text"}

    def append(self, row: dict[str, Any]) -> None:
        """Append one row of already converted values (keyed by field name)."""
        for name, codes in self._codes.items():
            vocab = self._vocab[name]
            codes.append(vocab.setdefault(row[name], len(vocab)))
        for name, ints in self._ints.items():
            ints.append(row[name])
        for name, texts in self._texts.items():
            texts.append(row[name])

    def frame(self) -> pd.DataFrame:
        """The rows so far: ids as pandas categoricals, integers as int64, texts as objects (None = missing)."""
        columns: dict[str, Any] = {}
        for f in self.fields:
            if f.kind == "id":
                codes = np.array(self._codes[f.name], dtype=np.int32)
                categories = pd.Index(list(self._vocab[f.name]), dtype=object)
                columns[f.name] = pd.Categorical.from_codes(codes, categories=categories)
            elif f.kind == "time":
                columns[f.name] = np.array(self._ints[f.name], dtype=np.int64)
            else:
                columns[f.name] = pd.Series(self._texts[f.name], dtype=object)
        return pd.DataFrame(columns)


def check_columns(path: Path, present: Iterable[Any], fields: tuple[Field, ...], where: str, schema: bool) -> None:
    """Raise a ValueError naming the file and every column absent from `present`.

    A header or schema (`schema`) must name every field, the title too: a misspelt --title-col would otherwise leave
    every item untitled. A JSON record may lack its title (an untitled item), so there only ids and time are required.
    """
    present = set(present)
    missing = [f.key for f in fields if (schema or f.required) and f.key not in present]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing} ({where} has {sorted(map(str, present))}); "
            "set the column names with --user-col/--item-col/--time-col/--title-col."
        )


def frame_from_arrow(table: pa.Table, fields: tuple[Field, ...]) -> pd.DataFrame:
    """The same frame ColumnBuilder makes, from an Arrow table whose columns are named by the fields' keys."""
    columns: dict[str, Any] = {}
    for f in fields:
        values = table.column(str(f.key)).to_numpy(zero_copy_only=False)
        if f.kind == "id":
            codes, uniques = pd.factorize(values)
            columns[f.name] = pd.Categorical.from_codes(
                codes.astype(np.int32), categories=pd.Index(uniques, dtype=object)
            )
        else:
            columns[f.name] = values.astype(np.int64) if f.kind == "time" else pd.Series(values, dtype=object)
    return pd.DataFrame(columns)
