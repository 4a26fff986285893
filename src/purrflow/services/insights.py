"""The four DORA metrics of CTO.ai's Insights, computed from analytics events. Pure: no store, no clock.

Input is what `sdk.events()` answers (flattened bodies with a `timestamp`), so a session can compute
the same report as the API. Deployments are events with `event_name` "deployment" (or, lacking one,
`event` "deployment"); `event_action` success/succeeded and failure/failed (any case) feed the metrics,
every other action (initiated, started, recovered, …) is ignored, as CTO.ai's dashboard does. Only
deployments inside [start, end) count; changes may be older (a commit merged before the window can be
deployed inside it).

Where CTO.ai publishes no rule (see specs/ctoai.md §6.3), the choices are:
- lead time joins a successful deployment to the `change` event with the same `commit` whose
  `event_action` is merge (or succeeded), from the change's `commit_time` when it has one, else from when
  it was tracked; without such a change the deployment's own `commit_time` (or `created_at`) is used. A
  commit counts once per repo and environment (its first successful deployment there): redeploying it
  says nothing new about how fast changes ship.
- time to restore is measured per incident: from the first failure of a run of failures of one
  repo+environment to the next success there. Failures not yet followed by a success are reported as
  unrestored, not guessed at.
Every metric that cannot be computed is None with the reason, never a made-up number.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from purrflow.errors import InvalidInputError
from purrflow.rules.analytics import iso, parse_instant

DAY = 86_400.0
SUCCESS_ACTIONS = frozenset({"success", "succeeded"})
FAILURE_ACTIONS = frozenset({"failure", "failed"})
CHANGE_DONE_ACTIONS = frozenset({"merge", "merged", "succeeded"})
#: How far before the window the API looks for the changes its deployments carry.
CHANGE_LOOKBACK = 90 * DAY
NO_REPO = "(no repo)"


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric: a value in `unit`, or None and the `reason` it cannot be known."""

    value: float | None
    unit: str  # "per_day", "seconds" or "ratio"
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "reason": self.reason, **self.details}


@dataclass(frozen=True, slots=True)
class Dora:
    """The four metrics over one stream of deployments (all of them, or one repo's)."""

    succeeded: int
    failed: int
    deployment_frequency: Metric
    lead_time: Metric
    change_failure_rate: Metric
    time_to_restore: Metric

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployments": {"total": self.succeeded + self.failed, "succeeded": self.succeeded, "failed": self.failed},
            "deployment_frequency": self.deployment_frequency.to_dict(),
            "lead_time": self.lead_time.to_dict(),
            "change_failure_rate": self.change_failure_rate.to_dict(),
            "time_to_restore": self.time_to_restore.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Insights:
    start: float
    end: float
    repo: str | None
    overall: Dora
    by_repo: dict[str, Dora] | None = None

    def to_dict(self) -> dict[str, Any]:
        window = {"start": iso(self.start), "end": iso(self.end), "days": round((self.end - self.start) / DAY, 3)}
        grouped = None if self.by_repo is None else {name: dora.to_dict() for name, dora in self.by_repo.items()}
        return {"window": window, "repo": self.repo, **self.overall.to_dict(), "by_repo": grouped}


@dataclass(frozen=True, slots=True)
class _Deployment:
    ts: float
    ok: bool
    repo: str
    environment: str
    commit: str | None
    commit_time: float | None


def compute_insights(
    events: Iterable[Mapping[str, Any]],
    start: float,
    end: float,
    *,
    repo: str | None = None,
    by_repo: bool = False,
) -> Insights:
    """DORA metrics of the deployments in [start, end) (only `repo`'s when given; per repo if `by_repo`)."""
    deployments: list[_Deployment] = []
    changes: dict[str, float] = {}  # commit → earliest time it was merged (or committed)
    for raw in events:
        ts = _time(raw.get("timestamp"))
        if ts is None:
            continue
        kind = _word(raw.get("event_name") if "event_name" in raw else raw.get("event"))
        action = _word(raw.get("event_action"))
        commit = raw.get("commit") if isinstance(raw.get("commit"), str) and raw.get("commit") else None
        if kind == "change" and action in CHANGE_DONE_ACTIONS and commit is not None:
            committed = _time(raw.get("commit_time"))
            done = ts if committed is None else committed
            changes[commit] = min(done, changes.get(commit, done))
        elif kind == "deployment" and action in SUCCESS_ACTIONS | FAILURE_ACTIONS and start <= ts < end:
            name = str(raw.get("repo") or "")
            if repo is not None and name != repo:
                continue
            own_time = _first_time(raw, "commit_time", "created_at")
            env = str(raw.get("environment") or "")
            deployments.append(_Deployment(ts, action in SUCCESS_ACTIONS, name, env, commit, own_time))
    deployments.sort(key=lambda d: d.ts)
    grouped: dict[str, Dora] | None = None
    if by_repo:
        streams: dict[str, list[_Deployment]] = {}
        for deployment in deployments:
            streams.setdefault(deployment.repo or NO_REPO, []).append(deployment)
        grouped = {name: _dora(streams[name], changes, start, end) for name in sorted(streams)}
    return Insights(start, end, repo, _dora(deployments, changes, start, end), grouped)


