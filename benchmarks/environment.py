"""The environment block every benchmark result records, and the one way result files are written.

A number is only as good as what it ran on: each result file carries the same `environment` block (the date, the
commit, python, torch, transformers, peft, the machine), so `benchmarks/report.py` can state it under every table.
Nothing in it names a local path or the host: result files are committed and published.

    from environment import command_line, environment, write_result
    write_result({"environment": environment(), "command": command_line(), ...}, RESULTS / "x.json")
"""

import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

from iamrec.atomic import write_json_atomic

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("torch", "transformers", "peft")


def environment(device: str | None = None) -> dict:
    """Date, commit, package versions and machine of this run (`device`: a CUDA device to name, if one is used)."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        **git_commit(),
        "python": platform.python_version(),
        **{name: _version(name) for name in PACKAGES},
        "machine": machine(device),
    }


def git_commit() -> dict:
    """The checked-out commit and whether tracked files differ from it (`commit: None` outside a git clone)."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "uncommitted_changes": None}
    return {"commit": commit, "uncommitted_changes": dirty}


def machine(device: str | None = None) -> dict:
    """CPU model and count, torch threads, and the GPU when `device` is a CUDA device."""
    import torch

    gpu = None
    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(torch.device(device))
    return {
        "system": f"{platform.system()} {platform.machine()}",
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
    }


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what `platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def command_line(argv: list[str] | None = None) -> str:
    """How this script was run, relative to the repository, with absolute paths cut to their last part."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve()
    words = [script.relative_to(ROOT).as_posix() if script.is_relative_to(ROOT) else script.name]
    return "python " + " ".join([*words, *map(public_path, argv[1:])])


def public_path(path: str | Path) -> str:
    """A path as recorded in a result: relative ones as given, absolute ones by their last part only."""
    return Path(path).name if os.path.isabs(path) else str(path)


def write_result(result: dict, path: str | Path) -> Path:
    """Writes `result` as JSON, indented by 2 like every benchmark result, so a killed run leaves the old file whole."""
    path = Path(path)
    write_json_atomic(path, result, indent=2)
    return path


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
