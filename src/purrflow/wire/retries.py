"""How a failing activity is tried again: the policy both the SDK's decorator and a trigger's manifest
default build, and the runner applies.

`retries` counts the tries *after* the first: `retries=3` runs an activity at most four times. The wait
before try k+1 is `backoff * 2**(k-1)` seconds, never more than `max_backoff`; the runner waits it
durably (a journaled sleep with a timer), so a crash during the wait loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The longest wait between two attempts unless a policy says otherwise.
DEFAULT_MAX_BACKOFF = 300.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 0
    #: Seconds before the first retry; each later one waits twice as long as the one before.
    backoff: float = 1.0
    max_backoff: float = DEFAULT_MAX_BACKOFF
    #: Exceptions (and their subclasses) that fail the step at once, however many retries are left.
    non_retryable: tuple[type[BaseException], ...] = ()

    def retries_after(self, err: BaseException, attempt: int) -> bool:
        """Whether a failure of attempt `attempt` (counting from 1) is tried again."""
        return 0 < attempt <= self.retries and not isinstance(err, self.non_retryable)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after attempt `attempt` failed, before the next one."""
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


#: No retries: a failure is the step's outcome (what an activity does unless told otherwise).
NO_RETRIES = RetryPolicy()
