"""Every-item training sequences: each training target supervised once, from its own history, with nothing from the
validation or test period and no held-out item as a target."""

from collections import Counter
from pathlib import Path

import pytest

from iamrec.data import ProtocolConfig, prepare_dataset
from iamrec.data.sequences import IGNORED, ChunkSpec, UserSegment, chunk_segment, every_item_sequences

NUM_ITEMS = 20


def prepare(root: Path, **config):
    """40 users, 14 interactions each over 20 items, a few repeated (so histories can hold an item twice)."""
    interactions, items = root / "log.csv", root / "items.csv"
    rows = [
        f"u{u},i{(3 * u + 7 * (step % 11)) % NUM_ITEMS:02d},{1000 * step + u}" for u in range(40) for step in range(14)
    ]
    interactions.write_text("user,item,timestamp\n" + "\n".join(rows) + "\n")
    items.write_text("item,title\n" + "\n".join(f"i{i:02d},Item {i}" for i in range(NUM_ITEMS)) + "\n")
    protocol = ProtocolConfig(k_core=3, **config)
    return prepare_dataset(
        root / "data", format="csv", interactions=[interactions], items=[items], config=protocol, progress=False
    )


def test_a_segment_is_cut_into_overlapping_chunks_by_hand():
    segment = UserSegment("u", [10, 11, 12, 13, 14, 15], [False, True, True, False, True, True])
    chunks = chunk_segment(segment, ChunkSpec(chunk_items=4, context_items=2))
    # First chunk: items 10-13 predict 11-14 (13 is not a training target); then 15 from the two items before 14.
    assert [(chunk["history"], chunk["next_items"]) for chunk in chunks] == [
        ([10, 11, 12, 13], [11, 12, IGNORED, 14]),
        ([12, 13, 14], [IGNORED, IGNORED, 15]),
    ]
    no_context = chunk_segment(segment, ChunkSpec(chunk_items=2, context_items=0))
    assert [chunk["history"] for chunk in no_context] == [[10, 11], [12, 13], [14]]


def test_bad_chunk_settings_are_refused_with_one_line():
    with pytest.raises(ValueError, match="chunk_items must be at least 1"):
        ChunkSpec(chunk_items=0)
    with pytest.raises(ValueError, match="context_items must be in"):
        ChunkSpec(chunk_items=5, context_items=5)


@pytest.mark.parametrize("split", ["chronological", "loo"])
@pytest.mark.parametrize("cold", [0.0, 0.2])
@pytest.mark.parametrize("spec", [ChunkSpec(20, 10), ChunkSpec(5, 0), ChunkSpec(4, 3)])
def test_every_training_target_is_supervised_once_from_its_own_history(tmp_path, split, cold, spec):
    data = prepare(tmp_path, max_history=4, split=split, cold_items_fraction=cold)
    train = data.splits["train"]
    held_out = set(data.protocol.get("cold_items") or [])
    sequences = every_item_sequences(train, spec, held_out)

    # (user, target, the items before it in its sequence) for every supervised readout
    supervised = []
    for user, history, next_items in zip(sequences["user"], sequences["history"], sequences["next_items"]):
        assert len(history) == len(next_items) <= spec.chunk_items
        for position, target in enumerate(next_items):
            if target != IGNORED:
                supervised.append((user, target, tuple(history[: position + 1])))
    samples = list(zip(train["user"], train["history"], train["target"]))
    assert len(supervised) == len(samples)  # once each
    assert Counter((user, target) for user, target, _ in supervised) == Counter((u, t) for u, _, t in samples)
    assert not held_out & {target for _, target, _ in supervised}
    # Readouts and samples in the same order per user: a readout reads the end of its sample's history, and all of it
    # once a chunk's context covers a window (context_items >= max_history - 1); never a later item.
    by_user: dict[str, list] = {}
    for user, target, seen in supervised:
        by_user.setdefault(user, []).append((target, seen))
    for user, history, target in samples:
        readout_target, seen = by_user[user].pop(0)
        shared = min(len(seen), len(history))
        assert readout_target == target and seen[len(seen) - shared :] == tuple(history[len(history) - shared :])
        if spec.context_items >= 3:
            assert len(seen) >= len(history)

    # Nothing from the validation or test period: every item a user's sequences hold is in that user's training data.
    training_items: dict[str, Counter] = {}
    for user, history, target in samples:
        training_items.setdefault(user, Counter()).update([*history, target])
    for user, history in zip(sequences["user"], sequences["history"]):
        assert set(history) <= set(training_items[user])
