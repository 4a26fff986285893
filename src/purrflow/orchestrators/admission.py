"""Admission: which sessions get a runner now, and in what order the others follow.

At most `max_runners` runners live at once (the default follows from the machine's memory and the
server's file-descriptor limit), so a burst never fails a session or an API call for want of a process
or a descriptor: sessions beyond it wait, `queued`, and start in arrival order — sessions already under
way (a wait ended, a runner died) before new ones, and new ones taking turns across teams, so one team's
burst cannot starve another. A trigger's `concurrency: N` lets at most N of its sessions be under way
(running or waiting); its later sessions queue behind them without holding up anyone else's.

Backpressure bounds the *time* a new session would wait, not only how many wait: the queue measures the
interval at which sessions leave it for a runner while it holds some, and a new session is expected to
wait the sessions ahead of it times that interval (or longer, when none has left for longer than that),
plus the event loop's standing lag (`LoopLag`: with runners to spare, a saturated server makes every
new session late before it reaches the queue). Past `max_wait`, new webhooks are turned away at once
(503 with a Retry-After) rather than accepted into seconds of queueing; past `max_queued` sessions
whatever their pace, every new session is, including those started through the API, which otherwise queue
as long as it takes (a person asked for that work). A count alone cannot do this: 100 queued sessions are
50 ms of work for fast handlers and minutes for slow ones.

Retry-After is a plan, not a guess (`ReturnPlan`): each request turned away is given the first whole
second by which the queue, draining at its pace, still has room for it after everyone told to come back
before it. Told "the backlog drains in N s" instead, a thousand refused senders came back together a
second after the queue had emptied (runners idle meanwhile: about half the machine) and were nearly all
refused again, each refusal costing the server ~0.3 ms; told the time until there is room, they kept the
runners busy but came back every second, all of them. Planned, a few seconds' work comes back each second.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from purrflow.engine.seams import Admission
from purrflow.errors import PurrflowError

#: Descriptors kept for everything but runners: HTTP connections, the database, logs.
RESERVED_FILES = 256
#: A runner costs the server one socket; its memory is the machine's to give.
RUNNER_MEMORY_GUESS = 64 << 20
MAX_DEFAULT_RUNNERS = 1024
#: How long a new session may be expected to wait before it starts, past which webhooks are turned away.
#: Measured with 50 clients that honour Retry-After (whole seconds): 0.1 s kept the accepted sessions' first
#: line at ~100 ms but left the runners idle while the refused waited (16 sessions/s); 1 s kept them busy
#: (39/s) at ~270 ms. A burst of 1,000 at once ran at 72 sessions/s under 0.25 s, against ~180/s that the
#: server can serve: a Retry-After is whole seconds, so the queue must hold about a second of work for the
#: runners to be busy still when the refused come back. One second it is.
DEFAULT_MAX_QUEUE_WAIT = 1.0
#: How many of the latest intervals between departures from the queue its pace is measured over.
PACE_WINDOW = 32
#: The longest Retry-After asked for: past it, the estimate says more about a stall than about a pace.
MAX_RETRY_AFTER = 300
#: How much faster than the measured pace a `ReturnPlan` assumes the queue drains. A pace too slow leaves
#: runners idle while the refused wait out their time (with no such margin, a burst of 1,000 ran at 53
#: sessions/s here, against 101 with no plan); one too fast only has some of them turned away again. In a
#: simulation of 10,000 sent at once, 3 kept the full rate for paces measured up to three times too slow,
#: with 2 to 12 % of the 503s of sending everyone back each second.
RETURN_OPTIMISM = 3.0
#: The most requests a `ReturnPlan` keeps track of (a float each): past it, a flood is answered from the
#: plan as it stands, without growing it.
MOST_PLANNED = 100_000
#: The pace assumed before any has been measured (a fresh server): a burst then gets as many places in
#: the queue as this pace fills within the wait limit, like a transport's initial window, not all of them.
PRIOR_INTERVAL = 0.01
#: A session taken within this many seconds of being queued found a runner free: it never waited.
PASSED_THROUGH = 0.001
#: How often the event loop's lag is sampled, and over how many samples a lag must stand to count.
LAG_EVERY = 0.02
LAG_WINDOW = 3


def default_max_runners(open_files: int, memory_bytes: int | None = None) -> int:
    """As many runners as the descriptors and the memory allow, within sane bounds."""
    by_files = max(4, (open_files - RESERVED_FILES) // 2)
    memory = memory_bytes if memory_bytes is not None else _physical_memory()
    by_memory = max(4, memory // RUNNER_MEMORY_GUESS)
    return min(by_files, by_memory, MAX_DEFAULT_RUNNERS)


#: Runners running user code at once, per CPU, by default: enough to keep the CPUs busy while some wait on
#: the network; more would only share them, every session later than the one before.
ACTIVE_PER_CPU = 8


def default_max_active() -> int:
    """`ACTIVE_PER_CPU` per CPU this process may run on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(4, ACTIVE_PER_CPU * cpus)


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


