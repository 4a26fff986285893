"""The import-time rewrite: which calls go through the hook, and that semantics stay the same."""

from __future__ import annotations

import sys
import textwrap
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from purrflow.runner.rewrite import ProjectImporter

MODULE = """
import json

MODULE_LEVEL = json.dumps([1])  # module-level: not rewritten


def helper(a, *rest, k=0, **more):
    return (a, rest, k, more)


def calls(xs):
    ys = sorted(xs)
    return helper(len(ys), *ys, k=max(ys), extra=min(ys))


def nested():
    return helper(helper(1))


class Base:
    def hello(self):
        return "base"


class Child(Base):
    label = str(42)  # class body: rewritten

    def hello(self):
        return "child of " + super().hello()


def lam():
    f = lambda v: abs(v)
    return f(-3)


def fails():
    return {}["missing"]


from purrflow import sdk

@sdk.activity
def unit():
    return len("abc")
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[ProjectImporter, list[str]]]:
    (tmp_path / "mod.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub.py").write_text("def twice(x):\n    return list([x, x])\n")
    seen: list[str] = []

    def hook(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__qualname__", repr(fn)))
        return fn(*args, **kwargs)

    importer = ProjectImporter(tmp_path, hook)
    importer.install()
    sys.path.insert(0, str(tmp_path))
    try:
        yield importer, seen
    finally:
        importer.uninstall()
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "mod" or n == "pkg" or n.startswith("pkg.")]:
            del sys.modules[name]


def test_calls_in_functions_go_through_the_hook_with_the_same_meaning(
    project: tuple[ProjectImporter, list[str]],
) -> None:
    importer, seen = project
    mod = importer.load_entry_module("mod.py")
    assert seen == ["str"]  # module-level code is not rewritten; the class body is
    seen.clear()
    assert mod.calls([3, 1, 2]) == (3, (1, 2, 3), 3, {"extra": 1})
    assert seen == ["sorted", "len", "max", "min", "helper"]
    seen.clear()
    assert mod.nested() == ((1, (), 0, {}), (), 0, {})
    assert seen == ["helper", "helper"]


def test_zero_argument_super_class_bodies_and_lambdas(project: tuple[ProjectImporter, list[str]]) -> None:
    importer, seen = project
    mod = importer.load_entry_module("mod.py")
    assert "str" in seen  # the class body's call
    seen.clear()
    assert mod.Child().hello() == "child of base"
    assert "super" not in seen
    assert mod.lam() == 3 and "abs" in seen


def test_activities_run_as_one_unit(project: tuple[ProjectImporter, list[str]]) -> None:
    importer, seen = project
    mod = importer.load_entry_module("mod.py")
    seen.clear()
    assert mod.unit() == 3
    assert seen == []


def test_packages_and_tracebacks_keep_their_lines(project: tuple[ProjectImporter, list[str]]) -> None:
    importer, seen = project
    sub = importer.load_entry_module("pkg/sub.py")
    assert sub.twice(1) == [1, 1] and seen[-1] == "list"
    mod = importer.load_entry_module("mod.py")
    with pytest.raises(KeyError) as caught:
        mod.fails()
    frame = traceback.extract_tb(caught.tb)[-1]
    source_lines = Path(mod.__file__).read_text().splitlines()
    assert frame.lineno == source_lines.index('    return {}["missing"]') + 1


def test_modules_outside_the_project_are_not_rewritten(project: tuple[ProjectImporter, list[str]]) -> None:
    importer, seen = project
    import json

    assert not importer.is_project_file(json.__file__)
    assert json.loads("[1]") == [1]
    assert seen == []
