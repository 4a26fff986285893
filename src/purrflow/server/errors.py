"""Every error leaves the API as `{"error": {"type", "message", "hint"}}` with a fitting status."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from purrflow import errors
from purrflow.orchestrators.admission import OverloadedError

log = logging.getLogger("purrflow.server")


STATUS: list[tuple[type[errors.PurrflowError], int]] = [
    (OverloadedError, 503),
    (errors.TooLargeError, 413),
    (errors.AuthError, 401),
    (errors.ForbiddenError, 403),
    (errors.NotFoundError, 404),
    (errors.SessionStateError, 409),
    (errors.PurrflowError, 400),
]


def error_body(kind: str, message: str, hint: str | None = None) -> dict[str, object]:
    return {"error": {"type": kind, "message": message, "hint": hint}}


#: A page for a refusal of Starlette's own, when the caller is a browser (None: the JSON form will do).
PageFor = Callable[[Request, HTTPException], Response | None]


def install(app: FastAPI, *, page_for: PageFor | None = None) -> None:
    """purrflow's error form for every refusal; `page_for` lets the web UI answer a browser with a page."""

    @app.exception_handler(errors.PurrflowError)
    async def purrflow_error(_: Request, err: errors.PurrflowError) -> JSONResponse:
        status = next(code for kind, code in STATUS if isinstance(err, kind))
        headers = {"Retry-After": str(err.retry_after)} if isinstance(err, OverloadedError) else None
        return JSONResponse(error_body(type(err).__name__, err.message, err.hint), status_code=status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> Response:
        """Starlette's own refusals (no such route, a method it does not take) in purrflow's form."""
        shown = page_for(request, err) if page_for is not None else None
        if shown is not None:
            return shown
        hints = {404: "see /api/v1/docs for the routes", 405: "see /api/v1/docs for the methods of each route"}
        where = f"{request.method} {request.url.path[:200]}"
        return JSONResponse(
            error_body("HTTPError", f"{where}: {err.detail}", hints.get(err.status_code)),
            status_code=err.status_code,
            headers=err.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, err: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in err.errors()
        )
        return JSONResponse(
            error_body("InvalidInputError", f"the request is not valid: {problems}", "see /api/v1/openapi.json"),
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(
            error_body("InternalError", f"the server failed: {type(err).__name__}: {err}", "see the server log"),
            status_code=500,
        )
