"""`ops.yml`: CTO.ai's workflow file — commands and pipelines that run as purrflow sessions.

A command's `run` is a shell line started in the project folder with the SDK daemon's environment, so
programs written for CTO.ai (the `cto-ai` package, or any client of the daemon protocol) run unmodified.
A pipeline's jobs run in order, each job's `steps` as one `bash` script under `set -euo pipefail`.
No Docker is involved: `image`, `packages`, `mountCwd` and the like are read and ignored (the project
folder is the working directory, `/ops/...` paths — where CTO.ai's images copy the project — point into
it, and the machine's tools are what the steps use).

Each command and pipeline becomes a manual trigger of the project whose `call` is `ops:<name>`
(a pipeline's job is `ops:<pipeline>/<job>`), started by `purr sessions start`, `purr run DIR NAME`,
or `sdk.start(NAME)` from another workflow of the team.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import yaml

from purrflow.errors import InvalidInputError
from purrflow.yaml_nodes import NodePath, YamlReader, compose_yaml, is_null

OPS_NAMES = ("ops.yml", "ops.yaml")
OPS_PREFIX = "ops:"
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_VERSION = re.compile(r"[\w][\w.-]{0,127}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_RULE = "use letters, digits, '-' and '_' (optionally followed by :version, e.g. deploy:0.1.0)"
#: Fields CTO.ai's tools accept that have no meaning without containers; read and ignored.
_CONTAINER_FIELDS = (
    "image", "packages", "mountCwd", "mountHome", "bind", "port", "network", "domain", "sdk", "public",
    "remote", "sourceCodeURL", "help", "events", "trigger", "src",
)  # fmt: skip
_COMMAND_FIELDS = ("name", "version", "description", "run", "env", *_CONTAINER_FIELDS)
_PIPELINE_FIELDS = ("name", "version", "description", "env", "jobs", *_CONTAINER_FIELDS)
_JOB_FIELDS = ("name", "description", "steps", "env", "packages", "bind", "sdk")


@dataclass(frozen=True)
class OpsEnv:
    """Environment of a workflow: fixed values, and names resolved from the team's stores at run time."""

    static: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    configs: tuple[str, ...] = ()

    def merged(self, inner: OpsEnv) -> OpsEnv:
        """A job's environment on top of its pipeline's."""
        return OpsEnv(
            static={**self.static, **inner.static},
            secrets=tuple(dict.fromkeys(self.secrets + inner.secrets)),
            configs=tuple(dict.fromkeys(self.configs + inner.configs)),
        )


@dataclass(frozen=True)
class OpsJob:
    name: str
    description: str
    steps: tuple[str, ...]
    env: OpsEnv

    @property
    def script(self) -> str:
        return "set -euo pipefail\n" + "\n".join(self.steps) + "\n"


@dataclass(frozen=True)
class OpsWorkflow:
    """A command (`run`) or a pipeline (`jobs`)."""

    kind: Literal["command", "pipeline"]
    name: str
    version: str
    description: str
    env: OpsEnv
    run: str = ""
    jobs: tuple[OpsJob, ...] = ()
    line: int = 0

    def job(self, name: str) -> OpsJob:
        for job in self.jobs:
            if job.name == name:
                return job
        raise InvalidInputError(
            f"pipeline {self.name!r} has no job {name!r}",
            hint=f"its jobs are: {', '.join(j.name for j in self.jobs)}",
        )


@dataclass(frozen=True)
class OpsFile:
    filename: str
    workflows: dict[str, OpsWorkflow]

    def get(self, name: str) -> OpsWorkflow:
        workflow = self.workflows.get(name)
        if workflow is None:
            raise InvalidInputError(
                f"{self.filename} has no command or pipeline named {name!r}",
                hint=f"it has: {', '.join(self.workflows) or 'none'}",
            )
        return workflow


@dataclass(frozen=True)
class OpsTarget:
    """What an `ops:` call names: a workflow, or one job of a pipeline."""

    workflow: str
    job: str | None = None


def find_ops_file(project_dir: Path) -> Path | None:
    for name in OPS_NAMES:
        if (project_dir / name).is_file():
            return project_dir / name
    return None


def load_ops_file(project_dir: Path) -> OpsFile:
    path = find_ops_file(project_dir)
    if path is None:
        raise InvalidInputError(f"{project_dir} has no {' or '.join(OPS_NAMES)}")
    return parse_ops_file(path.read_text(encoding="utf-8"), path.name)


