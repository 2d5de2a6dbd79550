"""The quickstart notebook runs top to bottom (on the tiny budget) and draws the validation curve."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("IAMREC_NOTEBOOK_BUDGET", "tiny")
    monkeypatch.setenv("IAMREC_NOTEBOOK_OUTPUT", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert (tmp_path / "validation_ndcg.png").stat().st_size > 0
    outputs = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))
    assert '"NDCG@10"' in outputs and "held-out next item" in outputs
