"""`purr prompts answer` sends the answer as typed: the server reads it by the prompt's type."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from purrflow.cli import main


class FakeApi:
    def __init__(self) -> None:
        self.posted: list[tuple[str, Any]] = []

    def post(self, path: str, body: Any) -> dict[str, Any]:
        self.posted.append((path, body))
        return {"answered": path.split("/")[2], "value": body["value"]}


@pytest.mark.parametrize("typed", ["1.10", "true", '["a", "b"]', "007", "1", '{"k": 1}', ""])
def test_the_answer_goes_as_typed(monkeypatch: pytest.MonkeyPatch, typed: str) -> None:
    fake = FakeApi()

    @contextlib.contextmanager
    def api(url: str | None) -> Iterator[FakeApi]:
        yield fake

    monkeypatch.setattr(main, "api", api)
    done = CliRunner().invoke(main.app, ["prompts", "answer", "prm_1", typed])
    assert done.exit_code == 0, done.output
    assert fake.posted == [("/prompts/prm_1/answer", {"value": typed})]
