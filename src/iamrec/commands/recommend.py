"""`iamrec recommend`: the top-k catalog items for one history of titles or item ids."""

import json
import re
from collections.abc import Collection
from dataclasses import dataclass

from ..flags import flag
from . import Placement, parse_flags


@dataclass
class RecommendArguments:
    """Top-k recommendations for one history."""

    model: str = flag(help="A model folder written by `iamrec train`.")
    history: list[str] = flag(
        [],
        help="Items, oldest first: titles, or item ids written #42, mixed as you like (a catalog title that "
        "reads like '#42' stays a title).",
    )
    history_ids: list[int] = flag([], help="Item ids, oldest first (all ids).")
    k: int = flag(10, help="How many items to recommend.", aliases=["-k"])
    include_history: bool = flag(False, help="Allow recommending items of the history.")
    json: bool = flag(False, help="Print JSON instead of a table.")

    def __post_init__(self):
        if bool(self.history) == bool(self.history_ids):
            raise ValueError("give the history as either --history TITLE|#ID ... or --history-ids ID ...")
        if self.k < 1:
            raise ValueError(f"-k must be at least 1, got {self.k}")


def parse(argv: list[str]) -> tuple[RecommendArguments, Placement]:
    return parse_flags(argv, "iamrec recommend", RecommendArguments, Placement)


def run(arguments: tuple[RecommendArguments, Placement]) -> int:
    from ..inference import Recommender

    args, placement = arguments
    recommender = Recommender.from_pretrained(args.model, device=placement.device, dtype=placement.dtype)
    history = history_items(args.history, set(recommender.processor.titles)) if args.history else args.history_ids
    (items,) = recommender.recommend([history], k=args.k, exclude_history=not args.include_history)
    if args.json:
        print(json.dumps([item.__dict__ for item in items], indent=2))
    else:
        for rank, item in enumerate(items, 1):
            print(f"{rank:>3}. {escaped(item.title)}  (item {item.item_id}, score {item.score:.3f})")
    return 0


ITEM_ID = re.compile(r"#(\d+)")


def history_items(entries: list[str], titles: Collection[str]) -> list[str | int]:
    """`--history` entries as the processor takes them: `#42` is item id 42 unless the catalog has that title.

    A shell argument is always text, and many titles are numbers ("1917", "300"), so ids need a mark of their own.
    """
    items: list[str | int] = []
    for entry in entries:
        match = ITEM_ID.fullmatch(entry)
        items.append(int(match[1]) if match and entry not in titles else entry)
    return items


def escaped(title: str) -> str:
    """`title` with every control or format character written as an escape (`\\x1b`): a title from a data file
    could otherwise recolour the terminal or change its window title."""
    return "".join(
        character if character.isprintable() or character == " " else character.encode("unicode_escape").decode()
        for character in title
    )
