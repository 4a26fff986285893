"""The typed wire: every host operation has its method on both implementations, and reaches it."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from typing import Any

import pytest

from purrflow import wire
from purrflow.errors import SessionSuspended
from purrflow.runner.channel import ChannelClosed
from purrflow.sdk._runtime import LocalRuntime
from purrflow.services.host_ops import SessionOps
from purrflow.wire import OPERATIONS, HostOp, HostOps


def protocol_methods() -> set[str]:
    return {name for name, _ in inspect.getmembers(HostOps, inspect.isfunction) if not name.startswith("_")}


def test_the_protocol_has_one_method_per_operation_named_after_its_step() -> None:
    labels = {op.step.label for op in OPERATIONS}
    assert len(labels) == len(OPERATIONS), "two operations share a step name"
    assert protocol_methods() == labels


def test_every_operation_class_of_the_wire_is_listed() -> None:
    defined = {
        value
        for value in vars(wire.ops).values()
        if isinstance(value, type) and issubclass(value, HostOp) and value is not HostOp
    }
    assert defined == set(OPERATIONS)


@pytest.mark.parametrize("implementation", [LocalRuntime, SessionOps], ids=["local runtime", "server"])
def test_both_sides_implement_every_operation(implementation: type[Any]) -> None:
    missing = sorted(name for name in protocol_methods() if not callable(getattr(implementation, name, None)))
    assert missing == []


class Recorder:
    """Answers every method with its own name, to see where `perform` goes."""

    def __getattr__(self, name: str) -> Any:
        return lambda op: (name, op)


def sample(op: type[HostOp[Any]]) -> HostOp[Any]:
    """An instance with a placeholder in every field (dispatch does not look at them)."""
    return op(**{f.name: f"{f.name}-value" for f in dataclasses.fields(op)})  # type: ignore[arg-type]


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.__name__)
def test_perform_calls_the_method_named_after_the_step(op: type[HostOp[Any]]) -> None:
    instance = sample(op)
    name, passed = instance.perform(Recorder())  # type: ignore[arg-type]
    assert name == op.step.label and passed is instance
    assert pickle.loads(pickle.dumps(instance)) == instance  # it crosses the process boundary


def test_runner_control_flow_cannot_be_swallowed_by_except_exception() -> None:
    for control in (ChannelClosed, SessionSuspended):
        assert issubclass(control, BaseException) and not issubclass(control, Exception)


def _runner_messages() -> list[object]:
    import datetime
    import decimal

    when = datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)
    data = {"when": when, "amount": decimal.Decimal("1.5"), "tags": {"a"}, "pair": (1, 2)}
    return [
        wire.StepRecorded(1, "requests.get", pickle.dumps({"x": 1}), started_at=1.5, args="'u'"),
        wire.CallHost(2, wire.StartChild("program.py:child", data, {"k": "v"})),
        wire.CallHost(3, wire.Track(["tag"], "deploy", {"when": when})),
        wire.Wait(4, wire.SleepUntil(12.5), args="30 s"),
        wire.LogLines([wire.LogLine(1.0, "stdout", "hello", 3)]),
        wire.Finished(None, failure=wire.Failure("ValueError", "bad", "Traceback…")),
    ]


@pytest.mark.parametrize("message", _runner_messages(), ids=lambda m: type(m).__name__)
def test_what_a_runner_sends_reads_back_as_it_was(message: object) -> None:
    assert wire.decode_from_runner(wire.encode(message)[wire.HEADER.size :]) == message


class _Forged:
    def __reduce__(self) -> tuple[Any, ...]:
        return (print, ("ran in the host",))


@pytest.mark.parametrize(
    "forged",
    [
        pickle.dumps(_Forged()),
        pickle.dumps(wire.LogLines([_Forged()])),  # type: ignore[list-item]
        pickle.dumps(wire.decode),  # a function of the wire is not a class of it
        b"\x80\x05not a pickle",
    ],
    ids=["reduce", "nested", "wire function", "garbage"],
)
def test_a_runner_cannot_make_the_host_unpickle_anything_else(
    forged: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(wire.UntrustedMessage):
        wire.decode_from_runner(forged)
    assert "ran in the host" not in capsys.readouterr().out
