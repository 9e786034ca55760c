"""Imports flow one way (foundations -> representations/nn -> models/math -> tasks -> train ->
eval/inference -> bench -> api -> cli), with no cycles, and the light entry points stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import deque
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "audiogen"
LAYERS = {
    "errors": 0, "utils": 0,
    "audio": 1, "config": 1,
    "data": 2, "representations": 2, "nn": 2, "generative": 2,
    "sampling": 3, "models": 3, "losses": 3,
    "tasks": 4,
    "train": 5, "recipe": 5,
    "eval": 6, "inference": 6,
    "bench": 7,
    "api": 8, "export": 8,
    "cli": 9,
    "__main__": 10, "__init__": 10,
}


def module_name(path: Path) -> str:
    """``audiogen/eval/__init__.py`` -> ``audiogen.eval``; ``audiogen/x.py`` -> ``audiogen.x``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else "__init__"]


def imports(module: str) -> set[str]:
    """The audiogen modules ``module`` imports anywhere (also inside functions): ``from pkg
    import name`` counts as an import of ``pkg.name`` when that is a module, else of ``pkg``.
    Ancestor packages are left out: they are initialised before the module in any case."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    ancestors = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    return {name for name in found if name in MODULES and name not in ancestors | {module}}


GRAPH = {module: imports(module) for module in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected component of more than one module
    (Tarjan's algorithm), starting at the component's first module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [cycle_through(min(c), graph, c) for c in components if len(c) > 1]


def cycle_through(start: str, graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path ``start -> ... -> start`` inside ``component`` (breadth first)."""
    paths = {start: [start]}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in sorted(graph[node] & component):
            if target == start:
                return paths[node] + [start]
            if target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    raise AssertionError(f"{start}: no cycle in its strongly connected component")


def test_every_module_has_a_layer() -> None:
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
    assert tops <= set(LAYERS), f"add {sorted(tops - set(LAYERS))} to LAYERS"


def test_no_module_imports_a_higher_layer() -> None:
    wrong = [f"{module} imports {target}" for module, targets in GRAPH.items()
             for target in targets if layer_of(target) > layer_of(module)]
    assert not wrong, "; ".join(sorted(wrong))


def test_no_import_cycles() -> None:
    found = cycles(GRAPH)
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_from_imports_resolve_to_submodules() -> None:
    assert "audiogen.eval.pairing" in GRAPH["audiogen.eval.listen.design"]
    assert "audiogen.eval" not in GRAPH["audiogen.eval.listen.design"]
    assert "audiogen.config" in GRAPH["audiogen.train.experiment"]


def imported_after(statement: str) -> set[str]:
    """Names in ``sys.modules`` after running ``statement`` in a fresh interpreter."""
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=120)
    return set(result.stdout.split())


def test_the_listening_test_server_loads_without_torch_or_training_code() -> None:
    loaded = imported_after("import audiogen.eval.listen.server")
    assert "audiogen.eval.listen.server" in loaded
    heavy = sorted(name for name in loaded if name == "torch" or name.startswith((
        "torch.", "audiogen.train", "audiogen.tasks", "audiogen.models", "audiogen.eval.registry")))
    assert not heavy, f"importing the listening-test server loads {heavy[:8]}"


def test_building_the_command_line_parser_loads_no_library_code() -> None:
    loaded = imported_after("from audiogen.cli import build_parser\nbuild_parser()")
    library = sorted(name for name in loaded if name == "torch" or (
        name.startswith("audiogen.") and not name.startswith("audiogen.cli")
        and name not in ("audiogen.config", "audiogen.errors")))
    assert not library, f"building the parser loads {library}"
