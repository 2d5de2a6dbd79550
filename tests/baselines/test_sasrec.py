import json
from dataclasses import replace

import pytest
import torch
from datasets import Dataset

from iamrec.baselines import MostPopular
from iamrec.baselines.sasrec import IGNORE_INDEX, SUPERVISIONS, SASRec, SASRecConfig, SASRecModel, training_tensors
from iamrec.evaluation import evaluate_scorer

NUM_ITEMS, NUM_USERS, STEPS, WINDOW = 20, 40, 12, 10
TINY = SASRecConfig(
    embedding_dim=16,
    num_heads=2,
    feedforward_dim=16,
    dropout=0.1,
    batch_size=32,
    learning_rate=1e-2,
    max_epochs=4,
    patience=2,
    eval_batch_size=64,
)


def walk_splits() -> dict[str, Dataset]:
    """Users walk the catalog in order (item i, then i + 1) from their own start; sliding windows of 10 items,
    the last step of each user is test, the one before validation, the rest train."""
    rows = {"train": [], "validation": [], "test": []}
    for user in range(NUM_USERS):
        walk = [(user + step) % NUM_ITEMS for step in range(STEPS)]
        for position in range(1, STEPS):
            split = "test" if position == STEPS - 1 else "validation" if position == STEPS - 2 else "train"
            rows[split].append(
                {"user": str(user), "history": walk[max(0, position - WINDOW) : position], "target": walk[position]}
            )
    return {name: Dataset.from_list(split_rows) for name, split_rows in rows.items()}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These models are tiny: a second thread only adds overhead, and thrashes on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def splits() -> dict[str, Dataset]:
    return walk_splits()


@pytest.fixture(scope="module")
def fitted(splits) -> SASRec:
    return SASRec.fit(splits["train"], splits["validation"], NUM_ITEMS, TINY, seed=0, show_progress=False)


def random_model(seed: int = 0) -> SASRecModel:
    torch.manual_seed(seed)
    return SASRecModel(TINY, NUM_ITEMS).eval()


def validation_ndcg(scorer, split: Dataset) -> float:
    return evaluate_scorer(scorer, split, NUM_ITEMS, batch_size=7, show_progress=False)["metrics"]["NDCG@10"]


def test_output_at_a_position_never_depends_on_later_items():
    model = random_model()
    items = torch.randint(0, NUM_ITEMS, (4, WINDOW), generator=torch.Generator().manual_seed(1))
    lengths = torch.full((4,), WINDOW)
    changed_after, changed_at = items.clone(), items.clone()
    changed_after[:, 5:] = (items[:, 5:] + 1) % NUM_ITEMS
    changed_at[:, 4] = (items[:, 4] + 1) % NUM_ITEMS
    with torch.no_grad():
        hidden, hidden_after, hidden_at = (model(x, lengths) for x in (items, changed_after, changed_at))
    torch.testing.assert_close(hidden_after[:, :5], hidden[:, :5], rtol=0, atol=1e-6)
    assert not torch.allclose(hidden_after[:, 5:], hidden[:, 5:])  # the later positions do see the change
    assert not torch.allclose(hidden_at[:, 4:], hidden[:, 4:], atol=1e-4)  # and position 4 sees item 4


def test_scoring_a_history_equals_the_training_output_at_its_last_position():
    # Per-position training reads the output at position t as the score of history[:t + 1]: they must agree.
    scorer = SASRec(NUM_ITEMS, TINY, seed=3)
    history = [3, 9, 1, 14, 7, 7, 0, 19, 5, 2]
    with torch.no_grad():
        hidden = scorer.model(torch.tensor([history]), torch.tensor([len(history)]))[0]
        per_position = scorer.model.logits(hidden)
    prefixes = scorer.score([{"history": history[: t + 1]} for t in range(len(history))])
    torch.testing.assert_close(prefixes, per_position, rtol=0, atol=1e-5)


