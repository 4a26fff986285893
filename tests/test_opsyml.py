"""ops.yml: commands and pipelines read with CTO.ai's rules; every mistake names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from purrflow.errors import InvalidInputError, ManifestError
from purrflow.manifest import load_manifest, project_name_for
from purrflow.opsyml import OpsEnv, check_ops_call, parse_ops_call, parse_ops_file

OPS = """
version: "1"
commands:
  - name: deploy:1.2.0
    description: ship it
    run: python3 main.py --fast
    sdk: "2"
    mountCwd: true
    env:
      static:
        - REGION=eu-west-1
        - WHO=$USER
      secrets:
        - GITHUB_TOKEN
      configs:
        - CLUSTER
  - name: legacy
    description: old-style env
    run: ./legacy.sh
    env:
      - A=1
pipelines:
  - name: release
    description: two jobs
    env:
      static:
        - STAGE=prod
    jobs:
      - name: build
        description: compile
        packages: [make]
        steps:
          - make
          - make test
        env:
          static:
            - STAGE=build
          secrets:
            - NPM_TOKEN
      - name: publish
        description: push
        steps:
          - ./publish.sh
"""


def test_commands_and_pipelines_are_read_with_their_environment() -> None:
    ops = parse_ops_file(OPS)
    deploy = ops.get("deploy")
    assert (deploy.kind, deploy.version, deploy.run, deploy.line) == ("command", "1.2.0", "python3 main.py --fast", 4)
    assert deploy.env == OpsEnv(
        static={"REGION": "eu-west-1", "WHO": "$USER"}, secrets=("GITHUB_TOKEN",), configs=("CLUSTER",)
    )
    assert ops.get("legacy").env == OpsEnv(static={"A": "1"})
    release = ops.get("release")
    assert [job.name for job in release.jobs] == ["build", "publish"]
    build = release.job("build")
    assert build.script == "set -euo pipefail\nmake\nmake test\n"
    assert release.env.merged(build.env) == OpsEnv(static={"STAGE": "build"}, secrets=("NPM_TOKEN",))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "ops.yml:1: top level: the file is empty"),
        ("commands:\n  - name: x\n    description: d\n", "ops.yml:2: commands[0].run: command 'x' has no `run`"),
        ("commands:\n  - name: bad name\n    run: x\n", "'bad name' is not a valid name"),
        ("commands:\n  - name: a\n    run: x\n    rn: y\n", "ops.yml:4: commands[0].rn: unknown field 'rn'"),
        ("commands:\n  - {name: a, run: x}\n  - {name: a, run: y}\n", "commands[1].name: duplicate name 'a'"),
        ("pipelines:\n  - name: p\n    jobs: []\n", "pipeline 'p' has no jobs"),
        ("pipelines:\n  - name: p\n    jobs:\n      - name: j\n", "job 'j' has no steps"),
        ("services:\n  - name: web\n    run: x\n", "services are not supported"),
        ("commands:\n  - name: a\n    run: x\n    env:\n      static: [NOEQUALS]\n", "'NOEQUALS' is not KEY=VALUE"),
        ("commands:\n  - name: a\n    run: x\n    env:\n      secrets: [bad-name]\n", "not a valid environment"),
        ("version: '1'\n", "there are no commands or pipelines"),
    ],
)
def test_mistakes_are_named_with_their_line(text: str, message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_ops_file(text)
    assert message in caught.value.message


def test_calls_name_a_workflow_or_a_job(tmp_path: Path) -> None:
    (tmp_path / "ops.yml").write_text(OPS)
    assert check_ops_call(tmp_path, "ops:release/build").job == "build"
    assert parse_ops_call("ops:deploy").workflow == "deploy"
    for bad, message in [
        ("ops:nope", "has no command or pipeline named 'nope'"),
        ("ops:deploy/x", "'deploy' is a command, not a pipeline"),
        ("ops:release/x", "pipeline 'release' has no job 'x'"),
        ("ops:../x", "names no ops.yml workflow"),
    ]:
        with pytest.raises(InvalidInputError) as caught:
            check_ops_call(tmp_path, bad)
        assert message in caught.value.message


def test_a_project_of_only_ops_yml_is_named_by_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my tools"
    folder.mkdir()
    (folder / "ops.yml").write_text(OPS)
    assert project_name_for(folder) == "my-tools"
    with pytest.raises(ManifestError, match="does not name the project"):
        load_manifest(folder)
    manifest = load_manifest(folder, "tools")
    assert {(t.name, t.kind, t.call) for t in manifest.project.triggers} == {
        ("deploy", "manual", "ops:deploy"),
        ("legacy", "manual", "ops:legacy"),
        ("release", "manual", "ops:release"),
    }


def test_ops_yml_beside_a_manifest_adds_triggers_and_refuses_clashing_names(tmp_path: Path) -> None:
    (tmp_path / "ops.yml").write_text(OPS)
    (tmp_path / "program.py").write_text("def on(event):\n    pass\n")
    (tmp_path / "purrflow.yaml").write_text(
        "version: v1\nproject:\n  name: mixed\n  triggers:\n    - name: hook\n      type: webhook\n"
        "      call: program.py:on\n"
    )
    assert project_name_for(tmp_path) is None
    manifest = load_manifest(tmp_path)
    assert manifest.project.name == "mixed"
    assert [t.name for t in manifest.project.triggers] == ["hook", "deploy", "legacy", "release"]
    (tmp_path / "purrflow.yaml").write_text(
        "version: v1\nproject:\n  name: mixed\n  triggers:\n    - name: deploy\n      type: webhook\n"
        "      call: program.py:on\n"
    )
    with pytest.raises(ManifestError, match=r"ops.yml:4: command 'deploy' has the name of a trigger"):
        load_manifest(tmp_path)


def test_deep_nesting_and_nul_characters_are_refused_with_their_line() -> None:
    deep = "commands:\n  - name: a\n    run: x\n    env: " + "[" * 50_000 + "\n"
    with pytest.raises(ManifestError) as caught:
        parse_ops_file(deep)
    assert caught.value.message.startswith("ops.yml:4:") and "nested more than 64 levels" in caught.value.message
    nul = 'commands:\n  - name: a\n    run: x\n    env:\n      - "A=1\\0"\n'
    with pytest.raises(ManifestError) as caught:
        parse_ops_file(nul)
    assert caught.value.message.startswith("ops.yml:5: commands[0].env[0]:") and "NUL" in caught.value.message
