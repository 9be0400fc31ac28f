"""A browser's User-Agent as the secretariat reads it when choosing which tablet to wipe."""

from __future__ import annotations

import pytest

from ecabinet.auth.devices import device_name

AGENTS = {
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0 "
    "Mobile/15E148 Safari/604.1": "Chrome trên iPad",
    "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36":
        "Chrome trên Android",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 "
    "Edg/126.0": "Edge trên Windows",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Safari/605.1.15": "Safari trên Mac",
    "python-requests/2.32": "",
}


@pytest.mark.parametrize("agent", AGENTS)
def test_a_device_is_named_by_browser_and_system(app, agent):
    with app.test_request_context(headers={"Accept-Language": "vi"}):
        assert device_name(agent) == AGENTS[agent]
