"""The public API is the top level of `iamrec`: every exported name resolves, and what users read (the README, docs/,
the quickstart notebook) reaches the library only through it."""

import ast
import importlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import iamrec

ROOT = Path(__file__).resolve().parents[1]
REMOVED_MODULES = (  # now iamrec.training, iamrec.baselines, iamrec.comparison or the top level
    "iamrec.arguments",
    "iamrec.train",
    "iamrec.trainer",
    "iamrec.evaluation.sasrec",
    "iamrec.evaluation.report",
)


def user_facing_code() -> dict[str, str]:
    """Every Python block of the README and docs/, and every code cell of the notebook, by where it is."""
    blocks = {}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for number, code in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.DOTALL), 1):
            blocks[f"{page.relative_to(ROOT)}, python block {number}"] = code
    notebook = ROOT / "notebooks" / "quickstart.ipynb"
    for number, cell in enumerate(json.loads(notebook.read_text())["cells"]):
        if cell["cell_type"] == "code":
            blocks[f"{notebook.relative_to(ROOT)}, cell {number}"] = "".join(cell["source"])
    return blocks


def internal_uses(code: str) -> list[str]:
    """`import iamrec.x`, `from iamrec.x import`, `from iamrec import <not exported>` and `iamrec.<not exported>`."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("iamrec.")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("iamrec."):
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.ImportFrom) and node.module == "iamrec":
            found += [f"from iamrec import {a.name}" for a in node.names if a.name not in iamrec.__all__]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "iamrec":
            found += [] if node.attr in iamrec.__all__ else [f"iamrec.{node.attr}"]
    return found


def test_every_exported_name_resolves_and_is_listed_once():
    assert iamrec.__all__ == sorted(set(iamrec.__all__)) and set(iamrec.__all__) == set(iamrec._EXPORTS)
    for name in iamrec.__all__:
        assert getattr(iamrec, name) is not None, name
    assert set(iamrec.__all__) <= set(dir(iamrec))
    assert iamrec.evaluate is importlib.import_module("iamrec.comparison").evaluate_all


def test_the_readme_the_docs_and_the_notebook_use_only_the_public_api():
    blocks = user_facing_code()
    assert any("README" in where for where in blocks) and any("ipynb" in where for where in blocks)
    uses = {where: found for where, code in blocks.items() if (found := internal_uses(code))}
    assert not uses, uses


def test_the_finder_of_internal_uses_finds_each_kind():
    code = "import iamrec.data\nfrom iamrec.training import train\nfrom iamrec import data, train\niamrec.demo.run()"
    expected = ["iamrec.data", "from iamrec.training import ...", "from iamrec import data", "iamrec.demo"]
    assert internal_uses(code) == expected


def test_every_exported_name_has_an_example_in_docs_api():
    examples = "".join(re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), re.DOTALL))
    imported = {
        alias.name
        for node in ast.walk(ast.parse(examples))
        if isinstance(node, ast.ImportFrom) and node.module == "iamrec"
        for alias in node.names
    }
    assert imported == set(iamrec.__all__)


def test_the_removed_modules_are_gone_and_train_stays_the_function():
    for name in REMOVED_MODULES:
        assert importlib.util.find_spec(name) is None, name
    importlib.import_module("iamrec.training")
    assert iamrec.train is importlib.import_module("iamrec.training").train


def test_the_data_names_never_load_torch():
    script = "import sys; from iamrec import load_prepared, prepare_dataset; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["False"], done.stderr[-2000:]
