"""Fidelity to the references programs are written from (issue 10, item 7): the AutoKitteh SDK reference's
variants beside AutoKitteh's own forms, and CTO.ai's client conventions, checked without a server."""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from purrflow import sdk
from purrflow.compat import autokitteh as ak
from purrflow.compat import ctoai
from purrflow.errors import InvalidInputError
from purrflow.sdk import _runtime
from purrflow.sdk._attrdict import Event, EventData
from purrflow.wire import EventWait, GetValue, HostOp, ProjectSignalWait, QueryEvents, SendSignal, Subscribe, WaitSpec


class Recorder(_runtime.LocalRuntime):
    """The local stand-in, recording the operations and waits it is asked for; waits answer `answer`."""

    def __init__(self, answer: Callable[[WaitSpec], Any] = lambda wait: None) -> None:
        super().__init__()
        self.ops: list[Any] = []
        self.waits: list[WaitSpec] = []
        self._answer = answer

    def call_host(self, op: HostOp[Any]) -> Any:
        self.ops.append(op)
        if isinstance(op, SendSignal | Subscribe):
            return "sub_1" if isinstance(op, Subscribe) else 1
        return op.perform(self)

    def wait(self, wait: WaitSpec) -> Any:
        self.waits.append(wait)
        return self._answer(wait)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    runtime = Recorder()
    _runtime.install(runtime)
    try:
        yield runtime
    finally:
        _runtime.install(None)


# -- autokitteh ---------------------------------------------------------------------------------------


def test_get_value_takes_a_default(recorder: Recorder) -> None:
    assert ak.get_value("missing", default=0) == 0 and ak.get_value("missing") is None
    ak.set_value("there", 3)
    assert ak.get_value("there", default=0) == 3
    assert [type(op) for op in recorder.ops if isinstance(op, GetValue)] == [GetValue] * 3


@pytest.mark.parametrize(
    ("call", "target", "name", "payload"),
    [
        (lambda: ak.signal("approval", {"approver": "admin"}), None, "approval", {"approver": "admin"}),
        (lambda: ak.signal("approval"), None, "approval", None),
        (lambda: ak.signal(signal_name="approval", data=[1]), None, "approval", [1]),
        (lambda: ak.signal("ses_0001", "done"), "ses_0001", "done", None),
        (lambda: ak.signal("ses_0001", "done", {"ok": True}), "ses_0001", "done", {"ok": True}),
        (lambda: ak.signal("ses_0001", name="done", payload=2), "ses_0001", "done", 2),
        (lambda: ak.signal(session_id="ses_0001", name="done"), "ses_0001", "done", None),
        (lambda: ak.signal("approval", "text data"), None, "approval", "text data"),  # not a session id first
    ],
)
def test_signal_tells_its_two_forms_apart_by_the_arguments(
    recorder: Recorder, call: Callable[[], None], target: str | None, name: str, payload: Any
) -> None:
    call()
    (sent,) = [op for op in recorder.ops if isinstance(op, SendSignal)]
    assert (sent.target, sent.name, pickle.loads(sent.payload)) == (target, name, payload)


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: ak.signal("approval", data=1, payload=2), "belongs to the targeted form"),
        (lambda: ak.signal("not-a-session", "name", "payload"), "is not a session id"),
        (lambda: ak.signal(), "signal()"),
    ],
)
def test_signal_refuses_mixed_forms_clearly(recorder: Recorder, call: Callable[[], None], text: str) -> None:
    with pytest.raises(InvalidInputError, match=text):
        call()


def test_wait_for_signal_waits_on_the_project_wide_name() -> None:
    runtime = Recorder(lambda wait: ("approval", pickle.dumps({"approver": "admin"})))
    _runtime.install(runtime)
    try:
        assert ak.wait_for_signal("approval", timeout=5) == {"approver": "admin"}
    finally:
        _runtime.install(None)
    (wait,) = runtime.waits
    assert isinstance(wait, ProjectSignalWait) and wait.names == ("approval",) and wait.deadline is not None


def test_subscribe_takes_none_as_no_filter(recorder: Recorder) -> None:
    assert ak.subscribe("slack_conn", None) == "sub_1"
    assert [op.filter for op in recorder.ops if isinstance(op, Subscribe)] == [""]


def test_next_event_returns_the_data_which_also_answers_the_events_fields() -> None:
    raw = {"data": {"text": "hi", "event_type": "own"}, "event_type": "message", "event_id": "evt_1", "source": "slack"}
    runtime = Recorder(lambda wait: ("sub_1", pickle.dumps(raw)))
    _runtime.install(runtime)
    try:
        data = ak.next_event("sub_1")
        full = ak.next_event(["sub_1"], full=True)
    finally:
        _runtime.install(None)
    assert isinstance(runtime.waits[0], EventWait)
    assert isinstance(data, EventData) and data == {"text": "hi", "event_type": "own"}  # the data, as AutoKitteh's
    assert data.text == "hi" and data.data is data and data.connection_id == "slack" and data.event_id == "evt_1"
    assert data.event_type == "own"  # the data's own key wins
    with pytest.raises(AttributeError):
        _ = data.missing
    assert EventData({}), "an event with no data is still an event (None is the timeout)"
    again = pickle.loads(pickle.dumps(data))
    assert again == data and again.connection_id == "slack"
    assert isinstance(full, Event) and full.event_type == "message" and full.data == raw["data"]


