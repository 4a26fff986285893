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
from pathlib import Path
from typing import Any

from purrflow.compat import autokitteh_loader, ctoai_loader
from purrflow.errors import PurrflowError, SessionSuspended
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
from purrflow.wire import Failure, Finished, Limits, StartSession

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
MAX_REPR = 2000


def serve(sock: socket.socket, shell: Frame | SandboxError | None = None) -> int:
    """Run the session the host sends on `sock`; return the process exit code. `shell` is the sandbox
    frame this process set up already (or the failure to), when the server sandboxes its sessions."""
    channel = Channel(sock)
    try:
        start = channel.recv()
    except ChannelClosed:
        return 0
    if not isinstance(start, StartSession):
        return 2
    try:
        _shut_in(start, shell)
    except SandboxError as refused:  # never run user code in a weaker place than the host asked for
        failure = Failure(type="SandboxError", message=refused.message)
        with contextlib.suppress(ChannelClosed):
            channel.send(Finished(result=None, failure=failure, completion=_failed_completion(failure)))
        return 0
    runtime = SessionRuntime(
        channel,
        session_id=start.session_id,
        project_dir=start.project_dir,
        journal=start.journal,
        output_position=start.output_position,
        retries=start.retries,
    )
    out, err = LineStream("stdout", runtime.emit), LineStream("stderr", runtime.emit)
    sys.stdout, sys.stderr = out, err
    sdk_runtime.install(runtime)
    try:
        finished = _run(start, runtime)
    except SessionSuspended:
        finished = None
    except ChannelClosed:
        return 0
    for stream in (out, err):
        stream.flush()
    if finished is not None:
        try:
            channel.send(finished)
        except ChannelClosed:
            return 0
    return 0


def _shut_in(start: StartSession, frame: Frame | SandboxError | None) -> None:
    """Limits, sandbox and a clean environment, before any code of the session's is imported."""
    quiet_standard_streams()
    apply_limits(start.limits)
    signal.signal(signal.SIGXCPU, _cpu_limit_reached)
    if start.sandbox is not None:
        enter(frame, start.sandbox)
    home, tmp = private_home()
    os.environ.clear()
    os.environ.update(start.env)
    os.environ.update(HOME=home, TMPDIR=tmp, SDK_HOME_DIR=home)
    tempfile.tempdir = None  # found again from TMPDIR
    time.tzset()  # local time is the session's TZ (zone-less times in sdk.events() are read in it)


def _cpu_limit_reached(signum: int, frame: object) -> None:
    raise CpuLimitExceeded()


def _run(start: StartSession, runtime: SessionRuntime) -> Finished:
    os.chdir(start.project_dir)
    sys.path.insert(0, start.project_dir)
    if start.site_dir is not None:  # the project's requirements.txt, before purrflow's own packages
        use_environment(start.site_dir)
    importer = ProjectImporter(Path(start.project_dir), runtime.dispatch_call, rewrite=start.durable)
    importer.install()
    autokitteh_loader.install()
    ctoai_loader.install()
    try:
        if is_ops_call(start.entrypoint):
            result: Any = run_ops(start, runtime)
        else:
            handler = _load_handler(importer, start.entrypoint)
            event = Event.from_dict({**start.event, "session_id": start.session_id})
            result = handler(event) if _wants_event(handler) else handler()
    except (SessionSuspended, ChannelClosed):
        raise
    except BaseException as err:  # every ending of user code becomes a message
        failure = _failure(err, start.limits)
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
