"""Prompts as Slack messages, and Slack's interactions back as answers.

Each kind of prompt has the Slack control a person would expect: a confirm is two buttons, a list or an
autocomplete a select menu, a checkbox a set of checkboxes with a Submit button; what needs typing — input,
number, editor, secret, password, datetime — a button that opens a modal (Slack sends no blank messages,
so a default applies only when the field is left empty). Every control's `action_id` (a modal's
`callback_id`) starts with `pf:` and names the prompt, so an interaction finds its prompt without any
state of ours in Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PREFIX = "pf:"
#: Slack's limits on an option's text and value.
_OPTION_CHARS = 75
_INPUT_BLOCK = "pf_answer"


@dataclass(frozen=True, slots=True)
class Answer:
    """A person's answer to a prompt, as Slack sent it."""

    prompt_id: str
    raw: Any
    user: str


@dataclass(frozen=True, slots=True)
class OpenModal:
    """A click asking to type an answer: open the prompt's modal with this trigger."""

    prompt_id: str
    trigger_id: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """An interaction that needs no answer from us (a checkbox ticked before Submit)."""


Interaction = Answer | OpenModal | Ignored


def is_ours(payload: dict[str, Any]) -> bool:
    if payload.get("type") == "view_submission":
        return str((payload.get("view") or {}).get("callback_id", "")).startswith(PREFIX)
    return any(str(action.get("action_id", "")).startswith(PREFIX) for action in payload.get("actions") or [])


def _text(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:_OPTION_CHARS] or " "}


def _option(choice: str) -> dict[str, Any]:
    return {"text": _plain(choice), "value": choice[:_OPTION_CHARS]}


def question(spec: dict[str, Any]) -> str:
    return str(spec.get("message") or spec.get("name") or "?")


def prompt_message(prompt_id: str, spec: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The message asking the prompt: its fallback text and its blocks."""
    kind = spec["type"]
    text = question(spec)
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _text(f"*{text}*")}]
    if kind == "confirm":
        elements = [
            {"type": "button", "text": _plain("Yes"), "value": "true", "action_id": f"{PREFIX}yes:{prompt_id}",
             "style": "primary"},
            {"type": "button", "text": _plain("No"), "value": "false", "action_id": f"{PREFIX}no:{prompt_id}"},
        ]  # fmt: skip
        blocks.append({"type": "actions", "block_id": f"pf_{prompt_id}", "elements": elements})
    elif kind in ("list", "autocomplete"):
        select: dict[str, Any] = {
            "type": "static_select",
            "action_id": f"{PREFIX}pick:{prompt_id}",
            "placeholder": _plain("Choose"),
            "options": [_option(choice) for choice in spec["choices"][:100]],
        }
        default = spec.get("default")
        if isinstance(default, str) and default in spec["choices"]:
            select["initial_option"] = _option(default)
        blocks.append({"type": "actions", "block_id": f"pf_{prompt_id}", "elements": [select]})
    elif kind == "checkbox":
        boxes = {
            "type": "checkboxes",
            "action_id": f"{PREFIX}tick:{prompt_id}",
            "options": [_option(choice) for choice in spec["choices"][:10]],
        }
        submit = {"type": "button", "text": _plain("Submit"), "action_id": f"{PREFIX}submit:{prompt_id}",
                  "style": "primary"}  # fmt: skip
        blocks.append({"type": "actions", "block_id": f"pf_{prompt_id}", "elements": [boxes, submit]})
    else:
        button = {"type": "button", "text": _plain("Answer…"), "action_id": f"{PREFIX}open:{prompt_id}"}
        blocks.append({"type": "actions", "block_id": f"pf_{prompt_id}", "elements": [button]})
    return text, blocks


def modal(prompt_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The modal a typed answer is given in."""
    kind = spec["type"]
    if kind == "datetime":
        variant = spec.get("variant") or "datetime"
        element: dict[str, Any] = {
            "type": {"date": "datepicker", "time": "timepicker"}.get(variant, "datetimepicker"),
            "action_id": "answer",
        }
    else:
        element = {"type": "plain_text_input", "action_id": "answer", "multiline": kind == "editor"}
        if spec.get("default") is not None and kind not in ("secret", "password"):
            element["initial_value"] = str(spec["default"])
    hint = {
        "secret": "Slack shows what you type: prefer a stored secret's name",
        "password": "Slack shows what you type",
    }
    block: dict[str, Any] = {
        "type": "input",
        "block_id": _INPUT_BLOCK,
        "label": _plain(question(spec)),
        "element": element,
    }
    if kind in hint:
        block["hint"] = _plain(hint[kind])
    block["optional"] = spec.get("default") is not None or bool(spec.get("allowEmpty"))
    return {
        "type": "modal",
        "callback_id": f"{PREFIX}{prompt_id}",
        "title": _plain("purrflow"),
        "submit": _plain("Answer"),
        "close": _plain("Cancel"),
        "blocks": [block],
    }


def read(payload: dict[str, Any]) -> Interaction:
    """What an interaction of ours means (`is_ours` said it is)."""
    user = str((payload.get("user") or {}).get("id", ""))
    if payload.get("type") == "view_submission":
        view = payload.get("view") or {}
        prompt_id = str(view.get("callback_id", ""))[len(PREFIX) :]
        value = ((view.get("state") or {}).get("values") or {}).get(_INPUT_BLOCK, {}).get("answer", {})
        return Answer(prompt_id, _element_value(value), user)
    action = next(a for a in payload.get("actions") or [] if str(a.get("action_id", "")).startswith(PREFIX))
    verb, _, prompt_id = str(action["action_id"])[len(PREFIX) :].partition(":")
    if verb in ("yes", "no"):
        return Answer(prompt_id, verb == "yes", user)
    if verb == "pick":
        return Answer(prompt_id, (action.get("selected_option") or {}).get("value", ""), user)
    if verb == "open":
        return OpenModal(prompt_id, str(payload.get("trigger_id", "")))
    if verb == "submit":
        values = ((payload.get("state") or {}).get("values") or {}).get(f"pf_{prompt_id}", {})
        ticked = values.get(f"{PREFIX}tick:{prompt_id}", {})
        return Answer(prompt_id, [o.get("value", "") for o in ticked.get("selected_options") or []], user)
    return Ignored()


def _element_value(state: dict[str, Any]) -> Any:
    if "selected_date_time" in state:  # a Unix time, from the datetime picker
        return datetime.fromtimestamp(int(state["selected_date_time"]), UTC).isoformat()
    for key in ("value", "selected_date", "selected_time"):
        if key in state:
            return state[key] or ""
    return ""


def answered(spec: dict[str, Any], shown: str, user: str) -> list[dict[str, Any]]:
    """What the prompt's message becomes once answered (a secret's answer is not repeated)."""
    said = "(hidden)" if spec["type"] in ("secret", "password") else shown
    return [
        {"type": "section", "text": _text(f"*{question(spec)}*")},
        {"type": "context", "elements": [_text(f"{said} — answered by <@{user}>" if user else said)]},
    ]
