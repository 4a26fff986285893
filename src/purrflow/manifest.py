"""The project manifest: `purrflow.yaml`, or AutoKitteh's `autokitteh.yaml` (same schema, v1 and v2).

Every error names the file, the line and the field (`purrflow.yaml:12: project.triggers[1].call: …`)
and, where we know one, a fix. Lines come from the YAML node tree, which is also what we read values
from, so a value and the line we blame for it can never disagree.

Rules worth knowing (AutoKitteh's, unless marked otherwise):

- `version` is v1 or v2 (missing means v1); both read the same way except for `is_durable`'s default.
- A var's value is the scalar exactly as written, as AutoKitteh's Go loader reads it into a string:
  `3` → "3", `1.50` → "1.50", `true` → "true", `yes` → "yes", `010` → "010"; null or missing → "".
  (Python's YAML would have turned `yes` into True and `010` into 8; environment variables should
  hold what the author wrote.)
- A trigger's kind comes from `type: webhook` (or AutoKitteh's `webhook: {}`), `schedule: …` or
  `connection: …`; `type: manual` (purrflow's) is a trigger that is only started by hand.
- `is_durable` defaults to true, except in a v2 manifest named autokitteh.y(a)ml, where AutoKitteh's
  default of false applies.
- Trigger and connection names become environment variable prefixes (`<trigger>__webhook_url`,
  `<connection>__<field>`), so they must be identifiers.
- Schedules: 5-field cron, `@every <duration>` or one of the macros (`@daily`, …).
"""

from __future__ import annotations

import ast
import difflib
import keyword
import re
from pathlib import Path, PurePosixPath
from typing import Literal, cast
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict

from purrflow.cron import EXAMPLES as CRON_EXAMPLES
from purrflow.cron import Schedule, parse_duration
from purrflow.errors import FilterError, InvalidInputError, ManifestError
from purrflow.filters import Filter
from purrflow.opsyml import OPS_NAMES, OPS_PREFIX, OpsFile, find_ops_file, is_ops_call, parse_ops_file
from purrflow.wire.retries import DEFAULT_MAX_BACKOFF
from purrflow.yaml_nodes import NodePath, YamlReader, compose_yaml, describe, dotted, is_null

__all__ = [
    "MANIFEST_NAMES",
    "ConnectionSpec",
    "Manifest",
    "ProjectSpec",
    "TriggerKind",
    "TriggerSpec",
    "VarSpec",
    "check_project_files",
    "defined_names",
    "find_manifest",
    "load_manifest",
    "parse_entrypoint",
    "parse_manifest",
    "project_name_for",
]

MANIFEST_NAMES = ("purrflow.yaml", "purrflow.yml", "autokitteh.yaml", "autokitteh.yml")
TriggerKind = Literal["webhook", "schedule", "connection", "manual"]

_KINDS: tuple[TriggerKind, ...] = ("webhook", "schedule", "connection", "manual")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VAR_NAME = re.compile(r"[A-Za-z0-9_]+")  # AutoKitteh's `^\w+$`
_PROJECT_NAME = re.compile(r"[A-Za-z0-9_-]+")
_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
_LOC_HINT = "write it as file.py:function, e.g. program.py:on_event"
_UTC = ZoneInfo("UTC")  # a schedule's validity does not depend on its zone
_IDENT_RULE = "start with a letter or '_', then letters, digits and '_' (it becomes part of environment variable names)"


# -- the model ------------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VarSpec(_Frozen):
    name: str
    value: str = ""
    secret: bool = False
    description: str = ""


class ConnectionSpec(_Frozen):
    name: str
    integration: str


class RetrySpec(_Frozen):
    """A trigger's `retries`: how its sessions' activities that set no `retries=` of their own are tried
    again. `count` counts retries after the first attempt; the wait before retry k is `backoff * 2**(k-1)`
    seconds, at most `max_backoff`."""

    count: int
    backoff: float = 1.0
    max_backoff: float = DEFAULT_MAX_BACKOFF