#: `/ops` as a path of its own, or at the start of one: not `/opsx`, not `a/ops/b`, not `http://h/ops/`.
_OPS_PATH = re.compile(r"(?<![\w./:~-])/ops(?=/|$|[\s'\";:,)|&>])")
#: Where CTO.ai's images copy the project (and make it the working directory).
OPS_FOLDER = "/ops"


def resolve_ops_paths(text: str, project_dir: Path) -> str:
    """`text` with every path under `/ops/` (and `/ops` itself) pointed at the project folder.

    CTO.ai's images copy the project to /ops, so real workflows say `run: python3 /ops/main.py` and pass
    `/ops/...` paths as arguments. Without Docker the project is its folder, wherever that is. Only
    whole paths are rewritten: a `/ops` preceded by a word, a dot, a slash or a colon (`./ops`,
    `a/ops`, `http://host/ops/x`) is a different path and stays as it is.
    """
    folder = str(project_dir).rstrip("/") or "/"
    return _OPS_PATH.sub(lambda _: folder, text)


def is_ops_call(loc: str) -> bool:
    return isinstance(loc, str) and loc.startswith(OPS_PREFIX)


def parse_ops_call(loc: str) -> OpsTarget:
    """`ops:deploy` or `ops:release/build` (a pipeline's job)."""
    rest = loc.removeprefix(OPS_PREFIX)
    workflow, _, job = rest.partition("/")
    if not _NAME.fullmatch(workflow) or (job and not _NAME.fullmatch(job)):
        raise InvalidInputError(
            f"{loc!r} names no ops.yml workflow", hint="write ops:<command or pipeline>, or ops:<pipeline>/<job>"
        )
    return OpsTarget(workflow, job or None)


def check_ops_call(project_dir: Path, loc: str) -> OpsTarget:
    """`loc` must name a command, pipeline or pipeline job of the project's ops.yml."""
    target = parse_ops_call(loc)
    workflow = load_ops_file(project_dir).get(target.workflow)
    if target.job is not None:
        if workflow.kind != "pipeline":
            raise InvalidInputError(f"{loc!r}: {target.workflow!r} is a command, not a pipeline with jobs")
        workflow.job(target.job)
    return target


def parse_ops_file(text: str, filename: str = "ops.yml") -> OpsFile:
    """Parse and check an ops.yml; errors name the file, line and field."""
    root = compose_yaml(text, filename)
    reader = YamlReader(filename)
    if root is None or is_null(root):
        raise reader.error((), "the file is empty", hint='add `version: "1"` and a `commands:` list')
    top = reader.mapping(root, (), ("version", "commands", "ops", "pipelines", "services", "workflows"))
    for unsupported in ("services", "workflows"):
        if unsupported in top and reader.sequence(top[unsupported], (unsupported,)):
            raise reader.error(
                (unsupported,),
                f"{unsupported} are not supported",
                hint="purrflow runs commands and pipelines; run a long-lived service elsewhere",
            )
    workflows: dict[str, OpsWorkflow] = {}
    commands = [("commands", item) for item in _indexed(reader, top, "commands")]
    commands += [("ops", item) for item in _indexed(reader, top, "ops")]  # the legacy name of `commands`
    for section, (index, node) in commands:
        _add(reader, workflows, _command(reader, node, (section, index)), (section, index))
    for index, node in _indexed(reader, top, "pipelines"):
        _add(reader, workflows, _pipeline(reader, node, ("pipelines", index)), ("pipelines", index))
    if not workflows:
        raise reader.error((), "there are no commands or pipelines", hint="add a `commands:` list with a name and run")
    return OpsFile(filename=filename, workflows=workflows)


def _indexed(reader: YamlReader, top: dict[str, yaml.Node], key: str) -> list[tuple[int, yaml.Node]]:
    return list(enumerate(reader.sequence(top.get(key), (key,))))


def _add(reader: YamlReader, workflows: dict[str, OpsWorkflow], workflow: OpsWorkflow, path: NodePath) -> None:
    if workflow.name in workflows:
        raise reader.error(
            (*path, "name"),
            f"duplicate name {workflow.name!r}",
            hint=f"line {workflows[workflow.name].line} already has it; commands and pipelines share names",
        )
    workflows[workflow.name] = workflow


def _name_and_version(reader: YamlReader, fields: dict[str, yaml.Node], path: NodePath) -> tuple[str, str]:
    raw = reader.text(fields.get("name"), (*path, "name"))
    if not raw:
        raise reader.error((*path, "name"), "a name is required")
    name, _, version = raw.partition(":")
    version = version or reader.text(fields.get("version"), (*path, "version")) or "0.1.0"
    if not _NAME.fullmatch(name):
        raise reader.error((*path, "name"), f"{raw!r} is not a valid name: {_NAME_RULE}")
    if not _VERSION.fullmatch(version):
        raise reader.error((*path, "name"), f"{version!r} is not a valid version", hint="e.g. 0.1.0")
    return name, version


