"""The names that both sides of the host↔runner boundary must agree on: journal steps and wait kinds.

A journal entry is found again on replay by its name, so these strings are part of every stored
journal: renaming one makes old journals diverge. The values are the names purrflow has always written.
"""

from __future__ import annotations

from enum import StrEnum


class StepName(StrEnum):
    """Journal names of the steps the SDK takes (automatic steps are named after the function called)."""

    # host operations
    START = "purrflow.start"
    START_WORKFLOW = "purrflow.start_workflow"
    SUBSCRIBE = "purrflow.subscribe"
    UNSUBSCRIBE = "purrflow.unsubscribe"
    CONFIG_GET = "purrflow.config_get"
    CONFIG_GET_ALL = "purrflow.config_get_all"
    CONFIG_SET = "purrflow.config_set"
    CONFIG_DELETE = "purrflow.config_delete"
    SECRET_GET = "purrflow.secret_get"
    SECRET_EXISTS = "purrflow.secret_exists"
    SECRET_SET = "purrflow.secret_set"
    USER = "purrflow.user"
    TEAM = "purrflow.team"
    SIGNAL = "purrflow.signal"
    OUTCOME = "purrflow.outcome"
    HTTP_OUTCOME = "purrflow.http_outcome"
    GET_VALUE = "purrflow.get_value"
    SET_VALUE = "purrflow.set_value"
    DEL_VALUE = "purrflow.del_value"
    LIST_VALUES_KEYS = "purrflow.list_values_keys"
    CHECK_AND_SET_VALUE = "purrflow.check_and_set_value"
    ADD_VALUES = "purrflow.add_values"
    TRACK = "purrflow.track"
    EVENTS = "purrflow.events"
    # waits
    SLEEP = "sleep"
    WAIT_FOR_SIGNAL = "purrflow.wait_for_signal"
    NEXT_SIGNAL = "purrflow.next_signal"
    NEXT_EVENT = "purrflow.next_event"
    PROMPT = "purrflow.prompt"
    # CTO.ai's per-run state, kept in the run's state folder (steps the runner takes itself)
    STATE_GET = "purrflow.state_get"
    STATE_GET_ALL = "purrflow.state_get-all"
    STATE_SET = "purrflow.state_set"

    @property
    def label(self) -> str:
        """How people call it: `get_value`, `next_event`."""
        return self.value.removeprefix("purrflow.")


class WaitKind(StrEnum):
    """What a durable wait waits for; stored with an open wait, so the values are part of the database."""

    SLEEP = "sleep"
    #: A project-wide named signal (`wait_for_signal`).
    SIGNAL = "signal"
    #: A signal sent to this session (`next_signal`), a child's end among them.
    SESSION_SIGNAL = "session_signal"
    #: An event of one of the session's subscriptions (`next_event`).
    EVENT = "event"
    #: A person's answer.
    PROMPT = "prompt"
