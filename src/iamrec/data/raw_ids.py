"""The order of raw ids, which fixes item ids and breaks ties: by number when every raw id is an integer, else as text.

Sorted as text, integer ids interleave (1, 10, 100, 11, ...): item 1 of a MovieLens log would not be item id 0's
neighbour, and a reader of `catalog/` would not find an item where the number says. Numbers sort as numbers.
"""

from typing import Literal

import numpy as np
import pandas as pd

IdOrder = Literal["numeric", "text"]
ID_ORDERS = ("numeric", "text")
"""`numeric`: by number when every raw id is an integer (as text, ties such as "07" and "7" by text), else as text;
`text`: always as text (what folders prepared before the numeric order used)."""


def all_integers(names: np.ndarray) -> bool:
    """Whether every raw id is written as an integer (an optional minus sign, then digits)."""
    return bool(len(names)) and bool(pd.Series(names.astype(str)).str.fullmatch(r"-?\d+").all())


def sort_order(names: np.ndarray, numeric: bool) -> np.ndarray:
    """Indices that sort `names` (raw id strings): by number when `numeric`, else as text."""
    text = names.astype(str)
    if not numeric:
        return np.argsort(text, kind="stable")
    return np.array(sorted(range(len(text)), key=lambda index: (int(text[index]), text[index])), dtype=np.int64)


def resolved_order(names: np.ndarray, order: IdOrder) -> IdOrder:
    """The order `names` are sorted in: `numeric` only when asked and every one is an integer."""
    return "numeric" if order == "numeric" and all_integers(names) else "text"
