"""What handlers import: `from purrflow import sdk` or `from purrflow.sdk import activity, …`.

Stdlib-only at import time, so a handler can be unit-tested with plain Python and no server: outside a
session every call goes to an in-memory stand-in (`purrflow.sdk.local_runtime()`).
"""

from purrflow.errors import PurrflowError
from purrflow.sdk import _prompts as prompt
from purrflow.sdk import _ux as ux
from purrflow.sdk._analytics import events, track
from purrflow.sdk._api import activity, get_webhook_url, http_outcome, sleep, start
from purrflow.sdk._attrdict import AttrDict, Event
from purrflow.sdk._config import config
from purrflow.sdk._events import next_event, subscribe, unsubscribe
from purrflow.sdk._identity import team, user
from purrflow.sdk._runtime import local as local_runtime
from purrflow.sdk._secrets import get_secret, set_secret
from purrflow.sdk._signals import Signal, next_signal, signal, wait_for_signal
from purrflow.sdk._team_sdk import get_host_os, get_state_path, home_dir, log
from purrflow.sdk._values import (
    add_values,
    check_and_set_value,
    del_value,
    get_value,
    list_values_keys,
    mutate_value,
    set_value,
    store,
)

__all__ = [
    "AttrDict",
    "Event",
    "PurrflowError",
    "Signal",
    "activity",
    "add_values",
    "check_and_set_value",
    "config",
    "del_value",
    "events",
    "get_host_os",
    "get_secret",
    "get_state_path",
    "get_value",
    "get_webhook_url",
    "home_dir",
    "http_outcome",
    "list_values_keys",
    "local_runtime",
    "log",
    "mutate_value",
    "next_event",
    "next_signal",
    "prompt",
    "set_secret",
    "set_value",
    "signal",
    "sleep",
    "start",
    "store",
    "subscribe",
    "team",
    "track",
    "unsubscribe",
    "user",
    "ux",
    "wait_for_signal",
]
