"""JSON request bodies read like webhook JSON (`engine/webhooks.py` `load_json`): nested at most
MAX_JSON_DEPTH deep, finite numbers only, and lone surrogates replaced by U+FFFD before anything is
stored — so a body can neither exhaust the parser's recursion nor store text no later answer could encode.

Every API router is built with `route_class=CheckedJSONRoute`. The route reads and checks the body before
FastAPI does, and hands FastAPI the checked value; a body that is not JSON at all is left to FastAPI,
which answers 422 naming the position.
"""

from __future__ import annotations

import contextlib
import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from purrflow.engine.webhooks import MAX_JSON_DEPTH, JSONNotFinite, JSONTooDeep, load_json
from purrflow.errors import InvalidInputError

_UNSET: Any = object()


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI would read a body of this Content-Type as JSON (none given counts, too)."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def read_json_body(body: bytes) -> Any:
    """The checked JSON value of a request body; InvalidInputError when it is JSON we refuse to take."""
    try:
        return load_json(body)
    except JSONTooDeep:
        raise InvalidInputError(
            f"the request body is nested more than {MAX_JSON_DEPTH} levels deep (lists and objects)",
            hint=f"flatten the data: at most {MAX_JSON_DEPTH} levels of nested lists and objects",
        ) from None
    except JSONNotFinite as err:
        raise InvalidInputError(
            f"the request body is not valid JSON: {err}",
            hint="send numbers a float can hold; NaN and Infinity are not JSON (send null, or a string)",
        ) from None
    except json.JSONDecodeError:
        raise  # FastAPI's own answer (422) names the position
    except ValueError as err:  # an integer of more than 4300 digits
        problem = str(err).split(";")[0]  # without Python's advice to the server's own code
        raise InvalidInputError(
            f"the request body is not valid JSON: {problem}", hint="send very large numbers as strings"
        ) from None


class _CheckedJSONRequest(Request):
    checked: Any = _UNSET

    async def json(self) -> Any:
        if self.checked is not _UNSET:
            return self.checked
        return await super().json()


class CheckedJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def checked_handler(request: Request) -> Response:
            if takes_body:
                request = _CheckedJSONRequest(request.scope, request.receive)
                body = await request.body()
                if body and is_json(request.headers.get("content-type")):
                    with contextlib.suppress(json.JSONDecodeError):  # FastAPI parses it again: 422, at a position
                        request.checked = read_json_body(body)
            return await handler(request)

        return checked_handler
