"""CEL filters: the expressions real projects use, failures as non-matches, compile errors with positions."""

from __future__ import annotations

import datetime
import pickle
from typing import Any

import pytest

from purrflow.filters import Filter, FilterError, FilterResult

DATA: dict[str, Any] = {
    "method": "POST",
    "url": {"path": "/webhooks/abc/orders/x", "path_suffix": "orders/x", "query": {"a": "1"}},
    "headers": {"Content-Type": "application/json", "X-Github-Event": "issue_comment"},
    "body": {"bytes": b"{}", "text": "{}", "json": {"n": 3, "ratio": 0.5, "tags": ["a", "b"], "none": None}},
    "user": None,
}


@pytest.mark.parametrize(
    ("expression", "matched"),
    [
        ("true", True),
        ("false", False),
        ('data.url.path.endsWith("/x")', True),
        ('data.headers["Content-Type"] == "application/json"', True),
        ('event_type == "get"', False),
        ('event_type == "post" && data.method == "POST"', True),
        ('event_type == "get" || data.url.query.a == "1"', True),
        ('data.method in ["GET", "HEAD"]', False),
        ('data.headers["X-Github-Event"] in ["push", "issue_comment"]', True),
        ('data.url.path.startsWith("/webhooks/")', True),
        ("(data.body.json.n > 2) && !(data.method != 'POST')", True),
        ('data.method == "POST"', True),
        ("data.body.json.ratio < 1.0 && data.body.json.none == null && data.user == null", True),
        ('"b" in data.body.json.tags && size(data.body.json.tags) == 2', True),
        ('data.body.bytes == b"{}"', True),
        ("has(data.url.query.a) && !has(data.url.query.b)", True),
        ('event_id == "evt_1"', True),
    ],
)
def test_expressions_seen_in_real_projects(expression: str, matched: bool) -> None:
    result = Filter.compile(expression).evaluate(event_type="post", data=DATA, event_id="evt_1")
    assert result == FilterResult(matched)


@pytest.mark.parametrize("expression", ["", "   ", "\n\t"])
def test_an_empty_filter_matches_everything(expression: str) -> None:
    compiled = Filter.compile(expression)
    assert compiled.matches_everything and compiled.source == ""
    assert compiled.evaluate(event_type="anything", data={}) == FilterResult(True)


def test_without_an_event_id_it_reads_as_empty() -> None:
    assert Filter.compile('event_id == ""').evaluate(event_type="tick", data={}).matched


def test_compiled_filters_are_cached_per_expression() -> None:
    first = Filter.compile('data.method == "GET"', where="trigger a")
    assert Filter.compile('  data.method == "GET" ', where="subscription b") is first
    assert first.source == 'data.method == "GET"'


def test_a_missing_key_is_no_match_with_a_reason() -> None:
    result = Filter.compile('data.sender.login == "a"').evaluate(event_type="post", data=DATA)
    assert result.matched is False
    assert result.error == "the event has no key 'sender'"


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("data.body.json.tags[5] == 'a'", "index 5 is out of range (the list's size is 2)"),
        ("data.body.json.tags.first == 'a'", "it reads a field of a value that is not a map"),
        ("data.body.json.n / 0 == 1", "divide by zero"),
        ("data.method + 1 == 2", "No matching overloads"),
    ],
)
def test_runtime_failures_are_no_match_with_a_reason(expression: str, error: str) -> None:
    result = Filter.compile(expression).evaluate(event_type="post", data=DATA)
    assert result.matched is False and result.error is not None and error in result.error


def test_a_non_boolean_result_is_no_match() -> None:
    result = Filter.compile("data.method").evaluate(event_type="post", data=DATA)
    assert result == FilterResult(False, "the filter gave 'POST', not true or false")


def test_data_of_types_cel_lacks_is_made_plain() -> None:
    class AttrDict(dict[str, Any]):
        pass

    data = AttrDict(
        items=(1, 2),
        when=datetime.date(2024, 5, 1),
        huge=2**70,
        nested=AttrDict(flag=True),
        raw=bytearray(b"x"),
        other=object(),
    )
    expression = (
        'data.items[1] == 2 && data.when == "2024-05-01" && data.huge > 1e20 && data.nested.flag && data.raw == b"x"'
    )
    assert Filter.compile(expression).evaluate(event_type="x", data=data) == FilterResult(True)


def test_one_event_through_many_filters() -> None:
    results = [
        Filter.compile(expression).evaluate(event_type="post", data=DATA, event_id="evt_1")
        for expression in ('data.method == "POST"', 'event_type == "get"', "data.nope == 1", "", 'event_id == "evt_1"')
    ]
    assert [r.matched for r in results] == [True, False, False, True, True]
    assert results[2].error == "the event has no key 'nope'"


def test_odd_data_is_made_plain_for_every_filter() -> None:
    data = {"pair": (1, 2)}
    assert Filter.compile("data.pair[0] == 1").evaluate(event_type="post", data=data).matched
    assert Filter.compile("size(data.pair) == 2").evaluate(event_type="post", data=data).matched


@pytest.mark.parametrize(
    ("expression", "position", "problem"),
    [
        ("data.(", "1:6", "Syntax error: no viable alternative at input '.('"),
        ("data.method ==", "1:15", "Syntax error: the expression ends too early"),
        ("data.method == 'a' )", "1:20", "Syntax error: unexpected ')'"),
        ("foo.bar == 1", "1:4", "unknown name 'foo.bar'"),
        ('data.x.lowerAscii() == "a"', "1:18", "unknown name 'lowerAscii'"),
        ("event_type == 1", "1:12", "found no matching overload for '_==_' applied to '(string, int)'"),
        ("data.a == 1 &&\n  data.b ===", "2:12", "token recognition error at: '=' (and 1 more problem)"),
    ],
)
def test_compile_errors_name_where_the_expression_and_the_position(
    expression: str, position: str, problem: str
) -> None:
    with pytest.raises(FilterError) as caught:
        Filter.compile(expression, where="trigger t")
    err = caught.value
    assert err.message.startswith(f"trigger t: invalid CEL filter {expression!r} at {position}: ")
    assert problem in err.problem
    assert f"{err.line}:{err.column}" == position and err.expression == expression


def test_unknown_names_get_a_hint_listing_the_variables() -> None:
    with pytest.raises(FilterError) as caught:
        Filter.compile("payload.x == 1")
    assert caught.value.hint is not None and "event_type, data and event_id" in caught.value.hint


@pytest.mark.parametrize(("expression", "gives"), [("event_type", "a string"), ("1 + 2", "an int"), ("null", "a null")])
def test_filters_that_cannot_give_a_boolean_are_refused(expression: str, gives: str) -> None:
    with pytest.raises(FilterError, match=f"it gives {gives}, not true or false"):
        Filter.compile(expression)


def test_a_broken_filter_fails_again_from_the_cache() -> None:
    for where in ("trigger a", "trigger b"):
        with pytest.raises(FilterError, match=f"^{where}: invalid CEL filter"):
            Filter.compile("data.(", where=where)


def test_filter_errors_cross_processes() -> None:
    with pytest.raises(FilterError) as caught:
        Filter.compile("data.(", where="subscribe('chat')")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(copy, FilterError) and str(copy) == str(caught.value)
    assert copy.line is None  # the structured fields stay behind; the message carries them


def test_long_expressions_are_shortened_in_messages() -> None:
    expression = 'data.text == "' + "a" * 100_000 + '"'
    with pytest.raises(FilterError) as caught:
        Filter.compile(expression)
    assert len(caught.value.message) < 400 and "exceeds codepoint limit" in caught.value.message
    assert caught.value.expression == expression
