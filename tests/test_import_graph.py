"""No import cycle in `src/`: the graph of every `import` statement (module level or inside a function) and of every
module named to `importlib` by a string, where importing `a.b.c` also imports the packages `a.b` and `a` (their
`__init__` runs first). Nor two stages (`iamrec.evaluation`, `iamrec.baselines`, ...) that import each other."""

import ast
import importlib.util
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULE_STRING = re.compile(r"(\.+|iamrec\.)[A-Za-z_][\w.]*|iamrec\.")
"""A string that can name a module to `importlib.import_module`: `"..baselines"`, `"iamrec.commands."` (the start of
an f-string)."""


def modules_named_in(source: str, name: str, package: str) -> set[str]:
    """The modules that string constants of `source` name, as `importlib.import_module(string, anchor)` would
    resolve them with the module's package or its own name as anchor (lazy imports by name)."""
    named = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_STRING.fullmatch(node.value):
            string = node.value.rstrip(".") or node.value
            named.update(importlib.util.resolve_name(string, anchor) for anchor in {package, name})
    return named


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The `iamrec` modules `path` imports, by statement or by name, with the packages each import runs on the way
    (its own excepted)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    source = path.read_text(encoding="utf-8")
    targets = modules_named_in(source, name, package)
    for node in ast.walk(ast.parse(source)):
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


def module_graph() -> dict[str, set[str]]:
    paths = [path for path in SRC.rglob("*.py") if "__pycache__" not in path.parts]
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, modules) for path in paths}


def stage(module: str) -> str:
    """The stage a module belongs to: its package right below `iamrec` (`iamrec.evaluation.runner` ->
    `iamrec.evaluation`), or itself for a module there (`iamrec.comparison`)."""
    return ".".join(module.split(".")[:2])


def stage_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    stages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        stages.setdefault(stage(module), set()).update(stage(target) for target in targets)
    return {name: targets - {name} for name, targets in stages.items()}


def test_src_has_no_import_cycle():
    graph = module_graph()
    assert "iamrec.baselines.sasrec" in graph and "iamrec.evaluation.runner" in graph["iamrec.baselines.sasrec"]
    assert (
        "iamrec.commands" in graph["iamrec.cli"]
    )  # by name only: `importlib.import_module(f"iamrec.commands.{name}")`
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_no_two_stages_import_each_other():
    """Each stage is a layer: `baselines/` builds on `evaluation/` (the `Scorer` protocol, the ranking math), which
    imports nothing of it, not even lazily by name; `iamrec.comparison` composes both, above them."""
    stages = stage_graph(module_graph())
    assert "iamrec.evaluation" in stages["iamrec.baselines"]
    assert {"iamrec.evaluation", "iamrec.baselines"} <= stages["iamrec.comparison"]
    assert "iamrec.baselines" not in stages["iamrec.evaluation"]
    both_ways = sorted((a, b) for a, targets in stages.items() for b in targets if a < b and a in stages.get(b, ()))
    assert not both_ways, both_ways


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_a_lazy_import_by_name_is_an_import():
    """What `iamrec.evaluation` once did to offer the baselines without importing them at load time."""
    source = '_LATER = {"MostPopular": "..baselines", "evaluate_all": ".report"}\nDOC = "see iamrec.baselines here"'
    named = modules_named_in(source, "iamrec.evaluation", "iamrec.evaluation")
    assert named == {"iamrec.baselines", "iamrec.evaluation.report"}
    assert stage_graph({"iamrec.evaluation": named, "iamrec.baselines.base": {"iamrec.evaluation"}}) == {
        "iamrec.evaluation": {"iamrec.baselines"},
        "iamrec.baselines": {"iamrec.evaluation"},
    }


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
