"""Slack as a session's interface: for a session started from Slack (a slash command, a mention, a
message — and every session it starts), what it says to its person (`ux.print`, CTO.ai's UX calls) is
posted to the channel (a mention's thread), and its prompts are asked there as interactive messages.

The answers come back as interactions to the connection's inbound URL and are checked like any other
answer (`PromptService.answer`); a prompt can still be answered from the CLI or the web, the first answer
wins. An interaction may only answer prompts of sessions that came from its own connection.

Posting happens after the commit, in order, by one worker: what a session printed before asking reaches
the channel before the question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from purrflow.connectors import slack_ui
from purrflow.connectors.slack import SlackWeb
from purrflow.engine.logs import LogBus, LogItem, SessionEnded
from purrflow.errors import PurrflowError
from purrflow.services.connections import ConnectionService, InboundAnswer
from purrflow.services.prompts import PromptService
from purrflow.services.triggers import TriggerService
from purrflow.store import ConnectionRecord, LogRecord, PromptRecord, Session, Store

log = logging.getLogger("purrflow.slack")

#: Events a session can be started from that carry a channel to answer in.
_CONVERSATIONAL = ("slash_command", "app_mention", "message")


@dataclass(frozen=True, slots=True)
class SlackPlace:
    """Where a session's person is: a connection, a channel and maybe a thread."""

    connection_id: str
    channel: str
    thread_ts: str


@dataclass(frozen=True, slots=True)
class _Post:
    place: SlackPlace
    text: str
    blocks: list[dict[str, Any]] | None = None
    prompt_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Update:
    connection_id: str
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _OpenModal:
    connection_id: str
    trigger_id: str
    view: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Respond:
    connection_id: str
    response_url: str
    text: str


_Work = _Post | _Update | _OpenModal | _Respond


