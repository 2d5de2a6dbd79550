"""Validation and test subsets: a seeded sample across the split, never a time-ordered prefix unless asked."""

import datasets
import numpy as np
import pytest

from iamrec.data.subsets import Sample

# A time-ordered split as a chronological cut gives one: its first examples all come from a few early users.
USERS = [f"early{i % 3}" for i in range(300)] + [f"u{i % 97}" for i in range(700)]


def test_a_capped_sample_spreads_over_the_split_and_is_the_same_for_a_seed():
    rows = Sample(100, "examples", seed=3).rows(USERS)
    assert len(rows) == len(set(rows)) == 100 and list(rows) == sorted(rows)
    assert rows.max() > 900 and rows.min() < 100  # both ends of the split
    assert list(Sample(100, "examples", seed=3).rows(USERS)) == list(rows)
    assert list(Sample(100, "examples", seed=4).rows(USERS)) != list(rows)


def test_the_first_mode_is_the_time_ordered_prefix():
    assert list(Sample(50, "first").rows(USERS)) == list(range(50))
    assert {USERS[row] for row in Sample(50, "first").rows(USERS)} == {"early0", "early1", "early2"}


def test_the_user_mode_takes_as_many_users_as_possible_each_alike():
    rows = Sample(80, "users", seed=0).rows(USERS)
    chosen = [USERS[row] for row in rows]
    assert len(set(chosen)) == 80  # 100 users, 80 examples: one each
    rows = Sample(250, "users", seed=0).rows(USERS)
    counts = np.unique([USERS[row] for row in rows], return_counts=True)[1]
    assert len(counts) == 100 and counts.max() - counts.min() <= 1


def test_a_cap_at_or_above_the_split_keeps_every_example():
    for mode in ("examples", "users", "first"):
        assert list(Sample(len(USERS), mode).rows(USERS)) == list(range(len(USERS)))
    assert list(Sample(None).rows(USERS)) == list(range(len(USERS)))


def test_a_dataset_sample_keeps_the_splits_order_and_columns():
    split = datasets.Dataset.from_dict({"user": USERS, "target": list(range(len(USERS)))})
    sampled = Sample(40, "users", seed=1).of(split)
    assert sampled["target"] == sorted(sampled["target"]) and len(sampled) == 40
    assert Sample(None).of(split) is split
    assert Sample(40, "users", seed=1).to_dict() == {"max_samples": 40, "mode": "users", "seed": 1}


@pytest.mark.parametrize(("count", "mode", "message"), [(0, "examples", "at least 1"), (5, "last", "must be one of")])
def test_bad_samples_are_refused(count, mode, message):
    with pytest.raises(ValueError, match=message):
        Sample(count, mode)
