"""What people copy from the CLI is never cut: ids and URLs stay whole at 80 columns, and piped output
is plain tab-separated lines."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from purrflow.cli import render

SESSION = {
    "id": "ses_01a2319758e8dce17e39ce85",
    "project": "a-project-with-a-rather-long-name",
    "entrypoint": "handlers/with/a/long/path/program.py:a_handler_with_a_long_name",
    "state": "completed",
    "trigger": "on_a_webhook_with_a_long_name",
    "steps": 12,
    "created_at": None,
}


def test_ids_and_urls_stay_whole_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(render, "console", Console(file=out, force_terminal=True, width=80, color_system=None))
    render.show(render.sessions_table([SESSION]))
    trigger = {"project": "p", "name": "hook", "kind": "webhook", "is_sync": False, "call": "a.py:f",
               "webhook_url": "http://127.0.0.1:9980/webhooks/ADx_OjIBNxrUgqt9OQ0tLR_T", "schedule": None,
               "connection": None}  # fmt: skip
    render.show(render.triggers_table([trigger]))
    text = out.getvalue()
    assert SESSION["id"] in text and trigger["webhook_url"] in text
    assert "…" not in text  # the other columns wrap rather than lose their ends


def test_piped_tables_are_tab_separated(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(render, "console", Console(file=io.StringIO(), force_terminal=False))
    render.show(render.sessions_table([SESSION]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == ["session", "project", "entrypoint", "state", "trigger", "steps", "created"]
    assert lines[1].split("\t")[:4] == [SESSION["id"], SESSION["project"], SESSION["entrypoint"], "completed"]
