"""JSON-lines sources (the Amazon review dumps): a pyarrow fast path for clean files, a line-by-line path that
names every bad line.

The fast path parses only the wanted keys in C++ and ignores the rest (review texts, image lists), which is
what keeps a multi-million-line dump fast and small. Any doubt (a parse error, a missing or empty id, a value
of another type) sends the file to the line-by-line path, which decides what is kept and reports file:line.
"""

import ast
import gzip
import json
import zlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from tqdm.auto import tqdm

from . import parsing
from .parsing import Field, LineReport

_ARROW_TYPES = {"id": pa.string(), "time": pa.int64(), "text": pa.string()}


def read_json_lines(
    path: Path, fields: tuple[Field, ...], report: LineReport, *, python_literals: bool = False, progress: bool = True
) -> pd.DataFrame:
    """Read `fields` from a file of one JSON object (or, with `python_literals`, one Python dict literal) per line."""
    frame = None if python_literals else _read_with_arrow(path, fields, progress)
    if frame is None:
        frame = _read_line_by_line(path, fields, report, python_literals, progress)
    else:
        report.rows = len(frame)
    return frame


def _read_with_arrow(path: Path, fields: tuple[Field, ...], progress: bool) -> pd.DataFrame | None:
    """The whole file through pyarrow, or None when any line needs the careful path."""
    schema = pa.schema([(str(f.key), _ARROW_TYPES[f.kind]) for f in fields])
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    batches = []
    try:
        reader = pj.open_json(path, read_options=pj.ReadOptions(block_size=1 << 22), parse_options=options)
        with tqdm(desc=f"reading {path.name}", unit=" lines", disable=not progress, leave=False) as bar:
            for batch in reader:
                batches.append(batch)
                bar.update(batch.num_rows)
    except pa.ArrowException:
        return None
    table = pa.Table.from_batches(batches, schema=schema)
    for f in fields:
        column = table.column(str(f.key))
        if f.required and column.null_count:
            return None
        if f.kind == "id" and pc.any(pc.equal(column, "")).as_py():
            return None
    return parsing.frame_from_arrow(table, fields)


def _read_line_by_line(
    path: Path, fields: tuple[Field, ...], report: LineReport, python_literals: bool, progress: bool
) -> pd.DataFrame:
    builder = parsing.ColumnBuilder(fields)
    kind = "Python literal" if python_literals else "JSON"
    checked_columns = False
    lineno = 0
    with parsing.open_binary(path) as handle:
        try:
            for lineno, raw in parsing.with_progress(enumerate(handle, 1), path, progress):
                if not raw.strip():
                    continue
                try:
                    record = ast.literal_eval(raw.decode("utf-8")) if python_literals else json.loads(raw)
                except (ValueError, SyntaxError, RecursionError, MemoryError) as error:
                    report.bad(lineno, f"unparsable {kind} ({type(error).__name__})")
                    continue
                if not isinstance(record, dict):
                    report.bad(lineno, f"not an object but {type(record).__name__}")
                    continue
                if not checked_columns:
                    parsing.check_columns(path, record.keys(), fields, where=f"line {lineno}", schema=False)
                    checked_columns = True
                missing = next((f.key for f in fields if f.required and f.key not in record), None)
                if missing is not None:
                    report.bad(lineno, f"missing key {missing!r}")
                    continue
                parsing.append_row(builder, report, lineno, fields, lambda f: record.get(f.key), "key")
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise ValueError(f"{path}: corrupt compressed data after line {lineno}: {error}.") from error
    return builder.frame()
