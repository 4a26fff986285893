"""Sessions of `ops.yml` workflows: a command's process, a pipeline's jobs.

A command runs `run` through `/bin/sh` in the project folder (paths under `/ops/`, where CTO.ai's images
keep the project, point there), with the session's environment, the workflow's `env` (static values, and
secrets and configs from the team's stores) and the SDK daemon's variables. Its output is the session's
output; its daemon requests are the session's steps. If the runner dies, the command runs again from the
start and every request it had made is answered from the journal, so a person is never asked the same
question twice; side effects outside the SDK happen again (make commands idempotent). A waiting command
keeps its process: it cannot be suspended like a handler.

A pipeline starts each job as a child session (`ops:<pipeline>/<job>`) and waits for it, in order, and
stops at the first job that fails: a finished job never runs again, even after a crash.
"""

from __future__ import annotations

import os
import selectors
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

from purrflow import sdk
from purrflow.compat import ctoai
from purrflow.errors import InvalidInputError, PurrflowError
from purrflow.opsyml import OpsEnv, OpsWorkflow, load_ops_file, parse_ops_call, resolve_ops_paths
from purrflow.runner.daemon import SdkDaemon
from purrflow.runner.process import GuardedProcess
from purrflow.runner.runtime import SessionRuntime
from purrflow.wire import StartSession

READ_SIZE = 65536


class CommandFailed(PurrflowError):
    """An ops.yml command or job exited with a status other than 0."""


def run_ops(start: StartSession, runtime: SessionRuntime) -> dict[str, Any]:
    project_dir = Path(runtime.project_dir)
    target = parse_ops_call(start.entrypoint)
    workflow = load_ops_file(project_dir).get(target.workflow)
    data = start.event.get("data") or {}
    if target.job is not None:
        job = workflow.job(target.job)
        argv = ["bash", "-c", resolve_ops_paths(job.script, project_dir)]
        return _run_process(runtime, project_dir, argv, workflow.env.merged(job.env), f"job {job.name}")
    if workflow.kind == "pipeline":
        return _run_pipeline(workflow, data)
    args = data.get("args") if isinstance(data, dict) else None
    if args is not None and not (isinstance(args, list) and all(isinstance(a, str | int | float) for a in args)):
        raise InvalidInputError('data.args must be a list of strings, e.g. {"args": ["--fast"]}')
    # CTO.ai's images hold the project at /ops: such paths in `run` and in the arguments mean the project folder
    arguments = [resolve_ops_paths(str(arg), project_dir) for arg in args or []]
    ctoai.use_arguments(arguments)
    line = resolve_ops_paths(workflow.run, project_dir) + "".join(f" {shlex.quote(arg)}" for arg in arguments)
    return _run_process(runtime, project_dir, ["/bin/sh", "-c", line], workflow.env, f"command {workflow.name}")


def _run_pipeline(workflow: OpsWorkflow, data: Any) -> dict[str, Any]:
    finished: list[str] = []
    for job in workflow.jobs:
        sdk.ux.print(f"▶ job {job.name}" + (f": {job.description}" if job.description else ""))
        child = sdk.start(f"ops:{workflow.name}/{job.name}", data if isinstance(data, dict) else {})
        ended = sdk.next_signal(child)
        outcome = ended.payload if ended is not None else {}
        if not outcome.get("completed"):
            raise CommandFailed(
                f"pipeline {workflow.name}: job {job.name} failed: {outcome.get('error') or 'no reason given'}",
                hint=f"its output is in session {child}'s log (purr sessions logs {child})",
            )
        finished.append(job.name)
        sdk.ux.print(f"✔ job {job.name}")
    return {"pipeline": workflow.name, "jobs": finished}


def _run_process(
    runtime: SessionRuntime, project_dir: Path, argv: list[str], env_spec: OpsEnv, what: str
) -> dict[str, Any]:
    env = {**os.environ, **_resolve(env_spec)}
    # `python3 main.py` finds the interpreter purrflow runs on first, with the packages beside it (cto-ai).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    runtime.hold_waits = True
    daemon = SdkDaemon(on_error=lambda text: runtime.emit("system", [text]))
    env.update(daemon.environment())
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the zygote ignores it; we need the guard's status
    proc = GuardedProcess(argv, cwd=project_dir, env=env)
    try:
        _pump(runtime, daemon, proc)
        status = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.close()
        daemon.close()
    if status != 0:
        reason = f"was killed by signal {status - 128}" if status > 128 else f"exited with status {status}"
        raise CommandFailed(f"{what} {reason}", hint="its output is in the session's log")
    return {"exit_code": 0}


def _pump(runtime: SessionRuntime, daemon: SdkDaemon, proc: GuardedProcess) -> None:
    """Relay the process's output and serve its daemon requests until it ends."""
    pipes = {proc.stdout_fd: "stdout", proc.stderr_fd: "stderr"}
    partial = {fd: b"" for fd in pipes}
    selector = selectors.DefaultSelector()
    selector.register(daemon.fileno(), selectors.EVENT_READ, "daemon")
    for fd in pipes:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ, "pipe")

    def drain(fd: int) -> bool:
        """Read what `fd` has; False once it is closed."""
        while True:
            try:
                chunk = os.read(fd, READ_SIZE)
            except BlockingIOError:
                return True
            if not chunk:
                if partial[fd]:
                    runtime.emit(pipes[fd], [partial[fd].decode(errors="replace")])
                    partial[fd] = b""
                return False
            *lines, partial[fd] = (partial[fd] + chunk).split(b"\n")
            if lines:
                runtime.emit(pipes[fd], [line.decode(errors="replace") for line in lines])

    open_pipes = set(pipes)
    try:
        while open_pipes or proc.poll() is None:
            for key, _ in selector.select(timeout=0.2):
                if key.data == "daemon":
                    for fd in list(open_pipes):  # output printed before a request comes before its answer
                        if not drain(fd):
                            open_pipes.discard(fd)
                            selector.unregister(fd)
                    daemon.handle_one()
                elif key.fd in open_pipes and not drain(key.fd):
                    open_pipes.discard(key.fd)
                    selector.unregister(key.fd)
    finally:
        selector.close()


def _resolve(spec: OpsEnv) -> dict[str, str]:
    """The workflow's `env`: `$VAR` in static values from the session's environment; stores for the rest."""
    env = {key: os.path.expandvars(value) for key, value in spec.static.items()}
    for name in spec.configs:
        value = sdk.config.get(name)
        if value is None:
            raise InvalidInputError(
                f"ops.yml env.configs names {name!r}, which your team's config store does not have",
                hint=f"set it: purr config set {name} VALUE (for purr run: --config {name}=VALUE)",
            )
        env[name] = value
    for name in spec.secrets:  # a missing secret is asked for, as get_secret does
        env[name] = sdk.get_secret(name, hidden=True)
    return env
