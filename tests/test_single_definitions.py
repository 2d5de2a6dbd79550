"""The named schedules, their defaults and the training formats are spelled once, in the registry and the type that
define them; everything else (the config, `from_llama`, `iamrec train`, the study, the collator) reads those."""

import ast
from pathlib import Path

from iamrec.configuration_iamrec import SCHEDULES, TABLE5_ABLATIONS

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION = ROOT / "configuration_iamrec.py"
COLLATOR = ROOT / "tokenization" / "collator.py"


def code_files() -> list[Path]:
    """Every Python file of the library and of the files shipped to the Hub, each once (src/ links to the root ones)."""
    paths = [*ROOT.glob("*.py"), *(ROOT / "tokenization").glob("*.py"), *(ROOT / "src").rglob("*.py")]
    return sorted({path.resolve() for path in paths if "__pycache__" not in path.parts})


def nodes() -> list[tuple[Path, ast.AST]]:
    return [(path, node) for path in code_files() for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))]


def strings(node: ast.AST) -> list[str]:
    """The string constants a literal collection (tuple, list, set, dict keys; `Literal[...]` holds a tuple) spells
    out."""
    elements = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", [])
    return [
        element.value for element in elements if isinstance(element, ast.Constant) and isinstance(element.value, str)
    ]


def test_each_schedule_is_spelled_once_in_the_registry():
    ablations = [schedule.name for schedule in TABLE5_ABLATIONS]
    spelled = {name: [] for name in ablations}
    for path, node in nodes():
        if isinstance(node, ast.Constant) and node.value in spelled:
            spelled[node.value].append(path)
    assert spelled == {name: [CONFIGURATION] for name in ablations}
    lists = [
        (path.name, node.lineno)
        for path, node in nodes()
        if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict))
        and len(strings(node)) >= 3
        and set(strings(node)) <= set(SCHEDULES)
    ]
    assert not lists, f"a list of schedule names beside the registry: {lists}"


def test_the_default_schedule_and_its_blocks_are_defined_once():
    assignments = [
        path
        for path, node in nodes()
        if isinstance(node, ast.Assign)
        and any(getattr(target, "id", None) == "DEFAULT_SCHEDULE" for target in node.targets)
    ]
    assert assignments == [CONFIGURATION]
    parsed = nodes()
    sweep = block_sweep(parsed)
    literal_defaults = []
    for path, node in parsed:
        if id(node) in sweep:
            continue
        if isinstance(node, ast.arguments):  # def f(..., schedule="hatllm")
            named = list(zip(reversed(node.args), reversed(node.defaults))) + list(
                zip(node.kwonlyargs, node.kw_defaults)
            )
            literal_defaults += [
                (path.name, arg.arg) for arg, default in named if arg.arg == "schedule" and is_text(default)
            ]
        elif isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "schedule":  # a dataclass field
            value = node.value
            if isinstance(value, ast.Call):  # flag(default, help=...) or field(default=...)
                defaults = [*value.args[:1], *(keyword.value for keyword in value.keywords if keyword.arg == "default")]
                value = next(iter(defaults), None)
            if is_text(value):
                literal_defaults.append((path.name, node.target.id))
        elif isinstance(node, ast.keyword) and node.arg in ("num_intra", "num_inter_last") and is_number(node.value):
            literal_defaults.append((path.name, node.arg))
        elif isinstance(node, ast.Dict):  # {"num_intra": 1, ...}: a block size chosen outside the registry
            keys = zip(node.keys, node.values)
            literal_defaults += [
                (path.name, key.value)
                for key, value in keys
                if isinstance(key, ast.Constant) and key.value in ("num_intra", "num_inter_last") and is_number(value)
            ]
    assert not literal_defaults, f"schedule defaults outside the registry: {literal_defaults}"


def block_sweep(parsed: list[tuple[Path, ast.AST]]) -> set[int]:
    """The ids of the nodes of the study's block-size sweep (`study.grid.BLOCK_CONFIGURATIONS`) in `parsed`: the one
    place that names block sizes other than the registry's defaults, on purpose (HatLLM's sensitivity to them)."""
    grid = (ROOT / "src" / "iamrec" / "study" / "grid.py").resolve()
    found = [
        node
        for path, node in parsed
        if path == grid
        and isinstance(node, ast.AnnAssign)
        and getattr(node.target, "id", None) == "BLOCK_CONFIGURATIONS"
    ]
    assert len(found) == 1
    return {id(node) for node in ast.walk(found[0])}


def test_the_training_formats_are_defined_once():
    definitions = [(path, node.lineno) for path, node in nodes() if {"last", "every_item"} <= set(strings(node))]
    assert [path for path, _ in definitions] == [COLLATOR], definitions


def is_text(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def is_number(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool)
