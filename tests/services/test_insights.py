"""The DORA arithmetic of Insights, on hand-made event lists (no store, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from purrflow.services.insights import DAY, compute_insights

START, END = 1_000_000.0, 1_000_000.0 + 2 * DAY


def dep(at: float, action: str, repo: str = "shop", env: str = "prod", **extra: Any) -> dict[str, Any]:
    """A deployment event as sdk.events() answers it, `at` seconds into the window."""
    body = {"tags": [], "event": "", "event_name": "deployment", "event_action": action, "repo": repo}
    return body | {"environment": env, "timestamp": START + at} | extra


def change(at: float, commit: str, action: str = "merge", **extra: Any) -> dict[str, Any]:
    body = {"tags": [], "event": "", "event_name": "change", "event_action": action, "commit": commit}
    return body | {"timestamp": START + at} | extra


def test_frequency_and_failure_rate_accept_both_spellings_and_ignore_other_actions() -> None:
    events = [
        dep(10, "success"),
        dep(20, "SUCCEEDED"),
        dep(30, "Failure"),
        dep(40, "failed"),
        dep(50, "succeeded"),
        dep(60, "initiated"),
        dep(70, "started"),
        dep(80, "recovered"),
        {"event_name": "ticket", "event_action": "failed", "timestamp": START + 90},
    ]
    report = compute_insights(events, START, END)
    assert (report.overall.succeeded, report.overall.failed) == (3, 2)
    assert report.overall.deployment_frequency.value == pytest.approx(1.5)  # 3 successes in 2 days
    assert report.overall.change_failure_rate.value == pytest.approx(0.4)


def test_every_metric_says_why_when_there_is_nothing_to_measure() -> None:
    empty = compute_insights([], START, END).to_dict()
    for key in ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"):
        assert empty[key]["value"] is None and empty[key]["reason"], key
    assert empty["deployments"] == {"total": 0, "succeeded": 0, "failed": 0}
    assert empty["time_to_restore"]["reason"] == "no failed deployments: nothing to restore"

    only_failures = compute_insights([dep(10, "failure"), dep(20, "failure")], START, END).overall
    assert only_failures.deployment_frequency.value == 0.0  # deploying and failing is data: zero successes
    assert only_failures.change_failure_rate.value == 1.0
    assert only_failures.lead_time.reason == "no successful deployments in the window: no change reached production"
    assert only_failures.time_to_restore.value is None
    assert only_failures.time_to_restore.details == {"restores": 0, "unrestored": 1}  # one open incident

    no_commits = compute_insights([dep(10, "success")], START, END).overall
    assert no_commits.change_failure_rate.value == 0.0
    assert no_commits.lead_time.value is None
    assert "could be matched to a commit time" in str(no_commits.lead_time.reason)


def test_restore_time_runs_from_the_first_failure_to_the_next_success_of_the_same_repo_and_environment() -> None:
    events = [
        dep(100, "failure"),
        dep(150, "failure", env="staging"),
        dep(170, "success", env="staging"),  # staging: restored after 20 s
        dep(200, "failed"),  # prod is still broken: the incident started at 100
        dep(300, "success", repo="other"),  # another repo's success restores nothing of shop's
        dep(400, "succeeded"),  # prod: restored after 300 s
        dep(450, "success"),
        dep(500, "failure", repo="other"),  # never restored
    ]
    restore = compute_insights(events, START, END).overall.time_to_restore
    assert restore.value == pytest.approx(160)
    assert restore.details == {"mean": 160, "median": 160, "samples": 2, "restores": 2, "unrestored": 1}


def test_lead_time_joins_deployments_to_merged_changes_by_commit() -> None:
    events = [
        change(-1000, "aaa"),  # merged before the window: still joined
        change(-2000, "aaa", action="open"),  # opening a pull request is not the change's time
        change(50, "bbb", commit_time=START - 500),  # the change's own commit time wins over its merge
        change(5000, "ccc"),  # merged after its deployment: not this deployment's origin
        dep(100, "success", commit="aaa"),  # 1100 s
        dep(200, "success", commit="aaa"),  # a redeploy of the same commit to the same place: not counted again
        dep(300, "success", commit="aaa", env="staging"),  # the same commit reaching another environment: 1300 s
        dep(400, "success", commit="bbb"),  # 900 s
        dep(600, "success", commit="ccc", commit_time=START + 540),  # falls back to its own commit_time: 60 s
        dep(700, "success", commit="ddd", created_at="1970-01-12T13:46:40Z"),  # ISO created_at = START: 700 s
        dep(800, "failure", commit="eee", commit_time=START),  # failures carry no change to production
        dep(900, "success", commit="fff"),  # nothing known about fff: left out, not guessed
    ]
    lead = compute_insights(events, START, END).overall.lead_time
    assert lead.details["samples"] == 5
    assert lead.value == pytest.approx((1100 + 1300 + 900 + 60 + 700) / 5)
    assert lead.details["median"] == pytest.approx(900)


def test_only_deployments_inside_the_half_open_window_count() -> None:
    events = [dep(-1, "success"), dep(0, "success"), dep(2 * DAY - 1, "failure"), dep(2 * DAY, "failure")]
    overall = compute_insights(events, START, END).overall
    assert (overall.succeeded, overall.failed) == (1, 1)


def test_a_repo_filter_and_a_per_repo_breakdown() -> None:
    events = [dep(10, "success"), dep(20, "failure", repo="api"), dep(30, "success", repo="api")]
    events.append(dep(40, "success", repo=""))
    only_api = compute_insights(events, START, END, repo="api")
    assert (only_api.overall.succeeded, only_api.overall.failed) == (1, 1)
    assert only_api.by_repo is None
    grouped = compute_insights(events, START, END, by_repo=True).to_dict()
    assert sorted(grouped["by_repo"]) == ["(no repo)", "api", "shop"]
    assert grouped["by_repo"]["api"]["change_failure_rate"]["value"] == 0.5
    assert grouped["by_repo"]["api"]["time_to_restore"]["value"] == 10
    assert grouped["by_repo"]["shop"]["time_to_restore"]["reason"] == "no failed deployments: nothing to restore"
    assert grouped["deployments"]["total"] == 4


def test_events_as_sdk_events_returns_them_iso_times_and_event_as_the_name() -> None:
    events = [
        {"tags": ["ci"], "event": "deployment", "event_action": "success", "timestamp": "1970-01-12T13:47:40Z"},
        {"tags": [], "event": "x", "event_name": "deployment", "event_action": "failure", "timestamp": "garbage"},
        {"tags": [], "event": "deployment", "event_action": "failure"},  # no time at all: skipped
    ]
    report = compute_insights(events, START, END)
    assert (report.overall.succeeded, report.overall.failed) == (1, 0)
    body = report.to_dict()
    assert body["window"] == {"start": "1970-01-12T13:46:40Z", "end": "1970-01-14T13:46:40Z", "days": 2.0}
    frequency = {"value": 0.5, "unit": "per_day", "reason": None, "deployments": 1, "days": 2.0}
    assert body["deployment_frequency"] == frequency
    assert body["change_failure_rate"] == {"value": 0.0, "unit": "ratio", "reason": None, "failed": 0, "deployments": 1}
