"""`iamrec demo` (the README's main job) end to end on the tiny budget, twice in the same folder."""

import json

import pytest

from iamrec import DEMO_BUDGETS, demo
from iamrec.cli import main


@pytest.mark.slow
def test_demo_runs_end_to_end_and_again_in_the_same_folder(tmp_path, capsys):
    for _ in range(2):
        assert main(["demo", "--budget", "tiny", "--output-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "demo_report.json").read_text())
    model, popular, _ = (metrics["NDCG@10"] for metrics in report["evaluation"]["results"].values())
    assert report["model_beats_most_popular"] == (model > popular)
    assert f"Model beats MostPopular on NDCG@10: {model > popular}" in printed
    assert "recommended via transformers_modules" in printed
    assert report["evaluation"]["num_examples"] == 64 and len(report["recommendation"]["titles"]) == 10
    assert set(report["seconds"]) == {"prepare", "train", "evaluate", "save_reload_recommend"}
    assert (tmp_path / "hub_upload" / "README.md").is_file()


def test_the_default_budget_fails_when_the_model_does_not_beat_most_popular(tmp_path, monkeypatch, capsys):
    """The benchmark run (default budget) checks the value; the tiny CI budget only reports it."""
    assert DEMO_BUDGETS["default"].must_beat_most_popular and not DEMO_BUDGETS["tiny"].must_beat_most_popular
    results = {
        "IAMRec[model]": {"NDCG@10": 0.01},
        "MostPopular(count=targets)": {"NDCG@10": 0.02},
        "Random(seed=0)": {"NDCG@10": 0.003},
    }
    report = {
        "evaluation": {"results": results, "num_examples": 1, "num_items": 3, "policy": {}},
        "model_beats_most_popular": False,
        "validation_curve": [],
        "model_dir": "m",
        "hub_folder": "h",
        "recommendation": {"user": "u", "history": [], "target": "t", "module": "m", "titles": [], "scores": []},
        "seconds": {},
    }
    monkeypatch.setattr(demo, "run_demo", lambda output_dir, budget, seed, device, dtype: report)
    assert main(["demo", "--output-dir", str(tmp_path)]) == 1
    assert "must beat MostPopular" in capsys.readouterr().err
    assert main(["demo", "--output-dir", str(tmp_path), "--budget", "tiny"]) == 0
