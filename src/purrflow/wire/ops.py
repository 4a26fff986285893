"""Host operations: the SDK calls a host performs durably, one frozen dataclass each.

A handler's SDK call builds one of these and hands it to its runtime (`purrflow.sdk._runtime`). In a
session the runner sends it to the host (`CallHost`), which performs it together with the journal entry
of its result; outside a session the in-memory local runtime performs it. Both implement `HostOps`, one
method per operation named after the step (`get_value`, `secret_get`, …), and `HostOp.perform` picks
the method, so mypy checks every operation's arguments and result on both sides.

Binary fields (`bytes`) carry values pickled by the runner: the host stores them, but never unpickles a
user's objects (see `purrflow.rules.values.plain_value`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from purrflow.wire.steps import StepName

R = TypeVar("R", covariant=True)


class HostOp(Generic[R]):
    """One host operation whose result is an `R`."""

    __slots__ = ()
    step: ClassVar[StepName]

    def perform(self, host: HostOps) -> R:
        raise NotImplementedError


# -- sessions ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartChild(HostOp[str]):
    """AutoKitteh's `start(loc, data, memo)`: a child session of the caller; its id."""

    step = StepName.START
    loc: str
    data: dict[str, Any]
    memo: dict[str, str]

    def perform(self, host: HostOps) -> str:
        return host.start(self)


@dataclass(frozen=True, slots=True)
class StartWorkflow(HostOp[str]):
    """CTO.ai's `start(workflowName)`: an independent run of a trigger of the team; its session id."""

    step = StepName.START_WORKFLOW
    name: str
    data: dict[str, Any]

    def perform(self, host: HostOps) -> str:
        return host.start_workflow(self)


@dataclass(frozen=True, slots=True)
class SendSignal(HostOp[int]):
    """A project-wide named signal (`target` None) or one for session `target`; how many received it."""

    step = StepName.SIGNAL
    target: str | None
    name: str
    payload: bytes

    def perform(self, host: HostOps) -> int:
        return host.signal(self)


@dataclass(frozen=True, slots=True)
class RecordOutcome(HostOp[None]):
    """AutoKitteh's `outcome(value)`: kept in the journal, nothing else."""

    step = StepName.OUTCOME
    value: bytes

    def perform(self, host: HostOps) -> None:
        return host.outcome(self)


@dataclass(frozen=True, slots=True)
class HttpOutcome(HostOp[None]):
    """The answer to the synchronous webhook that started the session (the first answer wins)."""

    step = StepName.HTTP_OUTCOME
    status_code: int
    headers: dict[str, str]
    body: bytes
    more: bool = False

    def perform(self, host: HostOps) -> None:
        return host.http_outcome(self)


# -- subscriptions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscribe(HostOp[str]):
    """Events of trigger or connection `source` that pass the CEL `filter`; the subscription's id."""

    step = StepName.SUBSCRIBE
    source: str
    filter: str

    def perform(self, host: HostOps) -> str:
        return host.subscribe(self)


@dataclass(frozen=True, slots=True)
class Unsubscribe(HostOp[None]):
    step = StepName.UNSUBSCRIBE
    subscription_id: str

    def perform(self, host: HostOps) -> None:
        return host.unsubscribe(self)


# -- the team's configuration and secrets -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigGet(HostOp[str | None]):
    step = StepName.CONFIG_GET
    key: str

    def perform(self, host: HostOps) -> str | None:
        return host.config_get(self)


@dataclass(frozen=True, slots=True)
class ConfigGetAll(HostOp[dict[str, str]]):
    step = StepName.CONFIG_GET_ALL

    def perform(self, host: HostOps) -> dict[str, str]:
        return host.config_get_all(self)


@dataclass(frozen=True, slots=True)
class ConfigSet(HostOp[dict[str, str]]):
    """Set one key; every key after the change."""

    step = StepName.CONFIG_SET
    key: str
    value: str

    def perform(self, host: HostOps) -> dict[str, str]:
        return host.config_set(self)


@dataclass(frozen=True, slots=True)
class ConfigDelete(HostOp[bool]):
    """Delete one key; whether it was there."""

    step = StepName.CONFIG_DELETE
    key: str

    def perform(self, host: HostOps) -> bool:
        return host.config_delete(self)


@dataclass(frozen=True, slots=True)
class SecretGet(HostOp[dict[str, Any]]):
    """`{"found": True, "value": …}`, or `{"found": False, "keys": [names to choose from]}`."""

    step = StepName.SECRET_GET
    key: str

    def perform(self, host: HostOps) -> dict[str, Any]:
        return host.secret_get(self)


@dataclass(frozen=True, slots=True)
class SecretExists(HostOp[bool]):
    step = StepName.SECRET_EXISTS
    key: str

    def perform(self, host: HostOps) -> bool:
        return host.secret_exists(self)


