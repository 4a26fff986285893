"""CEL filters: the expressions real projects use, missing keys, and compile errors with positions."""

from __future__ import annotations

import pytest

from purrflow.engine.filters import Filter, FilterError

DATA = {
    "method": "POST",
    "url": {"path": "/webhooks/abc/orders/7", "query": {"a": "1"}},
    "headers": {"Content-Type": "application/json", "X-Github-Event": "issue_comment"},
    "body": {"bytes": b"{}", "json": {"n": 3}},
}


@pytest.mark.parametrize(
    ("expression", "matched"),
    [
        ("", True),
        ("true", True),
        ('data.url.path.endsWith("/7")', True),
        ('data.headers["Content-Type"] == "application/json"', True),
        ('event_type == "post" && data.method == "POST"', True),
        ('event_type == "get" || data.url.query.a == "1"', True),
        ('data.headers["X-Github-Event"] in ["push", "issue_comment"]', True),
        ('data.url.path.startsWith("/nope")', False),
        ("(data.body.json.n > 2) && !(data.method != 'POST')", True),
    ],
)
def test_expressions_seen_in_real_projects(expression: str, matched: bool) -> None:
    result = Filter.compile(expression).evaluate(event_type="post", data=DATA, event_id="evt_1")
    assert result.matched is matched and result.error is None


def test_a_missing_key_is_no_match_with_a_reason() -> None:
    result = Filter.compile('data.user.email == "a@b"').evaluate(event_type="post", data=DATA)
    assert result.matched is False
    assert result.error is not None and "user" in result.error


def test_a_non_boolean_result_is_no_match() -> None:
    result = Filter.compile("data.method").evaluate(event_type="post", data=DATA)
    assert result.matched is False and result.error is not None and "not true or false" in result.error


@pytest.mark.parametrize(("expression", "position"), [("data.(", "1:6"), ("foo.bar == 1", "1:4")])
def test_compile_errors_name_the_position(expression: str, position: str) -> None:
    with pytest.raises(FilterError) as caught:
        Filter.compile(expression, where="trigger t")
    message = str(caught.value)
    assert message.startswith("trigger t: invalid CEL filter") and position in message