class SlackInterface:
    def __init__(
        self,
        store: Store,
        *,
        connections: ConnectionService,
        prompts: PromptService,
        triggers: TriggerService,
        logs: LogBus,
    ) -> None:
        self._store = store
        self._triggers = triggers
        self._connections = connections
        self._prompts = prompts
        self._logs = logs
        self._places: dict[str, SlackPlace | None] = {}
        #: Where each prompt's message is (channel, ts), once posted.
        self._messages: dict[str, tuple[str, str]] = {}
        self._lines: asyncio.Queue[tuple[str, LogItem]] | None = None
        self._work: asyncio.Queue[_Work] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: httpx.AsyncClient | None = None

    def start(self) -> None:
        self._lines = self._logs.subscribe_all()
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        self._prompts.listen(self._asked)
        self._tasks = [
            asyncio.create_task(self._forward(), name="slack-interface-lines"),
            asyncio.create_task(self._run(), name="slack-interface"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.aclose()

    # -- which sessions ------------------------------------------------------------------------
    def place_of(self, session: Session) -> SlackPlace | None:
        """Where the session's person is in Slack, if it (or the session that started it) came from there."""
        if session.id in self._places:
            return self._places[session.id]
        root = session
        while root.parent_id:
            parent = self._store.get_session(root.parent_id)
            if parent is None:
                break
            root = parent
        place = self._place_of_root(root)
        self._places[session.id] = place
        return place

    def _place_of_root(self, root: Session) -> SlackPlace | None:
        # Most sessions come from webhooks, schedules or by hand: their trigger (cached) says so for free.
        trigger = next((t for t in self._triggers.of(root.project_id) if t.name == root.trigger_name), None)
        if trigger is None or trigger.kind != "connection" or not root.event_id:
            return None
        origin = self._store.event_origin(root.event_id)
        if origin is None:
            return None
        source, event_type, data = origin
        record = self._store.get_connection(root.project_id, source)
        if record is None or record.integration != "slack" or event_type not in _CONVERSATIONAL:
            return None
        channel = str(data.get("channel_id") or data.get("channel") or "")
        if not channel:
            return None
        thread = "" if event_type == "slash_command" else str(data.get("thread_ts") or data.get("ts") or "")
        return SlackPlace(record.id, channel, thread)

    # -- out: what sessions say and ask --------------------------------------------------------
    def _asked(self, prompt: PromptRecord) -> None:
        session = self._store.get_session(prompt.session_id)
        place = self.place_of(session) if session is not None else None
        if place is None:
            return
        self._drain_lines()  # what the session printed before it asked goes first
        text, blocks = slack_ui.prompt_message(prompt.id, prompt.spec)
        self._work.put_nowait(_Post(place, text, blocks, prompt.id))

    def _drain_lines(self) -> None:
        if self._lines is None:
            return
        while not self._lines.empty():
            session_id, item = self._lines.get_nowait()
            self._line(session_id, item)

    def _line(self, session_id: str, item: LogItem) -> None:
        if isinstance(item, SessionEnded):
            self._places.pop(session_id, None)
            return
        if not isinstance(item, LogRecord) or item.stream != "ux":
            return
        place = self._places.get(session_id)
        if session_id not in self._places:
            session = self._store.get_session(session_id)
            place = self.place_of(session) if session is not None else None
        if place is not None:
            self._work.put_nowait(_Post(place, item.text))

    async def _forward(self) -> None:
        """Committed output lines to the work queue (a prompt drains them itself first, so nothing a
        session printed before asking can land after the question)."""
        assert self._lines is not None
        while True:
            self._line(*await self._lines.get())

    async def _run(self) -> None:
        while True:
            item = await self._work.get()
            try:
                await self._do(item)
            except PurrflowError as err:
                log.warning("Slack interface: %s", err.message)
            except Exception:  # one failed post never stops the others
                log.exception("Slack interface failed")

    async def _do(self, item: _Work) -> None:
        web = self._web(item.place.connection_id if isinstance(item, _Post) else item.connection_id)
        if web is None:
            return
        if isinstance(item, _Post):
            body: dict[str, Any] = {"channel": item.place.channel, "text": item.text}
            if item.place.thread_ts:
                body["thread_ts"] = item.place.thread_ts
            if item.blocks is not None:
                body["blocks"] = item.blocks
            posted = await web.call("chat.postMessage", body)
            if item.prompt_id is not None:
                self._messages[item.prompt_id] = (str(posted.get("channel", item.place.channel)), str(posted["ts"]))
        elif isinstance(item, _Update):
            await web.call(
                "chat.update", {"channel": item.channel, "ts": item.ts, "text": item.text, "blocks": item.blocks}
            )
        elif isinstance(item, _OpenModal):
            await web.call("views.open", {"trigger_id": item.trigger_id, "view": item.view})
        else:
            await web.respond(item.response_url, {"response_type": "ephemeral", "replace_original": False,
                                                  "text": item.text})  # fmt: skip

    def _web(self, connection_id: str) -> SlackWeb | None:
        record = self._store.get_connection_by_id(connection_id)
        if record is None or self._http is None:
            return None
        return SlackWeb(self._http, self._connections.fields(record))

    # -- in: answers ---------------------------------------------------------------------------
    def take(self, record: ConnectionRecord, payload: dict[str, Any]) -> InboundAnswer | None:
        """An interaction with one of our prompt messages or modals (None: an ordinary interaction)."""
        if not slack_ui.is_ours(payload):
            return None
        interaction = slack_ui.read(payload)
        if isinstance(interaction, slack_ui.Ignored):
            return InboundAnswer(200)
        prompt = self._store.get_prompt(interaction.prompt_id)
        session = self._store.get_session(prompt.session_id) if prompt is not None else None
        place = self.place_of(session) if session is not None else None
        if prompt is None or place is None or place.connection_id != record.id:
            return InboundAnswer(404, "no prompt of this connection's sessions has that id")
        if isinstance(interaction, slack_ui.OpenModal):
            self._work.put_nowait(_OpenModal(record.id, interaction.trigger_id, slack_ui.modal(prompt.id, prompt.spec)))
            return InboundAnswer(200)
        try:
            value = self._prompts.answer(prompt.team_id, prompt.id, interaction.raw)
        except PurrflowError as err:
            if payload.get("type") == "view_submission":
                return InboundAnswer(200, reply={"response_action": "errors", "errors": {"pf_answer": err.message}})
            if payload.get("response_url"):
                self._work.put_nowait(_Respond(record.id, str(payload["response_url"]), err.message))
            return InboundAnswer(200)
        where = self._messages.get(prompt.id)
        if where is None and payload.get("container"):
            container = payload["container"]
            where = (str(container.get("channel_id", "")), str(container.get("message_ts", "")))
        if where is not None and where[1]:
            shown = ", ".join(value) if isinstance(value, list) else str(value)
            blocks = slack_ui.answered(prompt.spec, shown, interaction.user)
            self._work.put_nowait(_Update(record.id, where[0], where[1], slack_ui.question(prompt.spec), blocks))
        return InboundAnswer(
            200, reply={"response_action": "clear"} if payload.get("type") == "view_submission" else None
        )
