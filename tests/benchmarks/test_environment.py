"""The environment block of benchmark results: the same keys everywhere, no local path, written whole."""

import importlib.util
import json
import re
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
spec = importlib.util.spec_from_file_location("environment", BENCHMARKS / "environment.py")
environment = importlib.util.module_from_spec(spec)
spec.loader.exec_module(environment)


def test_the_block_names_versions_commit_and_machine_but_no_local_path():
    block = environment.environment()
    assert {"date", "commit", "uncommitted_changes", "python", "torch", "transformers", "peft", "machine"} <= set(block)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", block["date"]) and re.fullmatch(r"[0-9a-f]{7,}", block["commit"])
    assert {"system", "cpu", "cpu_count", "torch_threads", "gpu"} == set(block["machine"])
    text = json.dumps(block)
    for private in (str(Path.home()), str(BENCHMARKS.parent), sys.prefix):
        assert private not in text


def test_the_command_line_keeps_relative_paths_and_cuts_absolute_ones():
    argv = [str(BENCHMARKS / "bench_masks.py"), "--data-dir", "/home/someone/data/ml-100k", "--out", "runs/x.json"]
    assert environment.command_line(argv) == "python benchmarks/bench_masks.py --data-dir ml-100k --out runs/x.json"


def test_write_result_replaces_the_file_whole(tmp_path):
    path = environment.write_result({"a": 1}, tmp_path / "deep" / "result.json")
    environment.write_result({"a": 2}, path)
    assert json.loads(path.read_text()) == {"a": 2} and [p.name for p in path.parent.iterdir()] == ["result.json"]


def test_every_benchmark_that_writes_results_records_the_block():
    writers = [
        path for path in BENCHMARKS.glob("*.py") if "json" in path.read_text() and not path.stem.startswith("report")
    ]
    assert len(writers) >= 9
    for path in writers:
        if path.stem != "environment":
            assert "environment(" in path.read_text(), path.name
