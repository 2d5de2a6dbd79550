"""What `prepare` says about each split: users, examples, time span, the weight of its top users, and warnings."""

import logging

import numpy as np
import pandas as pd
import pyarrow as pa

from iamrec.data.protocol import ProtocolConfig, run_protocol
from iamrec.data.split_report import MAX_TOP5_SHARE, MIN_USERS, split_statistics, split_warnings

DAY = 86400


def table(users: list[str], times: list[int]) -> pa.Table:
    return pa.table({"user": users, "timestamp": pa.array(times, pa.int64())})


def test_statistics_count_users_examples_dates_and_the_top_users_share():
    users = ["a"] * 6 + ["b", "c", "d", "e", "f", "g"]  # top 5: a (6), then four of one each
    numbers = split_statistics(table(users, [DAY * i for i in range(12)]))
    assert numbers == {
        "users": 7,
        "examples": 12,
        "first_date": "1970-01-01",
        "last_date": "1970-01-12",
        "top5_users_share": round(10 / 12, 4),
    }


def test_few_or_concentrated_users_are_warned_with_the_way_out():
    many = {"users": MIN_USERS, "examples": 5000, "top5_users_share": MAX_TOP5_SHARE}
    few = {**many, "users": MIN_USERS - 1}
    concentrated = {**many, "top5_users_share": 0.3}
    assert split_warnings({"validation": many, "train": few}, "chronological") == []  # train is not ranked
    (warning,) = split_warnings({"test": few, "validation": many}, "chronological")
    assert warning.startswith(f"The test split has only {MIN_USERS - 1} users") and "--split loo" in warning
    (warning,) = split_warnings({"test": concentrated}, "chronological")
    assert "5 most active users hold 30% of its 5,000 examples" in warning
    (warning,) = split_warnings({"test": concentrated}, "loo")
    assert "--split loo" not in warning and "smaller --k_core" in warning


def test_the_protocol_records_each_split_and_warns_about_a_test_split_of_one_user(caplog):
    # Many users early, one user alone at the end of the log: the chronological test split is hers.
    rows = [(f"u{u}", f"i{(u + s) % 8}", DAY * s + u) for u in range(30) for s in range(6)]
    rows += [("late", f"i{s % 8}", DAY * (100 + s)) for s in range(40)]
    users, items, times = zip(*rows)
    interactions = pd.DataFrame(
        {"user": pd.Categorical(users), "item": pd.Categorical(items), "timestamp": np.asarray(times, np.int64)}
    )
    catalog = pd.DataFrame({"item": pd.Categorical([f"i{i}" for i in range(8)]), "title": [f"T{i}" for i in range(8)]})
    with caplog.at_level(logging.WARNING):
        result = run_protocol(interactions, catalog, ProtocolConfig(k_core=1), progress=False)
    splits = result.statistics["splits"]
    assert splits["test"]["users"] == 1 and splits["test"]["top5_users_share"] == 1.0
    assert splits["train"]["users"] == 31
    assert sum(numbers["examples"] for numbers in splits.values()) == sum(result.statistics["samples"].values())
    assert any(message.startswith("The test split has only 1 user ") for message in caplog.messages)
    assert not any(message.startswith("The train split") for message in caplog.messages)
