"""Test-wide set-up: every cache in a temporary folder, a check that the user's stays untouched, and the plugins."""

import os
import shutil
import tempfile
from pathlib import Path

# Every cache the tests write (Hugging Face, evaluate, converted models, matplotlib) goes to one temporary folder,
# set before the libraries read these variables at import; `_home_cache_is_untouched` checks the user's stays as it was.
TEST_CACHE = Path(tempfile.mkdtemp(prefix="iamrec-tests-"))
os.environ.update(
    HF_HOME=str(TEST_CACHE / "huggingface"),
    IAMREC_CACHE=str(TEST_CACHE / "iamrec"),
    MPLCONFIGDIR=str(TEST_CACHE / "matplotlib"),
)
HOME_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))

import pytest  # noqa: E402

pytest_plugins = ["tokenizer_fixtures"]  # its `any_tokenizer` fixture, for every test module


def cache_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file and folder under `root` (a folder's mtime moves when an entry comes or goes, even
    a temporary one), but the package managers' download caches."""
    entries = {}
    for path in root.rglob("*") if root.exists() else []:
        relative = path.relative_to(root)
        if relative.parts[0] not in ("pip", "uv"):
            stat = path.stat()
            entries[str(relative)] = (stat.st_size, stat.st_mtime_ns)
    return entries


@pytest.fixture(scope="session", autouse=True)
def _home_cache_is_untouched():
    """Fails the run if any test wrote to the user's cache folder instead of its temporary ones."""
    before = cache_snapshot(HOME_CACHE)
    yield
    after = cache_snapshot(HOME_CACHE)
    shutil.rmtree(TEST_CACHE, ignore_errors=True)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"tests wrote to {HOME_CACHE}: {changed[:10]}"


@pytest.fixture(autouse=True)
def _isolated_hf_modules(tmp_path_factory, monkeypatch):
    """Keep remote-code module copies out of the user's cache."""
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path_factory.getbasetemp() / "hf_modules"))
