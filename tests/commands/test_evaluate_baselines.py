"""`iamrec evaluate --baselines sasrec` on a user's machine: epochs, patience and threads as flags, progress inside an
epoch, how it trained in the result, and the trained SASRec kept for reuse."""

import json

import pytest
import torch

from iamrec.cli import main
from training_fixtures import write_tiny_data


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_data(tmp_path_factory.mktemp("evaluate"))


@pytest.fixture(autouse=True)
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_sasrec_trains_as_told_records_how_and_is_saved_for_reuse(data_dir, tmp_path, capsys):
    flags = ["evaluate", "--data_dir", str(data_dir), "--baselines", "sasrec", "--threads", "1"]
    trained = tmp_path / "trained.json"
    saved = tmp_path / "baselines"
    assert main([*flags, "--sasrec_epochs", "3", "--sasrec_patience", "1", "--save_baselines", str(saved),
                 "--output", str(trained)]) == 0  # fmt: skip
    assert "epoch 1" in capsys.readouterr().err  # the bar over an epoch's batches
    report = json.loads(trained.read_text())
    (record,) = report["fitted"].values()
    assert (
        record["settings"]["sasrec_config"]["max_epochs"] == 3 and record["settings"]["sasrec_config"]["patience"] == 1
    )
    assert record["torch_threads"] == 1 and 1 <= record["training"]["best_epoch"] <= record["training"]["epochs"] <= 3
    assert record["saved_to"] == str(saved / "sasrec") and (saved / "sasrec" / "config.json").is_file()
    reloaded = tmp_path / "reloaded.json"
    assert main([*flags, "--sasrec_dir", str(saved / "sasrec"), "--output", str(reloaded)]) == 0
    assert json.loads(reloaded.read_text())["results"] == report["results"]


@pytest.mark.parametrize("flag", ["--sasrec_epochs", "--sasrec_patience", "--threads"])
def test_amounts_below_one_are_one_line_errors(data_dir, flag, capsys):
    assert main(["evaluate", "--data_dir", str(data_dir), "--baselines", "sasrec", flag, "0"]) == 2
    assert f"{flag} must be at least 1, got 0" in capsys.readouterr().err
