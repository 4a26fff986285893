"""Process hygiene that both the host (starting runners) and the runner (starting commands) need."""

from __future__ import annotations

import ctypes
import signal


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send `sig` to this process when its parent dies; a no-op elsewhere."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def name_process(name: str) -> None:
    """Set the process's name as `ps` and /proc/PID/status show it (15 characters at most); a no-op
    elsewhere. Runners are named for what they do: a zygote, a warm zygote, a spare, a session."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass
