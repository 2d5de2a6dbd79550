"""The data protocol of HatLLM and BIGRec (README, "Data protocol"): titles, repeats, k-core, ids, windows, splits.

Everything runs on integer codes with vectorised numpy, so a log of millions of interactions costs seconds.
Ties are broken by raw ids, never by input order, so shuffling the input files changes nothing.
"""

import html
import logging
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from .cold_start import pick_cold_items, split_cold
from .duplicates import DUPLICATE_TITLE_POLICIES, disambiguate_titles
from .raw_ids import ID_ORDERS, resolved_order, sort_order
from .split_report import report_splits

SPLITS = ("train", "validation", "test")
DEDUP_POLICIES = ("consecutive", "none", "first", "last")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProtocolConfig:
    """Every choice that changes the prepared data; all of it is written to protocol.json.

    k_core: users and items with fewer interactions are removed, repeatedly, until none is left (1 keeps all).
    max_history: at most this many previous items per sample (HatLLM: a sliding window of 11 = 10 + target).
    split: "chronological" (samples sorted by target time, cut by `split_ratios`; HatLLM/BIGRec) or "loo"
        (leave-one-out per user: last target -> test, second last -> validation; RecBole/HLLM).
    dedup: repeated interactions. "consecutive" (the default) drops an interaction that repeats the user's previous
        item, such as a row written twice or a double click: that is log noise, and kept it makes "the last item again"
        a frequent, trivial target. "none" keeps all; "first"/"last" keep only the earliest/latest (user, item) one.
    id_order: "numeric" (the default) sorts raw ids by number when every one is an integer (MovieLens' 1, 2, ..., 10),
        else as text; "text" always as text, as folders prepared before the numeric order were. Item ids follow this
        order, and so do the tie-breaks by item and by user.
    duplicate_titles: items that share a title after the k-core. "keep" (the default, the papers' protocol) keeps the
        titles and warns, naming examples: the prompt cannot tell such items apart. "raw_id" appends each one's raw id
        ("Hamlet (item 1411)").
    cold_items_fraction: 0 (the default) is off. Otherwise that share of the items that are targets becomes cold,
        drawn at random with `cold_items_seed`: no training or validation example has a cold target (histories still
        mention cold items), and the test examples with a cold target move from `test` to a `test_cold` split
        (see `cold_start.split_cold`). The cold item ids are written to protocol.json.
    """

    k_core: int = 5
    max_history: int = 10
    split: Literal["chronological", "loo"] = "chronological"
    split_ratios: tuple[float, float, float] = (8, 1, 1)
    dedup: Literal["none", "consecutive", "first", "last"] = "consecutive"
    cold_items_fraction: float = 0.0
    cold_items_seed: int = 0
    id_order: Literal["numeric", "text"] = "numeric"
    duplicate_titles: Literal["keep", "raw_id"] = "keep"

    def __post_init__(self) -> None:
        object.__setattr__(self, "split_ratios", tuple(self.split_ratios))
        if self.k_core < 1:
            raise ValueError(f"ProtocolConfig.k_core must be >= 1, got {self.k_core}.")
        if self.max_history < 1:
            raise ValueError(f"ProtocolConfig.max_history must be >= 1, got {self.max_history}.")
        if self.split not in ("chronological", "loo"):
            raise ValueError(f"ProtocolConfig.split must be 'chronological' or 'loo', got {self.split!r}.")
        ratios = self.split_ratios
        if len(ratios) != 3 or ratios[0] <= 0 or min(ratios) < 0:
            raise ValueError(
                f"ProtocolConfig.split_ratios must be 3 numbers (train > 0, validation, test >= 0), got {ratios}."
            )
        if self.dedup not in DEDUP_POLICIES:
            raise ValueError(f"ProtocolConfig.dedup must be one of {list(DEDUP_POLICIES)}, got {self.dedup!r}.")
        if self.id_order not in ID_ORDERS:
            raise ValueError(f"ProtocolConfig.id_order must be one of {list(ID_ORDERS)}, got {self.id_order!r}.")
        if self.duplicate_titles not in DUPLICATE_TITLE_POLICIES:
            raise ValueError(
                f"ProtocolConfig.duplicate_titles must be one of {list(DUPLICATE_TITLE_POLICIES)}, "
                f"got {self.duplicate_titles!r}."
            )
        if not 0 <= self.cold_items_fraction < 1:
            raise ValueError(
                f"ProtocolConfig.cold_items_fraction must be in [0, 1) (0: off), got {self.cold_items_fraction}."
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings; without the cold-start ones when it is off, so protocol.json stays as it was before them."""
        values = {**asdict(self), "split_ratios": list(self.split_ratios)}
        if not self.cold_items_fraction:
            del values["cold_items_fraction"], values["cold_items_seed"]
        return values


@dataclass
class Log:
    """Interactions as codes into `users` / `items` (arrays of raw id strings)."""

    user: np.ndarray
    item: np.ndarray
    timestamp: np.ndarray
    users: np.ndarray
    items: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "Log":
        user, item = frame["user"].array, frame["item"].array
        return cls(
            user.codes.astype(np.int64),
            item.codes.astype(np.int64),
            frame["timestamp"].to_numpy(np.int64),
            user.categories.to_numpy(dtype=object),
            item.categories.to_numpy(dtype=object),
        )

    def __len__(self) -> int:
        return len(self.user)

    def take(self, rows: np.ndarray) -> "Log":
        return Log(self.user[rows], self.item[rows], self.timestamp[rows], self.users, self.items)

    def counts(self) -> dict[str, int]:
        return {
            "users": int(np.count_nonzero(np.bincount(self.user, minlength=len(self.users)))),
            "items": int(np.count_nonzero(np.bincount(self.item, minlength=len(self.items)))),
            "interactions": len(self),
        }


def clean_titles(items: pd.DataFrame) -> pd.Series:
    """Titles by raw item id: HTML-unescaped, stripped, empty ones (nothing visible: only spaces, zero-width or
    control characters) dropped.

    An id listed more than once keeps its smallest title, so the order of the input lines does not matter.
    """
    titles = items["title"].astype(object)
    has_title = titles.map(lambda t: isinstance(t, str)).to_numpy(dtype=bool)
    cleaned = pd.DataFrame(
        {
            "item": items["item"].astype(object).to_numpy()[has_title],
            "title": [(html.unescape(t) if "&" in t else t).strip() for t in titles.to_numpy()[has_title]],
        }
    )
    cleaned = cleaned[cleaned["title"].map(is_visible).to_numpy(dtype=bool)].sort_values(
        ["item", "title"], kind="stable"
    )
    cleaned = cleaned.drop_duplicates("item", keep="first")
    return pd.Series(cleaned["title"].to_numpy(), index=pd.Index(cleaned["item"].to_numpy(), dtype=object))


def is_visible(title: str) -> bool:
    """Whether a stripped title shows anything: a zero-width space (U+200B) or joiner alone is no title."""
    return any(not character.isspace() and unicodedata.category(character) not in INVISIBLE for character in title)


INVISIBLE = ("Cc", "Cf")
"""Control and format characters (U+200B-U+200D, U+2060, U+FEFF, bidirectional marks)."""


def keep_titled(log: Log, titled: pd.Index) -> Log:
    """Drop interactions whose item has no title in the catalog."""
    titled_codes = np.asarray(pd.Index(log.items).isin(titled))
    return log.take(titled_codes[log.item])


def consecutive_repeats(log: Log, numeric_items: bool) -> np.ndarray:
    """Rows (a mask in log order) whose item equals the user's previous one, in the protocol's (time, item id) order."""
    item_rank = np.argsort(sort_order(log.items, numeric_items))  # raw-id order, as the final ids
    order = np.lexsort((item_rank[log.item], log.timestamp, log.user))
    user, item = log.user[order], log.item[order]
    repeat = np.zeros(len(order), dtype=bool)
    repeat[order[1:]] = (user[1:] == user[:-1]) & (item[1:] == item[:-1])
    return repeat


def deduplicate(log: Log, keep: Literal["first", "last"]) -> Log:
    """One interaction per (user, item): the earliest ("first") or the latest ("last")."""
    order = np.lexsort((log.timestamp, log.item, log.user))
    user, item = log.user[order], log.item[order]
    new_pair = np.ones(len(order), dtype=bool)
    new_pair[1:] = (user[1:] != user[:-1]) | (item[1:] != item[:-1])
    chosen = new_pair if keep == "first" else np.append(new_pair[1:], True)
    return log.take(np.sort(order[chosen]))


def k_core(log: Log, k: int) -> tuple[Log, int]:
    """Remove users and items with fewer than k interactions until every one left has at least k.

    Returns the filtered log and the number of removal rounds (0 when the input already was a k-core).
    """
    rounds = 0
    while len(log):
        user_counts = np.bincount(log.user, minlength=len(log.users))
        item_counts = np.bincount(log.item, minlength=len(log.items))
        keep = (user_counts[log.user] >= k) & (item_counts[log.item] >= k)
        if keep.all():
            break
        log = log.take(keep)
        rounds += 1
    return log, rounds


def _ranks(codes: np.ndarray, names: np.ndarray, numeric: bool) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids for the codes in use, in the sorted order of their raw names: (id per code, sorted names)."""
    used = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    order = sort_order(names[used], numeric)
    rank = np.full(len(names), -1, dtype=np.int64)
    rank[used[order]] = np.arange(len(used))
    return rank, names[used[order]]


@dataclass
class Windows:
    """Samples in their final order: user names, history lists (oldest first), targets and target times."""

    users: np.ndarray
    history_offsets: np.ndarray
    history_values: np.ndarray
    target: np.ndarray
    timestamp: np.ndarray
    user_rank: np.ndarray
    position: np.ndarray

    def table(self, rows: np.ndarray) -> pa.Table:
        """The Arrow table of the samples at `rows` (ascending), with the column contract of the splits."""
        lengths = np.diff(self.history_offsets)[rows]
        starts = self.history_offsets[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        values = self.history_values[_ranges(starts, lengths)]
        return pa.table(
            {
                "user": pa.array(self.users[self.user_rank[rows]], type=pa.string()),
                "history": pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values, pa.int64())),
                "target": pa.array(self.target[rows], pa.int64()),
                "timestamp": pa.array(self.timestamp[rows], pa.int64()),
            }
        )


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + n) for every (s, n), without a Python loop."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total)