class TriggerSpec(_Frozen):
    """One trigger. `line` is where it starts in the manifest, `call_line` where its `call` is."""

    name: str
    kind: TriggerKind
    event_type: str | None = None
    filter: str = ""
    call: str | None = None
    is_sync: bool = False
    is_durable: bool = True
    schedule: str | None = None
    connection: str | None = None
    #: Seconds its sessions may run outside waits before they end in error (None: the server's limit).
    timeout: float | None = None
    #: How many of its sessions may be under way at once; later ones queue (None: no limit of its own).
    concurrency: int | None = None
    #: How its sessions' activities are retried unless they say otherwise (None: they are not).
    retries: RetrySpec | None = None
    line: int = 0
    call_line: int = 0


class ProjectSpec(_Frozen):
    name: str
    vars: list[VarSpec] = []
    connections: list[ConnectionSpec] = []
    triggers: list[TriggerSpec] = []
    #: Seconds its ended sessions are kept before they are deleted, instead of the server's `--retention`.
    retention: float | None = None


class Manifest(_Frozen):
    version: Literal["v1", "v2"] = "v1"
    project: ProjectSpec
    filename: str = "purrflow.yaml"


# -- public functions -----------------------------------------------------------------------------


def find_manifest(project_dir: Path) -> Path:
    """The project's manifest file, trying MANIFEST_NAMES in order (purrflow's names win), then ops.yml."""
    if not project_dir.is_dir():
        raise ManifestError(f"{project_dir} is not a folder", hint="give the project's folder")
    for name in MANIFEST_NAMES:
        if (project_dir / name).is_file():
            return project_dir / name
    ops = find_ops_file(project_dir)
    if ops is not None:
        return ops
    raise ManifestError(
        f"{project_dir} has no manifest (looked for {', '.join(MANIFEST_NAMES + OPS_NAMES)})",
        hint=f"create one of: {', '.join(MANIFEST_NAMES)} (see the README for its fields), or a CTO.ai ops.yml",
    )


def load_manifest(project_dir: Path, name: str | None = None) -> Manifest:
    """Find, parse and check a project's manifest against the project's files.

    An `ops.yml` adds its commands and pipelines as manual triggers; a project with only an ops.yml
    takes its name from `name` (ops.yml has none: the CLI passes the folder's name).
    """
    path = find_manifest(project_dir)
    ops_path = find_ops_file(project_dir)
    if path == ops_path:
        if not name:
            raise ManifestError(
                f"{path.name} does not name the project",
                hint="deploy with a name (purr deploy DIR --name NAME), or add a purrflow.yaml with project.name",
            )
        if not _PROJECT_NAME.fullmatch(name):
            raise ManifestError(f"{name!r} is not a valid project name", hint="use letters, digits, '_' and '-'")
        manifest = Manifest(project=ProjectSpec(name=name), filename=path.name)
    else:
        manifest = parse_manifest(_read_text(path), path.name)
    ops = parse_ops_file(_read_text(ops_path), ops_path.name) if ops_path is not None else None
    _check_ops_calls(manifest, ops)
    if ops is not None:
        manifest = _with_ops_triggers(manifest, ops)
    check_project_files(manifest, project_dir)
    return manifest


def project_name_for(folder: Path) -> str | None:
    """The name to deploy `folder` under when its manifest cannot say (an ops.yml alone): the folder's."""
    if find_manifest(folder).name not in OPS_NAMES:
        return None
    return re.sub(r"[^A-Za-z0-9_-]+", "-", folder.resolve().name).strip("-") or "ops"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ManifestError(f"{path.name}: not UTF-8 text (byte {err.start})", hint="save it as UTF-8") from None


