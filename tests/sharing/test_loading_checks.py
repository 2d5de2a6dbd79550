"""Model folders that load only in part, score NaN or hold malformed files: one error line naming what is wrong; and
titles that would drive the terminal, printed escaped."""

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file
from transformers import AutoModel

from iamrec.cli import main as iamrec_main
from iamrec.inference import Recommender
from tokenizer_fixtures import TITLES


def edit_weights(folder: Path, edit) -> None:
    weights = load_file(folder / "model.safetensors")
    edit(weights)
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})


def edit_config(folder: Path, **values) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **values}))


def recommend_error(folder: Path, capsys) -> str:
    capsys.readouterr()
    assert iamrec_main(["recommend", "--model", str(folder), "--history", TITLES[0]]) == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error and error.strip().splitlines()[-1].startswith("iamrec recommend: error: "), error
    return error


def test_a_nan_score_is_refused_by_recommend_as_by_evaluate(folder, capsys):
    """A NaN-scored item used to be ranked first, exit 0."""

    def poison(weights):
        name = next(name for name in weights if name.startswith("rec_head") and name.endswith("bias"))
        weights[name][3] = float("nan")

    edit_weights(folder, poison)
    assert "scores contain NaN in rows [0]" in recommend_error(folder, capsys)
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    batch = Recommender.from_pretrained(folder).processor([[0, 1]])
    with pytest.raises(ValueError, match="scores contain NaN"):
        model.recommend(batch["input_ids"], batch["attention_mask"], batch["item_index"], k=3)


def test_a_missing_weight_is_named(folder, capsys):
    """A file without one layer norm weight used to load with that weight freshly initialised."""
    edit_weights(folder, lambda weights: weights.pop("norm.weight"))
    assert "incomplete or inconsistent checkpoint, missing weights: norm.weight" in recommend_error(folder, capsys)


def test_weights_the_config_does_not_declare_are_named(folder, capsys):
    """A config of 0 layers used to load a model without decoder layers from a file holding two."""
    edit_config(folder, num_hidden_layers=0, item_mask_modes=[])
    error = recommend_error(folder, capsys)
    assert "weights the config has no place for: layers.0." in error


@pytest.mark.parametrize(
    ("break_folder", "message"),
    [
        (lambda folder: edit_config(folder, num_items="18"), "'num_items' should be a whole number, got a string"),
        (lambda folder: edit_config(folder, item_mask_modes="intra"), "'item_mask_modes' should be a list"),
        (
            lambda folder: (folder / "tokenizer.json").write_text('{"version": "1.0", "model": {"type": "Nope"}}'),
            "Could not load the tokenizer or processor in",
        ),
    ],
)
def test_malformed_config_or_tokenizer_is_one_line(folder, capsys, break_folder, message):
    """A quoted num_items and a broken tokenizer.json used to end in tracebacks."""
    break_folder(folder)
    assert message in recommend_error(folder, capsys)


def test_recommend_prints_escape_codes_in_titles_escaped(folder, capsys):
    """A title holding an OSC sequence used to be printed raw and changed the terminal's title."""
    settings = json.loads((folder / "processor_config.json").read_text())
    settings["titles"][5] = "Heat \x1b]0;pwned\x07\x1b[31m(1995)"
    (folder / "processor_config.json").write_text(json.dumps(settings))
    num_items = len(settings["titles"])
    argv = ["recommend", "--model", str(folder), "--history", TITLES[0], "-k", str(num_items), "--include-history"]
    capsys.readouterr()
    assert iamrec_main(argv) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed
    assert "Heat \\x1b]0;pwned\\x07\\x1b[31m(1995)  (item 5," in printed
