"""benchmarks/report.py: the published tables equal what the result files give, and say where they come from."""

import importlib.util
import json
import shutil
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
spec = importlib.util.spec_from_file_location("report", BENCHMARKS / "report.py")
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def test_the_committed_tables_are_what_the_results_give():
    for path, text in report.expected_files().items():
        assert path.read_text() == text, f"{path.name} is out of date: run python benchmarks/report.py"


def test_every_result_file_is_in_a_table_or_listed_as_unpublished():
    covered = [source for table in report.TABLES for source in (*table.sources, *table.extra_sources)] + list(
        report.UNPUBLISHED
    )
    for path in sorted(report.RESULTS.rglob("*.json")):
        relative = path.relative_to(report.RESULTS).as_posix()
        assert any(relative == c or relative.startswith(c.rstrip("/") + "/") for c in covered), (
            f"{relative} is in no table of benchmarks/report.py (add a Table, or list it in UNPUBLISHED)"
        )


def result_folder(tmp_path, record: dict) -> tuple[Path, "report.Table"]:
    results = tmp_path / "results"
    (results / "bench").mkdir(parents=True)
    (results / "bench" / "x.json").write_text(json.dumps(record))
    table = report.Table("Speed", "X", ("bench/x.json",), report.one(report.t.records), "python benchmarks/x.py")
    return results, table


def test_provenance_comes_from_the_environment_block_when_the_file_has_one(tmp_path):
    environment = {
        "date": "2030-01-02",
        "commit": "abc1234",
        "uncommitted_changes": False,
        "python": "3.12.1",
        "torch": "2.13.0+cpu",
        "transformers": "5.24.0",
        "peft": "0.21.2",
        "machine": {"system": "Linux x86_64", "cpu": "Some CPU", "cpu_count": 8, "torch_threads": 4, "gpu": None},
    }
    results, table = result_folder(tmp_path, {"environment": environment, "command": "python x.py --n 3", "n": 3})
    line = report.provenance(table, results)
    assert "run on 2030-01-02 at commit `abc1234`;" in line and "`python x.py --n 3`" in line
    assert "python 3.12.1, torch 2.13.0+cpu, transformers 5.24.0, peft 0.21.2" in line
    assert "machine: Some CPU (Linux x86_64), 8 cores, torch threads: 4." in line
    assert report.t.records(results / "bench" / "x.json")[-1] == "| n | 3 |"


def test_a_file_without_one_gets_its_date_and_commit_from_git_and_says_so(tmp_path):
    results, table = result_folder(tmp_path, {"torch": "2.13.0+cpu", "n": 3})
    line = report.provenance(table, results)
    assert "not committed yet (the files record no date or commit)" in line and "peft not recorded" in line
    study = next(table for table in report.TABLES if table.sources == ("study_cpu",))
    commit, date = report.last_commit([report.RESULTS / "study_cpu"])
    assert f"committed on {date} in `{commit}` (from `git log`" in report.provenance(study)


def test_the_demo_region_is_rendered_from_the_demo_report_once_it_exists(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(report.RESULTS / "study_cpu", results / "study_cpu")
    readme = report.README.read_text()
    assert report.render_readme(readme, results) == readme.replace(
        "\n".join(report.headline(report.RESULTS)), "\n".join(report.headline(results))
    )
    metrics = {"HR@5": 0.5, "HR@10": 0.6, "NDCG@5": 0.3, "NDCG@10": 0.4, "MRR": 0.25}
    evaluation = {"num_examples": 10, "num_items": 20, "results": {"IAMRec[model]": metrics}}
    (results / "demo_cpu").mkdir()
    (results / "demo_cpu" / "demo_report.json").write_text(
        json.dumps({"evaluation": evaluation, "validation_curve": [[100, 0.1], [200, 0.2]]})
    )
    rendered = report.render_readme(readme, results)
    demo = rendered.split("<!-- results:demo -->\n")[1].split("<!-- /results:demo -->")[0]
    assert "| IAMRec[model] | 0.5000 | 0.6000 | 0.3000 | 0.4000 | 0.2500 |" in demo
    assert "step 100: 0.1000, step 200: 0.2000" in demo
    assert "| IAMRec: HatLLM schedule, `iamrec demo` | `demo_cpu` | 1 | 0.4000 | 0.6000 | 0.2500 |" in rendered


def test_a_supervision_throughput_file_renders_one_row_per_format(tmp_path):
    def measured(seconds, tokens, targets, base):
        return {
            "seconds_per_step": seconds,
            "tokens_per_step": tokens,
            "targets_per_step": targets,
            "tokens_per_target": tokens / targets,
            "targets_per_second": targets / seconds,
            "tokens_per_target_vs_last": tokens / targets / base[0],
            "targets_per_second_vs_last": targets / seconds / base[1],
        }

    results = {"last": measured(1.0, 1600, 16, (100, 16)), "every_item 20:10": measured(2.0, 3200, 320, (100, 16))}
    path = tmp_path / "supervision_throughput_cpu.json"
    path.write_text(json.dumps({"settings": {"layers": "3", "batch_size": "16"}, "note": "fp32", "results": results}))
    lines = report.t.SUPERVISION_THROUGHPUT([path])
    assert lines[2] == "| `last` | 1.000 | 1,600 | 16 | 100.0 (1.00x) | 16.0 (1.00x) |"
    assert lines[3] == "| `every_item 20:10` | 2.000 | 3,200 | 320 | 10.0 (0.10x) | 160.0 (10.00x) |"
    assert lines[-1] == "3 layers, batch 16; fp32."