def sliding_windows(
    user: np.ndarray, item: np.ndarray, timestamp: np.ndarray, users: np.ndarray, max_history: int
) -> Windows:
    """Every interaction after a user's first is a target; its history is up to `max_history` previous items.

    Inputs are sorted by (user, time, item). Samples come out sorted by (target time, user, position in the
    user's sequence), the order the chronological split cuts.
    """
    n = len(user)
    first = np.ones(n, dtype=bool)
    first[1:] = user[1:] != user[:-1]
    start_of = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    position = np.arange(n) - start_of
    targets = np.flatnonzero(position > 0)
    targets = targets[np.lexsort((targets, user[targets], timestamp[targets]))]
    lengths = np.minimum(position[targets], max_history)
    offsets = np.zeros(len(targets) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Windows(
        users=users,
        history_offsets=offsets,
        history_values=item[_ranges(targets - lengths, lengths)],
        target=item[targets],
        timestamp=timestamp[targets],
        user_rank=user[targets],
        position=position[targets],
    )


def split_rows(windows: Windows, config: ProtocolConfig) -> dict[str, np.ndarray]:
    """Row numbers of each split, each ascending (so every split stays in (time, user, position) order)."""
    n = len(windows.target)
    if config.split == "chronological":
        ratios = np.asarray(config.split_ratios, dtype=float)
        cuts = np.floor(np.cumsum(ratios)[:2] / ratios.sum() * n).astype(np.int64)
        rows = np.arange(n)
        return dict(zip(SPLITS, (rows[: cuts[0]], rows[cuts[0] : cuts[1]], rows[cuts[1] :])))
    # Leave-one-out: rank each sample from the end of its user's sequence.
    last_position = np.zeros(len(windows.users), dtype=np.int64)
    np.maximum.at(last_position, windows.user_rank, windows.position)
    from_end = last_position[windows.user_rank] - windows.position
    return {
        "train": np.flatnonzero(from_end >= 2),
        "validation": np.flatnonzero(from_end == 1),
        "test": np.flatnonzero(from_end == 0),
    }


@dataclass
class ProtocolResult:
    """What the protocol produces before it is written: split tables, the catalog and the statistics."""

    splits: dict[str, pa.Table]
    catalog: pa.Table
    statistics: dict[str, Any]
    cold_items: list[int] | None = None  # item ids, with the cold-start option


def run_protocol(
    interactions: pd.DataFrame, items: pd.DataFrame, config: ProtocolConfig, *, progress: bool = True
) -> ProtocolResult:
    """Apply the protocol to a read source; raises ValueError naming the step that left nothing."""
    steps: list[dict[str, Any]] = []
    bar = tqdm(
        total=7 + bool(config.cold_items_fraction), desc="protocol", unit=" steps", disable=not progress, leave=False
    )

    def record(step: str, log: Log, **extra: Any) -> None:
        steps.append({"step": step, **log.counts(), **extra})
        bar.set_postfix_str(f"{step}: {len(log):,} interactions")
        bar.update(1)

    def require(log: Log, step: str, hint: str) -> None:
        if not len(log):
            raise ValueError(f"No interaction is left after step {step!r}: {hint}")

    log = Log.from_frame(interactions)
    record("read", log, item_rows=len(items))
    titles = clean_titles(items)
    if titles.empty:
        raise ValueError(
            f"The catalog is empty after step 'titles': none of the {len(items):,} item rows has a non-empty title "
            "(after html.unescape and strip); check the title column (--title-col)."
        )
    read = log
    log = keep_titled(log, titles.index)
    untitled = read.counts()["items"] - log.counts()["items"]
    if untitled:
        logger.warning(
            "%d item(s) of the interactions have no title in the item files and are dropped, with their %d "
            "interaction(s).",
            untitled,
            len(read) - len(log),
        )
    record(
        "titles",
        log,
        titled_items=len(titles),
        repeated_item_rows=int(items["item"].duplicated().sum()),
        untitled_items=untitled,
    )
    require(
        log,
        "titles",
        f"no interaction refers to one of the {len(titles):,} titled items; do the item ids of the two files match?",
    )
    id_orders = {
        "items": resolved_order(log.items[np.unique(log.item)], config.id_order),
        "users": resolved_order(log.users[np.unique(log.user)], config.id_order),
    }
    numeric_items, numeric_users = (id_orders[kind] == "numeric" for kind in ("items", "users"))
    repeats = consecutive_repeats(log, numeric_items)
    if config.dedup == "consecutive":
        log = log.take(~repeats)
    elif config.dedup != "none":
        log = deduplicate(log, config.dedup)
    if repeats.any():
        done = (
            "kept (--dedup consecutive drops them)" if config.dedup == "none" else f"handled by --dedup {config.dedup}"
        )
        logger.warning(
            "%d interaction(s) repeat the user's previous item (rows written twice?): %s", int(repeats.sum()), done
        )
    record("dedup", log, policy=config.dedup, consecutive_repeats=int(repeats.sum()))
    log, rounds = k_core(log, config.k_core)
    record("k_core", log, k=config.k_core, rounds=rounds)
    require(log, "k_core", f"the data is too sparse for a {config.k_core}-core; try a smaller --k-core.")

    user_rank, user_names = _ranks(log.user, log.users, numeric_users)
    item_rank, item_names = _ranks(log.item, log.items, numeric_items)
    user, item = user_rank[log.user], item_rank[log.item]
    order = np.lexsort((item, log.timestamp, user))
    record("ids", log)
    windows = sliding_windows(user[order], item[order], log.timestamp[order], user_names, config.max_history)
    if not len(windows.target):
        raise ValueError("No sample after step 'windows': every user has a single interaction.")
    record("windows", log, samples=len(windows.target))
    rows = split_rows(windows, config)
    record("split", log, **{name: len(split) for name, split in rows.items()})
    cold_items = None
    if config.cold_items_fraction:
        cold_items = pick_cold_items(windows.target, config.cold_items_fraction, config.cold_items_seed)
        rows = split_cold(rows, windows.target, cold_items)
        record("cold_items", log, cold_items=len(cold_items), **{name: len(split) for name, split in rows.items()})
    splits = {name: windows.table(split) for name, split in rows.items()}
    bar.close()

    catalog_titles, duplicates = disambiguate_titles(
        titles.loc[item_names].to_numpy(), item_names, config.duplicate_titles
    )
    catalog = pa.table(
        {
            "item_id": pa.array(np.arange(len(item_names)), pa.int64()),
            "raw_id": pa.array(item_names, pa.string()),
            "title": pa.array(catalog_titles, pa.string()),
        }
    )
    counts = log.counts()
    statistics = {
        **counts,
        "density": counts["interactions"] / (counts["users"] * counts["items"]),
        "samples": {name: table.num_rows for name, table in splits.items()},
        "splits": report_splits(splits, config.split),
        "id_order": id_orders,
        "duplicate_titles": duplicates,
        "steps": steps,
    }
    return ProtocolResult(splits, catalog, statistics, None if cold_items is None else cold_items.tolist())