@dataclass(frozen=True, slots=True)
class Overload:
    """Why new work is turned away right now, and how many seconds to wait before sending it again."""

    message: str
    retry_after: int


class OverloadedError(PurrflowError):
    """New work turned away because the server is past its capacity (HTTP 503 with Retry-After)."""

    def __init__(self, overload: Overload) -> None:
        super().__init__(
            f"the server is past its capacity: {overload.message}; nothing was stored",
            hint=f"send the request again in {overload.retry_after} s",
        )
        self.retry_after = overload.retry_after


class AdmissionQueue:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._resumes: deque[Ticket] = deque()
        self._by_team: dict[str, deque[Ticket]] = {}
        self._turns: deque[str] = deque()  # teams with new sessions waiting, whose turn is next first
        self._queued: dict[str, float] = {}  # each waiting session, and when it was queued
        self._clock = clock
        #: The pace: the latest intervals between sessions leaving for a runner, while some were queued.
        self._intervals: deque[float] = deque(maxlen=PACE_WINDOW)
        self._last_left = -math.inf
        self._busy_since = 0.0  # when the queue last went from empty to holding a session

    def __len__(self) -> int:
        return len(self._queued)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._queued

    def pace(self) -> float:
        """Seconds between sessions leaving for a runner, as measured while some waited (PRIOR_INTERVAL
        before any)."""
        return sum(self._intervals) / len(self._intervals) if self._intervals else PRIOR_INTERVAL

    def interval(self) -> float:
        """The pace, or the time since a session last left when that is longer (a stall shows at once)."""
        return max(self.pace(), self.stalled_for())

    def stalled_for(self) -> float:
        """Seconds since a session last left while some wait (0 when none waits)."""
        if not self._queued:
            return 0.0
        return self._clock() - max(self._last_left, self._busy_since)

    def expected_wait(self, arriving: int = 0) -> float:
        """Seconds a session queued now would wait for a runner, with `arriving` more ahead of it (sessions
        created but not yet committed, so not yet queued): all those ahead times the interval."""
        return (len(self._queued) + arriving) * self.interval()

    def push(self, ticket: Ticket) -> None:
        if ticket.session_id in self._queued:
            return
        now = self._clock()
        if not self._queued:
            self._busy_since = now
        self._queued[ticket.session_id] = now
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
        del self._queued[session_id]
        self._resumes = deque(t for t in self._resumes if t.session_id != session_id)
        for team, tickets in list(self._by_team.items()):
            self._by_team[team] = deque(t for t in tickets if t.session_id != session_id)
        self._drop_empty_teams()

    def pop(self, may_start: Callable[[Ticket], bool]) -> Ticket | None:
        """The next session to start: resumes first, then the teams in turn, each its oldest session
        that `may_start` (its trigger's concurrency).

        `may_start` may wait for a networked database, and the loop may push or discard tickets meanwhile:
        the queue is read from a copy, and a ticket that went meanwhile is not taken."""
        if self._resumes:
            return self._take(self._resumes.popleft())
        for _ in range(len(self._turns)):
            if not self._turns:
                return None
            team = self._turns[0]
            self._turns.rotate(-1)  # whatever happens, the next team is asked first next time
            for ticket in list(self._by_team.get(team, ())):
                if not may_start(ticket):
                    continue
                tickets = self._by_team.get(team)
                if tickets is None or ticket not in tickets:
                    continue  # discarded while `may_start` waited
                tickets.remove(ticket)
                self._drop_empty_teams()
                return self._take(ticket)
        return None

    def _take(self, ticket: Ticket) -> Ticket:
        """Count the departure into the pace, unless the session passed straight through (a runner was
        free): those say nothing about how fast runners free up when none is."""
        now = self._clock()
        if now - self._queued.pop(ticket.session_id) > PASSED_THROUGH:
            self._intervals.append(now - max(self._last_left, self._busy_since))
            self._last_left = now
        return ticket

    def _drop_empty_teams(self) -> None:
        for team in [team for team, tickets in self._by_team.items() if not tickets]:
            del self._by_team[team]
            self._turns.remove(team)


