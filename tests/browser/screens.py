"""What every page of a journey must meet, checked at each step: axe-core finds no serious or critical
violation, the page is no wider than the screen, the console has no error; a screenshot of the step is kept
(under ECABINET_SCREENSHOT_DIR, default /tmp/ecabinet-screenshots) for people to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": (1280, 800), "tablet": (768, 1024), "phone": (390, 844)}


class Screens:
    """One browser context at one screen size; ``check(page, step)`` after each step of the journey."""

    def __init__(self, browser: Any, journey: str, size: str) -> None:
        width, height = SIZES[size]
        self.size = size
        # axe-core is injected as an inline script, which the app's CSP (script-src 'self') rightly refuses
        self.context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True,
                                           locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        self.folder = Path(os.environ.get("ECABINET_SCREENSHOT_DIR", "/tmp/ecabinet-screenshots")) / journey / size
        self.folder.mkdir(parents=True, exist_ok=True)
        self.errors: list[str] = []
        self.steps = 0

    def page(self) -> Any:
        page = self.context.new_page()
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def check(self, page: Any, step: str, *, refused: int | None = None) -> None:
        """``refused``: the status of a request the step expects the server to refuse (the browser logs it)."""
        page.wait_for_load_state("networkidle")
        self.steps += 1
        name = f"{self.steps:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower())}.png"
        page.screenshot(path=str(self.folder / name), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES[self.size][0], f"{step}: the page is {width} px wide on a {self.size}"
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
            .violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)""")
        assert violations == [], f"{step}: {violations}"
        expected = f"the server responded with a status of {refused}" if refused else None
        errors = [e for e in self.errors if not (expected and expected in e)]
        assert errors == [], f"{step}: console errors {errors}"
        self.errors.clear()

    def close(self) -> None:
        self.context.close()


def open_section(page: Any, href: str) -> None:
    """Follow a top-bar link as a person would: on a phone through the menu button."""
    if page.is_visible(".menu-toggle"):
        page.click(".menu-toggle")
    page.click(f"nav.topnav a[href='{href}']")
