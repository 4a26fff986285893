"""Admission: which sessions get a runner now, and in what order the others follow.

At most `max_runners` runners live at once (the default follows from the machine's memory and the
server's file-descriptor limit), so a burst never fails a session or an API call for want of a process
or a descriptor: sessions beyond it wait, `queued`, and start in arrival order — sessions already under
way (a wait ended, a runner died) before new ones, and new ones taking turns across teams, so one team's
burst cannot starve another. A trigger's `concurrency: N` lets at most N of its sessions be under way
(running or waiting); its later sessions queue behind them without holding up anyone else's.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from purrflow.engine.seams import Admission

#: Descriptors kept for everything but runners: HTTP connections, the database, logs.
RESERVED_FILES = 256
#: A runner costs the server one socket; its memory is the machine's to give.
RUNNER_MEMORY_GUESS = 64 << 20
MAX_DEFAULT_RUNNERS = 1024


def default_max_runners(open_files: int, memory_bytes: int | None = None) -> int:
    """As many runners as the descriptors and the memory allow, within sane bounds."""
    by_files = max(4, (open_files - RESERVED_FILES) // 2)
    memory = memory_bytes if memory_bytes is not None else _physical_memory()
    by_memory = max(4, memory // RUNNER_MEMORY_GUESS)
    return min(by_files, by_memory, MAX_DEFAULT_RUNNERS)


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 4 << 30


@dataclass(frozen=True, slots=True)
class Ticket:
    """A session waiting for a runner."""

    session_id: str
    admission: Admission
    #: Already under way (a wait ended, a runner died): it goes first, and its trigger's limit counted it.
    resume: bool


class AdmissionQueue:
    def __init__(self) -> None:
        self._resumes: deque[Ticket] = deque()
        self._by_team: dict[str, deque[Ticket]] = {}
        self._turns: deque[str] = deque()  # teams with new sessions waiting, whose turn is next first
        self._queued: set[str] = set()

    def __len__(self) -> int:
        return len(self._queued)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._queued

    def push(self, ticket: Ticket) -> None:
        if ticket.session_id in self._queued:
            return
        self._queued.add(ticket.session_id)
        if ticket.resume:
            self._resumes.append(ticket)
            return
        team = ticket.admission.team_id
        if team not in self._by_team:
            self._by_team[team] = deque()
            self._turns.append(team)
        self._by_team[team].append(ticket)

    def discard(self, session_id: str) -> None:
        """The session ended (stopped) while it waited for a runner."""
        if session_id not in self._queued:
            return
        self._queued.discard(session_id)
        self._resumes = deque(t for t in self._resumes if t.session_id != session_id)
        for team, tickets in list(self._by_team.items()):
            self._by_team[team] = deque(t for t in tickets if t.session_id != session_id)
        self._drop_empty_teams()

    def pop(self, may_start: Callable[[Ticket], bool]) -> Ticket | None:
        """The next session to start: resumes first, then the teams in turn, each its oldest session
        that `may_start` (its trigger's concurrency)."""
        if self._resumes:
            return self._take(self._resumes.popleft())
        for _ in range(len(self._turns)):
            team = self._turns[0]
            self._turns.rotate(-1)  # whatever happens, the next team is asked first next time
            tickets = self._by_team[team]
            for index, ticket in enumerate(tickets):
                if may_start(ticket):
                    del tickets[index]
                    self._drop_empty_teams()
                    return self._take(ticket)
        return None

    def _take(self, ticket: Ticket) -> Ticket:
        self._queued.discard(ticket.session_id)
        return ticket

    def _drop_empty_teams(self) -> None:
        for team in [team for team, tickets in self._by_team.items() if not tickets]:
            del self._by_team[team]
            self._turns.remove(team)
