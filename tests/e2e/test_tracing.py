"""Traces over OTLP/HTTP: a session is one trace — its own span with a child per step and host call — even
when it suspends and resumes in another runner; a server without an endpoint loads no SDK at all."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from projects import manifest, write_project

from helpers import Server, wait_until
from standin_server import Reply, Request, running

pytestmark = pytest.mark.slow

TRIGGERS = """
- name: nap
  type: webhook
  call: program.py:nap
- name: boom
  type: webhook
  call: program.py:boom
"""

PROGRAM = """
import time
from purrflow import sdk

@sdk.activity
def double(x):
    return x * 2

def nap(event):
    first = double(1)
    time.sleep(1.5)  # sleep-ok: a durable sleep longer than the hot wait: the session suspends, a new runner replays it
    sdk.set_value("napped", double(first))

def boom(event):
    raise RuntimeError("boom")
"""


class Collector:
    """An OTLP/HTTP collector: decodes every `POST /v1/traces` into its spans."""

    def __init__(self) -> None:
        self.spans: list[Span] = []

    def receive(self, request: Request) -> Reply:
        assert request.headers["content-type"] == "application/x-protobuf"
        export = ExportTraceServiceRequest()
        export.ParseFromString(request.body)
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(scope.spans)
        return Reply(200, ExportTraceServiceRequest().SerializeToString(), {"Content-Type": "application/x-protobuf"})

    def trace(self, trace_id: bytes) -> list[Span]:
        return [span for span in self.spans if span.trace_id == trace_id]


def attributes(span: Span) -> dict[str, Any]:
    return {a.key: a.value.string_value or a.value.int_value for a in span.attributes}


def trace_id_of(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()[:16]


def fire(url: str) -> str:
    response = httpx.post(url, json={})
    assert response.status_code == 202, response.text
    return str(response.json()["session_id"])


def test_a_session_is_one_trace_across_its_runners(tmp_path: Path) -> None:
    collector = Collector()
    with running({("POST", "/v1/traces"): collector.receive}) as otlp:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, "OTEL_BSP_SCHEDULE_DELAY": "50"}
        server = Server(tmp_path / "data", extra_args=["--hot-wait", "0.5"], env=env).start()
        try:
            folder = write_project(
                tmp_path / "traced", {"purrflow.yaml": manifest("traced", TRIGGERS), "program.py": PROGRAM}
            )
            hooks = {t["name"]: t["webhook_url"] for t in server.deploy(folder)["triggers"]}
            napped, failed = fire(hooks["nap"]), fire(hooks["boom"])
            server.wait_state(napped, "waiting")  # its first runner is gone
            assert server.wait_state(napped, "completed", "error")["state"] == "completed"
            assert server.wait_state(failed, "completed", "error")["state"] == "error"
            roots = wait_until(
                lambda: [s for s in collector.trace(trace_id_of(napped)) if not s.parent_span_id],
                what="the session's span",
            )
        finally:
            server.stop()

    assert len(roots) == 1
    root = roots[0]
    assert attributes(root) == {
        "purrflow.session.id": napped,
        "purrflow.project": "traced",
        "purrflow.trigger": "nap",
        "purrflow.entrypoint": "program.py:nap",
        "purrflow.session.state": "completed",
    }
    assert root.status.code == Status.STATUS_CODE_OK
    children = [s for s in collector.trace(root.trace_id) if s.parent_span_id]
    assert all(child.parent_span_id == root.span_id for child in children)
    steps = sorted((attributes(c)["purrflow.step.seq"], c.name, attributes(c)["purrflow.step.kind"]) for c in children)
    # Step 2 is the sleep: a wait, not a span. Steps 1 and 3 ran in different runners, under one parent.
    assert steps == [(1, "program.double", "activity"), (3, "program.double", "activity"), (4, "set_value", "host")]
    for child in children:
        assert root.start_time_unix_nano <= child.start_time_unix_nano <= child.end_time_unix_nano
        assert child.end_time_unix_nano <= root.end_time_unix_nano
    assert len({s.span_id for s in [root, *children]}) == 4

    (boom,) = collector.trace(trace_id_of(failed))  # no steps: just the session
    assert boom.status.code == Status.STATUS_CODE_ERROR
    assert "RuntimeError: boom" in boom.status.message
    assert attributes(boom)["purrflow.session.state"] == "error"


def test_without_an_endpoint_the_sdk_is_never_loaded() -> None:
    """(FastAPI loads OpenTelemetry's small API package itself when it is installed; the SDK and the exporter
    are what tracing costs.)"""
    probe = (
        "import sys, purrflow.server.app as app\n"
        "from purrflow.telemetry import Tracing\n"
        "assert Tracing.start({}) is None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter'))))\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert loaded.stdout.strip() == "[]"
