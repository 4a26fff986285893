"""Each tick counts itself; `purr values get scheduled_counter ticks` shows how many ran."""

from purrflow import sdk
from purrflow.sdk import Event


def tick(event: Event) -> int:
    count = sdk.add_values("ticks", 1)  # atomic, even if two ticks overlap
    print(f"tick {count} ({event.event_type})")
    return int(count)
