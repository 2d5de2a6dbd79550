"""Every-item training data: each user's training interactions rebuilt as one sequence and cut into chunks, so that one
forward predicts the next item after every item (the collator's `next_items` examples) instead of one target per
prompt."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from datasets import Dataset

from ..tokenization.collator import IGNORED, NEXT_ITEMS  # the collator reads what this writes


@dataclass(frozen=True)
class ChunkSpec:
    """How a user's sequence is cut.

    chunk_items: history items per training sequence (readout slots).
    context_items: leading items of every chunk after a user's first that are context only: chunks overlap by this
        many items, so the first supervised prediction of a chunk still reads `context_items` earlier items. The first
        chunk of a user supervises every item (there is nothing earlier to read).
    """

    chunk_items: int = 20
    context_items: int = 10

    def __post_init__(self) -> None:
        if self.chunk_items < 1:
            raise ValueError(f"chunk_items must be at least 1, got {self.chunk_items}.")
        if not 0 <= self.context_items < self.chunk_items:
            raise ValueError(
                f"context_items must be in [0, chunk_items={self.chunk_items}), got {self.context_items}: every chunk "
                "needs at least one supervised item."
            )


@dataclass
class UserSegment:
    """Consecutive items of one user's sequence, with whether each one is a training target."""

    user: str
    items: list[int]
    supervised: list[bool]


def user_segments(
    users: Sequence[str], histories: Sequence[Sequence[int]], targets: Sequence[int], held_out: Iterable[int] = ()
) -> list[UserSegment]:
    """Each user's training interactions as one sequence, rebuilt from the training samples (in split order).

    A sample's history is the window before its target, so consecutive samples of a user overlap: the next sample's
    history ends with the previous target, followed by the held-out items (cold targets, which are never training
    samples) in between. Only items that the training split holds (history windows and training targets) enter a
    sequence, so no validation or test interaction does. Where a gap is longer than a window, a new segment starts.
    """
    held_out = set(held_out)
    segments: list[UserSegment] = []
    last_of: dict[str, UserSegment] = {}
    for user, history, target in zip(users, histories, targets):
        history = list(history)
        segment = last_of.get(user)
        skipped = _trailing_held_out(history, held_out)
        continues = segment is not None and skipped < len(history) and history[-skipped - 1] == segment.items[-1]
        if continues:
            new_items = history[len(history) - skipped :]
        else:
            segment = UserSegment(user, [], [])
            segments.append(segment)
            last_of[user] = segment
            new_items = history
        segment.items += new_items + [target]
        segment.supervised += [False] * len(new_items) + [True]
    return segments


def _trailing_held_out(history: list[int], held_out: set[int]) -> int:
    count = 0
    while count < len(history) and history[-count - 1] in held_out:
        count += 1
    return count


def chunk_segment(segment: UserSegment, spec: ChunkSpec) -> list[dict]:
    """Training sequences `{"user", "history", "next_items"}` that supervise each training target of `segment` once.

    Targets are positions 1.. of the segment (the item after position j is predicted from the readout after item j).
    The first chunk supervises the first `chunk_items` targets; each later one the next `chunk_items - context_items`,
    reading `context_items` earlier items first.
    """
    chunks = []
    first_target, size = 1, spec.chunk_items
    while first_target < len(segment.items):
        last_target = min(first_target + size - 1, len(segment.items) - 1)
        start = max(0, first_target - 1 - (spec.context_items if first_target > 1 else 0))
        history = segment.items[start:last_target]
        next_items = [
            segment.items[j + 1] if j + 1 >= first_target and segment.supervised[j + 1] else IGNORED
            for j in range(start, last_target)
        ]
        if any(item != IGNORED for item in next_items):
            chunks.append({"user": segment.user, "history": history, NEXT_ITEMS: next_items})
        first_target, size = last_target + 1, spec.chunk_items - spec.context_items
    return chunks


def every_item_sequences(train: Dataset, spec: ChunkSpec, held_out: Iterable[int] = ()) -> Dataset:
    """The training split (columns `user`, `history`, `target`, in split order) as every-item training sequences.

    Every training target is supervised exactly once, from a readout that sees its history up to that target, and no
    held-out item is ever a target.
    """
    segments = user_segments(train["user"], train["history"], train["target"], held_out)
    rows = [chunk for segment in segments for chunk in chunk_segment(segment, spec)]
    return Dataset.from_dict(
        {name: [row[name] for row in rows] for name in ("user", "history", NEXT_ITEMS)},
    )
