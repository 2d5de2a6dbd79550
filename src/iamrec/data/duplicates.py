"""Items that share a title: the prompt cannot tell them apart ("Hamlet" four times on MovieLens latest-small), so
`prepare` says so, and can make each title unique."""

import collections
import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

DUPLICATE_TITLE_POLICIES = ("keep", "raw_id")
"""`keep`: titles as they are, with a warning (the papers' protocol); `raw_id`: each shared title gets its item's raw
id appended, "Hamlet (item 1411)"."""
EXAMPLES = 5


def disambiguate_titles(titles: np.ndarray, raw_ids: np.ndarray, policy: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The catalog's titles under `policy`, and what was found: the titles several items share, and those items."""
    counts = collections.Counter(titles.tolist())
    shared = {title: count for title, count in counts.items() if count > 1}
    found = {"policy": policy, "titles": len(shared), "items": sum(shared.values())}
    if not shared:
        return titles, found
    examples = ", ".join(
        f"{title!r} x{count}"
        for title, count in sorted(shared.items(), key=lambda entry: (-entry[1], entry[0]))[:EXAMPLES]
    )
    if policy == "keep":
        logger.warning(
            "%d title(s) are shared by %d items (%s%s): the prompt cannot tell them apart; --duplicate_titles raw_id "
            "appends each one's raw id.",
            found["titles"],
            found["items"],
            examples,
            ", ..." if len(shared) > EXAMPLES else "",
        )
        return titles, found
    unique = np.array(
        [f"{title} (item {raw_id})" if title in shared else title for title, raw_id in zip(titles, raw_ids)],
        dtype=object,
    )
    logger.info("%d shared title(s) made unique by their items' raw ids (%s).", found["titles"], examples)
    return unique, found
