"""The Store contract, run against every dialect (tests/store/conftest.py)."""

from __future__ import annotations

import pickle
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import purrflow.store
from helpers import wait_until
from purrflow.errors import InvalidInputError
from purrflow.store import LogRecord, SessionError, Store, open_store
from purrflow.store.postgres import PostgresStore
from store_rows import INTEGRITY_ERRORS, raw_rows, where


def seed(store: Store) -> tuple[str, str, str]:
    with store.transaction():
        team = store.create_team("t")
        project = store.get_or_create_project(team.id, "p")
        deployment = store.create_deployment(project.id, {"project": {"name": "p"}}, {"a.py": b"A", "b/c.py": b"C"})
    return team.id, project.id, deployment.id


def test_deployments_keep_files_content_addressed_and_immutable(store: Store) -> None:
    _, project_id, first = seed(store)
    with store.transaction():
        second = store.create_deployment(project_id, {}, {"a.py": b"A", "d.py": b"D"}).id
    assert store.deployment_files(first) == {"a.py": b"A", "b/c.py": b"C"}
    assert store.deployment_files(second) == {"a.py": b"A", "d.py": b"D"}
    assert store.get_project(project_id).deployment_id == second  # type: ignore[union-attr]


def test_triggers_keep_their_webhook_slug_across_deployments(store: Store) -> None:
    _, project_id, _ = seed(store)
    with store.transaction():
        first = store.replace_triggers(project_id, [("hook", "webhook", {"call": "a.py:f"}), ("tick", "schedule", {})])
    with store.transaction():
        second = store.replace_triggers(project_id, [("hook", "webhook", {"call": "a.py:g"})])
    assert [t.name for t in second] == ["hook"]
    assert second[0].slug == next(t.slug for t in first if t.name == "hook")
    assert second[0].call == "a.py:g"
    assert store.get_trigger_by_slug(second[0].slug or "") == second[0]


def test_session_journal_logs_and_finish(store: Store) -> None:
    _, project_id, deployment_id = seed(store)
    with store.transaction():
        session_id = store.create_session(
            project_id=project_id, deployment_id=deployment_id, entrypoint="a.py:f", event={"data": {"b": b"\x00"}}
        )
        store.append_journal(session_id, 1, "x", pickle.dumps(1), False)
        store.append_journal(session_id, 2, "y", pickle.dumps(ValueError("no")), True)
        store.append_logs(session_id, [LogRecord(1, 1.0, "stdout", "hi"), LogRecord(2, 2.0, "stderr", "oh")])
    session = store.get_session(session_id)
    assert session is not None and session.state == "created" and session.steps == 2
    assert session.event == {"data": {"b": b"\x00"}}
    assert [(row.seq, row.name, row.failed) for row in store.read_journal(session_id)] == [
        (1, "x", False),
        (2, "y", True),
    ]
    assert [r.text for r in store.read_logs(session_id, after=1)] == ["oh"]
    assert store.last_log_seq(session_id) == 2
    with pytest.raises(INTEGRITY_ERRORS):
        store.append_journal(session_id, 1, "x", b"", False)  # a step is journaled once
    with store.transaction():
        store.put_timer(session_id, 3, "sleep", 100.0)
        assert store.put_timer(session_id, 3, "sleep", 200.0).fire_at == 100.0  # replay keeps the deadline
        store.finish_session(session_id, state="error", error=SessionError("E", "m", "tb"))
    finished = store.get_session(session_id)
    assert finished is not None and finished.error == SessionError("E", "m", "tb")
    assert store.list_timers() == []  # a finished session has no timers left


def test_values_are_project_scoped(store: Store) -> None:
    team_id, project_id, _ = seed(store)
    with store.transaction():
        other = store.get_or_create_project(team_id, "other").id
        store.set_value(project_id, "k", b"1")
        store.set_value(project_id, "k", b"2")
        store.set_value(other, "k", b"3")
    assert store.get_value(project_id, "k") == b"2"
    assert store.list_value_keys(project_id) == ["k"]
    with store.transaction():
        assert store.delete_value(project_id, "k") is True
        assert store.delete_value(project_id, "k") is False
    assert store.get_value(other, "k") == b"3"