@dataclass(frozen=True, slots=True)
class SecretSet(HostOp[str]):
    """Store a secret; its key."""

    step = StepName.SECRET_SET
    key: str
    value: str

    def perform(self, host: HostOps) -> str:
        return host.secret_set(self)


# -- identity ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetUser(HostOp[dict[str, str]]):
    """Whom the session runs for: {id, username, email}."""

    step = StepName.USER

    def perform(self, host: HostOps) -> dict[str, str]:
        return host.user(self)


@dataclass(frozen=True, slots=True)
class GetTeam(HostOp[dict[str, str]]):
    """The session's team: {id, name}."""

    step = StepName.TEAM

    def perform(self, host: HostOps) -> dict[str, str]:
        return host.team(self)


# -- the project's values ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetValue(HostOp[bytes | None]):
    step = StepName.GET_VALUE
    key: str

    def perform(self, host: HostOps) -> bytes | None:
        return host.get_value(self)


@dataclass(frozen=True, slots=True)
class SetValue(HostOp[None]):
    step = StepName.SET_VALUE
    key: str
    value: bytes

    def perform(self, host: HostOps) -> None:
        return host.set_value(self)


@dataclass(frozen=True, slots=True)
class DelValue(HostOp[None]):
    step = StepName.DEL_VALUE
    key: str

    def perform(self, host: HostOps) -> None:
        return host.del_value(self)


@dataclass(frozen=True, slots=True)
class ListValueKeys(HostOp[list[str]]):
    step = StepName.LIST_VALUES_KEYS

    def perform(self, host: HostOps) -> list[str]:
        return host.list_values_keys(self)


@dataclass(frozen=True, slots=True)
class CheckAndSetValue(HostOp[bool]):
    """Set `key` to `new` if it holds `expected` now (compared pickled; None: holds nothing)."""

    step = StepName.CHECK_AND_SET_VALUE
    key: str
    expected: bytes | None
    new: bytes

    def perform(self, host: HostOps) -> bool:
        return host.check_and_set_value(self)


@dataclass(frozen=True, slots=True)
class AddValues(HostOp[bytes]):
    """Add a pickled number to the number under `key`; the pickled sum."""

    step = StepName.ADD_VALUES
    key: str
    amount: bytes

    def perform(self, host: HostOps) -> bytes:
        return host.add_values(self)


# -- analytics --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Track(HostOp[None]):
    """One analytics event; the arguments are as the program gave them, checked by the host."""

    step = StepName.TRACK
    tags: Any
    event: Any
    metadata: Any

    def perform(self, host: HostOps) -> None:
        return host.track(self)


@dataclass(frozen=True, slots=True)
class QueryEvents(HostOp[list[dict[str, Any]]]):
    """The team's analytics events in [start, end) (ISO-8601; end None means now)."""

    step = StepName.EVENTS
    start: Any
    end: Any

    def perform(self, host: HostOps) -> list[dict[str, Any]]:
        return host.events(self)


class HostOps(Protocol):
    """Whoever performs host operations: the server, for one session, or the local stand-in."""

    def start(self, op: StartChild, /) -> str: ...
    def start_workflow(self, op: StartWorkflow, /) -> str: ...
    def signal(self, op: SendSignal, /) -> int: ...
    def outcome(self, op: RecordOutcome, /) -> None: ...
    def http_outcome(self, op: HttpOutcome, /) -> None: ...
    def subscribe(self, op: Subscribe, /) -> str: ...
    def unsubscribe(self, op: Unsubscribe, /) -> None: ...
    def config_get(self, op: ConfigGet, /) -> str | None: ...
    def config_get_all(self, op: ConfigGetAll, /) -> dict[str, str]: ...
    def config_set(self, op: ConfigSet, /) -> dict[str, str]: ...
    def config_delete(self, op: ConfigDelete, /) -> bool: ...
    def secret_get(self, op: SecretGet, /) -> dict[str, Any]: ...
    def secret_exists(self, op: SecretExists, /) -> bool: ...
    def secret_set(self, op: SecretSet, /) -> str: ...
    def user(self, op: GetUser, /) -> dict[str, str]: ...
    def team(self, op: GetTeam, /) -> dict[str, str]: ...
    def get_value(self, op: GetValue, /) -> bytes | None: ...
    def set_value(self, op: SetValue, /) -> None: ...
    def del_value(self, op: DelValue, /) -> None: ...
    def list_values_keys(self, op: ListValueKeys, /) -> list[str]: ...
    def check_and_set_value(self, op: CheckAndSetValue, /) -> bool: ...
    def add_values(self, op: AddValues, /) -> bytes: ...
    def track(self, op: Track, /) -> None: ...
    def events(self, op: QueryEvents, /) -> list[dict[str, Any]]: ...


#: Every operation of the wire, for the checks that an implementation covers them all.
OPERATIONS: tuple[type[HostOp[Any]], ...] = tuple(
    value
    for value in list(globals().values())
    if isinstance(value, type) and issubclass(value, HostOp) and value is not HostOp
)
