"""The manifest: AutoKitteh's schema (v1 and v2) under both file names, and errors that name the file,
the line and the field."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pydantic
import pytest
from croniter import croniter  # type: ignore[import-untyped]

from purrflow.cron import Schedule
from purrflow.errors import InvalidInputError, ManifestError
from purrflow.manifest import (
    Manifest,
    RetrySpec,
    check_project_files,
    find_manifest,
    load_manifest,
    parse_entrypoint,
    parse_manifest,
)

# The example of the AutoKitteh contract (specs/autokitteh.md §1), with its placeholders filled in.
SPEC_EXAMPLE = """\
version: v1            # v2 also occurs, same fields for our purposes
project:
  name: my_project
  vars:
    - name: CHANNEL
      value: C123      # may be a string, an int, a bool or empty/null
      secret: false    # optional
      description: the channel to post to
  connections:
    - name: slack_conn
      integration: slack      # slack, github, googlesheets, gmail, jira, …
  triggers:
    - name: on_http_get
      type: webhook
      event_type: get
      filter: data.url.path.endsWith("/x")   # CEL, optional
      call: program.py:on_http_get           # optional: a trigger without call only feeds subscriptions
      is_sync: true            # webhooks: the HTTP response waits for http_outcome
      is_durable: true         # optional
    - name: every_5_minutes
      schedule: "*/5 * * * *"
      call: program.py:on_tick
    - name: on_mention
      connection: slack_conn
      event_type: app_mention
"""

V2_EXAMPLE = """\
version: v2
project:
  name: pydantic_dnd
  vars:
    - name: MODEL
      value: "claude"
    - name: TOKEN
      description: "optional token"
      value: ""
      secret: true
  triggers:
    - name: game
      webhook: {}
      event_type: get
      call: handlers.py:on_game
      is_durable: true
      is_sync: true
    - name: turn
      webhook: {}
      event_type: post
      is_sync: true
