"""Choosing a password (NIST SP 800-63B 5.1.1.2): 12 to 128 characters, not a known or predictable one,
no composition rules."""

from __future__ import annotations

import pytest

from ecabinet.auth.passwords import common_passwords, validate_new_password
from ecabinet.demo import DEMO_PASSWORD
from tests.conftest import TEST_PASSWORD, assert_error

LONGEST = ("Hội nghị trực tuyến của Chính phủ với các địa phương bàn về chuyển đổi số, kinh tế xanh và phát triển "
           "bền vững toàn diện trong năm tới")[:128]


@pytest.mark.parametrize(("password", "code"), [
    ("a" * 11, "password_too_short"),
    ("ngắn-quá", "password_too_short"),
    ("x" * 129, "password_too_long"),
    ("correct-horse-battery-staple-" * 5, "password_too_long"),
    ("aaaaaaaaaaaa", "password_predictable"),
    ("abcabcabcabc", "password_predictable"),
    ("abcdefghijkl", "password_predictable"),
    ("123456789012", "password_predictable"),
    ("qwertyuiopas", "password_predictable"),
    ("1qaz2wsx3edc", "password_common"),
    ("LeaveMeAlone", "password_common"),
    ("member_a2026!", "password_predictable"),
    ("ecabinet2026!", "password_predictable"),
])
def test_refused_passwords_say_why(password, code):
    with pytest.raises(Exception) as refused:  # noqa: PT011 (the code is what is checked)
        validate_new_password(password, username="member_a")
    assert refused.value.code == code
    assert refused.value.status == 422


@pytest.mark.parametrize("password", [
    TEST_PASSWORD, DEMO_PASSWORD, "twelve chars", LONGEST, "Mật khẩu tiếng Việt dài", "correct horse battery staple",
    "alllowercaseletters", "ALL CAPS IS FINE TOO",
])
def test_no_composition_rules(password):
    validate_new_password(password, username="member_a")


def test_the_longest_example_is_the_upper_bound():
    assert len(LONGEST) == 128


def test_the_list_is_the_packages_breached_passwords():
    assert len(common_passwords()) > 25_000
    assert "password" in common_passwords()


@pytest.mark.parametrize(("password", "code", "vi", "en"), [
    ("a" * 11, "password_too_short", "Mật khẩu phải có ít nhất 12 ký tự.",
     "The password must have at least 12 characters."),
    ("a" * 129, "password_too_long", "Mật khẩu chỉ được có tối đa 128 ký tự.",
     "The password must have at most 128 characters."),
    ("aaaaaaaaaaaa", "password_predictable", None, None),
    ("qazwsxedcrfv", "password_common", None, None),
])
def test_each_bound_has_its_own_message(api, cast, password, code, vi, en):
    admin = api(cast.admin)
    body = {"username": "new.member", "full_name": "Thành viên mới", "roles": ["member"], "password": password}
    error = assert_error(admin.post("/admin/users", json=body), 422, code)
    english = assert_error(admin.post("/admin/users", json=body, headers={"Accept-Language": "en"}), 422, code)
    if vi:
        assert (error["message"], english["message"]) == (vi, en)
    assert error["message"] != english["message"]
