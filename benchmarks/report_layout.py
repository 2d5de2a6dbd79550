"""Markdown tables declared, not coded: which entries of a result file make the rows, and a template per column.

A template is a `str.format` string read against a result file: `{seconds:.3f}`, `{metrics[NDCG@10]:.4f}`. Beyond
Python's format specs:

- `{x:±}`: a `{"mean": .., "std": ..}` pair as "mean ± std" (the mean alone where std is null, blank where both are);
- `{x:each+.4f}`: every element of a list in that spec, joined by ", ";
- `{x:until:}`: a text up to its first ":" (any character after `until`);
- `{x:?.3f}`: x may be absent or null, and then the whole template is blank (so is a cell that needs it).

A cell is a template, a tuple of templates (the first that is not blank), or a function of the row (for what a
template cannot say). Numbers are printed as recorded (rounded for reading), never computed from anything but the file.
"""

import json
import string
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Cell = str | tuple[str, ...] | Callable[[Mapping], object]


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def table(header: list[str], rows: list[list]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join("" if cell is None else str(cell) for cell in row) + " |" for row in rows],
    ]


def mean_std(value: dict, digits: int = 4) -> str:
    """ "mean ± std", or the mean alone where there is no spread (one seed)."""
    if value.get("mean") is None:
        return ""
    spread = f" ± {value['std']:.{digits}f}" if value.get("std") is not None else ""
    return f"{value['mean']:.{digits}f}{spread}"


class Blank(Exception):
    """An optional field (`?`) is absent: the template it stands in renders blank."""


@dataclass(frozen=True)
class Absent:
    field: str


class TemplateFormatter(string.Formatter):
    """`str.format` with the specs of this module's docstring."""

    def get_field(self, field_name: str, args, kwargs) -> tuple[object, str]:
        try:
            return super().get_field(field_name, args, kwargs)
        except (KeyError, IndexError, TypeError):  # TypeError: indexing a null
            return Absent(field_name), field_name

    def format_field(self, value: object, spec: str) -> str:
        optional, spec = spec.startswith("?"), spec.removeprefix("?")
        if optional and (value is None or isinstance(value, Absent)):
            raise Blank
        if isinstance(value, Absent):
            raise KeyError(f"the file has no {value.field!r}")
        if spec.startswith("each"):
            return ", ".join(self.format_field(element, spec.removeprefix("each")) for element in value)
        if spec.startswith("until"):
            return value.split(spec.removeprefix("until"))[0]
        if spec == "±":
            return mean_std(value)
        return format(value, spec)


FORMATTER = TemplateFormatter()


def fill(cell: Cell, context: Mapping) -> str:
    """A cell's text for one row (or a header's or note's for the whole file)."""
    if callable(cell):
        return str(cell(context))
    if isinstance(cell, tuple):
        return next((text for template in cell if (text := fill(template, context))), "")
    try:
        return FORMATTER.vformat(cell, (), context)
    except Blank:
        return ""


def document_context(document: Any, computed: Mapping[str, Callable[[Any], object]]) -> Mapping:
    """What the headers and notes read: the computed values, then the file's own fields."""
    return ChainMap({name: compute(document) for name, compute in computed.items()}, document)


@dataclass(frozen=True)
class EntryTable:
    """A table with one row per entry of a collection in each file.

    `rows`: the dotted path of that collection, a list or an object ("" for the file itself; None: the whole file is
    one row). `keys`: only these entries of an object, in this order. A row's templates read `key` (the entry's key or
    index), `entry` (the entry itself), then the entry's fields, then the file's. `columns`: header template -> cell.
    `notes`: templates of the lines under the table. `computed`: values derived from the file (defaults too), read
    like its fields. `failed`: the first cells of an entry that records an "error" instead of numbers. `read`: how a
    source becomes a file's value (e.g. a folder of result files into one object). Headers and notes read the first
    source; the rows of every source follow each other.
    """

    columns: Mapping[str, Cell]
    rows: str | None = ""
    keys: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    computed: Mapping[str, Callable[[Any], object]] = field(default_factory=dict)
    failed: tuple[str, ...] = ()
    read: Callable[[Path], Any] = read

    def __call__(self, paths: list[Path]) -> list[str]:
        return self.lines(*(self.read(path) for path in paths))

    def file(self, path: Path) -> list[str]:
        """The table of one source (where a table lists more sources for its provenance only)."""
        return self([path])

    def lines(self, *documents: Any) -> list[str]:
        """The table and its notes from the values of the sources."""
        contexts = [document_context(document, self.computed) for document in documents]
        header = [fill(template, contexts[0]) for template in self.columns]
        rows = [
            self.row(key, entry, context)
            for document, context in zip(documents, contexts)
            for key, entry in self.entries(document)
        ]
        return [*table(header, rows), *(line for note in self.notes for line in ("", fill(note, contexts[0])))]

    def entries(self, document: Any) -> Iterator[tuple[object, Any]]:
        if self.rows is None:
            yield None, document
            return
        collection = document
        for step in filter(None, self.rows.split(".")):
            collection = collection[step]
        if self.keys:
            yield from ((key, collection[key]) for key in self.keys)
        else:
            yield from collection.items() if isinstance(collection, Mapping) else enumerate(collection)

    def row(self, key: object, entry: Any, file: Mapping) -> list[str]:
        fields = entry if isinstance(entry, Mapping) else {}
        context = ChainMap({"key": key, "entry": entry}, fields, file)
        if "error" in fields and self.failed:
            cells = [fill(template, context) for template in self.failed]
            return cells + [""] * (len(self.columns) - len(cells))
        return [fill(cell, context) for cell in self.columns.values()]


@dataclass(frozen=True)
class LabelTable:
    """A two-column table of fixed rows read from one file: (label, value) templates; a blank value drops its row."""

    header: tuple[str, str]
    rows: tuple[tuple[str, str], ...]

    def __call__(self, paths: list[Path]) -> list[str]:
        document = read(paths[0])
        values = [(label, fill(value, document)) for label, value in self.rows]
        rows = [[fill(label, document), value] for label, value in values if value]
        return table([fill(cell, document) for cell in self.header], rows)
