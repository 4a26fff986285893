"""GET /webhooks/<notify>?who=… posts "hello, <who>" to the CHANNEL var's Slack channel."""

import os

import autokitteh
from autokitteh.errors import ConnectionInitError
from autokitteh.slack import slack_client

try:
    slack = slack_client("slack_conn")  # at import, as most AutoKitteh programs create their clients
except ConnectionInitError as err:
    print(f"not connected: {err}")
    raise


def on_notify(event):
    who = event.data.url.query.get("who", "world")
    resp = slack.chat_postMessage(channel=os.getenv("CHANNEL"), text=f"hello, {who}")
    autokitteh.set_value("last_ts", resp["ts"])
    print(f"posted {resp['ts']}")
