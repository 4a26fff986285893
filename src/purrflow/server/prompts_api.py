"""`/api/v1/prompts`: the questions sessions are waiting on, and their answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from purrflow.rules.prompts import SECRET_TYPES
from purrflow.server.deps import CurrentUser, Prompts
from purrflow.server.json_body import CheckedJSONRoute
from purrflow.server.schemas import iso
from purrflow.store import PromptRecord

router = APIRouter(prefix="/api/v1/prompts", route_class=CheckedJSONRoute, tags=["prompts"])


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
async def list_prompts(user: CurrentUser, prompts: Prompts, session_id: str | None = None) -> dict[str, Any]:
    return {"prompts": [prompt_json(p) for p in prompts.open(user.team_id, session_id)]}


@router.post("/{prompt_id}/answer")
async def answer_prompt(prompt_id: str, body: AnswerRequest, user: CurrentUser, prompts: Prompts) -> dict[str, Any]:
    """Answer a prompt; the answer is checked against the prompt's type and bounds (400 says why not)."""
    prompt = prompts.get(user.team_id, prompt_id)
    value = prompts.answer(user.team_id, prompt.id, body.value)
    hidden = prompt.spec["type"] in SECRET_TYPES
    return {"answered": prompt.id, "value": "(hidden)" if hidden else value}
