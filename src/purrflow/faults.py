"""Named fault points: where a test makes purrflow fail on purpose, to prove that a failure is contained.

A server or `purr run` reads `PURRFLOW_FAULTS` once when it starts: a comma-separated list of points,
each exact (`host.get_value`) or a family (`host.*`). At an armed point `Faults.check` raises
`InjectedFault`, a plain `RuntimeError`, so every layer treats it as the unexpected bug it stands for.
The points, all on the host side of a session:

- `prepare`: getting a runner's start ready (deployment folder, journal, environment);
- `host.<operation>`: performing a host operation (`host.get_value`, `host.start`, …; see `StepName`);
- `wait.<kind>`: opening a wait (`wait.sleep`, `wait.signal`, `wait.session_signal`, `wait.event`,
  `wait.prompt`);
- `step`: journaling an automatic step or an activity's result;
- `logs`: recording output lines;
- `finish`: recording a session's end.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ENV_VAR = "PURRFLOW_FAULTS"


class InjectedFault(RuntimeError):
    """Raised at an armed fault point."""


@dataclass(frozen=True)
class Faults:
    armed: frozenset[str] = frozenset()

    @classmethod
    def of(cls, points: Iterable[str]) -> Faults:
        return cls(frozenset(point.strip() for point in points if point.strip()))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Faults:
        return cls.of(environ.get(ENV_VAR, "").split(","))

    def check(self, point: str) -> None:
        """Raise InjectedFault if `point`, or its family (`host.*` for `host.get_value`), is armed."""
        if not self.armed:
            return
        family = point.partition(".")[0] + ".*"
        if point in self.armed or family in self.armed:
            raise InjectedFault(f"a fault was injected at {point} ({ENV_VAR})")


NO_FAULTS = Faults()
