"""Runs one session in this process: the runner's entry point.

Message in, message out: whatever user code does — returns, raises, exits, diverges from its journal —
ends as exactly one `Finished` message, or as a silent exit when the host asked the session to give up
its process (`Suspend`).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import pickle
import signal
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purrflow.compat import autokitteh_loader, ctoai_loader
from purrflow.errors import PurrflowError, SessionSuspended
from purrflow.linux import name_process
from purrflow.opsyml import is_ops_call
from purrflow.rules.sizes import describe_size
from purrflow.runner.channel import Channel, ChannelClosed
from purrflow.runner.environment import use_environment
from purrflow.runner.ops_session import run_ops
from purrflow.runner.output import LineStream
from purrflow.runner.rewrite import ProjectImporter
from purrflow.runner.runtime import SessionRuntime
from purrflow.runner.sandbox import (
    CpuLimitExceeded,
    Frame,
    SandboxError,
    apply_limits,
    enter,
    frame_from_environment,
    private_home,
    quiet_standard_streams,
    set_up_frame,
)
from purrflow.sdk import _runtime as sdk_runtime
from purrflow.sdk._attrdict import Event
from purrflow.wire import Failure, Finished, Limits, Prime, StartSession

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
MAX_REPR = 2000
#: A session's (HOME, TMPDIR).
Home = tuple[str, str]


@dataclass
class Primed:
    """A runner prepared for the sessions of one shape: shut in, its environment set, the project
    importable through the rewriter (and, in a warm runner, its entry module imported already)."""

    prime: Prime
    importer: ProjectImporter
    runtime: SessionRuntime
    streams: tuple[LineStream, LineStream]


def prime_runner(prime: Prime, shell: Frame | SandboxError | None) -> Primed:
    """Limits, sandbox and environment, before any code of the project's is imported; `SandboxError` when
    the runner cannot shut itself in as the host asked."""
    _shut_in(prime, shell)
    os.chdir(prime.project_dir)
    sys.path.insert(0, prime.project_dir)
    if prime.site_dir is not None:  # the project's requirements.txt, before purrflow's own packages
        use_environment(prime.site_dir)
    runtime = SessionRuntime.priming(prime.project_dir)
    importer = ProjectImporter(Path(prime.project_dir), runtime.dispatch_call, rewrite=prime.durable)
    importer.install()
    autokitteh_loader.install()
    ctoai_loader.install()
    streams = LineStream("stdout", runtime.emit), LineStream("stderr", runtime.emit)
    sys.stdout, sys.stderr = streams
    sdk_runtime.install(runtime)
    return Primed(prime, importer, runtime, streams)


def warm_up(primed: Primed) -> None:
    """Import the entry module before any session is known (what it prints is held for each session);
    raises what the import raises, `PrimingRefused` when the module needs a session to be imported."""
    if primed.prime.entry_file is not None:
        primed.importer.load_entry_module(primed.prime.entry_file)


def serve(
    sock: socket.socket,
    shell: Frame | SandboxError | None = None,
    primed: Primed | None = None,
    home: Home | None = None,
) -> int:
    """Run the session the host sends on `sock`; return the process exit code. `shell` is the sandbox
    frame this process set up already (or the failure to), when the server sandboxes its sessions;
    `primed`, what a warm runner was prepared with (a cold one is told in the `StartSession`); `home`, the
    HOME and TMPDIR a warm runner made for its session while it waited for one."""
    channel = Channel(sock)
    try:
        start = channel.recv()
    except ChannelClosed:
        return 0
    if not isinstance(start, StartSession):
        return 2
    name_process("purr-session")
    if start.prime is not None:
        try:
            primed = prime_runner(start.prime, shell)
        except SandboxError as refused:  # never run user code in a weaker place than the host asked for
            failure = Failure(type="SandboxError", message=refused.message)
            with contextlib.suppress(ChannelClosed):
                channel.send(Finished(result=None, failure=failure, completion=_failed_completion(failure)))
            return 0
    elif primed is None:
        return 2  # a warm start sent to a runner that was never primed: a bug of the host's
    os.environ.update(start.env)
    _own_folders(home)
    runtime = primed.runtime
    runtime.begin(
        channel,
        session_id=start.session_id,
        journal=start.journal,
        output_position=start.output_position,
        retries=start.retries,
        more_journal=start.more_journal,
    )
    try:
        finished = _run(start, primed)
    except SessionSuspended:
        finished = None
    except ChannelClosed:
        return 0
    for stream in primed.streams:
        stream.flush()
    if finished is not None:
        try:
            channel.send(finished)
        except ChannelClosed:
            return 0
    return 0


def _shut_in(prime: Prime, frame: Frame | SandboxError | None) -> None:
    """Limits, sandbox and a clean environment, before any code of the project's is imported."""
    quiet_standard_streams()
    apply_limits(prime.limits)
    signal.signal(signal.SIGXCPU, _cpu_limit_reached)
    if prime.sandbox is not None:
        enter(frame, prime.sandbox)
    os.environ.clear()
    os.environ.update(prime.env)
    _use_home(*private_home())  # the import's; each session gets one of its own
    time.tzset()  # local time is the session's TZ (zone-less times in sdk.events() are read in it)


