"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests and benches: Debian's server binaries, a fresh
data folder, a free port; one database per test, made by copying an empty one.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user the package
made. `PURRFLOW_TEST_POSTGRES=postgresql://…` uses a server that is already running instead (a database
per test is still created and dropped there).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg


def server_binaries() -> Path | None:
    """The newest installed server's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    def __init__(self, admin_url: str, *, folder: Path | None = None, bin_dir: Path | None = None) -> None:
        self.admin_url = admin_url
        self._folder = folder
        self._bin = bin_dir
        self._names = itertools.count(1)

    @classmethod
    def start(cls, *, fsync: bool = False, password: str | None = None, folder: Path | None = None) -> Cluster:
        """A cluster of its own (or the one PURRFLOW_TEST_POSTGRES names). Tests run it without fsync (a
        crash of the machine is not what they test); a bench that measures commits asks for `fsync`. With a
        `password`, connections must give it (scram-sha-256), as on a real host; else anyone local may connect.
        `folder`: where it lives (default: a new temporary folder)."""
        given = os.environ.get("PURRFLOW_TEST_POSTGRES")
        if given:
            return cls(given)
        bin_dir = server_binaries()
        if bin_dir is None:
            raise FileNotFoundError("PostgreSQL's server is not installed (scripts/install-postgres installs it)")
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="purrflow-pg-"))
        folder.mkdir(parents=True, exist_ok=True)
        as_user: list[str] = []
        owner = os.getuid(), os.getgid()
        if os.getuid() == 0:
            postgres = pwd.getpwnam("postgres")
            owner = postgres.pw_uid, postgres.pw_gid
            os.chown(folder, *owner)
            as_user = ["runuser", "-u", "postgres", "--"]
        port = _free_port()
        auth = ["-A", "trust"]
        if password is not None:
            secret = folder / "password"
            secret.write_text(password + "\n")
            os.chown(secret, *owner)
            secret.chmod(0o600)
            auth = ["-A", "scram-sha-256", f"--pwfile={secret}"]
        subprocess.run(
            [*as_user, str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres", *auth,
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
            check=True, capture_output=True,
        )  # fmt: skip
        if password is not None:
            (folder / "password").unlink()
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not fsync:
            options += " -c fsync=off"
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w",
             "-t", "30", "-o", options, "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        user = "postgres" if password is None else f"postgres:{password}"
        return cls(f"postgresql://{user}@127.0.0.1:{port}/postgres", folder=folder, bin_dir=bin_dir)

    def new_database(self, name: str | None = None) -> str:
        """The URL of a new, empty database of this cluster (named `name`, else after this process)."""
        name = name or f"purrflow_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def restart(self) -> None:
        """Stop the server at once, as a crash would, and start it again (a cluster of this run's own)."""
        if self._folder is None or self._bin is None:
            raise RuntimeError("PURRFLOW_TEST_POSTGRES names a server these tests do not own")
        as_user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run(
            [*as_user, str(self._bin / "pg_ctl"), "-D", str(self._folder / "data"), "-l", str(self._folder / "log"),
             "-m", "immediate", "-w", "-t", "30", "restart"],
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self._folder is None or self._bin is None:
            return
        as_user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        subprocess.run(
            [*as_user, str(self._bin / "pg_ctl"), "-D", str(self._folder / "data"), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self._folder, ignore_errors=True)
