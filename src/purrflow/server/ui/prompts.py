"""The prompts inbox: every question the team's sessions wait on, each as a form fitting its type, and
the answers — checked by the same rules as the API's (`PromptService.answer`); a refusal is shown on
the form it came from (the inbox, or the session's page)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from purrflow.errors import InvalidInputError
from purrflow.rules.prompts import SECRET_TYPES
from purrflow.server.deps import Operations, Prompts, Sessions
from purrflow.server.ui.auth import Csrf, UiUser
from purrflow.server.ui.render import UiRoute, page
from purrflow.server.ui.sessions import session_view
from purrflow.store import PromptRecord

router = APIRouter(route_class=UiRoute)


@router.get("/prompts", response_class=HTMLResponse)
async def prompts_page(request: Request, user: UiUser, prompts: Prompts) -> HTMLResponse:
    return page(request, user, "prompts.html", prompts=prompts.open(user.team_id))


@router.post("/prompts/{prompt_id}/answer", dependencies=[Csrf], response_model=None)
async def answer_prompt(
    request: Request, prompt_id: str, user: UiUser, prompts: Prompts, sessions: Sessions, operations: Operations
) -> Response:
    """Answer, then back to the page the form was on; a refused answer shows that page again, saying why."""
    prompt = prompts.get(user.team_id, prompt_id)
    form = await request.form()
    on_session_page = form.get("back") == f"/sessions/{prompt.session_id}"
    try:
        prompts.answer(user.team_id, prompt.id, answer_of(prompt, form))
    except InvalidInputError as err:
        refusal = {prompt.id: f"{err.message} — {err.hint}" if err.hint else err.message}
        if on_session_page:
            return session_view(
                request, user, prompt.session_id, sessions, operations, prompts, status_code=400, prompt_errors=refusal
            )
        return page(
            request, user, "prompts.html", status_code=400, prompts=prompts.open(user.team_id), prompt_errors=refusal
        )
    target = f"/sessions/{prompt.session_id}" if on_session_page else "/prompts"
    return RedirectResponse(f"{target}?answered={prompt.id}", status_code=303)


def answer_of(prompt: PromptRecord, form: FormData) -> Any:
    """The raw answer the form's fields make, in the shape the API takes (check_answer reads both)."""
    kind = prompt.spec["type"]
    if kind == "checkbox":
        return [str(value) for value in form.getlist("value")]
    if kind == "datetime":
        return "T".join(str(form[part]).strip() for part in ("date", "time") if str(form.get(part, "")).strip())
    value = str(form.get("value", ""))
    if kind == "editor":  # a browser sends a textarea's line ends as CRLF; the session gets the text as typed
        return value.replace("\r\n", "\n")
    if kind in SECRET_TYPES:
        if prompt.spec.get("confirm") and value != str(form.get("value_again", "")):
            raise InvalidInputError("the two entries differ", hint="type the same value in both fields")
        stored = str(form.get("stored", ""))
        if stored and value:
            raise InvalidInputError("type a value or pick a stored secret, not both", hint="clear one of them")
        return stored or value
    return value
