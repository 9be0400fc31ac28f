"""What every screen of a journey must pass: axe-core (no serious or critical violation), no page wider
than its screen, no console error; and a screenshot of each step for people to look at."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# the same folder as screens.py, so one run leaves every journey's pictures in one place
SHOTS = Path(os.environ.get("ECABINET_SCREENSHOT_DIR", Path(__file__).resolve().parent / "screenshots"))

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + n.html.slice(0, 300))}));
}"""


class Screen:
    """One person's browser page in the journey, watched for console errors."""

    def __init__(self, browser: Any, name: str, viewport: dict[str, int], folder: Path) -> None:
        self.name = name
        # bypass_csp only lets the test inject axe-core; the pages run under the app's own policy otherwise
        self.context = browser.new_context(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                           bypass_csp=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda msg: self.errors.append(f"{msg.text} {msg.location.get('url', '')}")
                     if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.folder = folder
        self.step = 0

    def forgive(self, marker: str) -> None:
        """Drop the console errors a step causes on purpose (e.g. requests made while offline)."""
        self.errors[:] = [e for e in self.errors if marker not in e]

    def check(self, label: str, *, offline: bool = False) -> None:
        """Axe, width and console on the page as it is now; a screenshot named after the step."""
        page = self.page
        page.wait_for_timeout(150)
        self.step += 1
        path = self.folder / f"{self.name}-{self.step:02d}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        if not page.evaluate("() => typeof axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        violations = page.evaluate(AXE_RUN)
        assert violations == [], f"{self.name} {label}: {violations}"
        wide = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert wide[0] <= wide[1], f"{self.name} {label}: page {wide[0]} px wide on a {wide[1]} px screen"
        if offline:
            self.forgive("ERR_INTERNET_DISCONNECTED")  # what a browser logs for requests made offline
        assert self.errors == [], f"{self.name} {label}: console errors {self.errors}"


def shots_folder(size: str) -> Path:
    folder = SHOTS / size
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    print(f"screenshots: {folder}")
    return folder
