"""`iamrec export-recbole`: RecBole's pre-split benchmark files, parsed the way RecBole's loader parses them."""

import numpy as np
import pandas as pd
import pytest

from iamrec.cli import main as iamrec_main
from iamrec.data import ProtocolConfig, load_prepared, prepare_dataset
from iamrec.data.recbole_export import export_recbole
from training_fixtures import write_tiny_data


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_data(tmp_path_factory.mktemp("export"))


def read_like_recbole(path):
    """`Dataset._load_feat` of RecBole 1.2.1: the typed header, read_csv on tabs as text, token_seq split on spaces."""
    header = path.read_text(encoding="utf-8").split("\n", 1)[0]
    frame = pd.read_csv(path, delimiter="\t", dtype=str, encoding="utf-8", engine="python")
    frame.columns = [column.split(":")[0] for column in header.split("\t")]
    frame["item_id_list"] = [list(filter(None, value.split(" "))) for value in frame["item_id_list"].fillna("")]
    return header, frame


def test_each_split_becomes_one_benchmark_file_with_the_same_examples(data_dir, tmp_path, capsys):
    out = tmp_path / "recbole" / "tiny"
    assert iamrec_main(["export-recbole", "--data_dir", str(data_dir), "--output_dir", str(out)]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["tiny.test.inter", "tiny.train.inter", "tiny.valid.inter"]
    assert capsys.readouterr().out.split() == [
        str(out / f"tiny.{suffix}.inter") for suffix in ("train", "valid", "test")
    ]
    splits = load_prepared(data_dir).splits
    for split, suffix in (("train", "train"), ("validation", "valid"), ("test", "test")):
        header, frame = read_like_recbole(out / f"tiny.{suffix}.inter")
        assert header == "user_id:token\titem_id_list:token_seq\titem_id:token"
        assert frame["user_id"].tolist() == splits[split]["user"]
        assert frame["item_id_list"].tolist() == [[str(item) for item in h] for h in splits[split]["history"]]
        assert frame["item_id"].tolist() == [str(target) for target in splits[split]["target"]]


def test_an_existing_folder_is_replaced_only_when_asked_and_only_if_it_holds_these_files(data_dir, tmp_path):
    out = tmp_path / "ml"
    export_recbole(data_dir, out, name="ml")
    with pytest.raises(FileExistsError, match="pass --overwrite"):
        export_recbole(data_dir, out, name="ml")
    assert len(export_recbole(data_dir, out, name="ml", overwrite=True)) == 3
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"holds other files \(notes.txt\)"):
        export_recbole(data_dir, out, name="ml", overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"


def test_a_user_id_recbole_cannot_hold_leaves_nothing_written(tmp_path):
    log, items = tmp_path / "log.csv", tmp_path / "items.csv"
    log.write_text("user,item,timestamp\n" + "".join(f'"a\tb",i{t},{t}\n' for t in range(4)), encoding="utf-8")
    items.write_text("item,title\n" + "".join(f"i{t},Title {t}\n" for t in range(4)), encoding="utf-8")
    data = tmp_path / "data"
    config = ProtocolConfig(k_core=1, split="loo")
    prepare_dataset(data, format="csv", interactions=[log], items=[items], config=config, progress=False)
    with pytest.raises(ValueError, match="user id with a tab"):
        export_recbole(data, tmp_path / "out")
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_recbole_itself_loads_the_exported_split_as_our_examples(data_dir, tmp_path, monkeypatch):
    """Where RecBole and the packages it imports are installed (benchmarks/recbole_setup.sh), its own loader."""
    recbole_config = pytest.importorskip("recbole.config")
    recbole_data = pytest.importorskip("recbole.data")
    for name, value in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)):
        monkeypatch.setattr(np, name, value, raising=False)  # RecBole 1.2.1 aliases these numpy 2 removed
    export_recbole(data_dir, tmp_path / "tiny")
    monkeypatch.chdir(tmp_path)
    config = recbole_config.Config(
        model="SASRec",
        dataset="tiny",
        config_dict={
            "data_path": str(tmp_path),
            "benchmark_filename": ["train", "valid", "test"],
            "load_col": {"inter": ["user_id", "item_id_list", "item_id"]},
            "alias_of_item_id": ["item_id_list"],
            "TIME_FIELD": None,
            "train_neg_sample_args": None,
            "device": "cpu",
            "use_gpu": False,
            "state": "WARNING",
        },
    )
    dataset = recbole_data.create_dataset(config)
    splits = load_prepared(data_dir).splits
    tokens = dataset.field2id_token["item_id"]
    for split, part in zip(("train", "validation", "test"), dataset.build()):
        histories = [
            [int(tokens[item]) for item in row[:length]]
            for row, length in zip(part.inter_feat["item_id_list"].tolist(), part.inter_feat["item_length"].tolist())
        ]
        assert histories == splits[split]["history"]
        assert [int(tokens[item]) for item in part.inter_feat["item_id"].tolist()] == splits[split]["target"]
