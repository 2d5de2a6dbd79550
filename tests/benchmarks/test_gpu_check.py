"""The GPU check script's time box: it always leaves one JSON file per stage, whatever ran out."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def test_a_spent_budget_still_leaves_one_file_per_stage(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--device",
            "cpu",
            "--budget-minutes",
            "0",
            "--data-dir",
            str(tmp_path),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    variants = ("batch_32", "batch_256", "fused_adamw_workers", "group_by_length", "batch_512")
    stages = ["environment", "step_throughput", *(f"train_{name}" for name in variants), "evaluation", "agreement"]
    stages += ["long_context", "train_torch_compile"]  # compiling can take minutes: last
    assert sorted(path.stem for path in (tmp_path / "out").iterdir()) == sorted(stages)
    for stage in stages:
        result = json.loads((tmp_path / "out" / f"{stage}.json").read_text())
        assert result == {"skipped": "the 0.0-minute budget ran out before this stage"}, stage