def _check_ops_calls(manifest: Manifest, ops: OpsFile | None) -> None:
    """A trigger of the manifest may call an ops.yml command or pipeline (`call: ops:release`), say to run
    it from a Slack slash command: it must name one the project's ops.yml has."""
    for index, trigger in enumerate(manifest.project.triggers):
        if trigger.call is None or not is_ops_call(trigger.call):
            continue
        name = trigger.call.removeprefix(OPS_PREFIX)
        where = f"{manifest.filename}:{trigger.call_line}: project.triggers[{index}].call: {trigger.call!r}"
        if ops is None:
            raise ManifestError(f"{where} — the project has no ops.yml", hint="add the ops.yml that defines it")
        if name not in ops.workflows:
            known = ", ".join(sorted(ops.workflows)) or "none"
            raise ManifestError(
                f"{where} — {ops.filename} has no command or pipeline {name!r}", hint=f"it has: {known}"
            )


def _with_ops_triggers(manifest: Manifest, ops: OpsFile) -> Manifest:
    """Every ops.yml command and pipeline as a manual trigger calling `ops:<name>`."""
    taken = {trigger.name: trigger for trigger in manifest.project.triggers}
    triggers = list(manifest.project.triggers)
    for workflow in ops.workflows.values():
        if workflow.name in taken:
            raise ManifestError(
                f"{ops.filename}:{workflow.line}: {workflow.kind} {workflow.name!r} has the name of a trigger in "
                f"{manifest.filename} (line {taken[workflow.name].line})",
                hint="rename one of them",
            )
        call = f"{OPS_PREFIX}{workflow.name}"
        triggers.append(
            TriggerSpec(name=workflow.name, kind="manual", call=call, line=workflow.line, call_line=workflow.line)
        )
    project = manifest.project.model_copy(update={"triggers": triggers})
    return manifest.model_copy(update={"project": project})


def parse_manifest(text: str, filename: str) -> Manifest:
    """Parse and validate manifest text; `filename` names it in errors and decides `is_durable`'s default."""
    root = compose_yaml(text, filename)
    reader = YamlReader(filename)
    if root is None or is_null(root):
        raise reader.error((), "the manifest is empty", hint="start with `version: v1` and a `project:` with a name")
    return _manifest(reader, root)


def parse_entrypoint(loc: str) -> tuple[str, str]:
    """Split `file.py:function` into its parts, refusing paths that could leave the project folder."""
    if not isinstance(loc, str) or loc.count(":") != 1:
        raise InvalidInputError(f"{loc!r} is not a code location", hint=_LOC_HINT)
    file, function = loc.split(":")
    if not file.endswith(".py") or file == ".py":
        raise InvalidInputError(f"{loc!r}: {file!r} is not a Python file", hint=_LOC_HINT)
    if not function.isidentifier() or keyword.iskeyword(function):
        raise InvalidInputError(f"{loc!r}: {function!r} is not a function name", hint=_LOC_HINT)
    path = PurePosixPath(file)
    if "\\" in file or path.is_absolute() or ".." in path.parts:
        raise InvalidInputError(
            f"{loc!r} points outside the project",
            hint="use a path relative to the project folder, e.g. lib/jobs.py:run",
        )
    return file, function


