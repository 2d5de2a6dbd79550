"""A title too long for `--max_length` skips the training examples that hold it, said in a warning, instead of
stopping the run."""

from dataclasses import replace

import pytest

import training_fixtures
from iamrec.training import train
from tokenizer_fixtures import TITLES
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data


@pytest.mark.parametrize("supervision", ["every_item", "last"])
def test_a_title_longer_than_max_length_skips_its_examples(tmp_path, monkeypatch, caplog, supervision):
    """every_item training used to stop at once: `the training sequence ... takes N tokens, more than max_length`."""
    titles = list(TITLES)
    titles[3] = "A Very Long Title " + "and more words " * 150
    monkeypatch.setattr(training_fixtures, "TITLES", titles)
    data_dir, base = write_tiny_data(tmp_path), write_tiny_base_model(tmp_path)
    args, training_args = tiny_arguments(data_dir, base, tmp_path / "run", max_steps=2, eval_steps=2, save_steps=2)
    with caplog.at_level("WARNING", logger="iamrec.training.fitting"):
        result = train(replace(args, supervision=supervision), training_args)
    assert "training examples: their prompt does not fit max_length=256" in caplog.text
    assert "validation examples: their prompt does not fit max_length=256" in caplog.text
    assert (result.model_dir / "model.safetensors").is_file()
