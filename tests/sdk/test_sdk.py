"""The SDK outside a session: plain Python, in-memory stand-ins, and a locked public surface."""

from __future__ import annotations

import pickle

import pytest

from purrflow import sdk
from purrflow.errors import InvalidInputError, ValueLimitError
from purrflow.sdk import AttrDict, Event

PUBLIC = [
    "AttrDict",
    "Event",
    "PurrflowError",
    "Signal",
    "activity",
    "add_values",
    "check_and_set_value",
    "config",
    "del_value",
    "events",
    "get_host_os",
    "get_secret",
    "get_state_path",
    "get_value",
    "get_webhook_url",
    "home_dir",
    "http_outcome",
    "list_values_keys",
    "local_runtime",
    "log",
    "mutate_value",
    "next_event",
    "next_signal",
    "prompt",
    "set_secret",
    "set_value",
    "signal",
    "sleep",
    "start",
    "store",
    "subscribe",
    "team",
    "track",
    "unsubscribe",
    "user",
    "ux",
    "wait_for_signal",
]


def test_the_public_surface_changes_only_on_purpose() -> None:
    assert sorted(sdk.__all__) == PUBLIC


def test_attrdict_reads_like_attributes_and_refuses_writes() -> None:
    data = AttrDict({"url": {"path": "/x", "query": {}}, "entries": [{"n": 1}]})
    assert data.url.path == "/x" and isinstance(data.url, AttrDict)
    assert data.entries[0].n == 1
    with pytest.raises(AttributeError, match="no key 'missing'"):
        _ = data.missing
    with pytest.raises(AttributeError, match="read-only"):
        data.url = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(data)) == data


def test_event_from_a_raw_dict() -> None:
    event = Event.from_dict({"data": {"a": 1}, "event_type": "post", "event_id": "evt_1", "session_id": "ses_1"})
    assert (event.data.a, event.event_type, event.event_id, event.session_id) == (1, "post", "evt_1", "ses_1")


def test_values_start_and_http_outcome_work_in_memory() -> None:
    local = sdk.local_runtime()
    sdk.set_value("k", {"n": 1})
    assert sdk.get_value("k") == {"n": 1} and sdk.get_value("nope", 7) == 7
    assert "k" in sdk.list_values_keys()
    sdk.del_value("k")
    assert sdk.get_value("k") is None
    child = sdk.start("jobs.py:run", {"x": 1})
    assert child.startswith("local_session_") and local.started[-1]["loc"] == "jobs.py:run"
    sdk.start("ops:deploy")  # an ops.yml command as a child
    assert local.started[-1]["loc"] == "ops:deploy"
    sdk.start("tools/release:1.2.0", {"v": 2})  # CTO.ai's start(workflowName): by name, version dropped
    assert local.started[-1] == {"workflow": "tools/release", "data": {"v": 2}}
    sdk.http_outcome(201, {"ok": True})
    assert local.responses[-1]["status_code"] == 201 and local.responses[-1]["body"] == b'{"ok": true}'


def test_activities_are_plain_calls_outside_a_session() -> None:
    @sdk.activity
    def add(a: int, b: int) -> int:
        return a + b

    assert add(1, 2) == 3 and add.__name__ == "add"


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (lambda: sdk.set_value("k", lambda: 1), ValueLimitError, "not picklable"),
        (lambda: sdk.set_value("k", "x" * 70_000), ValueLimitError, "the limit is 65536"),
        (lambda: sdk.set_value("", 1), InvalidInputError, "non-empty string"),
        (lambda: sdk.start("main.py"), InvalidInputError, "neither a code location nor a workflow name"),
        (lambda: sdk.start("deploy", memo={"a": 1}), InvalidInputError, "memo is for child sessions"),
        (lambda: sdk.http_outcome(99), InvalidInputError, "100 to 599"),
        (lambda: sdk.http_outcome(200, 3.5), InvalidInputError, "not float"),  # type: ignore[arg-type]
        (lambda: sdk.get_webhook_url("nope"), InvalidInputError, "no webhook trigger named 'nope'"),
    ],
)
def test_bad_calls_fail_clearly(call: object, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        call()  # type: ignore[operator]


def test_atomic_updates_and_the_dict_like_store() -> None:
    sdk.set_value("n", 1)
    assert sdk.add_values("n", 2) == 3 and sdk.add_values("fresh", 5) == 5
    assert sdk.check_and_set_value("n", 3, 10) is True
    assert sdk.check_and_set_value("n", 3, 11) is False and sdk.get_value("n") == 10
    assert sdk.check_and_set_value("absent", None, "x") is True and sdk.get_value("absent") == "x"
    assert sdk.mutate_value("n", "add", 1) == 11 and sdk.mutate_value("n", "get") == 11
    sdk.store["s"] = [1, 2]
    assert sdk.store["s"] == [1, 2] and "s" in sdk.store and len(sdk.store) == len(sdk.list_values_keys())
    del sdk.store["s"]
    assert "s" not in sdk.store
    with pytest.raises(KeyError):
        sdk.store["s"]
    with pytest.raises(InvalidInputError, match="unknown operation 'explode'"):
        sdk.mutate_value("n", "explode")
    with pytest.raises(InvalidInputError, match="amount must be a number"):
        sdk.add_values("n", "1")  # type: ignore[arg-type]


def test_track_and_events_work_in_memory() -> None:
    local = sdk.local_runtime()
    before = len(local.tracked)
    sdk.track(("deploy",), "deployment", {"event_name": "deployment", "event_action": "succeeded"})
    sdk.track([], "")
    found = sdk.events("2000-01-01", None)
    assert len(found) == before + 2
    assert {k: v for k, v in found[-2].items() if k != "timestamp"} == {
        "tags": ["deploy"],
        "event": "deployment",
        "event_name": "deployment",
        "event_action": "succeeded",
    }
    assert found[-2]["timestamp"].endswith("Z")
    assert sdk.events("2000-01-01", "2000-01-02") == []
    with pytest.raises(InvalidInputError, match="start 'soon' is not an ISO-8601"):
        sdk.events("soon")