def _own_folders(home: Home | None) -> None:
    """The session's HOME and TMPDIR, fresh (the runners of a warm zygote share its /tmp, not these), and
    its state folder, inside its team's (which the runner may write), made on its first run."""
    _use_home(*(home or private_home()))
    folder = os.environ.get("SDK_STATE_DIR")
    if folder:
        with contextlib.suppress(OSError):  # it is not needed to run; the SDK says so where it is used
            os.makedirs(folder, mode=0o700, exist_ok=True)


def _use_home(home: str, tmp: str) -> None:
    os.environ.update(HOME=home, TMPDIR=tmp, SDK_HOME_DIR=home)
    tempfile.tempdir = tmp  # what tempfile would find in TMPDIR, without probing it again


def _cpu_limit_reached(signum: int, frame: object) -> None:
    raise CpuLimitExceeded()


def _run(start: StartSession, primed: Primed) -> Finished:
    runtime, limits = primed.runtime, primed.prime.limits
    try:
        if is_ops_call(start.entrypoint):
            result: Any = run_ops(start, runtime)
        else:
            handler = _load_handler(primed.importer, start.entrypoint)
            event = Event.from_dict({**start.event, "session_id": start.session_id})
            result = handler(event) if _wants_event(handler) else handler()
    except (SessionSuspended, ChannelClosed):
        raise
    except BaseException as err:  # every ending of user code becomes a message
        failure = _failure(err, limits)
        return Finished(result=None, failure=failure, completion=_failed_completion(failure))
    try:
        payload: bytes | None = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        completion = pickle.dumps({"completed": True, "value": result})
    except Exception:
        payload = None
        completion = pickle.dumps({"completed": True, "value": None})
    return Finished(result=payload, result_repr=_short_repr(result), completion=completion)


def _load_handler(importer: ProjectImporter, entrypoint: str) -> Any:
    file, _, name = entrypoint.partition(":")
    module = importer.load_entry_module(file)
    handler = getattr(module, name, None)
    if handler is None or not callable(handler):
        raise PurrflowError(
            f"{file} has no function {name!r}",
            hint=f"define `def {name}(event):` in {file}, or fix the call target",
        )
    return handler


def _wants_event(handler: Any) -> bool:
    """Handlers take the event, or nothing at all (some real programs declare no parameter)."""
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


def _failed_completion(failure: Failure) -> bytes:
    return pickle.dumps({"completed": False, "value": None, "error": f"{failure.type}: {failure.message}"})


def _failure(err: BaseException, limits: Limits) -> Failure:
    if isinstance(err, CpuLimitExceeded) and limits.cpu_seconds is not None:
        return Failure("CpuLimitExceeded", f"the session exceeded its CPU time limit of {limits.cpu_seconds} s")
    if isinstance(err, MemoryError) and limits.memory_bytes is not None:
        return Failure(
            "MemoryLimitExceeded",
            f"the session exceeded its memory limit of {describe_size(limits.memory_bytes)} ({type(err).__name__})",
        )
    frames = [
        frame
        for frame in traceback.extract_tb(err.__traceback__)
        if not frame.filename.startswith(_PACKAGE_DIR) and not frame.filename.startswith("<frozen")
    ]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    lines += traceback.format_exception_only(type(err), err)
    kind = type(err)
    type_name = (
        kind.__qualname__
        if kind.__module__ in ("builtins", "purrflow.errors")
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    message = err.message if isinstance(err, PurrflowError) else str(err)
    if isinstance(err, PurrflowError) and err.hint:
        message = f"{message}\n  hint: {err.hint}"
    return Failure(type=type_name, message=message, traceback="".join(lines))


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as err:  # a broken __repr__ must not fail a finished session
        text = f"<unrepresentable {type(value).__name__}: {err}>"
    return text if len(text) <= MAX_REPR else text[:MAX_REPR] + "…"


def main() -> None:
    """`python -m purrflow.runner.main FD`: the cold-start fallback when no zygote is available."""
    sock = socket.socket(fileno=int(sys.argv[1]))
    frame = frame_from_environment()
    os._exit(serve(sock, set_up_frame(frame) if frame is not None else None))


if __name__ == "__main__":
    main()
