"""The README's quickstart runs as written, from the repository's set-up, and prints what the README shows."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart() -> tuple[str, list[str]]:
    """The Quickstart section's Python block and the lines of the output block that follows it."""
    section = README.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    printed = re.search(r"```text\n(.*?)```", section, re.DOTALL).group(1)
    return code, printed.splitlines()


def untimed(line: str) -> str | dict:
    """A line as printed, or a Trainer log line without its timings (they vary from run to run)."""
    if not line.startswith("{'") or "runtime" not in line and "loss" not in line:
        return line
    return {
        key: value for key, value in ast.literal_eval(line).items() if "runtime" not in key and "per_second" not in key
    }


@pytest.mark.slow
def test_the_quickstart_runs_as_written_and_prints_what_the_readme_shows(tmp_path):
    code, shown = quickstart()
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=os.environ, timeout=900
    )
    assert run.returncode == 0, run.stderr[-3000:]
    printed = run.stdout.splitlines()
    # Everything but the runtimes in the Trainer's log lines must match to the last digit.
    assert [untimed(line) for line in printed] == [untimed(line) for line in shown]
    assert (tmp_path / "runs" / "quickstart" / "train" / "model" / "config.json").is_file()
