"""The host side of sessions: journal, waits (signals, timers), dispatch of events, schedules, commits.

Mechanics over the `Store`, with no rules of resources (those are the services') and no SQL or HTTP.
`seams.py` holds the interfaces orchestrators drive sessions through. Import the pieces from their
modules; this package re-exports nothing.
"""

__all__: list[str] = []
