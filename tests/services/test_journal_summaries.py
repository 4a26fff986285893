"""The journal viewer reads results written by user code without running any of it."""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path

from purrflow.errors import RemoteError
from purrflow.services.operations import SUMMARY_CHARS, summarize


@dataclass
class Invoice:
    number: int


class Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_plain_values_show_their_repr() -> None:
    assert summarize(pickle.dumps({"n": 3, "items": [0, 1, 2]})) == "{'n': 3, 'items': [0, 1, 2]}"
    assert summarize(pickle.dumps(None)) == "None"


def test_long_values_are_cut_to_a_summary() -> None:
    shown = summarize(pickle.dumps("x" * 10_000))
    assert len(shown) == SUMMARY_CHARS and shown.endswith("…")


def test_failures_show_type_and_message() -> None:
    assert summarize(pickle.dumps(ValueError("no")), failed=True) == "ValueError: no"
    remote = RemoteError("boom", type_name="mylib.Oops")
    assert summarize(pickle.dumps(remote), failed=True) == "mylib.Oops: boom"


def test_project_classes_are_named_not_built() -> None:
    shown = summarize(pickle.dumps(Invoice(7)))
    assert shown.startswith(f"{__name__}.Invoice(")


def test_a_hostile_pickle_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    shown = summarize(pickle.dumps(Evil(marker)))
    assert not marker.exists()
    assert "system" in shown


def test_bytes_that_are_no_pickle_are_described() -> None:
    assert "cannot be shown" in summarize(b"\x80\x05not a pickle")
