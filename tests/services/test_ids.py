"""Id prefixes against a real SQLite store: team scoping, a token owner's scope, the minimum length, and
what an ambiguous prefix lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from purrflow.errors import InvalidInputError, NotFoundError
from purrflow.services import ids
from purrflow.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "purrflow.db")
    yield opened
    opened.close()


def _sessions(store: Store, team_name: str, session_ids: list[str]) -> str:
    with store.transaction():
        team = store.create_team(team_name)
        project = store.get_or_create_project(team.id, "p")
        deployment = store.create_deployment(project.id, {"project": {"name": "p"}}, {"a.py": b"A"})
        for session_id in session_ids:
            store.create_session(
                project_id=project.id, deployment_id=deployment.id, entrypoint="a.py:f", event={}, session_id=session_id
            )
    return team.id


def test_a_prefix_names_one_session_of_the_team_only(store: Store) -> None:
    ours = _sessions(store, "ours", ["ses_aaaa1111", "ses_aaaa2222", "ses_bbbb0000"])
    _sessions(store, "theirs", ["ses_aaaa1119", "ses_cccc0000"])
    assert ids.resolve(store, ids.SESSION, ours, "ses_aaaa1") == "ses_aaaa1111"  # theirs ses_aaaa1119 not seen
    assert ids.resolve(store, ids.SESSION, ours, " ses_bbbb ") == "ses_bbbb0000"
    assert ids.resolve(store, ids.SESSION, ours, "ses_aaaa2222") == "ses_aaaa2222"
    with pytest.raises(NotFoundError):
        ids.resolve(store, ids.SESSION, ours, "ses_cccc0000")  # their whole id
    with pytest.raises(InvalidInputError) as ambiguous:
        ids.resolve(store, ids.SESSION, ours, "ses_aaaa")
    assert "ses_aaaa1111, ses_aaaa2222" in ambiguous.value.message and "1119" not in ambiguous.value.message
    with pytest.raises(InvalidInputError) as short:
        ids.resolve(store, ids.SESSION, ours, "ses_aaa")
    assert short.value.hint and "4 characters after ses_" in short.value.hint
    with pytest.raises(NotFoundError) as other_kind:
        ids.resolve(store, ids.SESSION, ours, "prm_aaaa1111")
    assert other_kind.value.hint and "ses_" in other_kind.value.hint
    with pytest.raises(NotFoundError):
        ids.resolve(store, ids.SESSION, ours, "ses_a%__")  # LIKE's wildcards mean nothing here


def test_an_ambiguous_prefix_lists_five_and_says_there_are_more(store: Store) -> None:
    team = _sessions(store, "many", [f"ses_dddd{n:04d}" for n in range(8)])
    with pytest.raises(InvalidInputError) as ambiguous:
        ids.resolve(store, ids.SESSION, team, "ses_dddd")
    assert ambiguous.value.message.count("ses_dddd") == 1 + ids.SHOWN and ambiguous.value.message.endswith(", …")


def test_a_members_token_prefix_finds_their_live_tokens_only(store: Store) -> None:
    with store.transaction():
        team = store.create_team("t")
        mo = store.create_user(team.id, "mo")
        bea = store.create_user(team.id, "bea", role="admin")
        mine = store.add_token(mo.id, "secret-1")
        hers = store.add_token(bea.id, "secret-2")
        gone = store.add_token(mo.id, "secret-3")
        store.revoke_token(gone, team.id)
    assert ids.resolve(store, ids.TOKEN, team.id, mine, user_id=mo.id) == mine
    with pytest.raises(NotFoundError):
        ids.resolve(store, ids.TOKEN, team.id, hers, user_id=mo.id)
    with pytest.raises(NotFoundError):
        ids.resolve(store, ids.TOKEN, team.id, gone)
    assert ids.resolve(store, ids.TOKEN, team.id, hers) == hers  # an admin's scope is the team
