"""`sdk.config`: the team's configuration store (strings), as CTO.ai's SDK offers it.

`get(key)` → the string or None; `get_all()` → every key; `set(key, value)` → every key after the
change; `delete(key)` → True if it was there. Every call is a durable step.
"""

from __future__ import annotations

from purrflow.sdk import _runtime
from purrflow.wire import ConfigDelete, ConfigGet, ConfigGetAll, ConfigSet


class TeamConfig:
    def get(self, key: str) -> str | None:
        return _runtime.current().call_host(ConfigGet(key))

    def get_all(self) -> dict[str, str]:
        return _runtime.current().call_host(ConfigGetAll())

    def set(self, key: str, value: str) -> dict[str, str]:
        return _runtime.current().call_host(ConfigSet(key, value))

    def delete(self, key: str) -> bool:
        return _runtime.current().call_host(ConfigDelete(key))


config = TeamConfig()