def _dora(deployments: list[_Deployment], changes: dict[str, float], start: float, end: float) -> Dora:
    succeeded = sum(1 for d in deployments if d.ok)
    failed = len(deployments) - succeeded
    return Dora(
        succeeded,
        failed,
        _frequency(succeeded, failed, (end - start) / DAY),
        _lead_time(deployments, changes),
        _failure_rate(succeeded, failed),
        _restore_time(deployments),
    )


def _frequency(succeeded: int, failed: int, days: float) -> Metric:
    if succeeded + failed == 0:
        return Metric(None, "per_day", "no deployment events in the window: nothing to count")
    return Metric(succeeded / days, "per_day", details={"deployments": succeeded, "days": round(days, 3)})


def _lead_time(deployments: list[_Deployment], changes: dict[str, float]) -> Metric:
    successes = [d for d in deployments if d.ok]
    if not successes:
        return Metric(None, "seconds", "no successful deployments in the window: no change reached production")
    samples: list[float] = []
    seen: set[tuple[str, str, str]] = set()
    for deployment in successes:
        if deployment.commit is not None:
            key = (deployment.commit, deployment.repo, deployment.environment)
            if key in seen:
                continue
            seen.add(key)
        merged = changes.get(deployment.commit) if deployment.commit is not None else None
        origin = merged if merged is not None and merged <= deployment.ts else deployment.commit_time
        if origin is not None and origin <= deployment.ts:
            samples.append(deployment.ts - origin)
    if not samples:
        return Metric(
            None,
            "seconds",
            f"none of the {len(successes)} successful deployments could be matched to a commit time: track change"
            ' events (event_name "change", event_action "merge") with their commit, or send commit_time',
        )
    return Metric(statistics.fmean(samples), "seconds", details=_spread(samples))


def _failure_rate(succeeded: int, failed: int) -> Metric:
    if succeeded + failed == 0:
        return Metric(None, "ratio", "no successful or failed deployments in the window")
    return Metric(failed / (succeeded + failed), "ratio", details={"failed": failed, "deployments": succeeded + failed})


def _restore_time(deployments: list[_Deployment]) -> Metric:
    """Per repo+environment, from the first failure of a run of failures to the success that ends it."""
    if not any(not d.ok for d in deployments):
        return Metric(None, "seconds", "no failed deployments: nothing to restore")
    broken_since: dict[tuple[str, str], float] = {}
    samples: list[float] = []
    for deployment in deployments:  # in time order
        stream = (deployment.repo, deployment.environment)
        if not deployment.ok:
            broken_since.setdefault(stream, deployment.ts)
        elif stream in broken_since:
            samples.append(deployment.ts - broken_since.pop(stream))
    if not samples:
        return Metric(
            None,
            "seconds",
            "no failed deployment has been followed by a successful one yet",
            {"restores": 0, "unrestored": len(broken_since)},
        )
    details = _spread(samples) | {"restores": len(samples), "unrestored": len(broken_since)}
    return Metric(statistics.fmean(samples), "seconds", details=details)


def _spread(samples: list[float]) -> dict[str, Any]:
    return {"mean": statistics.fmean(samples), "median": statistics.median(samples), "samples": len(samples)}


def _time(value: Any) -> float | None:
    """Unix seconds from a number or an ISO-8601 string; None when it is neither."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return parse_instant(value)
        except InvalidInputError:
            return None
    return None


def _first_time(raw: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        found = _time(raw.get(key))
        if found is not None:
            return found
    return None


def _word(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""
