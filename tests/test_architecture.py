"""The import rules of ARCHITECTURE.md: which room of tinct may import which."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "tinct"

# room -> rooms it may import (besides itself); ARCHITECTURE.md, "Which room may use which".
ALLOWED: dict[str, set[str]] = {
    "color": set(),
    "nn": set(),
    "io": set(),
    "data": {"io", "color"},
    "models": {"nn", "color"},
    "losses": {"nn", "color", "eval"},
    "pipeline": {"models", "color", "io"},
    "eval": {"pipeline", "models", "data", "color", "io", "nn"},
    "train": {"models", "losses", "eval", "data", "io", "color", "nn"},
}


def room_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_rooms(path: Path) -> set[str]:
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "tinct" and len(parts) > 1:
                rooms.add(parts[1])
    return rooms


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_rooms_import_only_what_they_may(room: str) -> None:
    files = [p for p in SRC.rglob("*.py") if room_of(p) == room]
    assert files, f"no files for room {room}"
    for path in files:
        bad = imported_rooms(path) - ALLOWED[room] - {room}
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"
