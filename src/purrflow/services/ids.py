"""Ids as people type them: the whole id, or enough of its start to name one record (`ses_019a2b`).

Every service that takes an id from a person resolves it here, so a prefix works everywhere an id does
and is checked alike: within the caller's team only (another team's ids never match, nor appear among
the candidates of an ambiguous prefix), at least `MIN_PREFIX` characters after the type's `xxx_`.
"""

from __future__ import annotations

from dataclasses import dataclass

from purrflow.errors import InvalidInputError, NotFoundError
from purrflow.store import Store

#: Characters after `ses_` a prefix needs: fewer would match half of a busy team's sessions.
MIN_PREFIX = 4
#: Candidates an ambiguous prefix lists.
SHOWN = 5


@dataclass(frozen=True, slots=True)
class IdKind:
    """One kind of id: its prefix (`ses`), what people call it, and how they list them."""

    prefix: str
    noun: str
    listing: str


SESSION = IdKind("ses", "session", "list sessions with `purr sessions list`")
PROMPT = IdKind("prm", "prompt", "list open prompts with `purr prompts list`")
EVENT = IdKind("evt", "event", "list events with `purr events list`")
TOKEN = IdKind("tok", "live token", "list tokens with `purr tokens list`")


def resolve(store: Store, kind: IdKind, team_id: str, text: str, *, user_id: str | None = None) -> str:
    """The one id of `kind` in the team that is `text` or starts with it (only `user_id`'s, when given).

    A prefix that fits none is a NotFoundError (404); one that fits several an InvalidInputError (400)
    naming up to SHOWN of them, so the person can type one more character or pick one."""
    text = text.strip()
    start = f"{kind.prefix}_"
    if not text.startswith(start):
        raise NotFoundError(f"no {kind.noun} {text!r}", hint=f"{kind.noun} ids start with {start}; {kind.listing}")
    if len(text) < len(start) + MIN_PREFIX:
        raise InvalidInputError(
            f"{text!r} is too short to name a {kind.noun}",
            hint=f"give at least {MIN_PREFIX} characters after {start}, or the whole id; {kind.listing}",
        )
    found = store.ids_with_prefix(kind.prefix, team_id, text, limit=SHOWN + 1, user_id=user_id)
    if not found:
        raise NotFoundError(f"no {kind.noun} {text!r}", hint=kind.listing)
    if found[0] == text or len(found) == 1:  # ids sort after their prefixes: a whole id comes first
        return found[0]
    shown = ", ".join(found[:SHOWN]) + (", …" if len(found) > SHOWN else "")
    raise InvalidInputError(
        f"{text!r} names more than one {kind.noun}: {shown}",
        hint="give more characters of the id, or the whole id",
    )
