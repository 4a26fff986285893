"""Team secrets, encrypted at rest; reading one tells the session's person unless `hidden=True`.

- `get_secret(key, hidden=False)`: the value. When the team has no such secret, the person is asked —
  they type a value, or give the name of another stored secret to use instead.
- `set_secret(key, value)`: stores it and returns the key; if the key exists the person is asked first,
  and `None` is returned when they decline.
A secret never rests in clear: not in the database, the journal, the logs or an error message.
"""

from __future__ import annotations

from typing import Any

from purrflow.sdk import _prompts, _runtime
from purrflow.wire import PromptWait, SecretExists, SecretGet, SecretSet


def get_secret(key: str, hidden: bool = False) -> str:
    runtime = _runtime.current()
    found: dict[str, Any] = runtime.call_host(SecretGet(key))
    if found["found"]:
        if not hidden:
            runtime.notify(f"secret {key} was read by this session")
        return str(found["value"])
    stored = list(found["keys"])
    message = f"The secret {key} is missing. Type its value"
    message += f", or the name of a stored secret to use ({', '.join(stored)})" if stored else ""
    # An answer naming a stored secret is replaced by that secret's value by the host (never shown).
    return str(runtime.wait(PromptWait({"type": "secret", "name": key, "message": message + ":"})))


def set_secret(key: str, value: str) -> str | None:
    runtime = _runtime.current()
    if runtime.call_host(SecretExists(key)) and not _prompts.confirm(
        f"overwrite_{key}", f"The secret {key} exists. Overwrite it?", default=False
    ):
        return None
    return runtime.call_host(SecretSet(key, value))
