"""Preparing a dataset end to end (read, protocol, atomic save) and loading a prepared one."""

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from ..atomic import check_replaceable, staged_dir
from ..folder_checks import check_prepared_dir, json_kind, read_json_object
from ..folders import CATALOG_DIR, PROTOCOL_FILE, SPLITS_DIR
from .cold_start import COLD_SPLIT
from .embedded import embedded_source
from .formats import ColumnNames, Source, read_source, source_format
from .protocol import SPLITS, ProtocolConfig, ProtocolResult, run_protocol

PROTOCOL_VERSION = 2
"""2: raw ids sorted by number when all are integers (`id_order`), shared titles counted (`duplicate_titles`)."""


@dataclass
class PreparedDataset:
    """A prepared dataset: the splits, the item catalog (row i is item i), the protocol and titles by item id."""

    splits: datasets.DatasetDict
    catalog: datasets.Dataset
    protocol: dict[str, Any]
    titles: list[str]


def prepare_dataset(
    output_dir: str | os.PathLike,
    dataset: str | None = None,
    *,
    format: str | None = None,
    interactions: Sequence[str | os.PathLike] = (),
    items: Sequence[str | os.PathLike] = (),
    columns: ColumnNames | None = None,
    config: ProtocolConfig | None = None,
    strict: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> PreparedDataset:
    """Turn an interaction log into train/validation/test samples and a catalog, written atomically to `output_dir`.

    Give either `dataset` (an embedded one, `EMBEDDED`: "ml-100k", "ml-latest-small") or `format` with `interactions`
    and `items` files.
    """
    if (dataset is None) == (format is None) or (dataset and (interactions or items or columns)):
        raise ValueError("Give either dataset= (an embedded dataset) or format= with interactions= and items= files.")
    source = (
        embedded_source(dataset)
        if dataset
        else Source(format, tuple(interactions), tuple(items), columns or ColumnNames())
    )
    config = config or ProtocolConfig()
    output = Path(output_dir)
    _check_writable(output, overwrite)
    raw = read_source(source, strict=strict, progress=progress)
    result = run_protocol(raw.interactions, raw.items, config, progress=progress)
    _check_splits(result, config)
    reports = [report.as_dict() for report in raw.reports]
    protocol = {
        "protocol_version": PROTOCOL_VERSION,
        "dataset": dataset,
        "format": source.format,
        "columns": {
            role: {f.name: f.key for f in fields}
            for role, fields in zip(("interactions", "items"), source_format(source.format).fields(source.columns))
        },
        "source_files": reports,
        "settings": {
            **config.to_dict(),
            "title_cleaning": "html.unescape, strip; items without a non-empty title are dropped; "
            "an item id listed more than once keeps its smallest title",
            "item_ids": "0..N-1 in the sorted order of the raw item ids of the items left: by number when every one "
            "is an integer and id_order is numeric, else as text (statistics.id_order says which)",
            "user_sequence_order": "(timestamp, item id)",
            "sample_order": "(target timestamp, user raw id, position in the user's sequence)",
            "timestamps": "seconds",
            **(
                {
                    "cold_items": "a share of the target items, drawn with the seed: never a train or validation "
                    "target (histories may hold them); their test examples form test_cold, test keeps warm targets"
                }
                if result.cold_items is not None
                else {}
            ),
        },
        **({"cold_items": result.cold_items} if result.cold_items is not None else {}),
        "statistics": {
            **result.statistics,
            "skipped_lines": sum(r["skipped"] for r in reports),
            "first_skipped_line": next((r["first_bad"] for r in reports if r["first_bad"]), None),
        },
    }
    _write_atomically(output, result, protocol, overwrite, progress)
    return load_prepared(output)


def _check_writable(output: Path, overwrite: bool) -> None:
    check_replaceable(output)
    if output.exists() and not output.is_dir():
        raise FileExistsError(f"{output} exists and is not a directory.")
    if output.is_dir() and any(output.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{output} exists and is not empty; pass overwrite=True (--overwrite) to replace it.")
        if not (output / PROTOCOL_FILE).is_file():
            raise FileExistsError(
                f"{output} is not a prepared dataset (it has no {PROTOCOL_FILE}), so --overwrite will not replace it "
                "and delete its files; choose another output folder."
            )


def _check_splits(result: ProtocolResult, config: ProtocolConfig) -> None:
    """Refuses, before anything is written, a split with no sample: it could be neither saved nor trained on."""
    sizes = result.statistics["samples"]
    empty = [name for name in result.splits if not sizes[name]]
    if empty:
        setting = (
            f"--split-ratios {' '.join(f'{r:g}' for r in config.split_ratios)}"
            if config.split == "chronological"
            else "--split loo"
        )
        raise ValueError(
            f"The {empty[0]} split would be empty ({sum(sizes.values()):,} samples in all under {setting}); every "
            "split needs samples: give each split a share, or use more data or a smaller --k-core."
        )


def _write_atomically(
    output: Path, result: ProtocolResult, protocol: dict[str, Any], overwrite: bool, progress: bool
) -> None:
    """Build everything in a temporary directory beside `output`, then rename it into place."""
    # The check runs again just before the swap: another process may have written `output` meanwhile.
    with staged_dir(output, before_replace=lambda: _check_writable(output, overwrite)) as staging:
        _save(result, staging, progress)
        (staging / PROTOCOL_FILE).write_text(
            json.dumps(protocol, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def _save(result: ProtocolResult, folder: Path, progress: bool) -> None:
    """save_to_disk the splits and the catalog; datasets' own progress bars follow `progress`."""
    quiet = not progress and datasets.is_progress_bar_enabled()
    if quiet:
        datasets.disable_progress_bars()
    try:
        datasets.DatasetDict({name: datasets.Dataset(table) for name, table in result.splits.items()}).save_to_disk(
            str(folder / SPLITS_DIR)
        )
        datasets.Dataset(result.catalog).save_to_disk(str(folder / CATALOG_DIR))
    finally:
        if quiet:
            datasets.enable_progress_bars()


def load_prepared(path: str | os.PathLike) -> PreparedDataset:
    """Load what prepare_dataset wrote; a missing or incomplete directory is a clear error."""
    root = check_prepared_dir(Path(path))
    splits = datasets.load_from_disk(str(root / SPLITS_DIR))
    catalog = datasets.load_from_disk(str(root / CATALOG_DIR))
    if not isinstance(splits, datasets.DatasetDict) or set(splits) - {COLD_SPLIT} != set(SPLITS):
        raise ValueError(f"{root / SPLITS_DIR}: expected a DatasetDict with splits {list(SPLITS)} (and {COLD_SPLIT}).")
    protocol = read_json_object(root / PROTOCOL_FILE, "the protocol written by `iamrec prepare`")
    titles = catalog.data.column("title").to_pylist()
    check_cold_items(root / PROTOCOL_FILE, protocol.get("cold_items"), len(titles))
    return PreparedDataset(splits, catalog, protocol, titles)


def check_cold_items(path: Path, cold_items: object, num_items: int) -> None:
    """Refuses `cold_items` that are not item ids of the catalog: training and evaluation index with them."""
    if cold_items is None:
        return
    if not isinstance(cold_items, list):
        raise ValueError(f"{path}: 'cold_items' should be a list of item ids, got {json_kind(cold_items)}")
    odd = [item for item in cold_items if type(item) is not int]
    if odd:
        raise ValueError(f"{path}: 'cold_items' should hold item ids (whole numbers), got {json_kind(odd[0])}")
    outside = [item for item in cold_items if not 0 <= item < num_items]
    if outside:
        raise ValueError(f"{path}: 'cold_items' {outside[:5]} are not item ids of the {num_items}-item catalog")