def check_project_files(manifest: Manifest, project_dir: Path) -> None:
    """Every trigger's `call` must name a function defined at the top of a Python file of the project.

    Files are parsed with `ast`, never imported: loading a manifest must not run the project's code.
    """
    root = project_dir.resolve()
    names: dict[Path, set[str]] = {}
    for index, trigger in enumerate(manifest.project.triggers):
        if trigger.call is None or is_ops_call(trigger.call):
            continue
        where = f"{manifest.filename}:{trigger.call_line}: project.triggers[{index}].call: {trigger.call!r}"
        try:
            file, function = parse_entrypoint(trigger.call)
        except InvalidInputError as err:
            raise ManifestError(f"{where} — {err.message}", hint=err.hint) from None
        path = (root / file).resolve()
        if not path.is_relative_to(root):
            raise ManifestError(f"{where} — {file} leads outside the project (through a link)")
        if not path.is_file():
            raise ManifestError(f"{where} — the project has no file {file!r}", hint=f"create {file}, or fix the path")
        if path not in names:
            names[path] = _names_in(path, file, where)
        if function not in names[path]:
            close = difflib.get_close_matches(function, sorted(names[path]), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"define `def {function}(event):` in {file}"
            raise ManifestError(f"{where} — {file} defines no function {function!r}", hint=hint)


def defined_names(path: Path) -> set[str]:
    """Names a Python file binds at its top level (functions, classes, assignments, imports), via `ast`.

    Bindings inside top-level `if`, `try` and `with` blocks count (`try: import x except …: def x…`).
    Raises SyntaxError (or ValueError for NUL bytes) when the file does not parse.
    """
    tree = ast.parse(path.read_bytes(), str(path))
    names: set[str] = set()
    _collect_names(tree.body, names)
    return names


def _collect_names(body: list[ast.stmt], names: set[str]) -> None:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.If | ast.With | ast.AsyncWith):
            _collect_names(node.body, names)
            _collect_names(getattr(node, "orelse", []), names)
        elif isinstance(node, ast.Try | ast.TryStar):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                _collect_names(block, names)


def _names_in(path: Path, file: str, where: str) -> set[str]:
    try:
        return defined_names(path)
    except SyntaxError as err:
        raise ManifestError(f"{where} — {file}:{err.lineno}: the file does not parse: {err.msg}") from None
    except ValueError as err:
        raise ManifestError(f"{where} — {file} does not parse: {err}") from None


# -- the manifest's sections ----------------------------------------------------------------------


def _manifest(reader: YamlReader, root: yaml.Node) -> Manifest:
    top = reader.mapping(root, (), ("version", "project"))
    version = reader.text(top.get("version"), ("version",)) or "v1"
    if version not in ("v1", "v2"):
        raise reader.error(("version",), f"unsupported version {version!r}", hint="use version: v1 (or v2)")
    if "project" not in top:
        raise reader.error((), "the manifest has no `project:` section", hint="add `project:` with at least a name")
    durable = not (Path(reader.filename).name in ("autokitteh.yaml", "autokitteh.yml") and version == "v2")
    project = _project(reader, top["project"], durable)
    return Manifest(version=cast(Literal["v1", "v2"], version), project=project, filename=reader.filename)


def _project(reader: YamlReader, node: yaml.Node, durable: bool) -> ProjectSpec:
    path: NodePath = ("project",)
    fields = reader.mapping(node, path, ("name", "vars", "connections", "triggers", "retention"))
    name = reader.name(fields.get("name"), (*path, "name"), _PROJECT_NAME, "use letters, digits, '_' and '-'")
    variables = [_var(reader, item, (*path, "vars", i)) for i, item in _items(reader, fields, path, "vars")]
    _unique(reader, [v.name for v in variables], (*path, "vars"))
    connections = [
        _connection(reader, item, (*path, "connections", i)) for i, item in _items(reader, fields, path, "connections")
    ]
    _unique(reader, [c.name for c in connections], (*path, "connections"))
    known = tuple(c.name for c in connections)
    triggers = [
        _trigger(reader, item, (*path, "triggers", i), known, durable)
        for i, item in _items(reader, fields, path, "triggers")
    ]
    _unique(reader, [t.name for t in triggers], (*path, "triggers"))
    retention = _duration(reader, fields.get("retention"), (*path, "retention"))
    return ProjectSpec(name=name, vars=variables, connections=connections, triggers=triggers, retention=retention)


def _items(reader: YamlReader, fields: dict[str, yaml.Node], path: NodePath, key: str) -> list[tuple[int, yaml.Node]]:
    return list(enumerate(reader.sequence(fields.get(key), (*path, key))))


def _unique(reader: YamlReader, names: list[str], path: NodePath) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            first = names.index(name)
            raise reader.error(
                (*path, index, "name"),
                f"duplicate name {name!r}",
                hint=f"{dotted((*path, first))} (line {reader.line((*path, first))}) already has it",
            )
        seen.add(name)


