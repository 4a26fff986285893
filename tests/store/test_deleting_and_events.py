"""The store's side of operating sessions: copying a journal for a rerun, deleting ended sessions and whole
projects without leaving rows behind, and events listed a page at a time."""

from __future__ import annotations

import math
import pickle

from purrflow.store import CarriedFile, OpenWait, Store
from store_rows import count, where


def seed(store: Store, team_name: str = "t") -> tuple[str, str, str]:
    with store.transaction():
        team = store.create_team(team_name)
        project = store.get_or_create_project(team.id, "p")
        deployment = store.create_deployment(project.id, {}, {"a.py": b"A " + team_name.encode(), "b.py": b"B"})
    return team.id, project.id, deployment.id


def session(store: Store, project_id: str, deployment_id: str, *, steps: int = 0, state: str = "completed") -> str:
    with store.transaction():
        session_id = store.create_session(
            project_id=project_id, deployment_id=deployment_id, entrypoint="a.py:f", event={"data": {}}
        )
        for seq in range(1, steps + 1):
            store.append_journal(session_id, seq, f"step{seq}", pickle.dumps(seq * 10), False)
        if state in ("completed", "error", "stopped"):
            store.finish_session(session_id, state=state)
        else:
            store.set_session_state(session_id, state)
    return session_id


def test_a_rerun_copies_the_steps_before_its_first_and_says_where_it_came_from(store: Store) -> None:
    _, project_id, deployment_id = seed(store)
    old = session(store, project_id, deployment_id, steps=5)
    new = session(store, project_id, deployment_id, state="created")
    with store.transaction():
        assert store.copy_steps(old, new, 3) == 2
    assert store.journal_entry(new, 1) == ("step1", pickle.dumps(10), False)
    assert store.journal_entry(new, 2) == ("step2", pickle.dumps(20), False)
    assert store.journal_entry(new, 3) is None
    copied = store.get_session(new)
    assert copied is not None and (copied.rerun_of, copied.rerun_from, copied.steps) == (old, 3, 2)
    assert store.journal_entry(old, 5) == ("step5", pickle.dumps(50), False)  # the old one is left as it was


def test_deleting_sessions_removes_every_row_that_is_theirs(store: Store) -> None:
    _, project_id, deployment_id = seed(store)
    gone, kept = (session(store, project_id, deployment_id, steps=2) for _ in range(2))
    with store.transaction():
        for session_id in (gone, kept):
            store.open_prompt(session_id, 3, "t", {"type": "text"})
            store.add_signal(project_id, session_id, "ping", b"x")
            store.add_subscription(session_id, project_id, "hook", "")
            store.put_timer(session_id, 4, "sleep", 1e12)
            store.put_wait(OpenWait(session_id, 5, project_id, "session_signal", ["ping"], None))
            store.take_stretch(session_id, "run/1/1", 1, 1)
        event = store.add_event(project_id, "hook", "post", {"n": 1})
    with store.transaction():
        assert store.delete_sessions([gone]) == 1
    for table in ("journal", "prompts", "signals", "subscriptions", "timers", "waits", "session_stretches"):
        assert count(where(store), table, "session_id", gone) == 0, table
        assert count(where(store), table, "session_id", kept) >= 1, table
    assert store.get_session(gone) is None and store.get_session(kept) is not None
    assert store.get_event(event.id) == event  # an event is its project's


def test_carried_folders_go_with_the_session_or_project_they_are_of(store: Store) -> None:
    _, project_id, deployment_id = seed(store)
    _, other_project, _ = seed(store, "u")
    gone, kept = (session(store, project_id, deployment_id) for _ in range(2))
    note = CarriedFile("note", "file", 0o644, 2, 1, b"hi")
    with store.transaction():
        for owner in (gone, kept, project_id, other_project):
            store.keep_carried_files(f"folder/{owner}", owner, [note], [])
    assert store.carried_files(f"folder/{gone}") == [note]  # (sealed at rest, opened when read)
    with store.transaction():
        store.delete_sessions([gone])
    assert store.carried_files(f"folder/{gone}") == [] and store.carried_files(f"folder/{kept}") == [note]
    with store.transaction():
        store.delete_sessions([kept])
        store.delete_project(project_id)
    assert store.carried_files(f"folder/{project_id}") == []
    assert store.carried_files(f"folder/{other_project}") == [note]


def test_ended_sessions_are_found_by_team_project_state_and_when_they_ended(store: Store) -> None:
    team_id, project_id, deployment_id = seed(store)
    other_team, other_project, other_deployment = seed(store, "u")
    done = session(store, project_id, deployment_id)
    failed = session(store, project_id, deployment_id, state="error")
    live = session(store, project_id, deployment_id, state="waiting")
    theirs = session(store, other_project, other_deployment)
    found = store.ended_session_ids(ended_before=math.inf, team_id=team_id)
    assert sorted(found) == sorted([done, failed]) and live not in found and theirs not in found
    assert store.ended_session_ids(ended_before=math.inf, project_id=project_id, states=["error"]) == [failed]
    assert store.ended_session_ids(ended_before=math.inf, states=["waiting"]) == []  # a live state finds nothing
    assert store.ended_session_ids(ended_before=0.0) == []
    assert len(store.ended_session_ids(ended_before=math.inf, limit=1)) == 1
    assert store.ended_session_ids(ended_before=math.inf, team_id=other_team) == [theirs]


def test_deleting_a_project_removes_its_rows_and_only_its_own_file_contents(store: Store) -> None:
    team_id, project_id, deployment_id = seed(store)
    _, other_project, other_deployment = seed(store, "u")  # shares the content of b.py
    assert count(where(store), "blobs", "content", b"A t") == 1
    with store.transaction():
        store.replace_triggers(project_id, [("hook", "webhook", {"call": "a.py:f"})])
        store.replace_connections(project_id, {"chat": "slack"})
        store.set_value(project_id, "k", b"v")
        store.put_var(project_id, "V", b"1")
        store.add_event(project_id, "hook", "post", {})
        assert store.delete_project(project_id) == [deployment_id]
    for table in ("triggers", "connections", "events", "project_values", "project_vars", "deployments"):
        assert count(where(store), table, "project_id", project_id) == 0, table
    assert store.get_project(project_id) is None and store.get_project_by_name(team_id, "p") is None
    assert store.deployment_files(deployment_id) == {}
    assert store.deployment_files(other_deployment) == {"a.py": b"A u", "b.py": b"B"}
    assert count(where(store), "blobs", "content", b"A t") == 0  # no deployment has it any more
    assert store.get_project(other_project) is not None


def test_events_are_listed_newest_first_a_page_at_a_time(store: Store) -> None:
    team_id, project_id, _ = seed(store)
    other_team, other_project, _ = seed(store, "u")
    with store.transaction():
        made = [store.add_event(project_id, "hook" if n % 2 else "chat", "post", {"n": n}) for n in range(5)]
        store.add_event(other_project, "hook", "post", {})
    newest_first = [e.id for e in sorted(made, key=lambda e: (e.created_at, e.id), reverse=True)]
    first = store.list_events(team_id, limit=3)
    assert [e.id for e in first] == newest_first[:3]
    rest = store.list_events(team_id, limit=3, before=(first[-1].created_at, first[-1].id))
    assert [e.id for e in rest] == newest_first[3:]
    assert {e.data["n"] for e in store.list_events(team_id, source="hook")} == {1, 3}
    assert len(store.list_events(other_team)) == 1 and len(store.list_events(team_id, project_id=other_project)) == 0
    assert store.get_event(made[0].id) == made[0] and store.get_event("evt_nope") is None
