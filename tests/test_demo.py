"""`iamrec demo` (the README's main job) end to end on the tiny budget, twice in the same folder."""

import json

from iamrec.cli import main


def test_demo_runs_end_to_end_and_again_in_the_same_folder(tmp_path, capsys):
    for _ in range(2):
        assert main(["demo", "--budget", "tiny", "--output-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Model beats MostPopular on NDCG@10:" in printed and "recommended via transformers_modules" in printed
    report = json.loads((tmp_path / "demo_report.json").read_text())
    assert report["evaluation"]["num_examples"] == 64 and len(report["recommendation"]["titles"]) == 10
    assert set(report["seconds"]) == {"prepare", "train", "evaluate", "save_reload_recommend"}
    assert (tmp_path / "hub_upload" / "README.md").is_file()
