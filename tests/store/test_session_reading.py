"""What the journal viewer reads from the store: steps with when they were recorded, and a session's
open wait, timers and prompts."""

from __future__ import annotations

import pickle
import time

from purrflow.store import OpenWait, StepDetails, Store


def test_steps_keep_when_they_were_recorded_and_waits_are_found_per_session(store: Store) -> None:
    before = time.time()
    with store.transaction():
        team = store.create_team("t")
        project = store.get_or_create_project(team.id, "p")
        deployment = store.create_deployment(project.id, {"project": {"name": "p"}}, {"a.py": b"A"})
        session_id = store.create_session(
            project_id=project.id, deployment_id=deployment.id, entrypoint="a.py:f", event={}
        )
        store.append_journal(session_id, 1, "x", pickle.dumps(1), False)
        store.put_wait(OpenWait(session_id, 2, project.id, "signal", ["go"], 50.0))
        store.put_timer(session_id, 2, "purrflow.wait_for_signal", 50.0)
        store.open_prompt(session_id, 3, team.id, {"type": "password", "name": "pw"})
    [row] = store.read_journal(session_id)
    assert (row.seq, row.name, pickle.loads(row.payload), row.failed) == (1, "x", 1, False)
    assert row.recorded_at is not None and before <= row.recorded_at <= time.time()
    wait = store.session_wait(session_id)
    assert wait is not None and (wait.seq, wait.names, wait.deadline) == (2, ["go"], 50.0)
    assert [t.seq for t in store.session_timers(session_id)] == [2]
    assert [(p.seq, p.spec["type"]) for p in store.session_prompts(session_id)] == [(3, "password")]
    assert store.session_wait("ses_other") is None and store.session_prompts("ses_other") == []


def test_steps_keep_their_details_and_a_session_when_its_latest_runner_started(store: Store) -> None:
    with store.transaction():
        team = store.create_team("t")
        project = store.get_or_create_project(team.id, "p")
        deployment = store.create_deployment(project.id, {"project": {"name": "p"}}, {"a.py": b"A"})
        session_id = store.create_session(
            project_id=project.id, deployment_id=deployment.id, entrypoint="a.py:f", event={}
        )
        assert store.runner_started_at(session_id) is None
        attempt = StepDetails(args="'a', n=2", started_at=10.5, attempt=1, retried=True)
        store.append_journal(session_id, 1, "x", pickle.dumps(ValueError("no")), True, attempt)
        store.append_journal(session_id, 2, "sleep", pickle.dumps(None), False)
        before = time.time()
        store.mark_running(session_id)
        after = time.time()
    failed, slept = store.read_journal(session_id)
    assert failed.details == attempt and slept.details == StepDetails()
    replayed = store.replay_journal(session_id)  # what a replay needs, and its retry decisions
    assert [row[:2] + row[3:] for row in replayed] == [(1, "x", True, 1, True), (2, "sleep", False, 0, False)]
    assert pickle.loads(replayed[1][2]) is None and store.replay_journal(session_id, after=1, limit=5) == replayed[1:]
    started = store.runner_started_at(session_id)
    assert started is not None and before <= started <= after
    session = store.get_session(session_id)
    assert session is not None and session.state == "running"