def _var(reader: YamlReader, node: yaml.Node, path: NodePath) -> VarSpec:
    fields = reader.mapping(node, path, ("name", "value", "secret", "description"))
    name = reader.name(fields.get("name"), (*path, "name"), _VAR_NAME, "use letters, digits and '_'")
    if "value" in fields and not isinstance(fields["value"], yaml.ScalarNode):
        found = describe(fields["value"])
        raise reader.error((*path, "value"), f"a var's value must be a string, number or boolean, not {found}")
    value = reader.text(fields.get("value"), (*path, "value"))
    return VarSpec(
        name=name,
        value=value or "",
        secret=bool(reader.flag(fields.get("secret"), (*path, "secret"))),
        description=reader.text(fields.get("description"), (*path, "description")) or "",
    )


def _connection(reader: YamlReader, node: yaml.Node, path: NodePath) -> ConnectionSpec:
    fields = reader.mapping(node, path, ("name", "integration"))
    name = reader.name(fields.get("name"), (*path, "name"), _IDENT, _IDENT_RULE)
    integration = reader.text(fields.get("integration"), (*path, "integration"))
    if not integration:
        raise reader.error((*path, "integration"), "every connection names its integration (e.g. slack, github)")
    return ConnectionSpec(name=name, integration=integration)


_TRIGGER_FIELDS = (
    "name",
    "type",
    "webhook",
    "schedule",
    "connection",
    "event_type",
    "filter",
    "call",
    "is_sync",
    "is_durable",
    "timeout",
    "concurrency",
    "retries",
)
_RETRY_FIELDS = ("count", "backoff", "max_backoff")


def _trigger(
    reader: YamlReader, node: yaml.Node, path: NodePath, connections: tuple[str, ...], durable: bool
) -> TriggerSpec:
    fields = reader.mapping(node, path, _TRIGGER_FIELDS)
    name = reader.name(fields.get("name"), (*path, "name"), _IDENT, _IDENT_RULE)
    kind = _trigger_kind(reader, fields, path, name)
    schedule = _schedule(reader, fields.get("schedule"), (*path, "schedule")) if kind == "schedule" else None
    connection = _connection_ref(reader, fields, path, connections) if kind == "connection" else None
    call = _call(reader, fields.get("call"), (*path, "call"))
    if kind == "manual":
        _check_manual(reader, fields, path, call)
    is_sync = bool(reader.flag(fields.get("is_sync"), (*path, "is_sync")))
    if is_sync and kind != "webhook":
        raise reader.error(
            (*path, "is_sync"), f"only webhook triggers can be synchronous; this one is a {kind} trigger"
        )
    is_durable = reader.flag(fields.get("is_durable"), (*path, "is_durable"))
    return TriggerSpec(
        name=name,
        kind=kind,
        event_type=_event_type(reader, fields.get("event_type"), (*path, "event_type"), kind),
        filter=_filter(reader, fields.get("filter"), (*path, "filter"), name),
        call=call,
        is_sync=is_sync,
        is_durable=durable if is_durable is None else is_durable,
        schedule=schedule,
        connection=connection,
        timeout=_duration(reader, fields.get("timeout"), (*path, "timeout")),
        concurrency=_concurrency(reader, fields.get("concurrency"), (*path, "concurrency")),
        retries=_retries(reader, fields.get("retries"), (*path, "retries")),
        line=reader.line(path),
        call_line=reader.line((*path, "call")),
    )


def _duration(reader: YamlReader, node: yaml.Node | None, path: NodePath) -> float | None:
    """A field that is a duration (`timeout: 10m`, `retention: 30d`), named by the last part of its path."""
    value = reader.text(node, path)
    if value is None:
        return None
    try:
        return parse_duration(value, str(path[-1]))
    except InvalidInputError as err:
        raise reader.error(path, err.message, hint=err.hint) from None


