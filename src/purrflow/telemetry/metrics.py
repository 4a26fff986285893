"""The server's Prometheus metrics, in a registry of the server's own (tests build as many as they like).

What changes on a session's path — sessions started and ended, step and start latencies — is counted in
prometheus_client children created once per label set (`Metrics.session` caches them), so a session pays
a dict lookup when it is admitted and one lock-protected add per step. What the server holds right now —
sessions queued, running and waiting, runners, the admission queue — is not counted at all: a collector
asks the orchestrator at each scrape (`Metrics.watch`), so the gauges can never drift from the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

#: The content type of `Metrics.exposition()` (Prometheus text format).
CONTENT_TYPE = CONTENT_TYPE_LATEST
#: How a session ends (the `state` label of `purrflow_sessions_ended_total`).
END_STATES = ("completed", "error", "stopped")
#: What a step is (the `kind` label of `purrflow_step_latency_seconds`): a step the runner ran itself
#: (an activity, a retry's attempt) or a host call (an SDK call the services perform).
STEP_KINDS = ("activity", "host")
#: Latencies from a millisecond (a journaled step) to a minute (a session queued behind a busy server).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True, slots=True)
class Census:
    """What the server holds at the moment of a scrape."""

    #: (project, trigger, state) → sessions, for state "queued", "running" or "waiting".
    sessions: Mapping[tuple[str, str, str], int]
    runners: int
    queued: int
    #: Waiting sessions that keep their runner (sticky), and what those runners hold.
    hot: int = 0
    hot_bytes: int = 0
    #: Deployments with a warm zygote ready.
    warm_shapes: int = 0


@dataclass(frozen=True, slots=True)
class SessionCounters:
    """The children one (project, trigger) counts into, created once and shared by its sessions."""

    started: Counter
    ended: Mapping[str, Counter]
    start_latency: Histogram
    step_latency: Mapping[str, Histogram]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        session_labels = ("project", "trigger")
        self._started = Counter(
            "purrflow_sessions_started",
            "Sessions taken on to run, queued for a runner or not (trigger: empty when the API or a parent started it)",
            session_labels,
            registry=self.registry,
        )
        self._ended = Counter(
            "purrflow_sessions_ended",
            "Sessions that ended, by end state: completed, error or stopped",
            (*session_labels, "state"),
            registry=self.registry,
        )
        self._start_latency = Histogram(
            "purrflow_session_start_latency_seconds",
            "From a session's creation to the first message of its runner",
            session_labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._step_latency = Histogram(
            "purrflow_step_latency_seconds",
            "From a step's start (in its runner, or a host call's arrival) to the commit of its journal entry",
            ("project", "kind"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str], SessionCounters] = {}
        self._census: Callable[[], Census] | None = None
        self.registry.register(_CensusCollector(self._read_census))

    def session(self, project: str, trigger: str) -> SessionCounters:
        """The children of one project and trigger (created on first use, then looked up)."""
        key = (project, trigger)
        counters = self._children.get(key)
        if counters is None:
            counters = SessionCounters(
                started=self._started.labels(project, trigger),
                ended={state: self._ended.labels(project, trigger, state) for state in END_STATES},
                start_latency=self._start_latency.labels(project, trigger),
                step_latency={kind: self._step_latency.labels(project, kind) for kind in STEP_KINDS},
            )
            self._children[key] = counters
        return counters

    def watch(self, census: Callable[[], Census]) -> None:
        """Where the gauges come from: called at each scrape, on the thread that scrapes."""
        self._census = census

    def exposition(self) -> bytes:
        """Every metric, in Prometheus text format."""
        return generate_latest(self.registry)

    def _read_census(self) -> Census | None:
        return self._census() if self._census is not None else None


class _CensusCollector:
    """The gauges, read from the orchestrator when Prometheus asks."""

    def __init__(self, read: Callable[[], Census | None]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        census = self._read()
        if census is None:
            return
        sessions = GaugeMetricFamily(
            "purrflow_sessions",
            "Sessions not yet ended: queued for a runner, running (holding a runner), or waiting without one",
            labels=("project", "trigger", "state"),
        )
        for (project, trigger, state), count in sorted(census.sessions.items()):
            sessions.add_metric((project, trigger, state), count)
        yield sessions
        yield GaugeMetricFamily("purrflow_runners", "Runner processes running a session", value=census.runners)
        yield GaugeMetricFamily(
            "purrflow_queue_depth", "Sessions waiting for a runner (admission)", value=census.queued
        )
        yield GaugeMetricFamily(
            "purrflow_hot_waiting_sessions", "Waiting sessions that keep their runner (--hot-memory)", value=census.hot
        )
        yield GaugeMetricFamily(
            "purrflow_hot_memory_bytes", "Memory (PSS) of the runners of waiting sessions", value=census.hot_bytes
        )
        yield GaugeMetricFamily(
            "purrflow_warm_shapes", "Deployments with a zygote that has imported their code", value=census.warm_shapes
        )
