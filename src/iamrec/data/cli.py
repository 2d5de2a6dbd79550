"""`iamrec prepare`: interaction log -> train/validation/test splits, item catalog and protocol.json."""

from __future__ import annotations

import argparse
import json
import sys

from .prepare import prepare_dataset
from .protocol import DEDUP_POLICIES, ProtocolConfig
from .readers import FORMATS, ColumnNames


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iamrec prepare",
        description="Apply the HatLLM/BIGRec data protocol (titles, k-core, sliding windows, split) to a log.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=["ml-100k"], help="an embedded dataset (ml-100k: from the recbole wheel)")
    source.add_argument("--format", choices=sorted(FORMATS), help="the layout of --interactions and --items")
    parser.add_argument("--interactions", nargs="+", default=[], metavar="FILE", help="interaction files (.gz or plain)")
    parser.add_argument("--items", nargs="+", default=[], metavar="FILE", help="item files with titles (.gz or plain)")
    parser.add_argument("--output-dir", required=True, help="where splits/, catalog/ and protocol.json go")
    for name, meaning in (("user", "user id"), ("item", "item id"), ("time", "timestamp"), ("title", "item title")):
        parser.add_argument(f"--{name}-col", help=f"column/key of the {meaning} (default: the format's)")
    defaults = ProtocolConfig()
    parser.add_argument("--k-core", type=int, default=defaults.k_core, help="minimum interactions per user and item")
    parser.add_argument("--max-history", type=int, default=defaults.max_history, help="history items per sample")
    parser.add_argument("--split", choices=["chronological", "loo"], default=defaults.split)
    parser.add_argument("--split-ratios", type=float, nargs=3, default=defaults.split_ratios, metavar=("TRAIN", "VAL", "TEST"))
    parser.add_argument("--dedup", choices=DEDUP_POLICIES, default=defaults.dedup,
                        help="consecutive (default): drop a repeat of the user's previous item (log noise); none: keep "
                             "all; first/last: keep one interaction per (user, item), the earliest/latest")
    parser.add_argument("--strict", action="store_true", help="stop at the first unparsable line instead of skipping it")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output-dir")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `iamrec prepare`; prints the statistics, returns 0 on success and 1 on a data error."""
    args = build_parser().parse_args(argv)
    try:
        prepared = prepare_dataset(
            args.output_dir,
            args.dataset,
            format=args.format,
            interactions=args.interactions,
            items=args.items,
            columns=ColumnNames(*names) if any(names := (args.user_col, args.item_col, args.time_col, args.title_col)) else None,
            config=ProtocolConfig(args.k_core, args.max_history, args.split, tuple(args.split_ratios), args.dedup),
            strict=args.strict,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    except (ValueError, FileNotFoundError, FileExistsError, ModuleNotFoundError) as error:
        print(f"iamrec prepare: error: {error}", file=sys.stderr)
        return 1
    stats = {key: value for key, value in prepared.protocol["statistics"].items() if key != "steps"}
    print(json.dumps(stats, indent=2))
    return 0
