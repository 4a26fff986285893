"""Which calls are steps: project code and deterministic stdlib run directly, the rest is journaled."""

from __future__ import annotations

import datetime
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

import pytest

from purrflow import sdk
from purrflow.runner.classify import CallKind, classify


@pytest.fixture
def outside(tmp_path: Path) -> object:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "thirdparty.py").write_text(
        "class Client:\n    def get(self):\n        return 1\n\ndef fetch():\n    return 2\n"
    )
    sys.path.insert(0, str(lib))
    try:
        import thirdparty  # type: ignore[import-not-found]

        yield thirdparty
    finally:
        sys.path.remove(str(lib))
        sys.modules.pop("thirdparty", None)


PROJECT = "/nonexistent/project"


@pytest.mark.parametrize(
    ("fn", "kind", "name"),
    [
        (time.sleep, CallKind.SLEEP, "sleep"),
        (time.time, CallKind.STEP, "time.time"),
        (datetime.datetime.now, CallKind.STEP, "datetime.datetime.now"),
        (random.random, CallKind.STEP, "random.Random.random"),
        (uuid.uuid4, CallKind.STEP, "uuid.uuid4"),
        (os.urandom, CallKind.STEP, "posix.urandom"),
        (json.dumps, CallKind.DIRECT, "json.dumps"),
        ([].append, CallKind.DIRECT, "builtins.list.append"),
        (print, CallKind.DIRECT, "builtins.print"),
        (dict, CallKind.DIRECT, "builtins.dict"),
        (datetime.datetime, CallKind.DIRECT, "datetime.datetime"),
        (os.path.join, CallKind.DIRECT, "posixpath.join"),
        (os.environ.get, CallKind.DIRECT, "os._Environ.get"),
        (sdk.set_value, CallKind.DIRECT, "purrflow.sdk._values.set_value"),
        (os.listdir, CallKind.STEP, "posix.listdir"),
    ],
)
def test_standard_library_and_sdk(fn: object, kind: CallKind, name: str) -> None:
    decision = classify(fn, PROJECT)
    assert (decision.kind, decision.name) == (kind, name)


def test_third_party_code_is_a_step_and_project_code_is_not(outside: object, tmp_path: Path) -> None:
    client_cls = outside.Client  # type: ignore[attr-defined]
    assert classify(outside.fetch, PROJECT).kind is CallKind.STEP  # type: ignore[attr-defined]
    assert classify(client_cls, PROJECT).kind is CallKind.STEP
    assert classify(client_cls().get, PROJECT).name == "thirdparty.Client.get"
    as_project = str((tmp_path / "lib").resolve())
    assert classify(outside.fetch, as_project).kind is CallKind.DIRECT  # type: ignore[attr-defined]