def test_every_position_labels_are_the_next_item_and_the_target():
    split = Dataset.from_list(
        [{"history": [4, 5, 6], "target": 7}, {"history": [9], "target": 1}, {"history": [], "target": 2}]
    )
    every = training_tensors(split, NUM_ITEMS, replace(TINY, supervision="every_position"))
    assert every["labels"].tolist() == [[5, 6, 7], [1, IGNORE_INDEX, IGNORE_INDEX], [2, IGNORE_INDEX, IGNORE_INDEX]]
    assert every["lengths"].tolist() == [3, 1, 1]
    assert every["items"].tolist() == [[4, 5, 6], [9, NUM_ITEMS, NUM_ITEMS], [NUM_ITEMS] * 3]
    last = training_tensors(split, NUM_ITEMS, SASRecConfig(supervision="last_position"))
    assert last["labels"].tolist() == [
        [IGNORE_INDEX, IGNORE_INDEX, 7],
        [1, IGNORE_INDEX, IGNORE_INDEX],
        [2, IGNORE_INDEX, IGNORE_INDEX],
    ]


def test_batch_scores_equal_scores_of_each_history_alone():
    scorer = SASRec(NUM_ITEMS, TINY, seed=1)
    histories = [[], [3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [19, 0, 4], list(range(15))]  # the last is truncated
    batch = scorer.score([{"history": history} for history in histories])
    alone = torch.cat([scorer.score([{"history": history}]) for history in histories])
    assert batch.shape == (len(histories), NUM_ITEMS) and batch.dtype == torch.float32
    torch.testing.assert_close(batch, alone, rtol=0, atol=1e-5)
    assert torch.isfinite(batch).all()
    # Only the last max_length items count.
    torch.testing.assert_close(batch[4], scorer.score([{"history": list(range(5, 15))}])[0], rtol=0, atol=1e-5)
    assert not torch.allclose(batch[0], batch[1], atol=1e-4)  # the empty history is its own, defined input


def test_same_seed_gives_identical_scores_and_another_seed_differs(splits, fitted):
    again = SASRec.fit(splits["train"], splits["validation"], NUM_ITEMS, TINY, seed=0, show_progress=False)
    other = SASRec.fit(splits["train"], splits["validation"], NUM_ITEMS, TINY, seed=1, show_progress=False)
    examples = splits["test"].to_list()
    assert torch.equal(again.score(examples), fitted.score(examples))
    assert again.epoch_log == fitted.epoch_log
    assert not torch.allclose(other.score(examples), fitted.score(examples))


def test_fit_leaves_the_global_random_state_alone(splits):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    SASRec.fit(splits["train"], splits["validation"], NUM_ITEMS, TINY, seed=0, show_progress=False)
    assert torch.equal(torch.rand(3), expected)


def test_early_stopping_keeps_the_best_epoch(splits):
    # A step size this large makes validation NDCG wander, so the best epoch is not the last.
    config = replace(TINY, learning_rate=0.2, max_epochs=30, patience=3)
    scorer = SASRec.fit(splits["train"], splits["validation"], NUM_ITEMS, config, seed=0, show_progress=False)
    values = [entry["validation_NDCG@10"] for entry in scorer.epoch_log]
    best = max(values)
    assert scorer.best_epoch == values.index(best) + 1  # the first epoch reaching the best value
    assert len(values) == min(config.max_epochs, scorer.best_epoch + config.patience)
    assert values[-1] < best
    assert validation_ndcg(scorer, splits["validation"]) == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("supervision", SUPERVISIONS)
def test_it_learns_the_walk_and_beats_most_popular(splits, supervision):
    config = replace(TINY, max_epochs=40, patience=5, supervision=supervision)
    scorer = SASRec.fit(splits["train"], splits["validation"], NUM_ITEMS, config, seed=0, show_progress=False)
    popular = MostPopular(NUM_ITEMS).fit(splits["train"])
    sasrec_ndcg, popular_ndcg = (
        validation_ndcg(scorer, splits["validation"]),
        validation_ndcg(popular, splits["validation"]),
    )
    assert sasrec_ndcg > 0.9
    assert sasrec_ndcg > popular_ndcg + 0.4
    assert validation_ndcg(scorer, splits["test"]) > 0.9


def test_save_and_load_give_identical_scores(tmp_path, splits, fitted):
    folder = tmp_path / "sasrec"
    fitted.save_pretrained(folder)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["sasrec"]  # no staging folder left behind
    assert sorted(path.name for path in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((folder / "config.json").read_text())["config"]["embedding_dim"] == TINY.embedding_dim
    loaded = SASRec.from_pretrained(folder)
    examples = splits["test"].to_list() + [{"history": []}]
    assert torch.equal(loaded.score(examples), fitted.score(examples))
    assert (loaded.name, loaded.best_epoch, loaded.config) == (fitted.name, fitted.best_epoch, fitted.config)
    fitted.save_pretrained(folder)  # overwriting an existing save works too
    assert torch.equal(SASRec.from_pretrained(folder).score(examples), fitted.score(examples))


def test_a_saved_config_of_the_wrong_shape_is_one_line_naming_it(tmp_path, fitted):
    folder = tmp_path / "sasrec"
    fitted.save_pretrained(folder)
    (folder / "config.json").write_text('[{"embedding_dim": 8}]')
    with pytest.raises(
        ValueError, match=r"config.json: expected a JSON object \(a saved SASRec\), got a list"
    ) as error:
        SASRec.from_pretrained(folder)
    one_line_error(error)


def one_line_error(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_bad_item_ids_are_one_line_value_errors(splits, fitted):
    for history, message in (
        ([3, NUM_ITEMS], r"item id 20, outside the catalog \[0, 20\)"),
        ([-1], "item id -1"),
        ([2.0], "an item id that is not an integer"),
    ):
        with pytest.raises(ValueError, match=rf"The history of row 1 holds {message}") as error:
            fitted.score([{"history": [1]}, {"history": history}])
        one_line_error(error)
    bad_train = Dataset.from_list([{"history": [1], "target": NUM_ITEMS}])
    with pytest.raises(ValueError, match="training target of row [0-9]+ holds item id 20") as error:
        SASRec.fit(bad_train, splits["validation"], NUM_ITEMS, TINY, show_progress=False)
    one_line_error(error)


def test_bad_settings_and_empty_splits_are_one_line_value_errors(splits):
    with pytest.raises(ValueError, match="The training split is empty") as error:
        SASRec.fit(splits["train"].select([]), splits["validation"], NUM_ITEMS, TINY, show_progress=False)
    one_line_error(error)
    with pytest.raises(ValueError, match="The validation split is empty"):
        SASRec.fit(splits["train"], splits["validation"].select([]), NUM_ITEMS, TINY, show_progress=False)
    with pytest.raises(ValueError, match="num_items must be a positive integer"):
        SASRec(0)
    for field, value in (("embedding_dim", 0), ("batch_size", -1), ("patience", 0), ("max_length", 1.5)):
        with pytest.raises(ValueError, match=f"SASRecConfig.{field} must be a positive integer") as error:
            SASRecConfig(**{field: value})
        one_line_error(error)
    with pytest.raises(ValueError, match="num_heads"):
        SASRecConfig(num_heads=3)
    with pytest.raises(ValueError, match="dropout"):
        SASRecConfig(dropout=1.0)
    with pytest.raises(ValueError, match="supervision"):
        SASRecConfig(supervision="all")


def test_fit_on_an_instance_equals_the_former_classmethod(splits, fitted):
    """`SASRec(...).fit(train, validation)` (the `Scorer` protocol) trains exactly as `SASRec.fit(train, validation,
    num_items, ...)` did; fitting a fitted or loaded scorer keeps its weights."""
    scorer = SASRec(NUM_ITEMS, TINY, seed=0, show_progress=False)
    assert scorer.fit(splits["train"], splits["validation"]) is scorer and scorer.is_fitted
    for name, tensor in fitted.model.state_dict().items():
        assert torch.equal(tensor, scorer.model.state_dict()[name]), name
    before = {name: tensor.clone() for name, tensor in scorer.model.state_dict().items()}
    scorer.fit(splits["train"], splits["validation"])
    assert all(torch.equal(before[name], tensor) for name, tensor in scorer.model.state_dict().items())