def _workflow(
    reader: YamlReader, fields: dict[str, yaml.Node], path: NodePath, kind: Literal["command", "pipeline"]
) -> OpsWorkflow:
    """What commands and pipelines have in common (the rest is filled in by `_command`/`_pipeline`)."""
    name, version = _name_and_version(reader, fields, path)
    return OpsWorkflow(
        kind=kind,
        name=name,
        version=version,
        description=reader.text(fields.get("description"), (*path, "description")) or "",
        env=_env(reader, fields.get("env"), (*path, "env")),
        line=reader.line(path),
    )


def _command(reader: YamlReader, node: yaml.Node, path: NodePath) -> OpsWorkflow:
    fields = reader.mapping(node, path, _COMMAND_FIELDS)
    workflow = _workflow(reader, fields, path, "command")
    run = reader.text(fields.get("run"), (*path, "run"))
    if not run or not run.strip():
        raise reader.error((*path, "run"), f"command {workflow.name!r} has no `run`", hint="e.g. run: python3 main.py")
    return replace(workflow, run=run)


def _pipeline(reader: YamlReader, node: yaml.Node, path: NodePath) -> OpsWorkflow:
    fields = reader.mapping(node, path, _PIPELINE_FIELDS)
    workflow = _workflow(reader, fields, path, "pipeline")
    name = workflow.name
    jobs: list[OpsJob] = []
    for index, item in enumerate(reader.sequence(fields.get("jobs"), (*path, "jobs"))):
        jobs.append(_job(reader, item, (*path, "jobs", index)))
        if [j.name for j in jobs].count(jobs[-1].name) > 1:
            raise reader.error((*path, "jobs", index, "name"), f"duplicate job name {jobs[-1].name!r}")
    if not jobs:
        raise reader.error((*path, "jobs"), f"pipeline {name!r} has no jobs", hint="add jobs with name and steps")
    return replace(workflow, jobs=tuple(jobs))


def _job(reader: YamlReader, node: yaml.Node, path: NodePath) -> OpsJob:
    fields = reader.mapping(node, path, _JOB_FIELDS)
    name = reader.name(fields.get("name"), (*path, "name"), _NAME, "use letters, digits, '-' and '_'")
    steps = []
    for index, item in enumerate(reader.sequence(fields.get("steps"), (*path, "steps"))):
        step = reader.text(item, (*path, "steps", index))
        if step:
            steps.append(step)
    if not steps:
        raise reader.error((*path, "steps"), f"job {name!r} has no steps", hint="add shell lines under steps:")
    return OpsJob(
        name=name,
        description=reader.text(fields.get("description"), (*path, "description")) or "",
        steps=tuple(steps),
        env=_env(reader, fields.get("env"), (*path, "env")),
    )


def _env(reader: YamlReader, node: yaml.Node | None, path: NodePath) -> OpsEnv:
    """Both generations: a list of `KEY=VALUE` (`$VAR` from the host), or {static, secrets, configs}."""
    if node is None or is_null(node):
        return OpsEnv()
    if isinstance(node, yaml.SequenceNode):
        return OpsEnv(static=_pairs(reader, node, path))
    fields = reader.mapping(node, path, ("static", "secrets", "configs"))
    static = _pairs(reader, fields.get("static"), (*path, "static"))
    names = {}
    for key in ("secrets", "configs"):
        found = []
        for index, item in enumerate(reader.sequence(fields.get(key), (*path, key))):
            value = reader.text(item, (*path, key, index)) or ""
            if not _ENV_NAME.fullmatch(value):
                raise reader.error((*path, key, index), f"{value!r} is not a valid environment variable name")
            found.append(value)
        names[key] = tuple(found)
    return OpsEnv(static=static, secrets=names["secrets"], configs=names["configs"])


def _pairs(reader: YamlReader, node: yaml.Node | None, path: NodePath) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for index, item in enumerate(reader.sequence(node, path)):
        text = reader.text(item, (*path, index)) or ""
        key, sep, value = text.partition("=")
        if not sep or not _ENV_NAME.fullmatch(key):
            raise reader.error((*path, index), f"{text!r} is not KEY=VALUE", hint="e.g. - REGION=eu-west-1")
        pairs[key] = value  # `$VAR` is expanded when the workflow starts, from its environment
    return pairs
