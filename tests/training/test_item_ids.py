"""Training with item vectors: trained in full beside LoRA, started from a saved SASRec, cleared for cold items."""

import json

import pytest
import torch

from iamrec.baselines.sasrec import SASRec, SASRecConfig
from iamrec.data import ProtocolConfig, load_prepared
from iamrec.folders import RUN_FILE
from iamrec.inference import Recommender
from iamrec.training import IAMRecArguments, train
from training_fixtures import tiny_arguments, write_tiny_base_model, write_tiny_data


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("item_ids")
    data_dir = write_tiny_data(root)
    data = load_prepared(data_dir)
    sasrec = SASRec.fit(
        data.splits["train"],
        data.splits["validation"],
        len(data.titles),
        SASRecConfig(embedding_dim=16, max_epochs=1),
        show_progress=False,
    )
    sasrec.save_pretrained(root / "sasrec")
    return data_dir, write_tiny_base_model(root), root / "sasrec", sasrec


def test_item_vectors_start_from_a_saved_sasrec_and_train_with_the_adapters(workspace, tmp_path):
    data_dir, base, sasrec_dir, sasrec = workspace
    args, training_args = tiny_arguments(
        data_dir, base, tmp_path / "run", max_steps=3, eval_strategy="no", load_best_model_at_end=False
    )
    args.item_id_embeddings, args.item_id_init = "add", str(sasrec_dir)
    result = train(args, training_args)
    recommender = Recommender.from_pretrained(result.model_dir)
    model = recommender.model
    assert model.config.item_id_embeddings == "add" and model.config.item_id_dim == 16
    assert recommender.processor.item_id_embeddings == "add"
    start = sasrec.model.item_embedding.weight[: model.config.num_items]
    table = model.item_embeddings.table.weight
    assert table.shape == start.shape and not torch.equal(table, start)  # started there, then trained
    assert (table - start).abs().max() < 0.1  # three steps move it a little, not to a fresh draw
    top = recommender.recommend([[0, 1, 2]], k=3)
    assert len(top[0]) == 3
    recorded = json.loads((result.model_dir / RUN_FILE).read_text())["iamrec_arguments"]
    assert recorded["item_id_init"] == "sasrec"  # the run summary is shared: a folder name, not the user's path


def test_a_sasrec_of_another_catalog_is_refused(workspace, tmp_path):
    data_dir, base, _, _ = workspace
    other = SASRec(5, SASRecConfig(embedding_dim=16), 0, show_progress=False)
    other.save_pretrained(tmp_path / "other")
    args, training_args = tiny_arguments(data_dir, base, tmp_path / "run", max_steps=1)
    args.item_id_embeddings, args.item_id_init = "add", str(tmp_path / "other")
    with pytest.raises(ValueError, match="scores 5 items"):
        train(args, training_args)


def test_cold_items_lose_their_vectors_and_are_read_from_their_titles(tmp_path):
    data_dir = write_tiny_data(tmp_path, ProtocolConfig(cold_items_fraction=0.2, cold_items_seed=0))
    args, training_args = tiny_arguments(data_dir, write_tiny_base_model(tmp_path), tmp_path / "run", max_steps=2)
    args.rec_head_type, args.item_id_embeddings = "text", "add"
    result = train(args, training_args)
    cold = load_prepared(data_dir).protocol["cold_items"]
    table = Recommender.from_pretrained(result.model_dir).model.item_embeddings.table.weight
    warm = torch.ones(len(table), dtype=torch.bool)
    warm[cold] = False
    assert (table[cold] == 0).all() and (table[warm] != 0).any()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"item_id_dim": 8}, "need --item_id_embeddings"),
        ({"item_id_init": "sasrec"}, "need --item_id_embeddings"),
        ({"item_id_embeddings": "add", "item_id_tie_head": True, "item_id_init": "sasrec"}, "cannot start from"),
        ({"item_id_embeddings": "prefix"}, "item_id_embeddings must be one of"),
    ],
)
def test_bad_item_vector_flags_fail_before_anything_loads(fields, message):
    with pytest.raises(ValueError, match=message):
        IAMRecArguments(data_dir="data", **fields)
