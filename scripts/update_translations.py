"""Extract every msgid, fill Vietnamese from the packages' messages_vi.py, compile the catalogs.

Run after adding user-facing text: ``python scripts/update_translations.py``. It fails when a
msgid has no Vietnamese, so English never leaks into the Vietnamese-first UI unnoticed.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TRANSLATIONS = ROOT / "ecabinet" / "translations"
CATALOG_DATE = datetime(2026, 1, 1, tzinfo=UTC)
SOURCES = ["ecabinet.messages_vi", "ecabinet.auth.messages_vi",
           "meetings.messages_vi", "meetings.live.messages_vi", "documents.messages_vi",
           "ballots.messages_vi", "meetings.minutes.messages_vi", "search.messages_vi", "meetings.notices.messages_vi",
           "meetings.briefcase.messages_vi"]


def vietnamese() -> dict[str, str]:
    merged: dict[str, str] = {}
    for name in SOURCES:
        try:
            source = importlib.import_module(name).VI
        except ModuleNotFoundError:
            continue
        for msgid, text in source.items():
            if merged.get(msgid, text) != text:
                raise SystemExit(f"{name} translates {msgid!r} as {text!r}, another package as {merged[msgid]!r}: "
                                 "use a distinct English msgid for each meaning")
            merged[msgid] = text
    return merged


def main() -> int:
    pot = TRANSLATIONS / "messages.pot"
    TRANSLATIONS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_l", "-k", "lazy_gettext", "--no-location", "--sort-output", "-o", str(pot), str(ROOT)],
                   check=True, cwd=ROOT, capture_output=True)
    with pot.open("rb") as handle:
        template = read_po(handle)
    # a fixed date keeps the generated catalogs byte-identical between runs of the set-up
    template.creation_date = template.revision_date = CATALOG_DATE
    with pot.open("wb") as handle:
        write_po(handle, template, width=100, omit_header=False)
    translations = vietnamese()
    missing = []
    for lang in ("vi", "en"):
        catalog = read_po(pot.open("rb"), locale=lang)
        catalog.creation_date = catalog.revision_date = CATALOG_DATE
        for message in catalog:
            if not message.id:
                continue
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            if lang == "vi":
                text = translations.get(msgid)
                if text is None:
                    missing.append(msgid)
                    continue
                message.string = text if isinstance(message.id, str) else (text, text)
        folder = TRANSLATIONS / lang / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "messages.po").open("wb") as handle:
            write_po(handle, catalog, width=100)
        with (folder / "messages.mo").open("wb") as handle:
            write_mo(handle, catalog)
    if missing:
        print("No Vietnamese for:", *missing, sep="\n  ")
        return 1
    print(f"Catalogs written: {len(translations)} Vietnamese messages.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
