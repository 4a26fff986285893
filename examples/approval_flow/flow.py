"""POST {"id": "r1", "what": "a new laptop"} to `request`; POST {"id": "r1", "approved": true} to `decide`.

The requesting session waits durably (no process held) for the signal `decision:<id>`; the decision is
kept if it arrives before anyone waits, and the wait gives up after DECISION_TIMEOUT_SECONDS.
"""

import os

from purrflow import sdk
from purrflow.sdk import Event


def on_request(event: Event) -> str:
    request = event.data.body.json
    print(f"request {request['id']}: {request['what']}")
    decision = sdk.wait_for_signal(f"decision:{request['id']}", timeout=float(os.environ["DECISION_TIMEOUT_SECONDS"]))
    outcome = "expired" if decision is None else ("approved" if decision["approved"] else "rejected")
    sdk.set_value(f"request:{request['id']}", outcome)
    print(f"request {request['id']}: {outcome}")
    return outcome


def on_decide(event: Event) -> None:
    decision = event.data.body.json
    sdk.signal(f"decision:{decision['id']}", {"approved": bool(decision["approved"])})
