"""What sessions carry rests encrypted: journal outcomes, values, event and signal payloads, results and
errors — read back in clear, and absent from the database file and its WAL."""

from __future__ import annotations

import pickle
from pathlib import Path

from purrflow.engine.secretbox import SecretBox
from purrflow.store import CarriedFile, SessionError, StepDetails, open_store

SECRET = b"hunter2-the-secret"


def test_session_payloads_rest_encrypted_and_read_back_in_clear(tmp_path: Path) -> None:
    cipher = SecretBox.load(tmp_path).data_cipher()
    store = open_store(tmp_path / "purrflow.db", cipher=cipher)
    team = store.create_team("t")
    project = store.get_or_create_project(team.id, "p")
    deployment = store.create_deployment(project.id, {}, {"a.py": b"x"})
    session_id = store.create_session(
        project_id=project.id, deployment_id=deployment.id, entrypoint="a.py:f", event={"data": SECRET.decode()}
    )
    store.append_journal(session_id, 1, "step", pickle.dumps(SECRET), False, StepDetails(args=SECRET.decode()))
    store.set_value(project.id, "k", pickle.dumps(SECRET))
    store.add_event(project.id, "hook", "post", {"token": SECRET.decode()})
    store.add_signal(project.id, session_id, "s", pickle.dumps(SECRET))
    store.keep_carried_files(f"state/{session_id}", session_id, [CarriedFile("f", "file", 0o600, 9, 1, SECRET)], [])
    store.finish_session(
        session_id,
        state="error",
        result=pickle.dumps(SECRET),
        result_repr=repr(SECRET),
        error=SessionError("E", f"bad {SECRET.decode()}", "tb"),
    )
    [step] = store.read_journal(session_id)
    assert pickle.loads(step.payload) == SECRET and step.details.args == SECRET.decode()
    assert pickle.loads(store.get_value(project.id, "k") or b"") == SECRET
    pending = store.take_signal(project.id, session_id, ["s"])
    assert pending is not None and pickle.loads(pending.payload) == SECRET
    assert store.carried_files(f"state/{session_id}")[0].content == SECRET
    session = store.get_session(session_id)
    assert session is not None and session.event["data"] == SECRET.decode()
    assert session.result_repr == repr(SECRET)
    assert session.error is not None and SECRET.decode() in session.error.message
    for path in tmp_path.glob("purrflow.db*"):  # the database and its WAL
        assert SECRET not in path.read_bytes(), path.name
    store.close()


def test_rows_written_before_encryption_still_read(tmp_path: Path) -> None:
    plain = open_store(tmp_path / "purrflow.db")
    team = plain.create_team("t")
    project = plain.get_or_create_project(team.id, "p")
    plain.set_value(project.id, "k", b"old")
    plain.close()
    sealed = open_store(tmp_path / "purrflow.db", cipher=SecretBox.load(tmp_path).data_cipher())
    assert sealed.get_value(project.id, "k") == b"old"
    sealed.close()
