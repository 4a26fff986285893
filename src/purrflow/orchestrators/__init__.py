"""How sessions are driven. `local`: asyncio in the server process, runners as its children, started by
a `Launcher` (`launchers.py`: zygote forks or cold spawns), one `SessionDriver` per live runner.

An orchestrator drives; what a session's messages mean is the `SessionHost`'s (`purrflow.engine.seams`),
so another orchestrator can replace this one without touching the services.
"""

__all__: list[str] = []
