"""The quickstart notebook runs top to bottom (on the tiny budget), draws the validation curve and shows its results."""

import ast
import json
import re
from pathlib import Path

import matplotlib.image
import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "quickstart.ipynb"


def cell_text(cell) -> str:
    """What a code cell printed to stdout and returned, as text (progress bars go to stderr)."""
    return "".join(
        output.get("text", "") if output.get("name") == "stdout" else output.get("data", {}).get("text/plain", "")
        for output in cell.outputs
        if output.get("name") != "stderr"
    )


def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("IAMREC_NOTEBOOK_BUDGET", "tiny")
    monkeypatch.setenv("IAMREC_NOTEBOOK_OUTPUT", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    curve = ast.literal_eval(cell_text(code[3]))
    assert [step for step, _ in curve] == [2, 4]  # the tiny budget validates every 2 of its 4 steps
    assert matplotlib.image.imread(tmp_path / "validation_ndcg.png").shape == (350, 600, 4)  # 6 x 3.5 in at 100 dpi
    evaluation = json.loads(cell_text(code[4]))
    assert evaluation["num_examples"] == 64 and evaluation["policy"] == {
        "exclude_history": False,
        "ties": "pessimistic",
    }
    assert list(evaluation["results"]) == ["IAMRec[model]", "MostPopular(count=targets)", "Random(seed=0)"]
    printed = cell_text(code[5])
    assert "held-out next item:" in printed
    ranked = re.findall(r"^ ?(\d+)\. (.+) \(-?\d+\.\d{3}\)$", printed, flags=re.MULTILINE)
    assert [int(rank) for rank, _ in ranked] == list(range(1, 11)) and len({title for _, title in ranked}) == 10
    shares = ast.literal_eval(cell_text(code[6]))
    masked, plain = shares["HatLLM masks"], shares["same weights, no masks"]
    assert masked["other_items"][0] == 0.0 < plain["other_items"][0]  # the first layer is intra-item (eq. 3)
    assert matplotlib.image.imread(tmp_path / "attention_shares.png").shape == (720, 1008, 4)  # 8.4 x 6 in, 120 dpi
