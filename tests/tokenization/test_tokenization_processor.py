"""IAMRecProcessor: titles <-> ids, one code path with the collator, save/load, AutoProcessor without iamrec."""

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import iamrec.tokenization
from iamrec.tokenization import IAMRecProcessor, PromptTemplate
from iamrec.tokenization.processing_iamrec import closest_titles
from tokenizer_fixtures import TITLES, smollm2_tokenizer, tiny_tokenizer

TOKENIZATION_DIR = Path(iamrec.tokenization.__file__).resolve().parent
HUB_IMPORTABLE = {"torch", "transformers", "huggingface_hub"} | set(sys.stdlib_module_names)


@pytest.fixture(scope="module")
def processor() -> IAMRecProcessor:
    return IAMRecProcessor(tiny_tokenizer(add_bos=True), TITLES, max_length=160)


def test_titles_and_ids(processor):
    assert processor.num_items == len(TITLES) and processor.titles == tuple(TITLES)
    assert processor.title_to_id["Toy Story (1995)"] == 0
    assert processor.title_to_id["Cape Fear (1991)"] == 14
    assert "Cape Fear" not in processor.title_to_id  # held by items 16 and 17
    assert processor.to_item_ids(["Babe (1995)", 3, "Amélie (2001)"]) == [7, 3, 12]
    assert processor.decode_items(7) == "Babe (1995)"
    decoded = processor.decode_items(torch.tensor([[0, 1], [12, 16]]))
    assert decoded == [[TITLES[0], TITLES[1]], [TITLES[12], "Cape Fear"]]


def test_history_as_titles_equals_history_as_ids_equals_the_collator(processor):
    by_title = processor([["Toy Story (1995)", "Babe (1995)"], ["Copycat (1995)"]], targets=["Amélie (2001)", 2])
    by_id = processor([[0, 7], [4]], targets=[12, 2])
    collated = processor.collator()([{"history": [0, 7], "target": 12}, {"history": [4], "target": 2}])
    assert set(by_title) == {"input_ids", "attention_mask", "item_index", "labels"}
    for key in collated:
        assert torch.equal(by_title[key], by_id[key]) and torch.equal(by_id[key], collated[key])
    single = processor(["Toy Story (1995)", "Babe (1995)"], targets="Amélie (2001)")
    assert single["input_ids"].shape[0] == 1 and single["labels"].tolist() == [12]
    assert single["input_ids"][0].tolist() == by_id["input_ids"][0].tolist()  # the longest row has no padding
    as_numpy = processor([np.array([0, 7]), np.array([4])], targets=np.array([12, 2]))
    assert all(torch.equal(as_numpy[key], by_id[key]) for key in by_id)
    assert torch.equal(processor(np.array([0, 7]))["input_ids"], processor([0, 7])["input_ids"])


def test_collators_share_the_title_cache(processor):
    collator = processor.collator(max_length=200, padding_side="right")
    assert collator.title_tokens is processor.title_tokens
    assert (collator.max_length, collator.padding_side) == (200, "right")
    assert processor.collator().max_length == 160


def test_unknown_title_suggests_close_matches(processor):
    with pytest.raises(ValueError, match="Unknown title 'Toy Stroy \\(1995\\)'.*Did you mean 'Toy Story \\(1995\\)'"):
        processor([["Toy Stroy (1995)"]])
    with pytest.raises(ValueError, match="'Cape Fear' is shared by items \\[16, 17\\]: give the item id"):
        processor(["Cape Fear"])


def test_suggestions_come_closest_first():
    """For "Toy Story (1995)" the suggestions used to be 'Toy Story 3', 'Toy Story 2', 'Toy Story': the film last."""
    catalog = ["Toy Story 2", "Toy Story", "Heat", "Toy Story 3", "Story of Us"]
    assert closest_titles("Toy Story (1995)", catalog) == ["Toy Story", "Toy Story 2", "Toy Story 3"]
    assert closest_titles("toy story 3", catalog)[0] == "Toy Story 3"
    assert closest_titles("Casablanca", catalog) == []


def test_no_history_is_an_error_and_one_empty_history_is_one_row(processor):
    """`processor([])` used to return one row, as if it were one empty history; tensors now behave the same."""
    for empty in ([], torch.tensor([], dtype=torch.long)):
        with pytest.raises(ValueError, match=r"No history given: .*\[\[\]\] for one history without items"):
            processor(empty)
    assert processor([[]])["input_ids"].shape[0] == 1


