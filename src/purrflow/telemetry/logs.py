"""The server's log lines: text for a person at a terminal, or one JSON object a line for a log pipeline.

Lines logged while the host handles a session carry its id and project. The orchestrator's driver binds them
(`session_context`) around everything it does for a session — its task, and the callbacks that run after a
commit on its behalf — so a line needs no argument to say which session it is about, and a JSON line has
them as fields a pipeline can filter on.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, get_args

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: (session id, project) of the session being handled, if any.
_SESSION: ContextVar[tuple[str, str] | None] = ContextVar("purrflow_session", default=None)


class session_context:
    """Bind a session to every line logged inside `with`; restores whatever was bound before."""

    __slots__ = ("_session", "_token")

    def __init__(self, session_id: str, project: str) -> None:
        self._session = (session_id, project)
        self._token: Token[tuple[str, str] | None] | None = None

    def __enter__(self) -> None:
        self._token = _SESSION.set(self._session)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._token is not None:
            _SESSION.reset(self._token)
            self._token = None


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts (UTC, ISO 8601), level, logger, message, session_id and project when a
    session is bound, and the traceback as `exc` (inside the object: a line is still one record)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        session = _SESSION.get()
        if session is not None:
            line["session_id"], line["project"] = session
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(log_format: LogFormat) -> None:
    """The process's log lines (the server's entry point calls this once; library code never does)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
