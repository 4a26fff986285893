"""What a session reports, in one place: its metric children, its trace, the context of its log lines.

The orchestrator makes one `SessionTelemetry` when it first hears of a session (created, resumed, or found
waiting after a restart) and keeps it until the session ends, so its runners — however many — report into
the same children and the same trace.
"""

from __future__ import annotations

from dataclasses import dataclass

from purrflow.telemetry.logs import session_context
from purrflow.telemetry.metrics import Metrics, SessionCounters
from purrflow.telemetry.tracing import SessionTrace, Tracing


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What names a session in metrics, traces and logs."""

    session_id: str
    project: str
    #: Empty for a session started by the API or by its parent.
    trigger: str
    entrypoint: str
    #: When it was created (seconds since the epoch): its start latency and its span count from here.
    created_at: float


class Telemetry:
    """The server's metrics, always; its traces when an OTLP endpoint is configured."""

    def __init__(self, metrics: Metrics, tracing: Tracing | None = None) -> None:
        self.metrics = metrics
        self._tracing = tracing

    def session(self, info: SessionInfo, *, new: bool) -> SessionTelemetry:
        """`new`: it has not run yet, so it counts as started and its first runner's first message is timed."""
        trace = self._tracing.session(info.session_id) if self._tracing is not None else None
        telemetry = SessionTelemetry(info, self.metrics.session(info.project, info.trigger), trace, new)
        if new:
            telemetry.counters.started.inc()
        return telemetry

    def close(self) -> None:
        """Export the spans still batched (blocks: call it off the event loop)."""
        if self._tracing is not None:
            self._tracing.close()


class SessionTelemetry:
    __slots__ = ("_awaiting_start", "counters", "info", "trace")

    def __init__(self, info: SessionInfo, counters: SessionCounters, trace: SessionTrace | None, new: bool) -> None:
        self.info = info
        self.counters = counters
        self.trace = trace
        self._awaiting_start = new

    def bound(self) -> session_context:
        """Bind around what the host does for the session (`with`), so its log lines name it."""
        return session_context(self.info.session_id, self.info.project)

    def heard(self, now: float) -> None:
        """A runner's first message: the session's start latency, the first time only."""
        if self._awaiting_start:
            self._awaiting_start = False
            self.counters.start_latency.observe(max(0.0, now - self.info.created_at))

    def step(
        self, kind: str, name: str, seq: int, attempt: int, started: float, journaled: float, failed: bool
    ) -> None:
        """A step's journal entry committed: `started` is when it began (in the runner, for an activity)."""
        self.counters.step_latency[kind].observe(max(0.0, journaled - started))
        if self.trace is not None:
            attributes: dict[str, str | int] = {
                "purrflow.step.name": name,
                "purrflow.step.seq": seq,
                "purrflow.step.kind": kind,
                "purrflow.step.attempt": attempt,
            }
            self.trace.child(name, started, journaled, attributes, "the step failed" if failed else None)

    def ended(self, state: str, now: float, error: str | None = None) -> None:
        """The session ended in `state` (completed, error, stopped); `error` says why, when it failed."""
        self.counters.ended[state].inc()
        if self.trace is not None:
            info = self.info
            attributes = {
                "purrflow.session.id": info.session_id,
                "purrflow.project": info.project,
                "purrflow.trigger": info.trigger,
                "purrflow.entrypoint": info.entrypoint,
                "purrflow.session.state": state,
            }
            self.trace.end(f"session {info.entrypoint}", info.created_at, now, attributes, error)
