"""Prompts as durable waits: a session asks, a person answers (API, CLI, or the terminal of `purr run`).

The question is stored with the session's step; the answer, checked against the prompt's type and
bounds, is journaled as that step's result, so a session suspended for days resumes with it — even
after a server restart.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from purrflow.engine.secrets import check_secret_key
from purrflow.errors import NotFoundError, PurrflowError, SessionStateError
from purrflow.prompt_types import SECRET_TYPES, check_answer
from purrflow.store import PromptRecord, Session

if TYPE_CHECKING:
    from purrflow.engine.engine import Engine

PROMPT_STEP = "purrflow.prompt"


class Prompts:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        #: Called with each new prompt (the terminal interface of `purr run` answers them there).
        self.on_prompt: Callable[[PromptRecord], None] | None = None

    def ask(self, session: Session, seq: int, spec: dict[str, Any]) -> PromptRecord:
        project = self._engine.store.get_project(session.project_id)
        assert project is not None  # a session's project outlives it
        if spec.get("type") in SECRET_TYPES:  # the person may pick a stored secret instead of typing one
            spec = {**spec, "stored": [name for name, _ in self._engine.store.secret_names(project.team_id)]}
        prompt = self._engine.store.open_prompt(session.id, seq, project.team_id, spec)
        if self.on_prompt is not None:
            callback = self.on_prompt
            self._engine.committer.after_commit(lambda: callback(prompt))
        return prompt

    def answer(self, prompt_id: str, team_id: str, raw: Any) -> Any:
        """Check and record an answer (in the current write batch); the session resumes after commit."""
        store = self._engine.store
        prompt = store.get_prompt(prompt_id)
        if prompt is None or prompt.team_id != team_id:
            raise NotFoundError(f"no prompt {prompt_id!r}", hint="list open prompts with `purr prompts list`")
        if prompt.answered_at is not None:
            raise SessionStateError(f"prompt {prompt_id} has already been answered")
        session = store.get_session(prompt.session_id)
        if session is None or session.is_final:
            raise SessionStateError(f"prompt {prompt_id} belongs to a session that has ended")
        stored_value = self._stored_secret(team_id, prompt.spec, raw)
        value = stored_value if stored_value is not None else check_answer(prompt.spec, raw)
        result = pickle.dumps(value)
        stored = self._engine.secrets.seal(result) if prompt.spec["type"] in SECRET_TYPES else result
        store.mark_answered(prompt_id)
        store.append_journal(prompt.session_id, prompt.seq, PROMPT_STEP, stored, False)
        self._engine.committer.after_commit(lambda: self._engine.wait_ended(prompt.session_id, prompt.seq, result))
        return value

    def _stored_secret(self, team_id: str, spec: dict[str, Any], raw: Any) -> str | None:
        """CTO.ai's rule for secret and password prompts: the answer may name a secret of the team's store,
        and an empty answer takes the secret named like the prompt, when there is one."""
        if spec.get("type") not in SECRET_TYPES:
            return None
        key = spec.get("name") if raw in (None, "") else raw
        if not isinstance(key, str):
            return None
        try:
            check_secret_key(key)
        except PurrflowError:
            return None  # a typed value, not a name
        token = self._engine.store.get_secret_ciphertext(team_id, key)
        return self._engine.secrets.decrypt(token).decode() if token is not None else None
