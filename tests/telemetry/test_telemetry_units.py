"""The parts of telemetry that need no server: when tracing is on, and the ids a session's trace is given."""

from __future__ import annotations

import pytest

from purrflow.telemetry import tracing_wanted
from purrflow.telemetry.tracing import session_trace_ids

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        (ENDPOINT, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "TRUE"}, False),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}, False),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "console, otlp"}, True),
    ],
)
def test_tracing_follows_the_standard_variables(environ: dict[str, str], wanted: bool) -> None:
    assert tracing_wanted(environ) is wanted


def test_a_sessions_trace_ids_are_its_own_and_stable() -> None:
    trace_id, span_id = session_trace_ids("ses_a")
    assert (trace_id, span_id) == session_trace_ids("ses_a")  # a resumed session, another process: the same
    assert trace_id != session_trace_ids("ses_b")[0]
    assert 0 < trace_id < 1 << 128 and 0 < span_id < 1 << 64
