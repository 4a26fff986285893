"""A synchronous webhook as a tiny JSON API: POST {"items": n} and get a price quote back."""

import os

from purrflow import sdk
from purrflow.sdk import Event


def quote(event: Event) -> None:
    body = event.data.body.json or {}
    items = body.get("items")
    if not isinstance(items, int) or items < 1:
        sdk.http_outcome(400, {"error": 'send a JSON body like {"items": 3}'})
        return
    price = int(os.environ["PRICE_CENTS"])
    sdk.http_outcome(200, {"items": items, "total_cents": items * price}, headers={"X-Quote": "1"})
    print(f"quoted {items} items")
