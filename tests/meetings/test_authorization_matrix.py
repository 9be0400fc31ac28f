"""Every meeting and document route × secretary, chair, member, guest of another item, outsider."""

from __future__ import annotations

import io

import pytest

from tests.documents import corpus
from tests.meetings.factories import prepared_meeting

WHO = ["secretary", "chair", "member_a", "guest", "outsider"]


def pdf_form() -> dict:
    return {"file": (io.BytesIO(corpus.valid_pdf(1)), "f.pdf"), "title": "Phụ lục", "confidentiality": "normal"}


# (name, method, path, body, multipart, {who: status}); {m} meeting, {i} item 1 (the guest is invited to item 2
# only), {d} item 1's document, {p} the approved delegate's participant id
ROUTES = [
    ("get meeting", "get", "/meetings/{m}", None, False, [200, 200, 200, 200, 404]),
    ("edit meeting", "patch", "/meetings/{m}", {"location": "Phòng 2"}, False, [200, 403, 403, 403, 404]),
    ("publish", "post", "/meetings/{m}/publish", None, False, [409, 403, 403, 403, 404]),
    ("add participant", "post", "/meetings/{m}/participants", {"user_id": "admin", "role": "member"}, False,
     [201, 403, 403, 403, 404]),
    ("approve delegate", "post", "/meetings/{m}/participants/{p}/approve", None, False, [403, 409, 403, 403, 404]),
    ("add item", "post", "/meetings/{m}/agenda", {"title": "Mục mới", "presenter": "Bộ Y tế", "duration_minutes": 5},
     False, [201, 403, 403, 403, 404]),
    ("edit item", "patch", "/meetings/{m}/agenda/{i}", {"position": 2}, False, [200, 403, 403, 404, 404]),
    ("position", "put", "/meetings/{m}/agenda/{i}/position", {"stance": "agree"}, False, [403, 200, 200, 404, 404]),
    ("tally", "get", "/meetings/{m}/positions", None, False, [200, 200, 403, 403, 404]),
    ("upload", "post", "/meetings/{m}/agenda/{i}/documents", "pdf", True, [201, 403, 403, 404, 404]),
    ("new version", "post", "/documents/{d}/versions", "pdf", True, [201, 403, 403, 404, 404]),
    ("document", "get", "/documents/{d}", None, False, [200, 200, 200, 404, 404]),
    ("content", "get", "/documents/{d}/content", None, False, [200, 200, 200, 404, 404]),
    ("read notes", "get", "/documents/{d}/notes", None, False, [200, 200, 200, 404, 404]),
    ("write note", "put", "/documents/{d}/notes", {"page": 1, "text": "Ghi chú"}, False, [200, 200, 200, 404, 404]),
    ("paper saved", "get", "/meetings/{m}/paper-saved", None, False, [200, 403, 403, 403, 404]),
    ("remove participant", "delete", "/meetings/{m}/participants/{p}", None, False, [204, 403, 403, 403, 404]),
    ("remove item", "delete", "/meetings/{m}/agenda/{i}", None, False, [409, 403, 403, 404, 404]),  # it has a dossier
    ("postpone", "post", "/meetings/{m}/postpone", {"reason": "Lùi", "starts_at": "2027-02-01T08:30:00+07:00"}, False,
     [200, 403, 403, 403, 404]),
    ("cancel", "post", "/meetings/{m}/cancel", {"reason": "Thay đổi lịch công tác"}, False, [200, 403, 403, 403, 404]),
]
CASES = [pytest.param(route, who, statuses[n], id=f"{route[0]}-{who}")
         for route in ROUTES for n, (who, statuses) in enumerate((w, route[5]) for w in WHO)]


@pytest.mark.parametrize(("route", "who", "expected"), CASES)
def test_route_access(api, cast, route, who, expected):
    name, method, template, body, multipart, _ = route
    m = prepared_meeting(api, cast)
    path = template.format(m=m["id"], i=m["items"][0]["id"], d=m["docs"][0]["id"], p=m["delegate"]["id"])
    client = api(getattr(cast, who))
    if body == "pdf":
        response = getattr(client, method)(path, data=pdf_form(), content_type="multipart/form-data")
    elif body is None:
        response = getattr(client, method)(path)
    else:
        body = {k: (getattr(cast, v).id if k == "user_id" else v) for k, v in body.items()}
        response = getattr(client, method)(path, json=body)
    assert response.status_code == expected, (name, who, response.get_data(as_text=True)[:300])
    if expected >= 400:
        assert response.get_json()["error"]["code"]
