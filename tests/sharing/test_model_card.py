"""The model card of `iamrec push`: Hub metadata that `huggingface_hub` parses, readable tables, no local path."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from iamrec import hub
from iamrec.comparison import evaluate_all
from iamrec.data import load_prepared
from iamrec.folders import EVAL_FILE, RUN_FILE
from iamrec.pretrained import base_model_weights, public_base_model
from iamrec.training import train
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data


@pytest.fixture(scope="module")
def evaluated_model(tmp_path_factory):
    """A trained and evaluated tiny model whose run record names SmolLM2 as its base, as a `smollm2-135m` run does."""
    root = tmp_path_factory.mktemp("card")
    data_dir, base = write_tiny_data(root), write_tiny_base_model(root)
    model_dir = train(*tiny_arguments(data_dir, base, root / "run", max_steps=2, eval_steps=2, save_steps=2)).model_dir
    (model_dir / EVAL_FILE).write_text(json.dumps(evaluate_all(load_prepared(data_dir), "test", model_dir)))
    run = json.loads((model_dir / RUN_FILE).read_text())
    assert run["base_model_weights"] is None  # a local base is used as given
    run["iamrec_arguments"]["base_model"] = public_base_model("smollm2-135m")
    run["base_model_weights"] = base_model_weights("smollm2-135m")
    (model_dir / RUN_FILE).write_text(json.dumps(run))
    return model_dir


def test_the_card_metadata_parses_with_the_hub_library(evaluated_model, tmp_path):
    folder = hub.build_hub_folder(evaluated_model, tmp_path / "upload", "someone/iamrec-tiny")
    card = ModelCard.load(folder / "README.md")
    data = card.data
    assert data.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct" and data.license == "apache-2.0"
    assert data.library_name == "transformers" and data.datasets == ["interactions"]
    assert {"recommendation", "sequential-recommendation", "custom_code"} <= set(data.tags)
    evaluation = json.loads((evaluated_model / EVAL_FILE).read_text())
    model_metrics = evaluation["results"]["IAMRec[model]"]
    assert data.model_name == "someone/iamrec-tiny"
    assert {result.metric_name: result.metric_value for result in data.eval_results} == {
        name: round(value, 4) for name, value in model_metrics.items()
    }
    assert {(result.task_type, result.dataset_split) for result in data.eval_results} == {
        ("sequential-recommendation", "test")
    }
    assert data.eval_results[0].dataset_args == {"ranked_items": 18, "exclude_history": False, "ties": "pessimistic"}


def test_the_card_text_has_tables_not_raw_json_and_no_local_path(evaluated_model, tmp_path):
    text = hub.model_card(evaluated_model, "someone/iamrec-tiny")
    body = text.split("\n---\n", 1)[1]
    assert "```json" not in body and "| k-core | 5 |" in body and "| split | chronological 8:1:1 |" in body
    assert "| users / items / interactions | 24 / 18 / 288 |" in body
    assert "| MostPopular(count=targets) |" in body and "@article{cui2025hatllm," in body
    assert "[`HuggingFaceTB/SmolLM2-135M-Instruct`](https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct)" in body
    assert "The base weights are the Q4_1 (4-bit) GGUF of HuggingFaceTB/SmolLM2-135M-Instruct" in body
    assert "de-quantized to float32, not the full-precision Hub checkpoint." in body
    for private in (str(evaluated_model.parents[1]), tempfile.gettempdir(), str(Path.home())):
        assert private not in text


def test_an_unknown_local_base_model_gets_no_hub_link_and_no_guessed_license(evaluated_model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(evaluated_model, folder)
    run = json.loads((folder / RUN_FILE).read_text())
    run["iamrec_arguments"]["base_model"] = "my-llama"
    (folder / RUN_FILE).write_text(json.dumps(run))
    (folder / EVAL_FILE).unlink()
    card = ModelCard(hub.model_card(folder))
    assert card.data.base_model is None and card.data.license is None and card.data.eval_results is None
    assert "`my-llama`" in card.text and "Not evaluated yet" in card.text
