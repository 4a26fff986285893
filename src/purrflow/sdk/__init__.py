"""What handlers import: `from purrflow import sdk` or `from purrflow.sdk import activity, …`.

Stdlib-only at import time, so a handler can be unit-tested with plain Python and no server: outside a
session every call goes to an in-memory stand-in (`purrflow.sdk.local_runtime()`).
"""

from purrflow.errors import PurrflowError
from purrflow.sdk._api import (
    activity,
    del_value,
    get_value,
    get_webhook_url,
    http_outcome,
    list_values_keys,
    set_value,
    sleep,
    start,
)
from purrflow.sdk._attrdict import AttrDict, Event
from purrflow.sdk._runtime import local as local_runtime

__all__ = [
    "AttrDict",
    "Event",
    "PurrflowError",
    "activity",
    "del_value",
    "get_value",
    "get_webhook_url",
    "http_outcome",
    "list_values_keys",
    "local_runtime",
    "set_value",
    "sleep",
    "start",
]