def test_tokens_are_stored_hashed(store: Store) -> None:
    team_id, _, _ = seed(store)
    with store.transaction():
        user = store.create_user(team_id, "ada", role="admin")
        store.add_token(user.id, "purr_secret_token")
    assert store.user_for_token("purr_secret_token") == user
    assert store.user_for_token("other") is None
    stored = raw_rows(where(store), "SELECT token_hash FROM tokens")
    assert len(stored) == 1 and "purr_secret_token" not in stored[0][0]


def test_a_password_hash_and_a_revoked_token_value(store: Store) -> None:
    team_id, _, _ = seed(store)
    with store.transaction():
        user = store.create_user(team_id, "bo")
        store.add_token(user.id, "purr_web_login")
    assert store.password_hash(user.id) is None
    with store.transaction():
        store.set_password_hash(user.id, "scrypt$1$2$3$aa$bb")
    assert store.password_hash(user.id) == "scrypt$1$2$3$aa$bb"
    with store.transaction():
        assert store.revoke_token_value("purr_web_login") is True
        assert store.revoke_token_value("purr_web_login") is False  # already revoked
    assert store.user_for_token("purr_web_login") is None


def test_a_projects_deployments_newest_first(store: Store) -> None:
    _, project_id, first = seed(store)
    with store.transaction():
        second = store.create_deployment(project_id, {}, {"a.py": b"A2"}).id
    assert [d.id for d in store.list_deployments(project_id, limit=10)] == [second, first]
    assert [d.id for d in store.list_deployments(project_id, limit=1)] == [second]


