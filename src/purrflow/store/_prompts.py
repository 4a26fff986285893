"""Prompts: what a session asked, and whether it has been answered (answers live in the journal)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from purrflow.store._db import Database, dumps, loads, new_id


@dataclass(frozen=True, slots=True)
class PromptRecord:
    id: str
    session_id: str
    seq: int
    team_id: str
    spec: dict[str, Any]
    created_at: float
    answered_at: float | None


_COLS = "id, session_id, seq, team_id, spec, created_at, answered_at"


def _prompt(row: Any) -> PromptRecord:
    return PromptRecord(row[0], row[1], row[2], row[3], loads(row[4]), row[5], row[6])


class PromptStore(Database):
    def open_prompt(self, session_id: str, seq: int, team_id: str, spec: dict[str, Any]) -> PromptRecord:
        """Record the question once; a replay asking the same step again gets the same prompt."""
        row = self._one(f"SELECT {_COLS} FROM prompts WHERE session_id = ? AND seq = ?", session_id, seq)
        if row is not None:
            return _prompt(row)
        prompt_id = new_id("prm")
        self._exec(
            f"INSERT INTO prompts ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, NULL)",
            prompt_id, session_id, seq, team_id, dumps(spec), time.time(),
        )  # fmt: skip
        return PromptRecord(prompt_id, session_id, seq, team_id, spec, time.time(), None)

    def get_prompt(self, prompt_id: str) -> PromptRecord | None:
        row = self._one(f"SELECT {_COLS} FROM prompts WHERE id = ?", prompt_id)
        return _prompt(row) if row else None

    def mark_answered(self, prompt_id: str) -> None:
        self._exec("UPDATE prompts SET answered_at = ? WHERE id = ?", time.time(), prompt_id)

    def session_prompts(self, session_id: str) -> list[PromptRecord]:
        """Every question the session asked, answered or not (its journal shows which were secret)."""
        rows = self._all(f"SELECT {_COLS} FROM prompts WHERE session_id = ? ORDER BY seq", session_id)
        return [_prompt(row) for row in rows]

    def open_prompts(self, team_id: str) -> list[PromptRecord]:
        rows = self._all(
            f"SELECT {', '.join('p.' + c.strip() for c in _COLS.split(','))} FROM prompts p"
            " JOIN sessions s ON s.id = p.session_id"
            " WHERE p.team_id = ? AND p.answered_at IS NULL AND s.state IN ('running', 'waiting')"
            " ORDER BY p.created_at",
            team_id,
        )
        return [_prompt(row) for row in rows]