"""


def manifest(text: str, filename: str = "purrflow.yaml") -> Manifest:
    return parse_manifest(textwrap.dedent(text), filename)


def error(text: str, filename: str = "purrflow.yaml") -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        manifest(text, filename)
    return caught.value


def triggers(body: str) -> str:
    """A minimal manifest whose triggers list is `body` (indented as list items); triggers start on line 4."""
    return "project:\n  name: p\n  triggers:\n" + textwrap.indent(textwrap.dedent(body), "    ")


# -- good manifests -------------------------------------------------------------------------------


def test_the_spec_example_loads() -> None:
    loaded = parse_manifest(SPEC_EXAMPLE, "autokitteh.yaml")
    assert loaded.version == "v1" and loaded.filename == "autokitteh.yaml"
    project = loaded.project
    assert project.name == "my_project"
    (var,) = project.vars
    assert (var.name, var.value, var.secret, var.description) == ("CHANNEL", "C123", False, "the channel to post to")
    assert [(c.name, c.integration) for c in project.connections] == [("slack_conn", "slack")]
    hook, tick, mention = project.triggers
    assert hook.model_dump() == {
        "name": "on_http_get",
        "kind": "webhook",
        "event_type": "get",
        "filter": 'data.url.path.endsWith("/x")',
        "call": "program.py:on_http_get",
        "is_sync": True,
        "is_durable": True,
        "schedule": None,
        "connection": None,
        "timeout": None,
        "concurrency": None,
        "retries": None,
        "line": 13,
        "call_line": 17,
    }
    assert (tick.kind, tick.schedule, tick.event_type, tick.line) == ("schedule", "*/5 * * * *", None, 20)
    assert (mention.kind, mention.connection, mention.event_type, mention.call) == (
        "connection",
        "slack_conn",
        "app_mention",
        None,
    )
    assert mention.call_line == mention.line == 23  # no call: its line is the trigger's


def test_a_v2_manifest_with_autokitteh_webhook_blocks() -> None:
    loaded = parse_manifest(V2_EXAMPLE, "autokitteh.yaml")
    assert loaded.version == "v2"
    game, turn = loaded.project.triggers
    assert (game.kind, game.event_type, game.is_sync, game.is_durable) == ("webhook", "get", True, True)
    assert (turn.kind, turn.call, turn.is_durable) == ("webhook", None, False)  # AutoKitteh's v2 default
    assert [(v.name, v.value, v.secret) for v in loaded.project.vars] == [
        ("MODEL", "claude", False),
        ("TOKEN", "", True),
    ]


@pytest.mark.parametrize(
    ("filename", "version", "durable"),
    [
        ("autokitteh.yaml", "v2", False),
        ("autokitteh.yml", "v2", False),
        ("autokitteh.yaml", "v1", True),
        ("purrflow.yaml", "v2", True),
        ("purrflow.yml", "v1", True),
    ],
)
def test_is_durable_defaults(filename: str, version: str, durable: bool) -> None:
    text = f"version: {version}\n" + triggers("- name: t\n  type: webhook\n")
    assert parse_manifest(text, filename).project.triggers[0].is_durable is durable
    explicit = text + f"      is_durable: {str(not durable).lower()}\n"
    assert parse_manifest(explicit, filename).project.triggers[0].is_durable is (not durable)


def test_version_defaults_to_v1_and_empty_sections_are_allowed() -> None:
    loaded = manifest("project:\n  name: bare-project_1\n  vars:\n  triggers: []\n")
    assert loaded.version == "v1" and loaded.project.name == "bare-project_1"
    assert (loaded.project.vars, loaded.project.connections, loaded.project.triggers) == ([], [], [])


def test_var_values_are_the_scalars_as_written() -> None:
    values = ["plain", "'quoted # not a comment'", "3", "1.50", "true", "False", "yes", "010", "2024-01-01", "", "~"]
    text = "project:\n  name: p\n  vars:\n" + "".join(
        f"    - name: V{i}\n      value: {v}\n" for i, v in enumerate(values)
    )
    text += "    - name: MISSING\n"
    loaded = manifest(text)
    assert [v.value for v in loaded.project.vars] == [
        "plain",
        "quoted # not a comment",
        "3",
        "1.50",
        "true",
        "False",
        "yes",
        "010",
        "2024-01-01",
        "",
        "",
        "",
    ]


def test_webhook_methods_are_lowered_and_flags_read_like_yaml() -> None:
    loaded = manifest(triggers("- name: t\n  type: webhook\n  event_type: POST\n  is_sync: yes\n  is_durable: off\n"))
    trigger = loaded.project.triggers[0]
    assert (trigger.event_type, trigger.is_sync, trigger.is_durable) == ("post", True, False)


def test_a_schedule_may_say_its_type_and_fires_ticks() -> None:
    loaded = manifest(triggers("- name: t\n  type: schedule\n  schedule: ' @daily '\n  event_type: tick\n"))
    assert (loaded.project.triggers[0].schedule, loaded.project.triggers[0].event_type) == ("@daily", "tick")


def test_a_manual_trigger_is_started_by_hand() -> None:
    loaded = manifest(triggers("- name: rerun\n  type: manual\n  call: jobs.py:rerun\n"))
    assert loaded.project.triggers[0].kind == "manual"


def test_filters_are_stripped_and_literal_blocks_work() -> None:
    loaded = manifest(triggers('- name: t\n  type: webhook\n  filter: |\n    data.method == "POST" &&\n    true\n'))
    assert loaded.project.triggers[0].filter == 'data.method == "POST" &&\ntrue'


def test_models_are_frozen() -> None:
    loaded = manifest(triggers("- name: t\n  type: webhook\n"))
    with pytest.raises(pydantic.ValidationError):
        loaded.project.triggers[0].name = "other"


# -- errors: file, line, field --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "purrflow.yaml:1: top level: the manifest is empty"),
        ("- a\n- b\n", "purrflow.yaml:1: top level: expected a mapping (version, project), found a list"),
        ("version: v1\n", "purrflow.yaml:1: top level: the manifest has no `project:` section"),
        ("version: v3\nproject:\n  name: p\n", "purrflow.yaml:1: version: unsupported version 'v3'"),
        ("version: 1\nproject:\n  name: p\n", "purrflow.yaml:1: version: unsupported version '1'"),
        (
            "project: my_project\n",
            "purrflow.yaml:1: project: expected a mapping (name, vars, connections, triggers, retention)",
        ),
        ("project:\n  vars: []\n", "purrflow.yaml:1: project.name: a name is required"),
        ("project:\n  name: bad name\n", "purrflow.yaml:2: project.name: 'bad name' is not a valid name"),
        ("project:\n  name: [p]\n", "purrflow.yaml:2: project.name: expected a single value, found a list"),
        ("project:\n  name: p\n  trigers: []\n", "purrflow.yaml:3: project.trigers: unknown field 'trigers'"),
        ("project:\n  name: p\n  name: q\n", "purrflow.yaml:3: project.name: 'name' is given twice"),
        (
            "project:\n  name: p\n  triggers: {}\n",
            "purrflow.yaml:3: project.triggers: expected a list, found a mapping",
        ),
        (
            "project:\n  name: p\n  vars:\n    name: X\n",
            "purrflow.yaml:3: project.vars: expected a list, found a mapping",
        ),
        (
            "project:\n  name: p\n  vars:\n    - X\n",
            "purrflow.yaml:4: project.vars[0]: expected a mapping (name, value, secret, description), found 'X'",
        ),
        (
            "project:\n  name: p\n  vars:\n    - name: V\n      value: [1, 2]\n",
            "purrflow.yaml:5: project.vars[0].value: a var's value must be a string, number or boolean, not a list",
        ),
        (
            "project:\n  name: p\n  vars:\n    - name: V\n      secret: maybe\n",
            "purrflow.yaml:5: project.vars[0].secret: expected true or false, found 'maybe'",
        ),
        (
            "project:\n  name: p\n  vars:\n    - name: A-B\n",
            "purrflow.yaml:4: project.vars[0].name: 'A-B' is not a valid name: use letters, digits and '_'",
        ),
        (
            "project:\n  name: p\n  vars:\n    - name: V\n    - name: W\n    - name: V\n",
            "purrflow.yaml:6: project.vars[2].name: duplicate name 'V'",
        ),
        (
            "project:\n  name: p\n  connections:\n    - name: 1conn\n      integration: slack\n",
            "purrflow.yaml:4: project.connections[0].name: '1conn' is not a valid name: start with a letter or '_'",
        ),
        (
            "project:\n  name: p\n  connections:\n    - name: c\n",
            "purrflow.yaml:4: project.connections[0].integration: every connection names its integration",
        ),
        (
            "project:\n  name: p\n  <<: {name: q}\n",
            "purrflow.yaml:3: project.<<: YAML merge keys (<<) are not supported here",
        ),
    ],
)
def test_errors_in_the_top_sections(text: str, expected: str) -> None:
    assert str(error(text)).startswith(expected)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("- name: t\n  call: a.py:f\n", "purrflow.yaml:4: project.triggers[0].type: trigger 't' has no kind"),
        ("- name: my-hook\n  type: webhook\n", "purrflow.yaml:4: project.triggers[0].name: 'my-hook' is not a valid"),
        ("- type: webhook\n", "purrflow.yaml:4: project.triggers[0].name: a name is required"),
        ("- name: t\n  type: webhok\n", "purrflow.yaml:5: project.triggers[0].type: unknown trigger type 'webhok'"),
        (
            "- name: t\n  type: webhook\n  schedule: '@daily'\n",
            "purrflow.yaml:5: project.triggers[0].type: type 'webhook' does not fit a trigger with `schedule:`",
        ),
        (
            "- name: t\n  schedule: '@daily'\n  connection: c\n",
            "purrflow.yaml:6: project.triggers[0].connection: a trigger has one kind, and this one sets both "
            "`schedule` and `connection`",
        ),
        (
            "- name: t\n  type: schedule\n",
            "purrflow.yaml:4: project.triggers[0].schedule: a schedule trigger needs `schedule:`",
        ),
        (
            "- name: t\n  webhook: {path: /x}\n",
            "purrflow.yaml:5: project.triggers[0].webhook: write `webhook: {}` (it takes no settings)",
        ),
        (
            "- name: t\n  type: webhook\n  event_type: fetch\n",
            "purrflow.yaml:6: project.triggers[0].event_type: 'fetch' is not an HTTP method",
        ),
        (
            "- name: t\n  schedule: '@daily'\n  event_type: run\n",
            "purrflow.yaml:6: project.triggers[0].event_type: schedule triggers fire 'tick' events, never 'run'",
        ),
        (
            "- name: t\n  connection: nope\n",
            "purrflow.yaml:5: project.triggers[0].connection: no connection named 'nope' is declared",
        ),
        (
            "- name: t\n  type: webhook\n  call: ../x.py:f\n",
            "purrflow.yaml:6: project.triggers[0].call: '../x.py:f' points outside the project",
        ),
        (
            "- name: t\n  type: webhook\n  call: program.py\n",
            "purrflow.yaml:6: project.triggers[0].call: 'program.py' is not a code location",
        ),
        (
            "- name: t\n  type: webhook\n- name: u\n  type: webhook\n- name: t\n  type: webhook\n",
            "purrflow.yaml:8: project.triggers[2].name: duplicate name 't'",
        ),
        (
            "- name: t\n  schedule: '@daily'\n  is_sync: true\n",
            "purrflow.yaml:6: project.triggers[0].is_sync: only webhook triggers can be synchronous; "
            "this one is a schedule trigger",
        ),
        (
            "- name: t\n  type: webhook\n  is_durable: sometimes\n",
            "purrflow.yaml:6: project.triggers[0].is_durable: expected true or false, found 'sometimes'",
        ),
        ("- name: t\n  type: manual\n", "purrflow.yaml:4: project.triggers[0].call: a manual trigger needs `call:`"),
        (
            "- name: t\n  type: manual\n  call: a.py:f\n  filter: 'true'\n",
            "purrflow.yaml:7: project.triggers[0].filter: a manual trigger takes no filter",
        ),
        (
            "- name: t\n  type: webhook\n  call: a.py:f\n  call: a.py:g\n",
            "purrflow.yaml:7: project.triggers[0].call: 'call' is given twice",
        ),
    ],
)
def test_errors_in_triggers(body: str, expected: str) -> None:
    assert str(error(triggers(body))).startswith(expected)


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ("- name: t\n  type: webhook\n  cal: a.py:f\n", "did you mean 'call'?"),
        ("- name: t\n  type: webhook\n  priority: 3\n", "the fields here are: name, type, webhook, schedule,"),
        ("- name: t\n  type: conection\n", "did you mean 'connection'?"),
        ("- name: t\n  connection: slak\n", "did you mean 'slack'?"),
        ("- name: t\n", "add `type: webhook`, `schedule: "),
        ("- name: t\n  type: webhook\n  call: a.py\n", "write it as file.py:function"),
        (
            "- name: t\n  type: webhook\n  event_type: fetch\n",
            "use one of get, post, put, patch, delete, head, options,",
        ),
    ],
)
def test_errors_carry_a_hint(body: str, hint: str) -> None:
    text = "project:\n  name: p\n  connections:\n    - name: slack\n      integration: slack\n  triggers:\n"
    err = error(text + textwrap.indent(body, "    "))
    assert err.hint is not None and err.hint.startswith(hint)


def test_the_hint_for_a_duplicate_points_at_the_first() -> None:
    err = error(triggers("- name: t\n  type: webhook\n- name: t\n  type: webhook\n"))
    assert err.hint == "project.triggers[0] (line 4) already has it"


def test_broken_filters_name_the_line_the_column_and_the_problem() -> None:
    err = error(triggers('- name: t\n  type: webhook\n  filter: data.method == "POST" &&\n'))
    assert str(err).startswith(
        "purrflow.yaml:6: project.triggers[0].filter: invalid CEL filter 'data.method == \"POST\" &&' at column 25: "
        "Syntax error: the expression ends too early"
    )
    unknown = error(triggers("- name: t\n  type: webhook\n  filter: foo.bar == 1\n"))
    assert "at column 4: unknown name 'foo.bar'" in str(unknown)
    assert unknown.hint is not None and "event_type, data and event_id" in unknown.hint


def test_a_broken_filter_in_a_literal_block_names_its_own_line() -> None:
    body = '- name: t\n  type: webhook\n  filter: |\n    data.method == "POST" &&\n    data.x ==== 1\n'
    assert str(error(triggers(body))).startswith(
        "purrflow.yaml:8: project.triggers[0].filter: invalid CEL filter "
        "'data.method == \"POST\" &&\\ndata.x ==== 1' at line 2, column 10:"
    )


def test_a_filter_that_cannot_give_a_boolean_is_refused() -> None:
    err = error(triggers("- name: t\n  type: webhook\n  filter: event_type\n"), "autokitteh.yaml")
    assert str(err).startswith(
        "autokitteh.yaml:6: project.triggers[0].filter: invalid CEL filter 'event_type': "
        "it gives a string, not true or false"
    )


@pytest.mark.parametrize(
    ("text", "expected", "hint"),
    [
        ("project: [unclosed\n", "purrflow.yaml:2:1: not valid YAML: expected ',' or ']'", "must be quoted"),
        ("project:\n\tname: p\n", "purrflow.yaml:2:1: not valid YAML: found character '\\t'", "replace the tabs"),
        (
            'project:\n  name: p\n  triggers:\n    - filter: "data.x" == 1\n',
            "purrflow.yaml:4:24: not valid YAML: expected <block end>, but found '<scalar>'",
            "must be quoted",
        ),
        ("a: 1\n---\nb: 2\n", "purrflow.yaml:2:1: not valid YAML: but found another document", "must be quoted"),
    ],
)
def test_yaml_syntax_errors_name_line_and_column(text: str, expected: str, hint: str) -> None:
    err = error(text)
    assert str(err).startswith(expected)
    assert err.hint is not None and hint in err.hint


# -- schedules ------------------------------------------------------------------------------------

GOOD_SCHEDULES = [
    "@daily",
    "@hourly",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
    "@midnight",
    "@every 24h",
    "@every 1m",
    "@every 15m",
    "@every 1h30m",
    "@every 10s",
    "@every 1.5h",
    "*/5 * * * *",
    "0 6 * * 0",
    "0 0 * * 1",
    "0 9-17 * * MON-FRI",
    "30 8 1,15 * *",
    "0 0 1 jan,jul *",
    "5/10 * * * *",
    "0 0 * * 7",
    "0 0 29 2 *",
    "0 0 31 * *",
    "0-30/10 1-5/2 * * sun",
]


@pytest.mark.parametrize("schedule", GOOD_SCHEDULES)
def test_schedules_the_scheduler_runs_are_accepted(schedule: str) -> None:
    loaded = manifest(triggers(f"- name: t\n  schedule: '{schedule}'\n"))
    assert loaded.project.triggers[0].schedule == schedule
    Schedule.parse(schedule, ZoneInfo("UTC"))  # the scheduler agrees
    if not schedule.startswith("@every"):
        assert croniter.is_valid(schedule) or schedule.startswith("@")


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("0 0 0 * * *", "'0 0 0 * * *' has 6 fields; cron here has 5 (minute hour day-of-month month day-of-week)"),
        ("0 0 *", "'0 0 *' has 3 fields; cron here has 5"),
        ("60 * * * *", "'60 * * * *': minute 60 is out of range (0-59)"),
        ("0 24 * * *", "'0 24 * * *': hour 24 is out of range (0-23)"),
        ("0 0 0 * *", "'0 0 0 * *': day-of-month 0 is out of range (1-31)"),
        ("0 0 * 13 *", "'0 0 * 13 *': month 13 is out of range (1-12)"),
        ("0 0 * * 8", "'0 0 * * 8': day-of-week 8 is out of range (0-7)"),
        ("0 0 * FOO *", "'0 0 * FOO *': 'FOO' is not a valid month (use 1-12 or a name like JAN)"),
        ("*/0 * * * *", "'*/0 * * * *': minute step 0 is out of range (1-59)"),
        ("5-2 * * * *", "'5-2 * * * *': the minute range '5-2' runs backwards"),
        ("1,,2 * * * *", "'1,,2 * * * *': '' is not a valid minute"),
        ("0 0 L * *", "'0 0 L * *': 'L' is not a valid day-of-month"),
        ("0 0 30 2 *", "'0 0 30 2 *' never fires: no month it names has day 30"),
        ("@every 0s", "'@every 0s': the interval must be longer than zero"),
        ("@every 15 minutes", "'@every 15 minutes': '15 minutes' is not a duration"),
        ("@every", "'@every': '' is not a duration"),
        ("@reboot", "unknown schedule '@reboot'"),
        ("", "the schedule is empty"),
    ],
)
def test_bad_schedules_are_refused(schedule: str, expected: str) -> None:
    err = error(triggers(f"- name: t\n  schedule: '{schedule}'\n"))
    assert str(err).startswith(f"purrflow.yaml:5: project.triggers[0].schedule: {expected}")


def test_a_six_field_cron_line_gets_a_hint() -> None:
    assert error(triggers("- name: t\n  schedule: '0 */5 * * * *'\n")).hint == "drop the seconds field"


# -- the project's files --------------------------------------------------------------------------


def project(tmp_path: Path, call: str, files: dict[str, str], name: str = "purrflow.yaml") -> Path:
    (tmp_path / name).write_text(
        f"project:\n  name: p\n  triggers:\n    - name: t\n      type: webhook\n      call: {call}\n"
    )
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


def load_error(folder: Path) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        load_manifest(folder)
    return caught.value


def test_a_call_to_a_missing_file(tmp_path: Path) -> None:
    err = load_error(project(tmp_path, "program.py:handler", {}))
    assert str(err).startswith(
        "purrflow.yaml:6: project.triggers[0].call: 'program.py:handler' — the project has no file 'program.py'"
    )


def test_a_call_to_a_missing_function(tmp_path: Path) -> None:
    err = load_error(project(tmp_path, "program.py:nope", {"program.py": "def nop(event):\n    pass\n"}))
    assert str(err).startswith(
        "purrflow.yaml:6: project.triggers[0].call: 'program.py:nope' — program.py defines no function 'nope'"
    )
    assert err.hint == "did you mean 'nop'?"
    err = load_error(project(tmp_path, "program.py:handle_it", {"program.py": "x = 1\n"}))
    assert err.hint == "define `def handle_it(event):` in program.py"


def test_a_call_into_a_file_that_does_not_parse(tmp_path: Path) -> None:
    err = load_error(project(tmp_path, "program.py:f", {"program.py": "def f(:\n"}))
    assert str(err).startswith("purrflow.yaml:6: project.triggers[0].call: 'program.py:f' — program.py:1: the file")


def test_a_call_through_a_link_out_of_the_project(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.py").write_text("def f(event):\n    pass\n")
    folder = tmp_path / "proj"
    folder.mkdir()
    os.symlink(outside / "evil.py", folder / "link.py")
    err = load_error(project(folder, "link.py:f", {}))
    assert "link.py leads outside the project" in str(err)


@pytest.mark.parametrize(
    "source",
    [
        "def handler(event):\n    pass\n",
        "async def handler(event):\n    pass\n",
        "from lib import helper as handler\n",
        "import handler\n",
        "handler = lambda event: None\n",
        "handler: object = print\n",
        "first, handler = print, print\n",
        "class handler:\n    pass\n",
        "try:\n    from fast import handler\nexcept ImportError:\n    def handler(event): pass\n",
        "if True:\n    def handler(event): pass\n",
    ],
)
def test_a_call_finds_any_top_level_binding(tmp_path: Path, source: str) -> None:
    loaded = load_manifest(project(tmp_path, "pkg/program.py:handler", {"pkg/program.py": source}))
    assert loaded.project.triggers[0].call == "pkg/program.py:handler"


@pytest.mark.parametrize(
    "source",
    ["def outer():\n    def handler(event): pass\n", "from lib import *\n", "print('handler')\n"],
)
def test_nested_or_hidden_names_do_not_count(tmp_path: Path, source: str) -> None:
    assert "defines no function 'handler'" in str(
        load_error(project(tmp_path, "program.py:handler", {"program.py": source}))
    )


def test_project_files_are_parsed_never_imported(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    source = f"open({str(marker)!r}, 'w').close()\ndef handler(event):\n    pass\n"
    load_manifest(project(tmp_path, "program.py:handler", {"program.py": source}))
    assert not marker.exists()


def test_check_project_files_on_a_parsed_manifest(tmp_path: Path) -> None:
    parsed = parse_manifest(triggers("- name: t\n  type: webhook\n  call: a.py:f\n"), "autokitteh.yaml")
    with pytest.raises(ManifestError, match=r"^autokitteh.yaml:6: project.triggers\[0\].call: 'a.py:f' — the project"):
        check_project_files(parsed, tmp_path)
    (tmp_path / "a.py").write_text("def f(): pass\n")
    check_project_files(parsed, tmp_path)


# -- finding the manifest -------------------------------------------------------------------------


def test_the_manifest_names_are_tried_in_order(tmp_path: Path) -> None:
    err = load_error(tmp_path)
    assert str(err).startswith(
        f"{tmp_path} has no manifest (looked for purrflow.yaml, purrflow.yml, autokitteh.yaml, autokitteh.yml, "
        "ops.yml, ops.yaml)"
    )
    for name in ("autokitteh.yml", "autokitteh.yaml", "purrflow.yml", "purrflow.yaml"):
        (tmp_path / name).write_text(f"project:\n  name: {name.replace('.', '_')}\n")
        assert find_manifest(tmp_path).name == name
        assert load_manifest(tmp_path).filename == name


def test_a_project_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="is not a folder"):
        find_manifest(tmp_path / "nope")


def test_a_manifest_must_be_utf8(tmp_path: Path) -> None:
    (tmp_path / "purrflow.yaml").write_bytes(b"project:\n  name: caf\xe9\n")
    assert str(load_error(tmp_path)).startswith("purrflow.yaml: not UTF-8 text")


# -- code locations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loc", "message"),
    [
        ("main", "'main' is not a code location"),
        ("x.py", "'x.py' is not a code location"),
        ("a.py:b:c", "'a.py:b:c' is not a code location"),
        ("x.py:", "'x.py:': '' is not a function name"),
        ("x.py:1f", "'x.py:1f': '1f' is not a function name"),
        ("x.py:class", "'x.py:class': 'class' is not a function name"),
        ("x.txt:f", "'x.txt:f': 'x.txt' is not a Python file"),
        (".py:f", "'.py:f': '.py' is not a Python file"),
        ("/abs.py:f", "'/abs.py:f' points outside the project"),
        ("../x.py:f", "'../x.py:f' points outside the project"),
        ("a/../../x.py:f", "'a/../../x.py:f' points outside the project"),
        ("a\\x.py:f", "'a\\\\x.py:f' points outside the project"),
    ],
)
def test_bad_code_locations(loc: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_entrypoint(loc)
    assert caught.value.message == message and caught.value.hint


def test_good_code_locations() -> None:
    assert parse_entrypoint("program.py:on_event") == ("program.py", "on_event")
    assert parse_entrypoint("pkg/handlers.py:on_event") == ("pkg/handlers.py", "on_event")


# -- input that must not crash the reader ---------------------------------------------------------


@pytest.mark.parametrize(
    ("nesting", "line"),
    [
        ("[" * 100_000, 4),  # unclosed, as deep as it goes
        ("[" * 5000 + "]" * 5000, 4),
        (
            "\n" + "".join(" " * (2 * i + 4) + "- \n" for i in range(200)),
            5,
        ),  # block style; the error is where it deepens past the limit
    ],
)
def test_deep_nesting_is_refused_with_file_and_line(nesting: str, line: int) -> None:
    text = "version: v1\nproject:\n  name: x\n  vars: " + nesting + "\n"
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text, "purrflow.yaml")
    message = caught.value.message
    assert message.startswith("purrflow.yaml:") and "nested more than 64 levels deep" in message, message
    assert int(message.split(":")[1]) >= line and caught.value.hint


def test_nesting_up_to_the_limit_reads_as_usual() -> None:
    text = "version: v1\nproject:\n  name: x\n  vars: " + "[" * 62 + "]" * 62 + "\n"
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text, "purrflow.yaml")
    assert "expected a mapping" in caught.value.message  # the ordinary complaint about a var that is a list


@pytest.mark.parametrize(
    ("var", "field"),
    [
        ('    - name: A\n      value: "one\\0two"\n', "project.vars[0].value"),
        ('    - name: A\n      value: x\n    - name: "B\\0"\n', "project.vars[1].name"),
        ('    - name: A\n      description: "d\\x00"\n', "project.vars[0].description"),
    ],
)
def test_nul_characters_are_refused_with_file_and_line(var: str, field: str) -> None:
    text = "version: v1\nproject:\n  name: x\n  vars:\n" + var
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text, "purrflow.yaml")
    line = text[: text.index("\\0" if "\\0" in text else "\\x00")].count("\n") + 1
    assert caught.value.message.startswith(f"purrflow.yaml:{line}: {field}:"), caught.value.message
    assert "NUL" in caught.value.message or "not a valid name" in caught.value.message


def test_a_triggers_timeout_and_concurrency() -> None:
    loaded = manifest(triggers("- name: t\n  type: manual\n  timeout: 1h30m\n  concurrency: 2\n  call: p.py:f\n"))
    assert (loaded.project.triggers[0].timeout, loaded.project.triggers[0].concurrency) == (5400.0, 2)
    assert (
        manifest(triggers("- name: t\n  type: manual\n  timeout: 90\n  call: p.py:f\n")).project.triggers[0].timeout
        == 90
    )


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("timeout: soon", "timeout 'soon' is not a duration"),
        ("timeout: 0s", "timeout '0s' must be longer than zero"),
        ("concurrency: 0", "concurrency must be a whole number of at least 1, not '0'"),
        ("concurrency: two", "concurrency must be a whole number of at least 1, not 'two'"),
    ],
)
def test_bad_timeouts_and_concurrency_name_their_line(field: str, expected: str) -> None:
    with pytest.raises(ManifestError) as refused:
        manifest(triggers(f"- name: t\n  type: manual\n  {field}\n  call: p.py:f\n"))
    assert expected in str(refused.value)
    assert "purrflow.yaml:" in str(refused.value)


def test_a_projects_retention_is_a_duration_of_its_own() -> None:
    assert manifest("project:\n  name: p\n  retention: 7d\n").project.retention == 7 * 86_400
    assert manifest("project:\n  name: p\n").project.retention is None  # the server's
    refused = error("project:\n  name: p\n  retention: forever\n")
    assert "retention 'forever' is not a duration" in str(refused) and "purrflow.yaml:3" in str(refused)


def test_a_triggers_retries_default() -> None:
    loaded = manifest(triggers("- name: t\n  type: manual\n  call: p.py:f\n  retries: {count: 3, backoff: 2s}\n"))
    retries = loaded.project.triggers[0].retries
    assert retries is not None and (retries.count, retries.backoff, retries.max_backoff) == (3, 2.0, 300.0)
    capped = manifest(
        triggers("- name: t\n  type: manual\n  call: p.py:f\n  retries:\n    count: 1\n    max_backoff: 1m\n")
    )
    assert capped.project.triggers[0].retries == RetrySpec(count=1, backoff=1.0, max_backoff=60.0)


@pytest.mark.parametrize(
    ("field", "line", "expected"),
    [
        ("retries: 3", 7, "project.triggers[0].retries: retries is a mapping, not '3'"),
        ("retries: {backoff: 2s}", 7, "project.triggers[0].retries: retries needs a count"),
        ("retries: {count: -1}", 7, "retries.count: count must be a whole number of retries, 0 or more, not '-1'"),
        ("retries: {count: 2, backof: 2s}", 7, "retries.backof: unknown field 'backof'"),
        ("retries: {count: 2, backoff: soon}", 7, "retries.backoff: backoff 'soon' is not a duration"),
        (
            "retries:\n    count: 2\n    backoff: 1m\n    max_backoff: 2s",
            10,
            "max_backoff (2 s) is shorter than backoff (60 s)",
        ),
    ],
)
def test_bad_retries_name_their_line(field: str, line: int, expected: str) -> None:
    with pytest.raises(ManifestError) as refused:
        manifest(triggers(f"- name: t\n  type: manual\n  call: p.py:f\n  {field}\n"))
    assert expected in refused.value.message and refused.value.hint
    assert refused.value.message.startswith(f"purrflow.yaml:{line}: "), refused.value.message
