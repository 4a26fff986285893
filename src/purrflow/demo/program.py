"""purrflow's demo: try `curl <hello webhook URL>?name=Ada`, then `purr sessions logs <id>`."""

import os
import time

from purrflow import sdk
from purrflow.sdk import Event


@sdk.activity
def make_greeting(name: str) -> str:
    return f"{os.environ['GREETING']}, {name}!"


def on_hello(event: Event) -> str:
    name = event.data.url.query.get("name", "world")
    print(f"received {event.data.method} {event.data.raw_url}")
    greeting = make_greeting(name)
    print(greeting)
    time.sleep(1)  # a durable sleep: the session survives a restart here
    visits = sdk.get_value("visits", 0) + 1
    sdk.set_value("visits", visits)
    print(f"{visits} greetings so far")
    return greeting


def on_greet(event: Event) -> None:
    name = event.data.url.query.get("name", "world")
    sdk.http_outcome(200, {"greeting": make_greeting(name)})