class ReturnPlan:
    """When the requests turned away were told to come back, so that each second brings back about the
    work the queue can take by then instead of everyone at once (see the module's docstring)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._returns: list[float] = []  # sorted; only those still to come

    def __len__(self) -> int:
        self._forget_past()
        return len(self._returns)

    def come_back_in(self, wait: float, interval: float, max_wait: float) -> int:
        """Whole seconds (at least 1) after which a request turned away now finds the expected wait within
        `max_wait`: `wait` now, a second less each second, plus a share of `interval` (RETURN_OPTIMISM)
        for each request told to come back by then. The answer is counted as one of them from now on."""
        self._forget_past()
        now = self._clock()
        each = interval / RETURN_OPTIMISM
        seconds = max(1, math.ceil(wait - max_wait))
        while seconds < MAX_RETRY_AFTER:
            if wait + bisect.bisect_right(self._returns, now + seconds) * each - seconds <= max_wait:
                break
            seconds += 1
        if len(self._returns) < MOST_PLANNED:
            bisect.insort(self._returns, now + seconds)
        return seconds

    def _forget_past(self) -> None:
        """Those whose time has come are new requests again: the queue counts them if they came back."""
        del self._returns[: bisect.bisect_right(self._returns, self._clock())]


class Backpressure:
    """Whether new work is accepted: at most `max_queued` sessions queue, and none is expected to wait
    longer than `max_wait` seconds for a runner (see the module's docstring)."""

    def __init__(
        self, *, max_queued: int, max_wait: float = DEFAULT_MAX_QUEUE_WAIT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_queued = max_queued
        self._max_wait = max_wait
        self.returns = ReturnPlan(clock=clock)

    def verdict(
        self,
        queue: AdmissionQueue,
        *,
        free_runners: int,
        arriving: int = 0,
        lag: float = 0.0,
        may_queue: bool = False,
    ) -> Overload | None:
        """None to accept a new session; else why not, and when to come back (the request is then counted
        among those that will). `arriving` sessions were created but are not queued yet (their commit is
        under way): they take free runners first, and queue past them. While a runner is still free a new
        session does not queue (the queue then holds only sessions their trigger's concurrency holds back).
        `lag` is the event loop's standing lag, which every new session meets first. A session that
        `may_queue` is refused only past the count."""
        ahead = max(0, arriving - free_runners)
        queued = len(queue) + ahead
        in_queue = 0.0 if arriving < free_runners else queue.expected_wait(ahead)
        wait = lag + in_queue
        if queued >= self._max_queued:
            why = f"{queued} sessions wait for a runner, as many as this server queues"
        elif may_queue or wait <= self._max_wait:
            return None
        else:
            late = (
                f"a new session would wait about {wait:.1f} s for a runner ({queued} are queued)"
                if in_queue >= lag
                else f"the server runs {lag * 1000:.0f} ms behind its requests"
            )
            why = f"{late}; it accepts webhooks while they start within {self._max_wait:g} s"
        # The plan counts the queue at its measured pace, after the time it has stalled (a stall may last as
        # long again): a cold start looks like a stall, and a plan made at a stall's pace (its length for
        # every session queued) called everyone back long after the runners were free again.
        at_pace = lag + (0.0 if arriving < free_runners else queue.stalled_for() + queued * queue.pace())
        return Overload(why, self.returns.come_back_in(at_pace, queue.pace(), self._max_wait))


class LoopLag:
    """How late the event loop runs what is due: the time any new request's work waits before it starts.

    A timer is sampled every `every` seconds (`run`, a task of the platform). `standing` is the least lag
    of the last `window` samples — CoDel's way of telling a standing delay (the loop saturated) from a
    spike (one slow callback, a deploy): only the first turns work away."""

    def __init__(
        self, *, every: float = LAG_EVERY, window: int = LAG_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._every = every
        self._clock = clock
        self._samples: deque[float] = deque(maxlen=window)

    def sample(self, lag: float) -> None:
        self._samples.append(max(0.0, lag))

    def standing(self) -> float:
        if len(self._samples) < (self._samples.maxlen or 0):
            return 0.0
        return min(self._samples)

    async def run(self) -> None:
        while True:
            due = self._clock() + self._every
            await asyncio.sleep(self._every)
            self.sample(self._clock() - due)
