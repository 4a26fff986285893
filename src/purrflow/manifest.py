"""The manifest: `purrflow.yaml` (or AutoKitteh's `autokitteh.yaml`, same schema), validated with errors
that name the file, the line and the field."""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from purrflow.engine.filters import Filter, FilterError
from purrflow.errors import InvalidInputError, ManifestError

MANIFEST_NAMES = ("purrflow.yaml", "purrflow.yml", "autokitteh.yaml", "autokitteh.yml")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_LOC = re.compile(r"^(?P<file>[^:]+\.py):(?P<func>[A-Za-z_][A-Za-z0-9_]*)$")
_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
_EVERY = re.compile(r"^@every\s+((\d+(\.\d+)?(ms|s|m|h))+)$")
_CRON_MACROS = {"@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class VarSpec(_Frozen):
    name: str
    value: str = ""
    secret: bool = False
    description: str = ""


class ConnectionSpec(_Frozen):
    name: str
    integration: str


class TriggerSpec(_Frozen):
    name: str
    kind: Literal["webhook", "schedule", "connection"]
    event_type: str | None = None
    filter: str = ""
    call: str | None = None
    is_sync: bool = False
    is_durable: bool = True
    schedule: str | None = None
    connection: str | None = None
    line: int = 0
    call_line: int = 0


class ProjectSpec(_Frozen):
    name: str
    vars: list[VarSpec] = []
    connections: list[ConnectionSpec] = []
    triggers: list[TriggerSpec] = []


class Manifest(_Frozen):
    version: str = "v1"
    project: ProjectSpec
    filename: str = "purrflow.yaml"


def parse_entrypoint(loc: str) -> tuple[str, str]:
    """Split and check `file.py:function`; the file must be a relative path inside the project."""
    match = _LOC.match(loc) if isinstance(loc, str) else None
    if match is None:
        raise InvalidInputError(
            f"{loc!r} is not a code location", hint="write it as file.py:function, e.g. program.py:on_event"
        )
    file = match["file"]
    pure = PurePosixPath(file)
    if pure.is_absolute() or ".." in pure.parts or "\\" in file:
        raise InvalidInputError(f"{loc!r} points outside the project", hint="use a path relative to the project folder")
    return file, match["func"]


def defined_names(path: Path) -> set[str]:
    """Top-level names a Python file defines (functions, classes, assignments, imports), without importing it."""
    tree = ast.parse(path.read_bytes(), str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def find_manifest(project_dir: Path) -> Path:
    for name in MANIFEST_NAMES:
        if (project_dir / name).is_file():
            return project_dir / name
    raise ManifestError(
        f"{project_dir} has no manifest", hint=f"create one of: {', '.join(MANIFEST_NAMES)} (see the README)"
    )


def load_manifest(project_dir: Path) -> Manifest:
    path = find_manifest(project_dir)
    manifest = parse_manifest(path.read_text(), path.name)
    check_project_files(manifest, project_dir)
    return manifest


def check_project_files(manifest: Manifest, project_dir: Path) -> None:
    """Every trigger's `call` must name a function defined in a file of the project."""
    for index, trigger in enumerate(manifest.project.triggers):
        if not trigger.call:
            continue
        where = f"{manifest.filename}:{trigger.call_line}: project.triggers[{index}].call"
        file, function = parse_entrypoint(trigger.call)
        path = project_dir / file
        if not path.is_file():
            raise ManifestError(f"{where}: {trigger.call!r} — the project has no file {file!r}")
        try:
            names = defined_names(path)
        except SyntaxError as err:
            raise ManifestError(f"{file}:{err.lineno}: syntax error: {err.msg}") from None
        if function not in names:
            raise ManifestError(
                f"{where}: {trigger.call!r} — {file} defines no function {function!r}",
                hint=f"define `def {function}(event):` in {file}, or fix the name",
            )


class _Located:
    """The YAML node tree, to find the line of any path in the document."""

    def __init__(self, node: yaml.Node | None) -> None:
        self.node = node

    def line(self, *path: str | int) -> int:
        node = self.node
        line = node.start_mark.line + 1 if node is not None else 1
        for key in path:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == key), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
            else:
                node = None
            if node is None:
                break
            line = node.start_mark.line + 1
        return line


def parse_manifest(text: str, filename: str) -> Manifest:
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        raise ManifestError(f"{where}: not valid YAML: {getattr(err, 'problem', err)}") from None
    return _Parser(filename, _Located(root)).manifest(raw)


class _Parser:
    def __init__(self, filename: str, located: _Located) -> None:
        self.filename = filename
        self.located = located

    def fail(self, path: tuple[str | int, ...], message: str, hint: str | None = None) -> ManifestError:
        field = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))
        return ManifestError(f"{self.filename}:{self.located.line(*path)}: {field or 'manifest'}: {message}", hint=hint)

    def mapping(self, value: Any, path: tuple[str | int, ...], allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, found {type(value).__name__}")
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                raise self.fail(
                    (*path, key), f"unknown field {key!r}", hint=f"did you mean {close[0]!r}?" if close else None
                )
        return value

    def listing(self, value: Any, path: tuple[str | int, ...]) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list, found {type(value).__name__}")
        return value

    def manifest(self, raw: Any) -> Manifest:
        top = self.mapping(raw, (), {"version", "project"})
        version = str(top.get("version") or "v1")
        if version not in ("v1", "v2"):
            raise self.fail(("version",), f"unsupported version {version!r}", hint="use v1 or v2")
        default_durable = not (self.filename.startswith("autokitteh") and version == "v2")
        if "project" not in top:
            raise self.fail((), "the manifest has no 'project' section")
        project = self.mapping(top["project"], ("project",), {"name", "vars", "connections", "triggers"})
        name = project.get("name")
        if not isinstance(name, str) or not _PROJECT_NAME.match(name):
            raise self.fail(("project", "name"), f"project name {name!r} must be letters, digits, '_' or '-'")
        variables = [
            self.var(v, ("project", "vars", i))
            for i, v in enumerate(self.listing(project.get("vars"), ("project", "vars")))
        ]
        connections = [
            self.connection(c, ("project", "connections", i))
            for i, c in enumerate(self.listing(project.get("connections"), ("project", "connections")))
        ]
        conn_names = {c.name for c in connections}
        triggers = [
            self.trigger(t, ("project", "triggers", i), conn_names, default_durable)
            for i, t in enumerate(self.listing(project.get("triggers"), ("project", "triggers")))
        ]
        named: list[tuple[str, list[str]]] = [
            ("vars", [v.name for v in variables]),
            ("connections", [c.name for c in connections]),
            ("triggers", [t.name for t in triggers]),
        ]
        for kind, names in named:
            seen: set[str] = set()
            for index, item_name in enumerate(names):
                if item_name in seen:
                    raise self.fail(("project", kind, index, "name"), f"duplicate name {item_name!r}")
                seen.add(item_name)
        return Manifest(
            version=version,
            project=ProjectSpec(name=name, vars=variables, connections=connections, triggers=triggers),
            filename=self.filename,
        )

    def var(self, raw: Any, path: tuple[str | int, ...]) -> VarSpec:
        item = self.mapping(raw, path, {"name", "value", "secret", "description"})
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise self.fail((*path, "name"), "every var needs a name")
        value = item.get("value")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif value is None:
            text = ""
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            raise self.fail(
                (*path, "value"), f"a var's value must be a string, number or boolean, not {type(value).__name__}"
            )
        return VarSpec(
            name=name, value=text, secret=bool(item.get("secret")), description=str(item.get("description") or "")
        )

    def connection(self, raw: Any, path: tuple[str | int, ...]) -> ConnectionSpec:
        item = self.mapping(raw, path, {"name", "integration"})
        name, integration = item.get("name"), item.get("integration")
        if not isinstance(name, str) or not _IDENT.match(name):
            raise self.fail((*path, "name"), f"connection name {name!r} must be an identifier (letters, digits, _)")
        if not isinstance(integration, str) or not integration:
            raise self.fail((*path, "integration"), "every connection names its integration (e.g. slack, github)")
        return ConnectionSpec(name=name, integration=integration)

    def trigger(self, raw: Any, path: tuple[str | int, ...], connections: set[str], durable: bool) -> TriggerSpec:
        allowed = {
            "name",
            "type",
            "event_type",
            "filter",
            "call",
            "is_sync",
            "is_durable",
            "schedule",
            "connection",
            "data",
        }
        item = self.mapping(raw, path, allowed)
        name = item.get("name")
        if not isinstance(name, str) or not _IDENT.match(name):
            raise self.fail((*path, "name"), f"trigger name {name!r} must be an identifier (letters, digits, _)")
        kind: str
        if item.get("schedule") is not None:
            kind = "schedule"
            self.check_schedule(item["schedule"], (*path, "schedule"))
        elif item.get("connection") is not None:
            kind = "connection"
            if item["connection"] not in connections:
                raise self.fail((*path, "connection"), f"no connection named {item['connection']!r} is declared")
        elif item.get("type") == "webhook":
            kind = "webhook"
        else:
            raise self.fail(
                (*path, "type"),
                f"trigger {name!r} has no kind",
                hint='add `type: webhook`, `schedule: "*/5 * * * *"` or `connection: <name>`',
            )
        if item.get("type") not in (None, kind):
            raise self.fail((*path, "type"), f"type {item.get('type')!r} does not fit a {kind} trigger")
        event_type = item.get("event_type")
        if event_type is not None:
            event_type = str(event_type)
            if kind == "webhook":
                event_type = event_type.lower()
                if event_type not in _METHODS:
                    raise self.fail((*path, "event_type"), f"{event_type!r} is not an HTTP method")
        expression = str(item.get("filter") or "")
        try:
            Filter.compile(expression, where="filter")
        except FilterError as err:
            raise self.fail((*path, "filter"), err.message) from None
        call = item.get("call")
        if call is not None:
            try:
                parse_entrypoint(str(call))
            except InvalidInputError as err:
                raise self.fail((*path, "call"), err.message, hint=err.hint) from None
        if item.get("is_sync") and kind != "webhook":
            raise self.fail((*path, "is_sync"), "only webhook triggers can be synchronous")
        return TriggerSpec(
            name=name,
            kind=kind,  # type: ignore[arg-type]
            event_type=event_type,
            filter=expression,
            call=str(call) if call else None,
            is_sync=bool(item.get("is_sync")),
            is_durable=bool(item.get("is_durable", durable)),
            schedule=str(item["schedule"]) if kind == "schedule" else None,
            connection=str(item["connection"]) if kind == "connection" else None,
            line=self.located.line(*path),
            call_line=self.located.line(*path, "call"),
        )

    def check_schedule(self, value: Any, path: tuple[str | int, ...]) -> None:
        text = str(value).strip()
        if text in _CRON_MACROS or _EVERY.match(text):
            return
        fields = text.split()
        if len(fields) != 5:
            raise self.fail(path, f"{text!r} has {len(fields)} fields; cron here has 5 (minute hour day month weekday)")
