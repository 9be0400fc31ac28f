"""An unexpected failure answers in the API's error shape with a reference that is in the log, and
shows nothing of the failure itself (no stack trace, no exception text, no secret it carried)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

SECRET = "token-7f3a9c-never-shown"


@pytest.fixture
def failing_app(app: Any) -> Any:
    def fail() -> None:
        raise RuntimeError(f"database said no, with {SECRET}")

    app.add_url_rule("/api/v1/_failing", "failing_api", fail)
    app.add_url_rule("/_failing", "failing_page", fail)
    return app


def test_api_failure_is_a_500_in_the_error_shape_with_a_logged_reference(failing_app: Any, caplog: Any) -> None:
    caplog.set_level(logging.ERROR)
    response = failing_app.test_client().get("/api/v1/_failing")
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "internal_error"
    assert error["message"] == "Hệ thống gặp sự cố. Lỗi đã được ghi lại."
    assert re.fullmatch(r"[0-9a-f]{12}", error["reference"])
    assert error["reference"] in caplog.text
    body = response.get_data(as_text=True)
    assert SECRET not in body and "RuntimeError" not in body and "Traceback" not in body


def test_page_failure_shows_the_same_reference_in_vietnamese(failing_app: Any, caplog: Any) -> None:
    caplog.set_level(logging.ERROR)
    response = failing_app.test_client().get("/_failing", headers={"Accept": "text/html"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    reference = re.search(r"([0-9a-f]{12})", page.split("muted")[-1])
    assert reference and reference.group(1) in caplog.text
    assert SECRET not in page and "Traceback" not in page