@pytest.mark.parametrize("bad", [18, -1])
def test_unknown_id_names_the_catalog_size(processor, bad):
    with pytest.raises(ValueError, match=f"Item id {bad} is not in the catalog of 18 items"):
        processor([0, bad])
    with pytest.raises(ValueError, match=f"Item id {bad} is not in the catalog of 18 items"):
        processor.decode_items([bad])


def test_bad_settings_fail_at_construction():
    with pytest.raises(ValueError, match="max_length=5 cannot hold the prompt"):
        IAMRecProcessor(tiny_tokenizer(add_bos=True), TITLES, max_length=5)
    with pytest.raises(ValueError, match="padding_side must be 'left' or 'right'"):
        IAMRecProcessor(tiny_tokenizer(add_bos=True), TITLES, padding_side="middle")
    with pytest.raises(ValueError, match="Item 1 has no title"):
        IAMRecProcessor(tiny_tokenizer(add_bos=True), ["A", " "])


def test_save_and_load_round_trip(tmp_path):
    template = PromptTemplate(items="products", item="product", verb="purchased")
    processor = IAMRecProcessor(
        tiny_tokenizer(add_bos=False), TITLES, template=template, max_length=150, padding_side="right"
    )
    (tmp_path / "config.json").write_text("{}")  # saving beside a checkpoint keeps its files
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert saved["titles"] == TITLES and saved["auto_map"] == {"AutoProcessor": "processing_iamrec.IAMRecProcessor"}
    expected_files = {"config.json", "tokenizer.json", "processing_iamrec.py", "collator.py", "templates.py"}
    assert expected_files <= set(os.listdir(tmp_path))
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]  # no staging folder left behind

    loaded = IAMRecProcessor.from_pretrained(tmp_path)
    assert loaded.titles == processor.titles and loaded.template == template
    assert (loaded.max_length, loaded.padding_side) == (150, "right")
    histories = [["Babe (1995)", 3, 11], [5]]
    original, reloaded = processor(histories, targets=[1, 2]), loaded(histories, targets=[1, 2])
    assert all(torch.equal(original[key], reloaded[key]) for key in original)


def test_auto_processor_loads_in_a_fresh_process_without_iamrec(tmp_path):
    """The saved folder is self-contained: remote code loads it while `import iamrec` is impossible."""
    processor = IAMRecProcessor(smollm2_tokenizer(), TITLES, max_length=120)
    processor.save_pretrained(tmp_path / "model")
    expected = processor(["Toy Story (1995)", 11])
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.modules["iamrec"] = None  # any `import iamrec...` now raises ImportError
        from transformers import AutoProcessor
        processor = AutoProcessor.from_pretrained({str(tmp_path / "model")!r}, trust_remote_code=True)
        batch = processor(["Toy Story (1995)", 11])
        print(json.dumps({{"class": type(processor).__module__ + "." + type(processor).__name__,
                           "batch": {{key: value.tolist() for key, value in batch.items()}},
                           "decoded": processor.decode_items([0, 11])}}))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["class"].startswith("transformers_modules.")
    assert output["class"].endswith("processing_iamrec.IAMRecProcessor")
    assert output["batch"] == {key: value.tolist() for key, value in expected.items()}
    assert output["decoded"] == [TITLES[0], TITLES[11]]


def test_hub_files_import_only_what_a_hub_user_has():
    """Files shipped beside a model may import the standard library, torch, transformers, huggingface_hub and each
    other (relative imports, flat folder); anything else breaks `trust_remote_code`."""
    files = sorted(TOKENIZATION_DIR.glob("*.py"))
    assert {path.name for path in files} >= {"__init__.py", "templates.py", "collator.py", "processing_iamrec.py"}
    assert not [path for path in TOKENIZATION_DIR.iterdir() if path.is_dir() and path.name != "__pycache__"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                sibling = path.parent / f"{node.module}.py"
                assert node.level == 1 and sibling.exists(), f"{path.name}: {ast.unparse(node)}"
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
                for name in names:
                    assert name.split(".")[0] in HUB_IMPORTABLE, f"{path.name} imports {name}"