def test_an_event_is_subscriptable_as_the_reference_shows() -> None:
    event = Event.from_dict({"data": {"body": {"text": "hello"}}, "event_type": "post", "session_id": "ses_1"})
    assert event["data"]["body"] == event.data.body == {"text": "hello"}
    assert event["session_id"] == "ses_1" and event.get("event_type") == "post" and "data" in event
    with pytest.raises(KeyError):
        event["nope"]


@pytest.mark.parametrize(
    ("args", "kwargs", "headers", "body"),
    [
        ((200, {"a": 1}), {}, {"Content-Type": "application/json"}, b'{"a": 1}'),  # AutoKitteh: a JSON body
        ((201, "done"), {}, {"Content-Type": "text/plain; charset=utf-8"}, b"done"),
        ((200, {"X-A": "1"}, "text"), {}, {"X-A": "1", "Content-Type": "text/plain; charset=utf-8"}, b"text"),
        (
            (200, {"Content-Type": "application/json"}, '{"r": 1}'),
            {},
            {"Content-Type": "application/json"},
            b'{"r": 1}',
        ),
        ((200, {"X-A": "1"}), {"body": b"raw"}, {"X-A": "1"}, b"raw"),  # headers, then body by keyword
        ((200, "b"), {"headers": {"X-A": "1"}}, {"X-A": "1", "Content-Type": "text/plain; charset=utf-8"}, b"b"),
        (
            (),
            {"status_code": 200, "headers": {"X-A": "1"}, "body": "k"},
            {"X-A": "1", "Content-Type": "text/plain; charset=utf-8"},
            b"k",
        ),
        ((204,), {}, {}, b""),
    ],
)
def test_http_outcome_reads_both_argument_orders(
    args: tuple[Any, ...], kwargs: dict[str, Any], headers: dict[str, str], body: bytes
) -> None:
    local = sdk.local_runtime()
    local.responses.clear()
    ak.http_outcome(*args, **kwargs)
    (response,) = local.responses
    assert (response["headers"], response["body"]) == (headers, body)


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [
        ((200, {"a": 1}, "b"), {"headers": {}}, "headers are given twice"),
        ((200, {"a": 1}, "b"), {"body": "c"}, "body is given twice"),
        ((200, "not headers", "b"), {}, "the headers must be a dict"),
        ((200, {}, "b", "extra"), {}, "at most 3 positional"),
    ],
)
def test_http_outcome_refuses_ambiguous_arguments(args: tuple[Any, ...], kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(InvalidInputError, match=text):
        ak.http_outcome(*args, **kwargs)


def test_with_the_package_its_module_gets_the_references_functions_too() -> None:
    script = (
        "from purrflow.compat import autokitteh_loader; autokitteh_loader.install();"
        "import autokitteh; from purrflow.compat import autokitteh as ours;"
        "print('purrflow' in autokitteh.__file__, autokitteh.wait_for_signal is ours.wait_for_signal,"
        " autokitteh.get_value is ours.get_value, autokitteh.signal is ours.signal)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True", "True"]


# -- CTO.ai ------------------------------------------------------------------------------------------


def test_progress_bar_advance_by_zero_advances_by_zero(capsys: pytest.CaptureFixture[str]) -> None:
    ctoai.handle("progress-bar/start", {"length": 5, "initial": 1, "text": "p"})
    ctoai.handle("progress-bar/advance", {"increment": 0})
    ctoai.handle("progress-bar/advance", {})  # the clients' default: 1
    ctoai.handle("progress-bar/advance", {"increment": 2})
    assert capsys.readouterr().out.splitlines() == ["[1/5] p", "[1/5] p", "[2/5] p", "[4/5] p"]
    with pytest.raises(InvalidInputError, match="increment must be a number"):
        ctoai.handle("progress-bar/advance", {"increment": "two"})


def test_track_takes_tags_and_event_as_a_string_or_a_list() -> None:
    local = sdk.local_runtime()
    local.tracked.clear()
    sdk.track("release", ["deploy", "prod"], {"step": 1})
    sdk.track("", "deployment", {})
    sdk.track(["a", "b"], "one", None)
    ctoai.handle("track", {"tags": "from-daemon", "event": ["x", "y"], "k": "v"})
    assert [(e["tags"], e["event"]) for e in local.tracked] == [
        (["release"], "deploy, prod"), ([], "deployment"), (["a", "b"], "one"), (["from-daemon"], "x, y"),
    ]  # fmt: skip
    assert local.tracked[-1]["k"] == "v"


@pytest.fixture
def los_angeles() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/Los_Angeles"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_events_reads_a_zone_less_time_as_the_callers_local_time(recorder: Recorder, los_angeles: None) -> None:
    sdk.track([], "now", {})
    local_now = datetime.now()  # zone-less local time, as CTO.ai's Python client sends its default end
    found = sdk.events(datetime(2020, 1, 1).isoformat(), local_now.isoformat())
    assert [e["event"] for e in found] == ["now"]
    sent = [op for op in recorder.ops if isinstance(op, QueryEvents)][-1]
    assert (
        sent.start == "2020-01-01T00:00:00-08:00" and sent.end is not None and sent.end.endswith(("-08:00", "-07:00"))
    )
    aware = datetime(2026, 6, 1, 12, tzinfo=UTC).isoformat()
    for given, expected in (("2026-11-01", "2026-11-01"), (aware, aware), ("not a time", "not a time")):
        with pytest.raises(InvalidInputError) if given == "not a time" else contextlib.nullcontext():
            sdk.events(given, "2026-12-01T00:00:00Z")
        assert [op for op in recorder.ops if isinstance(op, QueryEvents)][-1].start == expected