def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    team_id, _, _ = seed(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.get_or_create_project(team_id, "ghost")
        raise RuntimeError("boom")
    assert store.get_project_by_name(team_id, "ghost") is None


def test_analytics_events_are_team_scoped_windowed_and_newest_last(store: Store) -> None:
    team_id, _, _ = seed(store)
    with store.transaction():
        other = store.create_team("other").id
        for ts, event, tags in [(30.0, "deployment", ["ci"]), (10.0, "build", []), (20.0, "deployment", ["cd", "x"])]:
            data = {"tags": tags, "event": event, "repo": "shop"}
            store.add_analytics_event(team_id, event, tags, data, ts=ts, session_id="ses_1", user_id="usr_1")
        store.add_analytics_event(other, "deployment", ["ci"], {"tags": ["ci"], "event": "deployment"}, ts=20.0)
        store.add_analytics_event(team_id, "late", [], {"tags": [], "event": "late"}, ts=40.0)
    found = store.analytics_events(team_id, 10.0, 40.0)  # [start, end): 40 is out
    assert [(e.ts, e.event) for e in found] == [(10.0, "build"), (20.0, "deployment"), (30.0, "deployment")]
    assert found[1].data == {"tags": ["cd", "x"], "event": "deployment", "repo": "shop"}
    assert (found[1].tags, found[1].session_id, found[1].user_id) == (["cd", "x"], "ses_1", "usr_1")
    assert [e.ts for e in store.analytics_events(team_id, 0, 100, event="deployment")] == [20.0, 30.0]
    assert [e.ts for e in store.analytics_events(team_id, 0, 100, tag="x")] == [20.0]
    assert store.analytics_events(team_id, 0, 100, tag="c") == []  # a whole tag, not a substring
    assert [e.ts for e in store.analytics_events(team_id, 0, 100, limit=2)] == [30.0, 40.0]  # the newest, in order
    assert [e.team_id for e in store.analytics_events(other, 0, 100)] == [other]


def test_migrations_are_versioned_and_idempotent(tmp_path: Path) -> None:
    open_store(tmp_path / "x.db").close()
    again = open_store(tmp_path / "x.db")
    conn = sqlite3.connect(tmp_path / "x.db")
    migrations = Path(purrflow.store.__file__).parent / "migrations" / "sqlite"
    numbers = sorted(int(path.name.split("_", 1)[0]) for path in migrations.glob("*.sql"))
    assert numbers == list(range(1, len(numbers) + 1))  # one file per version, none missing
    assert conn.execute("PRAGMA user_version").fetchone()[0] == numbers[-1]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_connections_keep_sealed_fields_deliveries_and_oauth_states(store: Store) -> None:
    _, project_id, _ = seed(store)
    with store.transaction():
        store.replace_connections(project_id, {"chat": "slack", "code": "github"})
    chat = store.get_connection(project_id, "chat")
    assert chat is not None and chat.sealed_fields is None and chat.status == "unset"
    with store.transaction():
        store.put_connection_fields(chat.id, b"sealed", "token")
        store.replace_connections(project_id, {"chat": "slack"})  # a redeploy keeps what stays
    kept = store.get_connection_by_id(chat.id)
    assert kept is not None and kept.sealed_fields == b"sealed" and kept.auth_mode == "token"
    assert kept.status == "untested" and store.list_connections(project_id) == ["chat"]

    with store.transaction():
        assert store.take_delivery(chat.id, "Ev1") is True
        assert store.take_delivery(chat.id, "Ev1") is False  # a retry
        assert store.take_delivery(chat.id, "Ev1", keep_seconds=-1) is True  # forgotten once old

    with store.transaction():
        store.put_oauth_state("s1", chat.id, "usr_1", b"v", "http://x/cb")
    assert store.take_oauth_state("s1", max_age=600, consume=False) == (chat.id, "usr_1", b"v", "http://x/cb")
    with store.transaction():
        assert store.take_oauth_state("s1", max_age=600) is not None
        assert store.take_oauth_state("s1", max_age=600) is None  # good once

    with store.transaction():
        store.set_token_refresh_at(chat.id, 100.0)
        store.set_poll_state(chat.id, "h9", 50.0)
    assert [r.id for r in store.tokens_due(100.0)] == [chat.id] and store.tokens_due(99.0) == []
    assert store.next_token_refresh() == 100.0 and store.poll_state(chat.id) == ("h9", 50.0)


def test_postgres_migrates_once_however_many_servers_open_it_together(postgres_url: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        opened = list(pool.map(lambda _: open_store(postgres_url), range(4)))
    migrations = Path(purrflow.store.__file__).parent / "migrations" / "postgres"
    newest = max(int(path.name.split("_", 1)[0]) for path in migrations.glob("*.sql"))
    sqlite_newest = max(int(path.name.split("_", 1)[0]) for path in (migrations.parent / "sqlite").glob("*.sql"))
    assert newest == sqlite_newest  # the two dialects' schemas are at the same version
    assert raw_rows(where(opened[0]), "SELECT version FROM schema_version") == [(newest,)]
    for store in opened:
        assert isinstance(store, PostgresStore)
        store.close()


def test_servers_that_make_the_operators_team_at_once_find_one_team(postgres_url: str) -> None:
    """The second server's insert waits for the first's uncommitted one, then finds it (a plain "look, then
    insert" would fail on the unique name once the first commits)."""
    first, second = open_store(postgres_url), open_store(postgres_url)
    try:
        with ThreadPoolExecutor(1) as pool:
            with first.transaction():
                made = first.ensure_team("default")
                racing = pool.submit(second.ensure_team, "default")
                wait_until(
                    lambda: raw_rows(
                        postgres_url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    )[0][0] == 1,
                    what="the second insert to wait for the first",
                )  # fmt: skip
            assert racing.result(timeout=30) == made
        assert second.ensure_team("default") == made
        assert raw_rows(postgres_url, "SELECT count(*) FROM teams")[0][0] == 1
    finally:
        first.close()
        second.close()


def test_a_postgres_url_that_leads_nowhere_is_refused_with_what_to_check(postgres_url: str) -> None:
    wrong = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(InvalidInputError) as refused:
        open_store(wrong)
    assert "no_such_database" in str(refused.value) and "PURRFLOW_DATABASE_URL" in (refused.value.hint or "")


def test_a_stretch_is_taken_only_from_an_earlier_stretch_or_attempt(store: Store) -> None:
    """Temporal's later attempt wins, however late an earlier one's worker comes back to claim it."""
    with store.transaction():
        assert store.take_stretch("ses_1", "run/1/1", 1, 1)
        assert store.take_stretch("ses_1", "run/1/2", 1, 2)  # the first attempt's worker was cut off
        assert not store.take_stretch("ses_1", "run/1/1", 1, 1)  # ... and came back: it is stale
        assert store.stretch_holder("ses_1") == "run/1/2"
        assert store.take_stretch("ses_1", "run/2/1", 2, 1)  # the next stretch, at its first attempt
        assert not store.take_stretch("ses_1", "run/1/3", 1, 3)
        assert store.take_stretch("ses_1", "old", 0, 1)  # a workflow from before stretches were numbered
        assert store.stretch_holder("ses_1") == "old" and store.stretch_holder("ses_2") is None
