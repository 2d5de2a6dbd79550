"""Who each split speaks for: its users, examples, time span and how much its most active users weigh.

A chronological cut of a long log can leave validation and test to a few users active at its end (MovieLens
latest-small: 84 test users, the top 5 holding 30% of the test examples), and metrics on such a split say more about
those users than about the model; `prepare` reports it and warns.
"""

import collections
import logging
from typing import Any

import numpy as np
import pyarrow as pa

logger = logging.getLogger(__name__)

MIN_USERS = 100
"""A split with fewer users is warned about: each user then weighs more than 1% of its metrics on average."""
MAX_TOP5_SHARE = 0.25
"""A split whose 5 most active users hold more than this share of its examples is warned about (ML-100K's
chronological test split: 17.8%)."""


def split_statistics(table: pa.Table) -> dict[str, Any]:
    """Users, examples, the dates of the first and last target (UTC) and the share of the 5 most active users."""
    users = table.column("user").to_pylist()
    times = table.column("timestamp").to_numpy()
    counts = collections.Counter(users)
    return {
        "users": len(counts),
        "examples": len(users),
        "first_date": _date(times.min()) if len(times) else None,
        "last_date": _date(times.max()) if len(times) else None,
        "top5_users_share": round(sum(n for _, n in counts.most_common(5)) / len(users), 4) if users else 0.0,
    }


def _date(seconds: np.int64) -> str:
    """A day as ISO 8601 text, for any int64 of seconds (numpy's range is wider than datetime's)."""
    return str(np.datetime64(int(seconds), "s").astype("datetime64[D]"))


def split_warnings(statistics: dict[str, dict[str, Any]], split: str) -> list[str]:
    """One warning per evaluated split (not `train`) whose users are few or concentrated (`MIN_USERS`,
    `MAX_TOP5_SHARE`)."""
    remedy = (
        "--split loo puts every user's last target in test and the one before in validation"
        if split == "chronological"
        else "more data, or a smaller --k_core, gives it more users"
    )
    warnings = []
    for name, numbers in statistics.items():
        if name == "train":
            continue
        problems = []
        if numbers["users"] < MIN_USERS:
            problems.append(f"only {numbers['users']} user{'s' * (numbers['users'] != 1)} (fewer than {MIN_USERS})")
        if numbers["top5_users_share"] > MAX_TOP5_SHARE:
            problems.append(
                f"its 5 most active users hold {numbers['top5_users_share']:.0%} of its {numbers['examples']:,} "
                f"examples (more than {MAX_TOP5_SHARE:.0%})"
            )
        if problems:
            problem = " and ".join(problems)
            warnings.append(f"The {name} split has {problem}: its metrics speak for few users; {remedy}.")
    return warnings


def report_splits(splits: dict[str, pa.Table], split: str) -> dict[str, dict[str, Any]]:
    """The statistics of every split, with a logged warning for each split of few or concentrated users."""
    statistics = {name: split_statistics(table) for name, table in splits.items()}
    for warning in split_warnings(statistics, split):
        logger.warning(warning)
    return statistics
