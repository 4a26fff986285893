"""Which subscription filters can be looked up by an equality instead of evaluated for every event."""

from __future__ import annotations

import pytest

from purrflow.engine.dispatch import EventDispatch, equality_key, pure_equality
from purrflow.filters import Filter
from purrflow.store import Subscription


@pytest.mark.parametrize(
    ("expression", "key"),
    [
        ("data.n == 17", ("data.n", 17)),
        ('data.user.id == "U1" && data.count > 2', ("data.user.id", "U1")),
        ('event_type == "message"', ("event_type", "message")),
        ('data.text == "say \\"hi\\""', ("data.text", 'say "hi"')),
        ('data.a == "x" || data.b == 1', None),  # either side may match: not indexable
        ("(data.a == 1)", None),
        ("data.a != 1", None),
        ('data.a == "x" ? true : false', None),
        ('data.a == "\\x41"', None),  # a CEL escape JSON cannot read: evaluated, not indexed
        ("", None),
    ],
)
def test_equality_keys(expression: str, key: tuple[str, object] | None) -> None:
    assert equality_key(expression) == key


@pytest.mark.parametrize(
    ("expression", "key"),
    [
        ('data.url.query.to == "k42"', ("data.url.query.to", "k42")),
        (' event_type == "push" ', ("event_type", "push")),
        ('data.a == "x" && data.b == 1', None),  # more than an equality: compiled
        ("data.n == 17", None),  # a number: CEL's numeric equality is not Python's (1 == true)
        ('data.a == "say \\"hi\\""', None),  # an escape: compiled
        ('data.in == "x"', None),  # a reserved word: the compiler refuses it
    ],
)
def test_pure_equalities(expression: str, key: tuple[str, str] | None) -> None:
    assert pure_equality(expression) == key


EVENTS = [
    {"to": "k42"},
    {"to": "k43"},
    {"to": 42},
    {"to": ["k42"]},
    {"to": {"k42": 1}},
    {"other": "k42"},
    {},
]


@pytest.mark.parametrize("data", EVENTS, ids=repr)
def test_a_pure_equality_matches_exactly_the_events_its_cel_filter_matches(data: dict[str, object]) -> None:
    expression = 'data.to == "k42"'
    dispatch = EventDispatch()
    dispatch.add(Subscription("sub_1", "ses_1", "prj_1", "feed", expression))
    matched = bool(dispatch.subscribers("prj_1", "feed", "webhook", data, "evt_1"))
    assert matched == Filter.compile(expression).evaluate(event_type="webhook", data=data, event_id="evt_1").matched
