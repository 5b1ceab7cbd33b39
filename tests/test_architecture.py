"""The package's shape, as docs/architecture.md describes it: no import cycle and
no import from a lower layer to a higher one (lazy and type-only imports included), no module
over the size guideline, every command in `judge/cli/`, no click outside it, and every folder
of `judge/` named in its table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("judge", "calibration")
# The guideline is "none over ~400 lines"; this bound lets a module breathe a little past it.
MAX_LINES = 430


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every project module `name` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in modules else base)
    return {t for t in targets if t in modules and t != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None (iterative depth-first search)."""
    state: dict[str, int] = {}
    for start in graph:
        if state.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path = [start]
        state[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop()
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return None


def test_no_import_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    found = _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert found is not None and found[0] == found[-1] and set(found) == {"a", "b", "c"}
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


# The layers, lowest first: a module imports from its own layer or a lower one, never a higher.
# The order is the imports' as they are, which is not quite the run's flow (load → judge →
# aggregate → store): `store` sits low because every step keeps its data through it (load's
# bounded id sets, the engine's call cache), and `calibration` (the statistics) sits just above
# it, importing nothing of `judge` but `judge.errors` and the SQLite runner
# (test_calibration_imports_only_errors_and_the_sqlite_runner), so the run summary's α
# (aggregate) and every front end may use it. `batch` is listed with the front ends in the
# architecture page, but `judge.run` drives a batch run, so it sits with the orchestration.
# Sideways imports within a layer are allowed (report uses frame, run uses scorer).
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "judge.errors",
        "judge.version",
        "judge.option_info",
        "judge.option_checks",
        "judge.options",
        "judge.contracts",
    ),
    ("judge.store",),
    ("calibration",),
    ("judge.load",),
    ("judge.judging",),
    ("judge.aggregate",),
    ("judge.scorer", "judge.batch", "judge.run"),
    (
        "judge",  # the package's lazy public API, and `python -m judge`
        "judge.__main__",
        "judge.cli",
        "judge.serve",
        "judge.annotate",
        "judge.report",
        "judge.integrations",
        "judge.frame",
        "judge.hosts",
        "judge.study",
    ),
)


def _layer(module: str) -> int:
    """The index in LAYERS of the longest prefix naming `module`'s layer."""
    best, index = "", -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(f"{name}.")) and len(name) > len(best):
                best, index = name, i
    return index


def _upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import from a lower layer to a higher one, as "a -> b"."""
    return sorted(
        f"{name} -> {target}"
        for name, targets in graph.items()
        for target in targets
        if _layer(target) > _layer(name)
    )


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    modules = _modules()
    unplaced = sorted(name for name in modules if _layer(name) < 0)
    assert not unplaced, f"modules in no layer of LAYERS: {unplaced}"
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    upward = _upward(graph)
    assert not upward, "imports up the layers:\n" + "\n".join(upward)


def test_the_layer_check_finds_an_import_up() -> None:
    assert _upward({"judge.load.chat": {"judge.judging.accuracy", "judge.contracts"}}) == [
        "judge.load.chat -> judge.judging.accuracy"
    ]
    assert _upward({"calibration.record": {"judge.load.rubric"}}) == [
        "calibration.record -> judge.load.rubric"
    ]
    assert _upward({"judge.run": {"judge.scorer", "judge.batch", "judge.store.cache"}}) == []
    assert _layer("judge.cli.score") > _layer("judge.run") > _layer("judge.load.inputs")


def test_calibration_imports_only_errors_and_the_sqlite_runner() -> None:
    modules = _modules()
    allowed = {"judge.errors", "judge.store.sqlite", "judge.store"}
    found = {
        f"{name} -> {target}"
        for name, path in modules.items()
        if name.split(".")[0] == "calibration"
        for target in _imports(name, path, modules)
        if target.split(".")[0] == "judge" and target not in allowed
    }
    assert not found, sorted(found)


def test_click_and_rich_only_in_the_command_line() -> None:
    found = set()
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] in ("click", "rich") for n in names):
                found.add(name)
    assert not {n for n in found if not n.startswith("judge.cli")}, sorted(found)


def test_no_module_over_the_size_guideline() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_architecture_page_names_every_folder() -> None:
    section = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(judge/[a-z_]+)/`", section))
    folders = {
        f"judge/{p.name}"
        for p in (ROOT / "judge").iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    }
    assert folders == named, (
        f"in the tree only: {folders - named}; in docs/architecture.md only: {named - folders}"
    )
