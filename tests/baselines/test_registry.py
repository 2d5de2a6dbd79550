"""One registry of baselines: every registered class follows the `Scorer` protocol, and a baseline registered in one
place is offered by `iamrec evaluate --baselines` and by the study's grid."""

import json

import pytest
import torch

from iamrec import study
from iamrec.baselines import BASELINES, BaselineSettings, Scorer, build_baseline, register_baseline
from iamrec.cli import main
from iamrec.data import load_prepared
from training_fixtures import write_tiny_data


class LastItem:
    """A toy baseline: the last history item scores 1, every other item 0."""

    def __init__(self, num_items: int):
        self.num_items = num_items
        self.name = "LastItem"

    @classmethod
    def from_settings(cls, settings: BaselineSettings) -> "LastItem":
        return cls(settings.num_items)

    def fit(self, train, validation=None) -> "LastItem":
        return self

    def score(self, examples):
        scores = torch.zeros(len(examples), self.num_items)
        for row, example in enumerate(examples):
            if example["history"]:
                scores[row, example["history"][-1]] = 1.0
        return scores

    __call__ = score


@pytest.fixture
def toy_baseline():
    register_baseline("last_item", label="Last item")(LastItem)
    yield "last_item"
    del BASELINES["last_item"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_data(tmp_path_factory.mktemp("registry"))


@pytest.mark.parametrize("name", ["most_popular", "most_popular_histories", "random"])
def test_every_registered_baseline_follows_the_scorer_protocol(name, data_dir):
    data = load_prepared(data_dir)
    settings = BaselineSettings(len(data.titles), seed=3)
    scorer = build_baseline(name, settings, data.splits["train"], data.splits["validation"])
    assert isinstance(scorer, Scorer)
    examples = data.splits["test"].select(range(4)).to_list()
    assert scorer.score(examples).shape == (4, len(data.titles))
    assert torch.equal(scorer(examples), scorer.score(examples)) or name == "random"


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_baseline("most_popular", label="again")(LastItem)


def test_a_registered_toy_baseline_is_offered_by_evaluate_and_by_the_study(toy_baseline, data_dir, tmp_path, capsys):
    assert main(["evaluate", "--data-dir", str(data_dir), "--baselines", toy_baseline, "most_popular"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["results"]) == ["LastItem", "MostPopular(count=targets)"]

    assert study.resolve_grid([toy_baseline]) == [toy_baseline]
    output = tmp_path / "study"
    study.run_study(data_dir, output, [toy_baseline], [0], "tiny", base_model="unused", show_progress=False)
    record = json.loads(study.result_path(output, toy_baseline, 0).read_text())
    assert record["label"] == "Last item" and record["complete"]
    assert "Last item" in (output / "summary.md").read_text()
