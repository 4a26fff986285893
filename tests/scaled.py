"""A scaled platform for tests: API servers (`purr up --role api`) and workers (`purr worker`) over one new
PostgreSQL database and a task queue of their own on the run's Temporal dev server, all sealing with one
data key. Every process is a real subprocess, so tests can `kill -9` any of them and start it again.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.fernet import Fernet

from helpers import Server, Worker


class ScaledPlatform:
    def __init__(self, root: Path, *, database: str, temporal: str) -> None:
        self.root = root
        self.database = database
        self.temporal = temporal
        self.queue = f"test-{uuid.uuid4().hex[:12]}"
        self.key = Fernet.generate_key().decode()  # every process seals with the same key
        self.apis: list[Server] = []
        self.workers: list[Worker] = []
        #: The folder every session may write, whichever worker runs it.
        self.outside = root / "shared-outside"

    def _shared_args(self) -> list[str]:
        return ["--orchestrator", "temporal", "--temporal", self.temporal, "--task-queue", self.queue]

    def add_api(self) -> Server:
        return self.start_at_once(apis=1)[0][0]

    def add_worker(self) -> Worker:
        return self.start_at_once(workers=1)[1][0]

    def start_at_once(self, *, apis: int = 0, workers: int = 0) -> tuple[list[Server], list[Worker]]:
        """Start API servers and workers all at the same moment (as an orchestrator of containers would),
        each waited for until it serves."""
        self.outside.mkdir(parents=True, exist_ok=True)
        self.outside.chmod(0o1777)  # sessions write there as their team's uid
        new_apis = [
            Server(
                self.root / f"api{len(self.apis) + i + 1}",
                extra_args=[*self._shared_args(), "--role", "api", "--sandbox-allow", str(self.outside)],
                env={"PURRFLOW_DATABASE_URL": self.database, "PURRFLOW_SECRET_KEY": self.key},
            )
            for i in range(apis)
        ]
        new_workers = [
            Worker(
                self.root / f"worker{len(self.workers) + i + 1}",
                database_url=self.database,
                temporal=self.temporal,
                outside=self.outside,
                extra_args=["--task-queue", self.queue],
                env={"PURRFLOW_SECRET_KEY": self.key},
            )
            for i in range(workers)
        ]
        self.apis += new_apis  # stopped by `stop` even if one of them fails to start
        self.workers += new_workers
        with ThreadPoolExecutor(max_workers=max(1, apis + workers)) as pool:
            for started in [pool.submit(process.start) for process in [*new_apis, *new_workers]]:
                started.result()
        return new_apis, new_workers

    def stop(self) -> None:
        for process in [*self.workers, *self.apis]:
            process.stop()