def _retries(reader: YamlReader, node: yaml.Node | None, path: NodePath) -> RetrySpec | None:
    if node is None or is_null(node):
        return None
    if not isinstance(node, yaml.MappingNode):
        raise reader.error(
            path, f"retries is a mapping, not {describe(node)}", hint="e.g. retries: {count: 3, backoff: 2s}"
        )
    fields = reader.mapping(node, path, _RETRY_FIELDS)
    count = reader.text(fields.get("count"), (*path, "count"))
    if count is None:
        raise reader.error(path, "retries needs a count", hint="e.g. retries: {count: 3, backoff: 2s}")
    if not (count.isascii() and count.isdigit()):
        raise reader.error(
            (*path, "count"),
            f"count must be a whole number of retries, 0 or more, not {count!r}",
            hint="count: 3 runs an activity at most 4 times",
        )
    backoff = _seconds(reader, fields.get("backoff"), (*path, "backoff"), 1.0)
    max_backoff = _seconds(reader, fields.get("max_backoff"), (*path, "max_backoff"), max(backoff, DEFAULT_MAX_BACKOFF))
    if max_backoff < backoff:
        raise reader.error(
            (*path, "max_backoff"),
            f"max_backoff ({max_backoff:g} s) is shorter than backoff ({backoff:g} s)",
            hint="make max_backoff at least as long as backoff, or leave it out",
        )
    return RetrySpec(count=int(count), backoff=backoff, max_backoff=max_backoff)


def _seconds(reader: YamlReader, node: yaml.Node | None, path: NodePath, default: float) -> float:
    value = reader.text(node, path)
    if value is None:
        return default
    try:
        return parse_duration(value, path[-1] if isinstance(path[-1], str) else "duration")
    except InvalidInputError as err:
        raise reader.error(path, err.message, hint=err.hint) from None


def _concurrency(reader: YamlReader, node: yaml.Node | None, path: NodePath) -> int | None:
    value = reader.text(node, path)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise reader.error(
            path, f"concurrency must be a whole number of at least 1, not {value!r}", hint="e.g. concurrency: 1"
        )
    return int(value)


