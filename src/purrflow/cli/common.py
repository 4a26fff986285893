"""What every `purr` command shares: the API client, friendly errors, common flags."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from rich.text import Text

from purrflow.cli import render
from purrflow.cli.client import ApiClient
from purrflow.cli.settings import api_token, server_url
from purrflow.errors import InvalidInputError, PurrflowError

F = TypeVar("F", bound=Callable[..., Any])
JsonFlag = Annotated[bool, typer.Option("--json", help="print the answer as JSON (errors too, on stderr)")]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]
UrlFlag = Annotated[str | None, typer.Option("--url", help="server URL (default: PURRFLOW_URL or 127.0.0.1:9980)")]


def friendly(command: F) -> F:
    """Turn every purrflow error into a one-paragraph message and exit code 1: never a traceback.

    Under `--json` (a command's `as_json`) the error is the API's error object on stderr instead, so a
    script reads what went wrong the way it reads the answer."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PurrflowError as err:
            if kwargs.get("as_json"):
                error = {"type": type(err).__name__, "message": err.message, "hint": err.hint}
                sys.stderr.write(json.dumps({"error": error}) + "\n")
                raise typer.Exit(1) from None
            render.err_console.print(Text(f"error: {err.message}", style="bold red"))
            if err.hint:
                render.err_console.print(Text(f"hint: {err.hint}", style="yellow"))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def confirm(question: str) -> bool:
    """Ask before something that cannot be undone, on stderr (stdout is for the answer, `--json` too, and
    click's prompt writes a space there); anything but y or yes, or no answer at all, is a no."""
    try:
        answer = render.err_console.input(f"{question} [y/N]: ", markup=False)
    except EOFError:
        render.err_console.print()  # end the question's line
        return False
    return answer.strip().lower() in ("y", "yes")


@contextmanager
def api(url: str | None) -> Iterator[ApiClient]:
    client = ApiClient(server_url(url), api_token())
    try:
        yield client
    finally:
        client.close()


def parse_data(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInputError(
            f"--data is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}",
            hint='pass a JSON object, e.g. --data \'{"name": "Ada"}\'',
        ) from None
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"--data must be a JSON object, not {type(value).__name__}", hint="e.g. --data '{\"n\": 1}'"
        )
    return value
