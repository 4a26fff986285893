"""What operators watch: Prometheus metrics, OpenTelemetry traces, structured log lines.

Neutral: it imports nothing of purrflow's layers, so the orchestrators, the services and the server all
report through it, and the composition root decides what is on.
"""

from purrflow.telemetry.logs import LOG_FORMATS, LogFormat, configure_logging, session_context
from purrflow.telemetry.metrics import CONTENT_TYPE, Census, Metrics
from purrflow.telemetry.sessions import SessionInfo, SessionTelemetry, Telemetry
from purrflow.telemetry.tracing import Tracing, tracing_wanted

__all__ = [
    "CONTENT_TYPE",
    "LOG_FORMATS",
    "Census",
    "LogFormat",
    "Metrics",
    "SessionInfo",
    "SessionTelemetry",
    "Telemetry",
    "Tracing",
    "configure_logging",
    "session_context",
    "tracing_wanted",
]
