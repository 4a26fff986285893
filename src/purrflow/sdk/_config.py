"""`sdk.config`: the team's configuration store (strings), as CTO.ai's SDK offers it.

`get(key)` → the string or None; `get_all()` → every key; `set(key, value)` → every key after the
change; `delete(key)` → True if it was there. Every call is a durable step.
"""

from __future__ import annotations

from typing import Any

from purrflow.sdk import _runtime


class TeamConfig:
    def get(self, key: str) -> str | None:
        value: Any = _runtime.current().call_host("config_get", {"key": key})
        return None if value is None else str(value)

    def get_all(self) -> dict[str, str]:
        return dict(_runtime.current().call_host("config_get_all", {}))

    def set(self, key: str, value: str) -> dict[str, str]:
        return dict(_runtime.current().call_host("config_set", {"key": key, "value": value}))

    def delete(self, key: str) -> bool:
        return bool(_runtime.current().call_host("config_delete", {"key": key}))


config = TeamConfig()
