"""`/api/v1/prompts`: the questions sessions are waiting on, and their answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from purrflow.prompt_types import SECRET_TYPES
from purrflow.server.api import CurrentUser, engine_of
from purrflow.server.schemas import iso
from purrflow.store import PromptRecord

router = APIRouter(prefix="/api/v1/prompts", tags=["prompts"])


class AnswerRequest(BaseModel):
    value: Any = None


def prompt_json(prompt: PromptRecord) -> dict[str, Any]:
    return {
        "id": prompt.id,
        "session_id": prompt.session_id,
        "type": prompt.spec["type"],
        "name": prompt.spec["name"],
        "message": prompt.spec.get("message") or prompt.spec["name"],
        "options": {k: v for k, v in prompt.spec.items() if k not in ("type", "name", "message")},
        "created_at": iso(prompt.created_at),
    }


@router.get("")
async def list_prompts(request: Request, user: CurrentUser, session_id: str | None = None) -> dict[str, Any]:
    prompts = engine_of(request).store.open_prompts(user.team_id)
    return {"prompts": [prompt_json(p) for p in prompts if session_id in (None, p.session_id)]}


@router.post("/{prompt_id}/answer")
async def answer_prompt(prompt_id: str, body: AnswerRequest, request: Request, user: CurrentUser) -> dict[str, Any]:
    """Answer a prompt; the answer is checked against the prompt's type and bounds (400 says why not)."""
    engine = engine_of(request)
    with engine.committer.write():
        value = engine.prompts.answer(prompt_id, user.team_id, body.value)
    await engine.committer.flushed()
    prompt = engine.store.get_prompt(prompt_id)
    hidden = prompt is not None and prompt.spec["type"] in SECRET_TYPES
    return {"answered": prompt_id, "value": "(hidden)" if hidden else value}
