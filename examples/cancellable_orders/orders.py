"""POST {"kind": "order", "id": "o1"} places an order; POST {"kind": "cancel", "id": "o1"} to the same
webhook within GRACE_SECONDS cancels it. Cancellations start no session of their own (the trigger's
filter takes orders only), yet the order's session sees them through its subscription."""

import os

from purrflow import sdk
from purrflow.sdk import Event


def on_order(event: Event) -> str:
    order_id = event.data.body.json["id"]
    cancels = sdk.subscribe("orders", f'data.body.json.kind == "cancel" && data.body.json.id == "{order_id}"')
    print(f"order {order_id} placed")
    cancel = sdk.next_event(cancels, timeout=float(os.environ["GRACE_SECONDS"]))
    outcome = "cancelled" if cancel is not None else "fulfilled"
    print(f"order {order_id} {outcome}")
    return outcome