def _trigger_kind(reader: YamlReader, fields: dict[str, yaml.Node], path: NodePath, name: str) -> TriggerKind:
    """The kind a trigger declares (`type:`) or implies (`webhook:`, `schedule:`, `connection:`); they must agree."""
    markers = [key for key in ("webhook", "schedule", "connection") if key in fields]
    if len(markers) > 1:
        raise reader.error(
            (*path, markers[1]), f"a trigger has one kind, and this one sets both `{markers[0]}` and `{markers[1]}`"
        )
    if "webhook" in fields:
        webhook = fields["webhook"]
        if not (is_null(webhook) or (isinstance(webhook, yaml.MappingNode) and not webhook.value)):
            raise reader.error((*path, "webhook"), "write `webhook: {}` (it takes no settings), or `type: webhook`")
    implied = cast(TriggerKind, markers[0]) if markers else None
    declared = reader.text(fields.get("type"), (*path, "type"))
    if declared is not None and declared not in _KINDS:
        close = difflib.get_close_matches(declared, _KINDS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of: {', '.join(_KINDS)}"
        raise reader.error((*path, "type"), f"unknown trigger type {declared!r}", hint=hint)
    if declared is not None and implied is not None and declared != implied:
        raise reader.error((*path, "type"), f"type {declared!r} does not fit a trigger with `{markers[0]}:`")
    if declared in ("schedule", "connection") and implied is None:
        raise reader.error((*path, declared), f"a {declared} trigger needs `{declared}:`", hint=_kind_hint(declared))
    kind = implied or declared
    if kind is None:
        raise reader.error((*path, "type"), f"trigger {name!r} has no kind", hint=_kind_hint(None))
    return kind


def _kind_hint(kind: str | None) -> str:
    examples = {
        "webhook": "`type: webhook`",
        "schedule": CRON_EXAMPLES,
        "connection": "`connection: <the name of a connection in project.connections>`",
    }
    if kind in examples:
        return f"add {examples[kind]}"
    return f"add {examples['webhook']}, {examples['schedule']} or {examples['connection']}"


def _connection_ref(reader: YamlReader, fields: dict[str, yaml.Node], path: NodePath, known: tuple[str, ...]) -> str:
    value = reader.text(fields.get("connection"), (*path, "connection"))
    if value in known:
        return value
    close = difflib.get_close_matches(value or "", known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "declare it under project.connections (name and integration)"
    raise reader.error((*path, "connection"), f"no connection named {value!r} is declared", hint=hint)


def _check_manual(reader: YamlReader, fields: dict[str, yaml.Node], path: NodePath, call: str | None) -> None:
    if call is None:
        raise reader.error((*path, "call"), "a manual trigger needs `call:` (it has nothing else to do)")
    for key in ("event_type", "filter"):
        if key in fields:
            raise reader.error((*path, key), f"a manual trigger takes no {key}: it is only started by hand")


def _event_type(reader: YamlReader, node: yaml.Node | None, path: NodePath, kind: TriggerKind) -> str | None:
    """Webhooks: a lower-case HTTP method (upper case is accepted); schedules: only "tick"."""
    value = reader.text(node, path)
    if not value:
        return None
    if kind == "webhook":
        method = value.lower()
        if method not in _METHODS:
            hint = f"use one of {', '.join(_METHODS)}, or leave event_type out to accept every method"
            raise reader.error(path, f"{value!r} is not an HTTP method", hint=hint)
        return method
    if kind == "schedule" and value != "tick":
        raise reader.error(path, f"schedule triggers fire 'tick' events, never {value!r}", hint="leave event_type out")
    return value


def _filter(reader: YamlReader, node: yaml.Node | None, path: NodePath, trigger: str) -> str:
    """A CEL expression, compiled now so a broken one is refused with its position."""
    expression = (reader.text(node, path) or "").strip()
    try:
        Filter.compile(expression, where=f"trigger {trigger}")
    except FilterError as err:
        raise reader.error(
            path, _filter_problem(err), hint=err.hint, line=_filter_line(reader, node, path, err)
        ) from None
    return expression


def _filter_problem(err: FilterError) -> str:
    shown = repr(err.expression) if len(err.expression) <= 120 else f"{err.expression[:100]!r}…"
    if err.line is None:
        return f"invalid CEL filter {shown}: {err.problem}"
    at = f"column {err.column}" if "\n" not in err.expression else f"line {err.line}, column {err.column}"
    return f"invalid CEL filter {shown} at {at}: {err.problem}"


def _filter_line(reader: YamlReader, node: yaml.Node | None, path: NodePath, err: FilterError) -> int:
    """The file line of the problem: exact for a literal block (`filter: |`), else the filter's own line."""
    if isinstance(node, yaml.ScalarNode) and node.style == "|" and err.line is not None:
        return int(node.start_mark.line) + 1 + err.line
    return reader.line(path)


def _call(reader: YamlReader, node: yaml.Node | None, path: NodePath) -> str | None:
    value = reader.text(node, path)
    if value is None:
        return None
    if is_ops_call(value):  # an ops.yml command or pipeline: checked once the ops.yml is read
        return value
    try:
        parse_entrypoint(value)
    except InvalidInputError as err:
        raise reader.error(path, err.message, hint=err.hint) from None
    return value


# -- schedules ------------------------------------------------------------------------------------


def _schedule(reader: YamlReader, node: yaml.Node | None, path: NodePath) -> str:
    """A schedule the scheduler will run (the scheduler parses it the same way: `purrflow.cron`)."""
    value = (reader.text(node, path) or "").strip()
    try:
        Schedule.parse(value, _UTC)
    except InvalidInputError as err:
        raise reader.error(path, err.message, hint=err.hint) from None
    return value
