"""Manifest loading: both file names, v1 and v2, and errors that name file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from purrflow.errors import InvalidInputError, ManifestError
from purrflow.manifest import find_manifest, load_manifest, parse_entrypoint, parse_manifest

SPEC_EXAMPLE = """
version: v1
project:
  name: my_project
  vars:
    - name: CHANNEL
      value: C123
    - name: RETRIES
      value: 3
    - name: ENABLED
      value: true
    - name: EMPTY
      value:
  connections:
    - name: slack_conn
      integration: slack
  triggers:
    - name: on_http_get
      type: webhook
      event_type: GET
      filter: data.url.path.endsWith("/x")
      call: program.py:on_http_get
      is_sync: true
    - name: nightly
      schedule: "@every 24h"
      call: program.py:on_tick
    - name: slack_events
      connection: slack_conn
      event_type: app_mention
    - name: feed
      type: webhook
"""


def parse(text: str, filename: str = "purrflow.yaml") -> object:
    return parse_manifest(textwrap.dedent(text).lstrip(), filename)


def test_the_spec_example_loads() -> None:
    manifest = parse_manifest(textwrap.dedent(SPEC_EXAMPLE), "autokitteh.yaml")
    project = manifest.project
    assert project.name == "my_project"
    assert [(v.name, v.value) for v in project.vars] == [
        ("CHANNEL", "C123"),
        ("RETRIES", "3"),
        ("ENABLED", "true"),
        ("EMPTY", ""),
    ]
    hook, nightly, slack, feed = project.triggers
    assert (hook.kind, hook.event_type, hook.is_sync, hook.call) == ("webhook", "get", True, "program.py:on_http_get")
    assert (nightly.kind, nightly.schedule) == ("schedule", "@every 24h")
    assert (slack.kind, slack.connection, slack.call) == ("connection", "slack_conn", None)
    assert feed.call is None and feed.is_durable
    assert project.connections[0].integration == "slack"


def test_autokitteh_v2_defaults_to_non_durable_but_purrflow_does_not() -> None:
    text = "version: v2\nproject:\n  name: p\n  triggers:\n    - name: t\n      type: webhook\n"
    assert parse_manifest(text, "autokitteh.yaml").project.triggers[0].is_durable is False
    assert parse_manifest(text, "purrflow.yaml").project.triggers[0].is_durable is True
    explicit = text + "      is_durable: true\n"
    assert parse_manifest(explicit, "autokitteh.yaml").project.triggers[0].is_durable is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("project: [unclosed\n", "purrflow.yaml:2:1: not valid YAML"),
        ("- a\n- b\n", "manifest: expected a mapping"),
        ("version: v3\nproject:\n  name: p\n", "purrflow.yaml:1: version: unsupported version 'v3'"),
        ("project:\n  name: bad name\n", "purrflow.yaml:2: project.name:"),
        ("project:\n  name: p\n  trigers: []\n", "unknown field 'trigers'"),
        ("project:\n  name: p\n  triggers: {}\n", "purrflow.yaml:3: project.triggers: expected a list"),
        (
            "project:\n  name: p\n  triggers:\n    - name: t\n      call: a.py:f\n",
            "purrflow.yaml:4: project.triggers[0].type: trigger 't' has no kind",
        ),
        (
            "project:\n  name: p\n  triggers:\n    - name: t\n      type: webhook\n      event_type: fetch\n",
            "purrflow.yaml:6: project.triggers[0].event_type: 'fetch' is not an HTTP method",
        ),
        (
            "project:\n  name: p\n  triggers:\n    - name: t\n      type: webhook\n      filter: data.(\n",
            "purrflow.yaml:6: project.triggers[0].filter: ",
        ),
        (
            "project:\n  name: p\n  triggers:\n    - name: t\n      schedule: '0 0 * * * *'\n",
            "has 6 fields; cron here has 5",
        ),
        (
            "project:\n  name: p\n  triggers:\n    - name: t\n      connection: nope\n",
            "no connection named 'nope' is declared",
        ),
        (
            "project:\n  name: p\n  triggers:\n    - name: t\n      type: webhook\n      call: ../x.py:f\n",
            "purrflow.yaml:6: project.triggers[0].call: '../x.py:f' points outside the project",
        ),
        (
            "project:\n  name: p\n  triggers:\n    - name: t\n      type: webhook\n"
            "    - name: t\n      type: webhook\n",
            "purrflow.yaml:6: project.triggers[1].name: duplicate name 't'",
        ),
        (
            "project:\n  name: p\n  vars:\n    - name: V\n      value: [1, 2]\n",
            "purrflow.yaml:5: project.vars[0].value: a var's value must be",
        ),
        (
            "project:\n  name: p\n  triggers:\n    - name: t\n      schedule: '@daily'\n      is_sync: true\n",
            "only webhook triggers can be synchronous",
        ),
    ],
)
def test_errors_name_file_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text, "purrflow.yaml")
    assert expected in str(caught.value)


def test_unknown_fields_suggest_the_right_one() -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(
            "project:\n  name: p\n  triggers:\n    - name: t\n      type: webhook\n      cal: a.py:f\n", "x.yaml"
        )
    assert caught.value.hint == "did you mean 'call'?"


def test_call_targets_are_checked_against_the_files(tmp_path: Path) -> None:
    (tmp_path / "purrflow.yaml").write_text(
        "project:\n  name: p\n  triggers:\n    - name: t\n      type: webhook\n      call: program.py:handler\n"
    )
    with pytest.raises(ManifestError, match=r"the project has no file .program\.py."):
        load_manifest(tmp_path)
    (tmp_path / "program.py").write_text("def other(event):\n    pass\n")
    with pytest.raises(ManifestError, match=r"purrflow.yaml:6: .* program.py defines no function 'handler'"):
        load_manifest(tmp_path)
    (tmp_path / "program.py").write_text("from lib import helper as handler\n")
    assert load_manifest(tmp_path).project.triggers[0].call == "program.py:handler"


def test_either_file_name_is_found(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="has no manifest") as caught:
        find_manifest(tmp_path)
    assert caught.value.hint is not None and "autokitteh.yaml" in caught.value.hint
    (tmp_path / "autokitteh.yaml").write_text("project:\n  name: p\n")
    assert find_manifest(tmp_path).name == "autokitteh.yaml"
    (tmp_path / "purrflow.yaml").write_text("project:\n  name: q\n")
    assert load_manifest(tmp_path).project.name == "q"


@pytest.mark.parametrize("loc", ["main", "x.py", "x.py:", "x.py:1f", "/abs.py:f", "../x.py:f", "a/../../x.py:f"])
def test_bad_code_locations(loc: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_entrypoint(loc)


def test_good_code_locations() -> None:
    assert parse_entrypoint("pkg/handlers.py:on_event") == ("pkg/handlers.py", "on_event")
