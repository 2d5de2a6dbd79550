"""Shared fixtures: tiny random IAMRec models, random item layouts, and fresh interpreters without iamrec."""

import os
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

# Every cache the tests write (Hugging Face, evaluate, converted models, matplotlib) goes to one temporary folder,
# set before the libraries read these variables at import; `_home_cache_is_untouched` checks the user's stays as it was.
TEST_CACHE = Path(tempfile.mkdtemp(prefix="iamrec-tests-"))
os.environ.update(HF_HOME=str(TEST_CACHE / "huggingface"), IAMREC_CACHE=str(TEST_CACHE / "iamrec"),
                  MPLCONFIGDIR=str(TEST_CACHE / "matplotlib"))
HOME_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))

import pytest  # noqa: E402
import torch  # noqa: E402

from iamrec import IAMRecConfig, IAMRecForSequentialRecommendation  # noqa: E402

pytest_plugins = ["tokenizer_fixtures"]  # its `any_tokenizer` fixture, for every test module

VOCAB_SIZE = 97
NUM_ITEMS = 13


def tiny_config(item_mask_modes: list[str], **overrides) -> IAMRecConfig:
    values = dict(
        vocab_size=VOCAB_SIZE,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        num_hidden_layers=len(item_mask_modes),
        item_mask_modes=item_mask_modes,
        num_items=NUM_ITEMS,
        pad_token_id=0,
    )
    values.update(overrides)
    return IAMRecConfig(**values)


def tiny_model(item_mask_modes: list[str], attn_implementation: str = "eager", seed: int = 0, **overrides):
    torch.manual_seed(seed)
    model = IAMRecForSequentialRecommendation(tiny_config(item_mask_modes, **overrides))
    model.set_attn_implementation(attn_implementation)
    return model.eval()


@dataclass
class Layout:
    """One token sequence: which item (history slot) each token belongs to, and the item spans [start, end)."""

    item_index: list[int]
    spans: list[tuple[int, int]]  # spans[slot] = (start, end)

    def __len__(self) -> int:
        return len(self.item_index)


def random_layout(rng: random.Random, num_items: int, adjacent: bool = False) -> Layout:
    """Prompt tokens before, between (unless `adjacent`) and after items; items of 1 to 4 tokens."""
    item_index, spans = [-1] * rng.randint(1, 3), []
    for slot in range(num_items):
        if slot and not adjacent and rng.random() < 0.6:
            item_index += [-1] * rng.randint(1, 2)
        length = rng.choice([1, 1, 2, 3, 4])
        spans.append((len(item_index), len(item_index) + length))
        item_index += [slot] * length
    item_index += [-1] * rng.randint(0, 2)
    return Layout(item_index, spans)


def batch_from_layouts(layouts: list[Layout], padding_side: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random token ids for each layout, padded to a batch (pad id 0, item_index -1 on padding)."""
    generator = torch.Generator().manual_seed(seed)
    width = max(len(layout) for layout in layouts)
    input_ids = torch.zeros(len(layouts), width, dtype=torch.long)
    attention_mask = torch.zeros(len(layouts), width, dtype=torch.long)
    item_index = torch.full((len(layouts), width), -1, dtype=torch.long)
    for row, layout in enumerate(layouts):
        n = len(layout)
        cols = slice(width - n, width) if padding_side == "left" else slice(0, n)
        input_ids[row, cols] = torch.randint(1, VOCAB_SIZE, (n,), generator=generator)
        attention_mask[row, cols] = 1
        item_index[row, cols] = torch.tensor(layout.item_index)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "item_index": item_index}


def run_without_iamrec(script: str, tmp_path: Path, python: str = sys.executable) -> subprocess.CompletedProcess:
    """Runs `script` in a fresh `python` where `import iamrec` fails, as on a machine that never installed it."""
    blocker = textwrap.dedent(
        """
        import importlib.abc, sys
        class _Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "iamrec" or name.startswith("iamrec."):
                    raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")
        sys.meta_path.insert(0, _Hide())
        """
    )
    path = tmp_path / "script.py"
    path.write_text(blocker + textwrap.dedent(script))
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([python, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


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
