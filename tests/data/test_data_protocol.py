"""The data protocol on hand-made and random logs: k-core, titles, ids, windows, splits, dedup."""

import numpy as np
import pandas as pd
import pytest

from iamrec.data.protocol import Log, ProtocolConfig, clean_titles, k_core, run_protocol


def interactions(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    users, items, times = zip(*rows) if rows else ((), (), ())
    return pd.DataFrame(
        {"user": pd.Categorical(users), "item": pd.Categorical(items), "timestamp": np.asarray(times, dtype=np.int64)}
    )


def catalog_of(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    ids = sorted({item for _, item, _ in rows})
    return pd.DataFrame({"item": pd.Categorical(ids), "title": [f"Title {i}" for i in ids]})


def run(rows: list[tuple[str, str, int]], items: pd.DataFrame | None = None, **settings) -> dict:
    result = run_protocol(
        interactions(rows), catalog_of(rows) if items is None else items, ProtocolConfig(**settings), progress=False
    )
    return {
        "splits": {name: table.to_pylist() for name, table in result.splits.items()},
        "catalog": result.catalog.to_pylist(),
        "stats": result.statistics,
    }


def random_rows(seed: int, n: int = 3000, users: int = 300, items: int = 200) -> list[tuple[str, str, int]]:
    rng = np.random.default_rng(seed)
    u = (rng.pareto(1.0, n) * 10).astype(int) % users
    i = (rng.pareto(0.8, n) * 10).astype(int) % items
    t = rng.integers(0, 500, n)  # a small range: many ties in time
    return [(f"u{a}", f"i{b}", int(c)) for a, b, c in zip(u, i, t)]


def reference_k_core(rows: list[tuple[str, str, int]], k: int) -> list[tuple[str, str, int]]:
    """The k-core by the definition, one removal at a time (slow and obviously right)."""
    rows = list(rows)
    while True:
        users = pd.Series([r[0] for r in rows]).value_counts()
        items = pd.Series([r[1] for r in rows]).value_counts()
        kept = [r for r in rows if users.get(r[0], 0) >= k and items.get(r[1], 0) >= k]
        if len(kept) == len(rows):
            return kept
        rows = kept


@pytest.mark.parametrize("k", [2, 5])
def test_k_core_reaches_the_maximal_fixed_point(k):
    rows = random_rows(seed=k)
    log, rounds = k_core(Log.from_frame(interactions(rows)), k)
    users, items = np.bincount(log.user), np.bincount(log.item)
    assert users[users > 0].min() >= k and items[items > 0].min() >= k
    assert rounds >= 2  # the random log is sparse enough to need a cascade
    got = sorted(zip(log.users[log.user], log.items[log.item], log.timestamp.tolist()))
    assert got == sorted(reference_k_core(rows, k))


def test_k_core_cascade_by_hand():
    block = [("u4", "E", 1), ("u4", "F", 2), ("u5", "E", 3), ("u5", "F", 4)]
    # Round 1 removes item D (1 interaction); then u3 has 1 interaction left and goes in round 2.
    rows = block + [("u3", "E", 5), ("u3", "D", 6)]
    log, rounds = k_core(Log.from_frame(interactions(rows)), 2)
    assert sorted(zip(log.users[log.user], log.items[log.item], log.timestamp.tolist())) == block
    assert rounds == 2


def test_windows_exactly_right_on_a_hand_made_log():
    rows = [
        ("a", "i1", 10),
        ("a", "i2", 20),
        ("a", "i3", 30),
        ("a", "i4", 40),
        # b: a time tie between z and y is broken by raw item id (y < z), not by input order
        ("b", "z", 15),
        ("b", "y", 15),
        ("b", "x", 35),
    ]
    out = run(rows, k_core=1, max_history=2, split_ratios=(1, 0, 0))
    ids = {row["raw_id"]: row["item_id"] for row in out["catalog"]}
    assert [row["raw_id"] for row in out["catalog"]] == ["i1", "i2", "i3", "i4", "x", "y", "z"]
    assert out["splits"]["validation"] == out["splits"]["test"] == []
    expected = [  # sorted by (target time, user)
        ("b", ["y"], "z", 15),
        ("a", ["i1"], "i2", 20),
        ("a", ["i1", "i2"], "i3", 30),
        ("b", ["y", "z"], "x", 35),
        ("a", ["i2", "i3"], "i4", 40),
    ]
    assert out["splits"]["train"] == [
        {"user": u, "history": [ids[h] for h in hist], "target": ids[t], "timestamp": ts} for u, hist, t, ts in expected
    ]


def test_chronological_split_never_puts_a_training_target_after_an_evaluation_target():
    out = run(random_rows(seed=3), k_core=2)
    train, validation, test = (out["splits"][name] for name in ("train", "validation", "test"))
    n = len(train) + len(validation) + len(test)
    assert len(train) == n * 8 // 10 and len(train) + len(validation) == n * 9 // 10
    assert max(r["timestamp"] for r in train) <= min(r["timestamp"] for r in validation + test)
    assert max(r["timestamp"] for r in validation) <= min(r["timestamp"] for r in test)
    assert n == out["stats"]["interactions"] - out["stats"]["users"]
    assert all(len(r["history"]) <= 10 for r in train)


def test_leave_one_out_puts_each_users_last_target_in_test():
    out = run(random_rows(seed=4), k_core=3, split="loo")
    times: dict[str, dict[str, list[int]]] = {}
    for name in ("train", "validation", "test"):
        for r in out["splits"][name]:
            times.setdefault(r["user"], {"train": [], "validation": [], "test": []})[name].append(r["timestamp"])
    assert len(out["splits"]["test"]) == len(out["splits"]["validation"]) == len(times) == out["stats"]["users"]
    for split in times.values():
        assert len(split["test"]) == len(split["validation"]) == 1
        assert max(split["train"], default=-1) <= split["validation"][0] <= split["test"][0]
    assert sum(map(len, out["splits"].values())) == out["stats"]["interactions"] - out["stats"]["users"]


def test_titles_are_unescaped_stripped_and_empty_ones_dropped():
    items = pd.DataFrame(
        {
            "item": pd.Categorical(["a", "b", "c", "d", "a"]),
            "title": ["  Tom &amp; Jerry ", "&nbsp; ", None, "Caf&eacute;", "Z: a's other title"],
        }
    )
    titles = clean_titles(items)
    assert titles.to_dict() == {"a": "Tom & Jerry", "d": "Café"}


def test_a_title_of_only_invisible_characters_is_no_title():
    """A title of zero-width characters used to be kept, an item that shows as nothing."""
    items = pd.DataFrame(
        {
            "item": pd.Categorical(["a", "b", "c", "d"]),
            "title": ["\u200b\u200d", " \ufeff\u2060 ", "\u200bCaf\u00e9", "Red \x1b[31mHot"],
        }
    )
    assert clean_titles(items).to_dict() == {"c": "\u200bCaf\u00e9", "d": "Red \x1b[31mHot"}


def test_untitled_items_leave_before_the_k_core():
    rows = [(u, i, t) for t, (u, i) in enumerate((u, i) for u in "abc" for i in ("x", "y", "untitled"))]
    items = pd.DataFrame({"item": pd.Categorical(["x", "y", "untitled"]), "title": ["X", "Y", " "]})
    out = run(rows, items, k_core=2)
    assert [row["raw_id"] for row in out["catalog"]] == ["x", "y"]
    assert out["stats"]["interactions"] == 6


@pytest.mark.parametrize(
    ("policy", "kept"), [("none", [1, 2, 3]), ("consecutive", [1, 2, 3]), ("first", [1, 2]), ("last", [2, 3])]
)
def test_dedup_policies(policy, kept):
    rows = [("u", "x", 1), ("u", "y", 2), ("u", "x", 3)]
    out = run(rows, k_core=1, dedup=policy, split_ratios=(1, 0, 0))
    assert out["stats"]["interactions"] == len(kept)
    assert [r["timestamp"] for r in out["splits"]["train"]] == kept[1:]


@pytest.mark.parametrize(
    ("rows", "items", "message"),
    [
        ([("u", "x", 1)], pd.DataFrame({"item": pd.Categorical(["x"]), "title": [" "]}), "empty after step 'titles'"),
        ([("u", "x", 1)], pd.DataFrame({"item": pd.Categorical(["q"]), "title": ["Q"]}), "do the item ids"),
        ([("u", "x", 1), ("v", "y", 2)], None, "too sparse for a 5-core"),
    ],
)
def test_emptying_steps_are_named(rows, items, message):
    with pytest.raises(ValueError, match=message):
        run(rows, items)


def test_invalid_settings_are_rejected():
    for bad in ({"k_core": 0}, {"max_history": 0}, {"split": "random"}, {"split_ratios": (0, 1, 1)}, {"dedup": "all"}):
        with pytest.raises(ValueError):
            ProtocolConfig(**bad)


def test_rows_written_twice_are_dropped_by_default_and_counted(caplog):
    """Every row written twice used to be kept silently: 582 of 1,104 training targets equalled the last history
    item."""
    rows = random_rows(seed=5)
    once = run(rows, k_core=2)
    with caplog.at_level("WARNING"):
        twice = run(rows + rows, k_core=2)
    assert twice["splits"] == once["splits"] and twice["catalog"] == once["catalog"]
    repeats = len(rows) + once["stats"]["steps"][2]["consecutive_repeats"]  # the copies, and the log's own repeats
    assert twice["stats"]["steps"][2] == {
        **twice["stats"]["steps"][2],
        "policy": "consecutive",
        "consecutive_repeats": repeats,
    }
    assert f"{repeats} interaction(s) repeat the user's previous item" in caplog.text
    kept = run(rows + rows, k_core=2, dedup="none")
    train = kept["splits"]["train"]
    assert sum(r["history"][-1] == r["target"] for r in train) >= len(train) // 3  # what the default prevents
    assert "kept (--dedup consecutive drops them)" in caplog.text


def test_a_repeat_is_consecutive_in_the_protocols_order_not_the_files():
    # x and y tie at time 1; the protocol orders ties by raw item id (x, y), so y at time 2 repeats y.
    rows = [("u", "y", 1), ("u", "x", 1), ("u", "y", 2), ("u", "x", 3), ("u", "z", 3), ("u", "x", 4)]
    out = run(rows, k_core=1, split_ratios=(1, 0, 0))
    assert out["stats"]["steps"][2]["consecutive_repeats"] == 1
    assert [r["timestamp"] for r in out["splits"]["train"]] == [1, 3, 3, 4]


def numbered_rows() -> list[tuple[str, str, int]]:
    """Three users who each rate items 1, 2 and 10 (raw ids), a day apart."""
    return [(f"u{user}", item, 86400 * step + user) for user in range(3) for step, item in enumerate(("1", "2", "10"))]


def test_integer_raw_ids_sort_by_number_and_the_order_is_recorded():
    result = run(numbered_rows(), k_core=1)
    assert [row["raw_id"] for row in result["catalog"]] == ["1", "2", "10"]
    assert result["stats"]["id_order"] == {"items": "numeric", "users": "text"}  # users are "u0", "u1", ...
    as_text = run(numbered_rows(), k_core=1, id_order="text")
    assert [row["raw_id"] for row in as_text["catalog"]] == ["1", "10", "2"]
    assert as_text["stats"]["id_order"] == {"items": "text", "users": "text"}
    mixed = numbered_rows() + [("u0", "x", 10**6)]
    assert [row["raw_id"] for row in run(mixed, k_core=1)["catalog"]] == ["1", "10", "2", "x"]


def test_shared_titles_are_warned_with_examples_or_made_unique(caplog):
    rows = numbered_rows()
    items = pd.DataFrame({"item": pd.Categorical(["1", "2", "10"]), "title": ["Hamlet", "Hamlet", "Heat"]})
    with caplog.at_level("WARNING"):
        kept = run(rows, items, k_core=1)
    assert [row["title"] for row in kept["catalog"]] == ["Hamlet", "Hamlet", "Heat"]
    assert kept["stats"]["duplicate_titles"] == {"policy": "keep", "titles": 1, "items": 2}
    assert any("1 title(s) are shared by 2 items ('Hamlet' x2)" in message for message in caplog.messages)
    unique = run(rows, items, k_core=1, duplicate_titles="raw_id")
    assert [row["title"] for row in unique["catalog"]] == ["Hamlet (item 1)", "Hamlet (item 2)", "Heat"]


def test_items_without_a_title_are_dropped_with_a_warning(caplog):
    items = pd.DataFrame({"item": pd.Categorical(["1", "2"]), "title": ["One", "Two"]})  # item 10 has none
    with caplog.at_level("WARNING"):
        result = run(numbered_rows(), items, k_core=1)
    assert [row["raw_id"] for row in result["catalog"]] == ["1", "2"]
    assert "1 item(s) of the interactions have no title in the item files and are dropped, with their 3" in caplog.text
    assert result["stats"]["steps"][1]["untitled_items"] == 1
