"""Importing the domain packages registers nothing: their error messages, page labels, home sections, demo
steps and SQLAlchemy listeners are given by each package's ``init_app`` (or ``create_app`` for the core's), so
what an app has is what ``create_app`` put there. Checked in a fresh interpreter that imports every module
and never makes an app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: the core's listeners registered at import, each with why
CORE_LISTENERS_AT_IMPORT = {
    "ecabinet.database._sqlite_pragmas": "every SQLite connection of the process, an app's or not (backups, "
                                         "restores), needs WAL, foreign keys and the busy timeout",
    "ecabinet.database._sqlite_begin": "the same connections take the write lock as the app's do",
}

_PROBE = r"""
import importlib, json, pkgutil, sys
import sqlalchemy.event
import sqlalchemy.event.api

OURS = ("ecabinet", "meetings", "documents", "ballots", "search")
listened = []
_listen = sqlalchemy.event.api.listen

def recording(target, identifier, fn, *args, **kwargs):
    if fn.__module__.split(".")[0] in OURS:
        listened.append(f"{fn.__module__}.{fn.__qualname__}")
    return _listen(target, identifier, fn, *args, **kwargs)

sqlalchemy.event.api.listen = sqlalchemy.event.listen = recording

def import_all(package):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)

def state():
    from ecabinet import demo, errors, web
    return {"messages": sorted(errors.MESSAGES), "labels": sorted(web.LABELS),
            "home_sections": len(web.HOME_SECTIONS), "demo_steps": len(demo.DEMO_STEPS),
            "listeners": list(listened)}

import_all("ecabinet")
core = state()
for package in ("documents", "search", "ballots", "meetings"):
    import_all(package)
print(json.dumps({"core": core, "all": state()}))
"""


def _probe() -> dict[str, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, dict[str, Any]] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_importing_the_domains_registers_nothing():
    probe = _probe()
    core, everything = probe["core"], probe["all"]
    assert everything["messages"] == core["messages"]
    assert everything["labels"] == core["labels"]
    assert (everything["home_sections"], everything["demo_steps"]) == (0, 0)
    assert everything["listeners"] == core["listeners"]
    assert sorted(core["listeners"]) == sorted(CORE_LISTENERS_AT_IMPORT)

