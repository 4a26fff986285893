"""Prompts as durable waits: a session asks, a person answers (API, CLI, or the terminal of `purr run`).

The question is stored with the session's step; the answer, checked against the prompt's type and
bounds, is journaled as that step's result (encrypted at rest, as every step is), so a session
suspended for days resumes with it — even after a server restart.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from typing import Any

from purrflow.engine.commit import GroupCommitter
from purrflow.engine.journal import Journal
from purrflow.engine.seams import WaitEnded
from purrflow.errors import NotFoundError, SessionStateError
from purrflow.rules.prompts import SECRET_TYPES, check_answer, check_spec
from purrflow.rules.secrets import is_secret_key
from purrflow.services import ids
from purrflow.services.secrets import SecretService
from purrflow.store import PromptRecord, Session, Store
from purrflow.wire import StepName

PromptListener = Callable[[PromptRecord], None]


class PromptService:
    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        journal: Journal,
        secrets: SecretService,
        *,
        on_wait_ended: WaitEnded,
    ) -> None:
        self._store = store
        self._committer = committer
        self._journal = journal
        self._secrets = secrets
        self._on_wait_ended = on_wait_ended
        self._listeners: list[PromptListener] = []

    def listen(self, listener: PromptListener) -> None:
        """Hear of each new prompt once it is committed (the terminal of `purr run` answers them there)."""
        self._listeners.append(listener)

    # -- a session asks (inside the driver's write batch) --------------------------------------
    def ask(self, session: Session, team_id: str, seq: int, spec: dict[str, Any]) -> PromptRecord:
        check_spec(spec)
        if spec.get("type") in SECRET_TYPES:  # the person may pick a stored secret instead of typing one
            spec = {**spec, "stored": [name for name, _ in self._secrets.names(team_id)]}
        with self._committer.write(atomic=False):
            prompt = self._store.open_prompt(session.id, seq, team_id, spec)
        for listener in self._listeners:
            self._committer.after_commit(functools.partial(listener, prompt))
        return prompt

    # -- a person answers ----------------------------------------------------------------------
    def open(self, team_id: str, session_id: str | None = None) -> list[PromptRecord]:
        """The team's open prompts; only those of the session `session_id` (an id or its prefix) when given."""
        if session_id is not None:
            session_id = ids.resolve(self._store, ids.SESSION, team_id, session_id)
        return [p for p in self._store.open_prompts(team_id) if session_id in (None, p.session_id)]

    def get(self, team_id: str, prompt_id: str) -> PromptRecord:
        """The team's prompt `prompt_id`, or the one whose id starts with it (`services/ids.py`)."""
        prompt = self._store.get_prompt(ids.resolve(self._store, ids.PROMPT, team_id, prompt_id))
        if prompt is None:  # its session was deleted between the two reads
            raise NotFoundError(f"no prompt {prompt_id!r}", hint=ids.PROMPT.listing)
        return prompt

    def answer(self, team_id: str, prompt_id: str, raw: Any) -> Any:
        """Check and record an answer (in the current write batch); the session resumes after commit."""
        prompt = self.get(team_id, prompt_id)
        if prompt.answered_at is not None:
            raise SessionStateError(f"prompt {prompt.id} has already been answered")
        session = self._store.get_session(prompt.session_id)
        if session is None or session.is_final:
            raise SessionStateError(f"prompt {prompt.id} belongs to a session that has ended")
        stored_value = self._stored_secret(team_id, prompt.spec, raw)
        value = stored_value if stored_value is not None else check_answer(prompt.spec, raw)
        result = pickle.dumps(value)
        with self._committer.write():
            self._store.mark_answered(prompt.id)
            self._journal.append(prompt.session_id, prompt.seq, StepName.PROMPT, result, False)
            # Under way again, in the same commit: a restart replays it rather than waits for a prompt
            # already answered.
            self._store.set_session_state(prompt.session_id, "running")
        ended = self._on_wait_ended
        self._committer.after_commit(lambda: ended(prompt.session_id, prompt.seq, result))
        return value

    def _stored_secret(self, team_id: str, spec: dict[str, Any], raw: Any) -> str | None:
        """CTO.ai's rule for secret and password prompts: the answer may name a secret of the team's store,
        and an empty answer takes the secret named like the prompt, when there is one."""
        if spec.get("type") not in SECRET_TYPES:
            return None
        key = spec.get("name") if raw in (None, "") else raw
        if not is_secret_key(key):
            return None  # a typed value, not a name
        assert isinstance(key, str)  # is_secret_key says so
        return self._secrets.get(team_id, key)
