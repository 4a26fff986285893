"""Which subscription filters can be looked up by an equality instead of evaluated for every event."""

from __future__ import annotations

import pytest

from purrflow.engine.dispatch import equality_key


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
        ("", None),
    ],
)
def test_equality_keys(expression: str, key: tuple[str, object] | None) -> None:
    assert equality_key(expression) == key
