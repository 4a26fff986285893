"""Durable waits as the runner asks for them: one frozen dataclass per kind.

The host answers a wait with its journaled result (possibly after the runner that asked was replaced):
`None` for a sleep or a timeout, `(name, pickled payload)` for a signal or an event, the checked answer
for a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from purrflow.wire.steps import StepName, WaitKind


class WaitSpec:
    """What a session waits for. `kind` says how the host waits, `step` names its journal entry."""

    __slots__ = ()
    kind: ClassVar[WaitKind]
    step: ClassVar[StepName]

    @property
    def deadline(self) -> float | None:
        """When the wait ends without an answer (epoch seconds), or None to wait as long as it takes."""
        return None


@dataclass(frozen=True, slots=True)
class SleepUntil(WaitSpec):
    """A durable sleep (`time.sleep`, `sdk.sleep`) until `until` (epoch seconds)."""

    kind = WaitKind.SLEEP
    step = StepName.SLEEP
    until: float


@dataclass(frozen=True, slots=True)
class InboxWait(WaitSpec):
    """A wait for the first of several named signals, or None once `timeout_at` passes."""

    names: tuple[str, ...]
    timeout_at: float | None = None

    @property
    def deadline(self) -> float | None:
        return self.timeout_at


@dataclass(frozen=True, slots=True)
class ProjectSignalWait(InboxWait):
    """`wait_for_signal(name)`: a project-wide named signal, taken by the first waiter."""

    kind = WaitKind.SIGNAL
    step = StepName.WAIT_FOR_SIGNAL


@dataclass(frozen=True, slots=True)
class SessionSignalWait(InboxWait):
    """`next_signal(names)`: a signal sent to this session (a child's end is named after the child)."""

    kind = WaitKind.SESSION_SIGNAL
    step = StepName.NEXT_SIGNAL


@dataclass(frozen=True, slots=True)
class EventWait(InboxWait):
    """`next_event(subscriptions)`: the names are the ids of this session's live subscriptions."""

    kind = WaitKind.EVENT
    step = StepName.NEXT_EVENT


@dataclass(frozen=True, slots=True)
class PromptWait(WaitSpec):
    """A question for the session's person; `spec` is checked by `purrflow.rules.prompts.check_spec`."""

    kind = WaitKind.PROMPT
    step = StepName.PROMPT
    spec: dict[str, Any]


#: The journal name of each kind of inbox wait (the host stores open waits by kind).
INBOX_STEPS: dict[WaitKind, StepName] = {
    WaitKind.SIGNAL: StepName.WAIT_FOR_SIGNAL,
    WaitKind.SESSION_SIGNAL: StepName.NEXT_SIGNAL,
    WaitKind.EVENT: StepName.NEXT_EVENT,
}
