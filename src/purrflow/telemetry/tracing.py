"""OpenTelemetry traces of sessions, exported over OTLP/HTTP (protobuf) when the operator asks for them.

Tracing is on when the standard variable `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set, unless
`OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER` names no otlp exporter; the exporter reads the rest of the
standard variables itself (headers, timeout, compression, certificates). When it is off nothing here imports
the SDK: `Tracing.start` imports it, and only the server's start calls that.

A session is one trace however often it suspends, resumes or replays, even across server restarts: its trace
id and its own span's id are derived from the session id, so every runner's steps name the same parent
without anything stored. Spans are built after the fact, from times the host already has — a step's span runs
from its start in the runner to the commit of its journal entry, the session's from its creation to its end —
and handed to the SDK's batch processor, which exports them from its own thread, never the event loop.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING

from purrflow import __version__

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

#: The standard variables that turn tracing on.
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
Attributes = Mapping[str, str | int | float | bool]


def tracing_wanted(environ: Mapping[str, str]) -> bool:
    """True when an OTLP endpoint is configured and neither the SDK nor the OTLP exporter is turned off
    (`OTEL_SDK_DISABLED=true`, an `OTEL_TRACES_EXPORTER` that does not name otlp)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = {name.strip().lower() for name in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")}
    if "otlp" not in exporters:
        return False
    return any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def session_trace_ids(session_id: str) -> tuple[int, int]:
    """The session's trace id (128 bits) and its span's id (64 bits), the same in every process."""
    digest = hashlib.sha256(session_id.encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


class Tracing:
    """Where spans go: the SDK's batch processor in front of the OTLP/HTTP exporter."""

    def __init__(self, processor: BatchSpanProcessor, resource: Resource, scope: InstrumentationScope) -> None:
        self._processor = processor
        self._resource = resource
        self._scope = scope

    @classmethod
    def start(cls, environ: Mapping[str, str] = os.environ) -> Tracing | None:
        """The exporter the environment configures, or None when tracing is off."""
        if not tracing_wanted(environ):
            return None
        # Imported here, not at the top: a server that does not trace never loads the SDK.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        resource = Resource.create({"service.name": "purrflow", "service.version": __version__})
        scope = InstrumentationScope("purrflow", __version__)
        return cls(BatchSpanProcessor(OTLPSpanExporter()), resource, scope)

    def session(self, session_id: str) -> SessionTrace:
        trace_id, span_id = session_trace_ids(session_id)
        return SessionTrace(self, trace_id, span_id)

    def emit(
        self,
        name: str,
        trace_id: int,
        span_id: int,
        parent_id: int | None,
        start: float,
        end: float,
        attributes: Attributes,
        error: str | None = None,
    ) -> None:
        """One finished span (times in seconds since the epoch) into the export batch."""
        # Loaded by `start` already (a Tracing exists only then); named here to keep the module free of the SDK.
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import SpanContext, TraceFlags
        from opentelemetry.trace.status import Status, StatusCode

        context = SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
        parent = None if parent_id is None else SpanContext(trace_id, parent_id, is_remote=False)
        span = ReadableSpan(
            name,
            context=context,
            parent=parent,
            resource=self._resource,
            attributes=dict(attributes),
            instrumentation_scope=self._scope,
            status=Status(StatusCode.ERROR, error) if error is not None else Status(StatusCode.OK),
            start_time=int(start * 1e9),
            end_time=int(max(end, start) * 1e9),
        )
        self._processor.on_end(span)

    def close(self) -> None:
        """Export what is batched (blocks up to the exporter's timeout: call it off the event loop)."""
        self._processor.shutdown()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated


class SessionTrace:
    """One session's trace: its steps' spans now, its own span when it ends."""

    __slots__ = ("_tracing", "span_id", "trace_id")

    def __init__(self, tracing: Tracing, trace_id: int, span_id: int) -> None:
        self._tracing = tracing
        self.trace_id = trace_id
        self.span_id = span_id

    def child(self, name: str, start: float, end: float, attributes: Attributes, error: str | None = None) -> None:
        self._tracing.emit(
            name, self.trace_id, random.getrandbits(64) or 1, self.span_id, start, end, attributes, error
        )

    def end(self, name: str, start: float, end: float, attributes: Attributes, error: str | None = None) -> None:
        self._tracing.emit(name, self.trace_id, self.span_id, None, start, end, attributes, error)
