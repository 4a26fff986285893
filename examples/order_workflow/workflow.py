"""A multi-step workflow: reserve, wait, charge, ship — each step durable, the wait too.

Every activity appends to a ledger file (outside the journal), so a test can prove that a step that
finished never runs twice, even when the server is killed in the middle.
"""

import os
import time
import uuid

from purrflow import sdk
from purrflow.sdk import Event


def _ledger(line: str) -> None:
    with open(os.environ["LEDGER"], "a") as ledger:
        ledger.write(line + "\n")


@sdk.activity
def reserve(order_id: str, items: int) -> str:
    _ledger(f"{order_id} reserve {items}")
    return f"rsv-{order_id}"


@sdk.activity
def charge(order_id: str, cents: int) -> str:
    _ledger(f"{order_id} charge {cents}")
    return f"pay-{uuid.uuid4().hex[:8]}"


@sdk.activity
def ship(order_id: str, reservation: str) -> str:
    _ledger(f"{order_id} ship {reservation}")
    return "shipped"


def on_order(event: Event) -> dict[str, str]:
    order = event.data.body.json
    order_id = str(order["id"])
    reservation = reserve(order_id, int(order.get("items", 1)))
    print(f"order {order_id}: reserved as {reservation}")
    time.sleep(float(order.get("cooling_off_seconds", 1)))  # durable: survives restarts
    payment = charge(order_id, int(order.get("cents", 100)))
    print(f"order {order_id}: charged ({payment})")
    status = ship(order_id, reservation)
    sdk.set_value(f"order:{order_id}", status)
    return {"order": order_id, "payment": payment, "status": status}
