"""The supported transformers range: the minimum is enforced and declared consistently, the renamed cache keyword is
detected, and a model folder saved under one transformers loads under another (remote code, without iamrec)."""

import functools
import itertools
import json
import os
import random
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from iamrec import modeling_iamrec
from iamrec.configuration_iamrec import MINIMUM_TRANSFORMERS
from model_fixtures import batch_from_layouts, random_layout, tiny_model
from remote_code_fixtures import run_without_iamrec

ROOT = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).resolve().parents[1]  # the fixture modules
# Interpreters of other virtual environments (each with iamrec installed), e.g. the minimum and newest sets; .ci/run
# sets this after building them. Without it the cross-version round trip has nothing to compare and is skipped.
OTHER_PYTHONS = os.environ.get("IAMREC_CROSS_VERSION_PYTHONS", "").split()


def test_the_minimum_is_declared_once_everywhere():
    assert f'"transformers>={MINIMUM_TRANSFORMERS},<6",' in (ROOT / "pyproject.toml").read_text()
    assert f"transformers=={MINIMUM_TRANSFORMERS}" in (ROOT / "constraints" / "minimum.txt").read_text().splitlines()


def test_an_older_transformers_gets_one_clear_error_naming_the_minimum(tmp_path):
    script = tmp_path / "old.py"
    script.write_text(
        "import runpy, transformers\n"
        "transformers.__version__ = '5.5.4'\n"
        f"runpy.run_path({str(ROOT / 'configuration_iamrec.py')!r})\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"ImportError: IAMRec models need transformers>={MINIMUM_TRANSFORMERS}, but 5.5.4 is installed: "
        f"pip install 'transformers>={MINIMUM_TRANSFORMERS},<6'"
    )


def test_the_cache_keyword_is_read_from_the_signature():
    def new_style(hidden_states, cache=None):
        pass

    def old_style(hidden_states, past_key_values=None):
        pass

    @functools.wraps(new_style)
    def renaming_decorator(*args, **kwargs):  # like transformers' deprecate_kwarg
        return new_style(*args, **kwargs)

    assert modeling_iamrec.cache_keyword(new_style) == "cache"
    assert modeling_iamrec.cache_keyword(old_style) == "past_key_values"
    assert modeling_iamrec.cache_keyword(renaming_decorator) == "cache"


def transformers_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import transformers; print(transformers.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


SAVE = """
import sys, random, torch
sys.path.insert(0, {tests!r})
from model_fixtures import NUM_ITEMS, batch_from_layouts, random_layout, tiny_model
models = {{
    "checkpoint": tiny_model(["intra", "full", "inter", "inter_last"]),
    "checkpoint_ids": tiny_model(["intra", "full", "inter", "inter_last"], item_id_embeddings="add", item_id_dim=8),
}}
batch = batch_from_layouts([random_layout(random.Random(0), n) for n in (2, 5, 3)], "left")
for folder, model in models.items():
    if folder == "checkpoint_ids":
        batch["item_ids"] = torch.where(batch["item_index"] >= 0, batch["item_index"] % NUM_ITEMS, -1)
    model.save_pretrained(folder)
    with torch.no_grad():
        expected = {{"logits": model(**batch).logits, "top": model.recommend(**batch, k=5).item_ids}}
    torch.save(batch, f"{{folder}}-batch.pt")
    torch.save(expected, f"{{folder}}-expected.pt")
"""

LOAD = """
import json, torch, transformers
from transformers import AutoModel
for folder in ("checkpoint", "checkpoint_ids"):
    model = AutoModel.from_pretrained(folder, trust_remote_code=True, attn_implementation="eager").eval()
    assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
    batch, expected = torch.load(f"{folder}-batch.pt"), torch.load(f"{folder}-expected.pt")
    with torch.no_grad():
        logits = model(**batch).logits
        top = model.recommend(**batch, k=5).item_ids
    torch.testing.assert_close(logits, expected["logits"], atol=1e-6, rtol=1e-6)
    assert torch.equal(top, expected["top"]), (folder, top, expected["top"])
print(json.dumps({"loaded_with": transformers.__version__}))
"""


@pytest.mark.skipif(len(OTHER_PYTHONS) < 2, reason="needs IAMREC_CROSS_VERSION_PYTHONS (two venvs; .ci/run sets it)")
@pytest.mark.parametrize("saver, loader", list(itertools.permutations(range(2))))
def test_a_folder_saved_under_one_transformers_loads_under_another(tmp_path, saver, loader):
    save_python, load_python = OTHER_PYTHONS[saver], OTHER_PYTHONS[loader]
    saved_with, expected_loader = transformers_version(save_python), transformers_version(load_python)
    assert saved_with != expected_loader, f"both venvs hold transformers {saved_with}: nothing crosses a version"
    (tmp_path / "save.py").write_text(SAVE.format(tests=str(TESTS)))
    subprocess.run([save_python, "save.py"], cwd=tmp_path, check=True, capture_output=True, timeout=300)
    saved_config = json.loads((tmp_path / "checkpoint" / "config.json").read_text())
    assert saved_config["transformers_version"] == saved_with
    result = run_without_iamrec(LOAD, tmp_path, python=load_python)
    assert result.returncode == 0, f"saved with {saved_with}, loaded with {expected_loader}:\n{result.stderr[-3000:]}"
    assert json.loads(result.stdout.strip().splitlines()[-1])["loaded_with"] == expected_loader


def test_the_model_talks_to_transformers_without_deprecated_keywords():
    """With the installed transformers, a forward with a KV cache raises no deprecation warning: the old keyword's
    removal (announced for 5.40) will not break it."""
    batch = batch_from_layouts([random_layout(random.Random(1), n) for n in (2, 3)], "left")
    model = tiny_model(["intra", "full", "inter_last"], attn_implementation="sdpa")
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        first = model(**{key: value[:, :-1] for key, value in batch.items()}, use_cache=True)
        model(
            input_ids=batch["input_ids"][:, -1:],
            attention_mask=batch["attention_mask"],
            item_index=batch["item_index"],
            cache=first.cache,
        )
    assert not [str(warning.message) for warning in caught if "deprecated" in str(warning.message).lower()]
