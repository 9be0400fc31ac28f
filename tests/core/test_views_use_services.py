"""Views call services and serializers only: no route module (``views.py``, ``web.py``, ``*_web.py``) of the
packages runs a query itself (``db.session`` or a SQLAlchemy statement), so what a page or an answer reads is
named, and checked, in one service function. Read from the source, like tests/core/test_import_graph.py."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ecabinet", "meetings", "documents", "ballots", "search")
STATEMENTS = {"select", "insert", "update", "delete", "func", "text"}


def _route_modules() -> list[Path]:
    return [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
            if path.name in ("views.py", "web.py") or path.name.endswith("_web.py")]


def _queries(path: Path) -> list[str]:
    """``line: code`` of each use of the session or of a SQLAlchemy statement builder in ``path``."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            if any(alias.name in STATEMENTS for alias in node.names):
                found.append(node.lineno)
        elif isinstance(node, ast.Import) and any(alias.name == "sqlalchemy" for alias in node.names):
            found.append(node.lineno)
        elif (isinstance(node, ast.Attribute) and node.attr == "session" and isinstance(node.value, ast.Name)
              and node.value.id == "db"):
            found.append(node.lineno)
    return [f"{line}: {lines[line - 1].strip()}" for line in sorted(set(found))]


def test_route_modules_leave_queries_to_the_services():
    offending = {str(path.relative_to(ROOT)): queries for path in _route_modules() if (queries := _queries(path))}
    assert offending == {}


def test_a_query_in_a_route_module_is_seen(tmp_path):
    module = tmp_path / "web.py"
    module.write_text("from sqlalchemy import select\n\ndef page():\n    return db.session.scalars(select(User))\n")
    assert _queries(module) == ["1: from sqlalchemy import select", "4: return db.session.scalars(select(User))"]
