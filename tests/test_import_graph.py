"""No import cycle in `src/`: the graph of every `import` statement (module level or inside a function), where
importing `a.b.c` also imports the packages `a.b` and `a` (their `__init__` runs first)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The `iamrec` modules `path` imports, with the packages each import runs on the way (its own excepted)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            targets.add(module)
            targets.update(f"{module}.{alias.name}" for alias in node.names)  # `from . import submodule`
    found = set()
    for target in targets:
        parts = target.split(".")
        for end in range(1, len(parts) + 1):
            candidate = ".".join(parts[:end])
            if candidate in modules and not (name == candidate or name.startswith(candidate + ".")):
                found.add(candidate)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_src_has_no_import_cycle():
    paths = [path for path in SRC.rglob("*.py") if "__pycache__" not in path.parts]
    modules = {module_name(path) for path in paths}
    graph = {module_name(path): imported_modules(path, modules) for path in paths}
    assert "iamrec.baselines.sasrec" in graph and "iamrec.evaluation.runner" in graph["iamrec.baselines.sasrec"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_former_import_paths_name_the_same_objects():
    """Modules moved into `training/` and `baselines/` are still importable under their former names (re-exports)."""
    import importlib

    former = {
        ("iamrec.train", "train"): ("iamrec.training", "train"),
        ("iamrec.train", "build_model"): ("iamrec.training", "build_model"),
        ("iamrec.trainer", "RecommendationTrainer"): ("iamrec.training", "RecommendationTrainer"),
        ("iamrec.arguments", "IAMRecArguments"): ("iamrec.training", "IAMRecArguments"),
        ("iamrec.evaluation", "MostPopular"): ("iamrec.baselines", "MostPopular"),
        ("iamrec.evaluation", "Random"): ("iamrec.baselines", "Random"),
        ("iamrec.evaluation", "BASELINES"): ("iamrec.baselines", "BASELINES"),
        ("iamrec.evaluation", "evaluate_all"): ("iamrec.evaluation.report", "evaluate_all"),
        ("iamrec.evaluation.sasrec", "SASRec"): ("iamrec.baselines", "SASRec"),
        ("iamrec.demo", "BUDGETS"): ("iamrec.training", "DEMO_BUDGETS"),
        ("iamrec.modeling_iamrec", "IAMRecHead"): ("iamrec.modeling_iamrec", "IAMRecLinearHead"),
    }
    for (old_module, old_name), (new_module, new_name) in former.items():
        old = getattr(importlib.import_module(old_module), old_name)
        assert old is getattr(importlib.import_module(new_module), new_name), f"{old_module}.{old_name}"


def test_every_name_imported_from_iamrec_exists():
    """Imports inside functions run late: a name moved elsewhere would fail only when that code path runs."""
    import importlib
    import importlib.util

    for path in SRC.rglob("*.py"):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.level or (node.module or "").startswith("iamrec")):
                continue
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            module = importlib.import_module(".".join([*base, *([node.module] if node.module else [])]))
            for alias in node.names:
                target = f"{module.__name__}.{alias.name}"
                assert hasattr(module, alias.name) or importlib.util.find_spec(target), f"{name}: {target}"
