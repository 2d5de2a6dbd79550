"""The quickstart notebook runs top to bottom (on the tiny budget): its plots show inline with the baselines' reference
lines, its tables render, and it writes the files the model card and the plots need. Cells are found by tag."""

import ast
import json
import re
from pathlib import Path

import matplotlib.image
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "quickstart.ipynb"
TAGS = ("setup", "data", "train", "baselines", "curve", "test", "recommend", "attention")


def tagged(notebook, tag: str):
    """The one code cell carrying `tag`."""
    (cell,) = [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]
    return cell


def returned(cell) -> str:
    """The value a code cell returned (its last expression), as text."""
    (text,) = [out["data"]["text/plain"] for out in cell.outputs if out.output_type == "execute_result"]
    return text


def printed(cell) -> str:
    """What a code cell printed to stdout (progress bars go to stderr)."""
    return "".join(out.get("text", "") for out in cell.outputs if out.get("name") == "stdout")


def mime_types(cell) -> list[str]:
    return [mime for output in cell.outputs for mime in output.get("data", {})]


def test_the_committed_notebook_has_its_tags_and_outputs_and_no_backend_switch():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(tagged(notebook, tag).outputs for tag in TAGS)
    assert "image/png" in mime_types(tagged(notebook, "curve")) and "image/png" in mime_types(
        tagged(notebook, "attention")
    )
    assert not any("matplotlib.use" in cell.source for cell in notebook.cells)


@pytest.mark.slow
def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("IAMREC_NOTEBOOK_BUDGET", "tiny")
    monkeypatch.setenv("IAMREC_NOTEBOOK_OUTPUT", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    curve = ast.literal_eval(returned(tagged(notebook, "curve")))
    assert [step for step, _ in curve] == [2, 4]  # the tiny budget validates every 2 of its 4 steps
    references = ast.literal_eval(returned(tagged(notebook, "baselines")))
    assert set(references) == {"MostPopular", "SASRec"} and all(0 <= value <= 1 for value in references.values())
    assert "image/png" in mime_types(tagged(notebook, "curve"))  # inline, with the reference lines in its legend
    assert matplotlib.image.imread(tmp_path / "validation_ndcg.png").shape == (350, 600, 4)  # 6 x 3.5 in at 100 dpi

    assert "text/html" in mime_types(tagged(notebook, "test"))  # the metrics table
    evaluation = json.loads((tmp_path / "train" / "model" / "eval_results.json").read_text())
    assert evaluation["num_examples"] == 64 and evaluation["policy"] == {
        "exclude_history": False,
        "ties": "pessimistic",
    }
    assert list(evaluation["results"]) == [
        "IAMRec[model]",
        "MostPopular(count=targets)",
        "Random(seed=0)",
        "SASRec(seed=0)",
    ]

    recommended = printed(tagged(notebook, "recommend"))
    assert "held-out next item:" in recommended
    ranked = re.findall(r"^ ?(\d+)\. (.+) \(-?\d+\.\d{3}\)$", recommended, flags=re.MULTILINE)
    assert [int(rank) for rank, _ in ranked] == list(range(1, 11)) and len({title for _, title in ranked}) == 10

    shares = json.loads((tmp_path / "attention_shares.json").read_text())
    masked, plain = shares["HatLLM masks"]["item_tokens"], shares["same weights, no masks"]["item_tokens"]
    assert masked["other_items"][0] == 0.0 < plain["other_items"][0]  # the first layer is intra-item (eq. 3)
    assert {"image/png", "text/html"} <= set(mime_types(tagged(notebook, "attention")))
    assert matplotlib.image.imread(tmp_path / "attention_shares.png").shape == (720, 1008, 4)  # 8.4 x 6 in, 120 dpi
