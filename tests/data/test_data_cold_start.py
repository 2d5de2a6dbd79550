"""The cold-start option of `iamrec prepare`: cold items recorded, never a train/validation target, test_cold."""

import json
from pathlib import Path

import pytest

from iamrec.cli import main as iamrec_main
from iamrec.comparison import evaluate_all
from iamrec.data import ProtocolConfig, load_prepared, prepare_dataset

NUM_ITEMS = 20


def write_log(root: Path) -> tuple[Path, Path]:
    """40 users, 10 interactions each over 20 items, so that every item is a target in every split."""
    interactions, items = root / "log.csv", root / "items.csv"
    rows = [f"u{u},i{(3 * u + 7 * step) % NUM_ITEMS:02d},{1000 * step + u}" for u in range(40) for step in range(10)]
    interactions.write_text("user,item,timestamp\n" + "\n".join(rows) + "\n")
    items.write_text("item,title\n" + "\n".join(f"i{i:02d},Item {i}" for i in range(NUM_ITEMS)) + "\n")
    return interactions, items


def prepare(root: Path, name: str, **cold):
    interactions, items = write_log(root)
    config = ProtocolConfig(k_core=3, max_history=3, **cold)
    return prepare_dataset(
        root / name, format="csv", interactions=[interactions], items=[items], config=config, progress=False
    )


def examples(dataset) -> list[tuple]:
    return [(row["user"], tuple(row["history"]), row["target"], row["timestamp"]) for row in dataset]


def test_off_by_default_nothing_changes(tmp_path):
    default = prepare(tmp_path, "default")
    explicit = prepare(tmp_path, "explicit", cold_items_fraction=0.0, cold_items_seed=5)
    assert set(default.splits) == {"train", "validation", "test"}
    assert "cold_items" not in default.protocol and "cold_items_fraction" not in default.protocol["settings"]
    protocol = (tmp_path / "default" / "protocol.json").read_bytes()
    assert protocol == (tmp_path / "explicit" / "protocol.json").read_bytes()
    assert examples(default.splits["test"]) == examples(explicit.splits["test"])


def test_cold_items_are_recorded_and_never_a_training_or_validation_target(tmp_path):
    warm = prepare(tmp_path, "warm")
    cold = prepare(tmp_path, "cold", cold_items_fraction=0.2, cold_items_seed=1)
    cold_items = set(cold.protocol["cold_items"])
    assert len(cold_items) == 4 and cold.protocol["cold_items"] == sorted(cold_items)  # 20% of 20 target items
    assert cold.protocol["settings"]["cold_items_fraction"] == 0.2
    assert cold.protocol["settings"]["cold_items_seed"] == 1
    for split in ("train", "validation"):
        assert not cold_items & set(cold.splits[split]["target"]), split
        expected = [example for example in examples(warm.splits[split]) if example[2] not in cold_items]
        assert examples(cold.splits[split]) == expected, split  # only the cold-target examples left
    assert any(cold_items & set(history) for history in cold.splits["train"]["history"])  # histories keep them
    warm_test = examples(warm.splits["test"])
    assert examples(cold.splits["test"]) == [example for example in warm_test if example[2] not in cold_items]
    assert examples(cold.splits["test_cold"]) == [example for example in warm_test if example[2] in cold_items]
    assert len(cold.splits["test_cold"]) > 0
    assert cold.protocol["statistics"]["samples"]["test_cold"] == len(cold.splits["test_cold"])
    reloaded = load_prepared(tmp_path / "cold")
    assert examples(reloaded.splits["test_cold"]) == examples(cold.splits["test_cold"])


def test_the_draw_is_fixed_by_the_seed(tmp_path):
    first = prepare(tmp_path, "a", cold_items_fraction=0.25, cold_items_seed=7).protocol["cold_items"]
    again = prepare(tmp_path, "b", cold_items_fraction=0.25, cold_items_seed=7).protocol["cold_items"]
    other = prepare(tmp_path, "c", cold_items_fraction=0.25, cold_items_seed=8).protocol["cold_items"]
    assert first == again and first != other


def test_a_bad_fraction_is_refused():
    with pytest.raises(ValueError, match="cold_items_fraction must be in"):
        ProtocolConfig(cold_items_fraction=1.0)


def test_the_cli_prepares_and_evaluates_the_cold_split(tmp_path, capsys):
    interactions, items = write_log(tmp_path)
    out = tmp_path / "cli"
    flags = ["--format", "csv", "--interactions", str(interactions), "--items", str(items), "--output-dir", str(out)]
    flags += ["--k-core", "3", "--cold_items_fraction", "0.1", "--seed", "2", "--no-progress"]
    assert iamrec_main(["prepare", *flags]) == 0
    capsys.readouterr()
    data = load_prepared(out)
    assert len(data.protocol["cold_items"]) == 2
    assert iamrec_main(["evaluate", "--data-dir", str(out), "--split", "test_cold"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "test_cold" and report["num_examples"] == len(data.splits["test_cold"])
    # MostPopular is fitted on train, where cold items are never targets: they rank last on their own split.
    [cold_metrics] = report["results"].values()
    assert cold_metrics["HR@10"] == 0
    [warm_metrics] = evaluate_all(data, "test", baselines=("most_popular",))["results"].values()
    assert warm_metrics["HR@10"] > 0


@pytest.mark.parametrize(
    ("cold_items", "message"),
    [
        ([3, 99], r"'cold_items' \[99\] are not item ids of the 20-item catalog"),
        ([-1], r"'cold_items' \[-1\] are not item ids"),
        ("3", "'cold_items' should be a list of item ids, got a string"),
        ([3, "4"], r"'cold_items' should hold item ids \(whole numbers\), got a string"),
    ],
)
def test_cold_items_that_are_not_catalog_ids_are_one_line(tmp_path, capsys, cold_items, message):
    """Out-of-range or non-list cold_items in protocol.json used to end in tracebacks (an IndexError, a TypeError)."""
    prepare(tmp_path, "cold", cold_items_fraction=0.2, cold_items_seed=1)
    path = tmp_path / "cold" / "protocol.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "cold_items": cold_items}))
    with pytest.raises(ValueError, match=message):
        load_prepared(tmp_path / "cold")
    capsys.readouterr()
    assert iamrec_main(["evaluate", "--data-dir", str(tmp_path / "cold"), "--baselines", "random"]) == 1
    assert capsys.readouterr().err.startswith(f"iamrec evaluate: error: {path}: 'cold_items'")
