"""Rewrites a project's modules at import so that calls inside functions go through the call hook.

`f(a, k=b)` inside a function or class body becomes `__purr_call__(f, a, k=b)`; the hook decides at run
time whether the call is a durable step. Module-level code is left alone (it runs on every import).
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HOOK = "__purr_call__"
_FRAME_SENSITIVE = frozenset({"super", "locals", "globals", "vars", "eval", "exec", "dir", "__import__", HOOK})
_UNIT_DECORATORS = frozenset({"activity", "inhibit_activities"})


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


class _CallRewriter(ast.NodeTransformer):
    def __init__(self) -> None:
        self._depth = 0  # > 0 inside a function or class body

    def _body_scope(self, node: ast.AST, body_fields: Sequence[str]) -> ast.AST:
        # Decorators, defaults and bases run at definition time, in the enclosing scope.
        for field, value in ast.iter_fields(node):
            if field in body_fields:
                continue
            if isinstance(value, list):
                setattr(node, field, [self.visit(v) if isinstance(v, ast.AST) else v for v in value])
            elif isinstance(value, ast.AST):
                setattr(node, field, self.visit(value))
        self._depth += 1
        try:
            for field in body_fields:
                value = getattr(node, field)
                if isinstance(value, list):
                    setattr(node, field, [self.visit(v) for v in value])
                else:
                    setattr(node, field, self.visit(value))
        finally:
            self._depth -= 1
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if any(_decorator_name(d) in _UNIT_DECORATORS for d in node.decorator_list):
            return node
        return self._body_scope(node, ["body"])

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        if any(_decorator_name(d) in _UNIT_DECORATORS for d in node.decorator_list):
            return node
        return self._body_scope(node, ["body"])

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return self._body_scope(node, ["body"])

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._body_scope(node, ["body"])

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if self._depth == 0 or (isinstance(node.func, ast.Name) and node.func.id in _FRAME_SENSITIVE):
            return node
        hook = ast.copy_location(ast.Name(id=HOOK, ctx=ast.Load()), node.func)
        return ast.copy_location(ast.Call(func=hook, args=[node.func, *node.args], keywords=node.keywords), node)


def rewrite_module(source: str, filename: str) -> types.CodeType:
    tree = ast.parse(source, filename)
    tree = ast.fix_missing_locations(_CallRewriter().visit(tree))
    return compile(tree, filename, "exec", dont_inherit=True)


class _Loader(importlib.machinery.SourceFileLoader):
    def __init__(self, fullname: str, path: str, importer: ProjectImporter) -> None:
        super().__init__(fullname, path)
        self._importer = importer

    def source_to_code(self, data: Any, path: Any, *, _optimize: int = -1) -> types.CodeType:  # type: ignore[override]
        source = importlib.util.decode_source(data)
        return rewrite_module(source, str(path)) if self._importer.rewrite else compile(source, path, "exec")

    def get_code(self, fullname: str) -> types.CodeType:
        # Never read or write bytecode caches: rewritten and plain code must not be mixed up.
        path = self.get_filename(fullname)
        code = self.source_to_code(self.get_data(path), path)
        return code

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__[HOOK] = self._importer.call_hook
        super().exec_module(module)


class ProjectImporter(importlib.abc.MetaPathFinder):
    """Imports the project's own modules through the rewriter; everything else imports normally."""

    def __init__(self, project_dir: Path, call_hook: Callable[..., Any], *, rewrite: bool = True) -> None:
        self.project_dir = project_dir.resolve()
        self.call_hook = call_hook
        self.rewrite = rewrite

    def is_project_file(self, filename: str) -> bool:
        try:
            return Path(filename).resolve().is_relative_to(self.project_dir)
        except OSError:
            return False

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            return None
        if not self.is_project_file(spec.origin):
            return None
        loader = _Loader(fullname, spec.origin, self)
        return importlib.util.spec_from_file_location(
            fullname, spec.origin, loader=loader, submodule_search_locations=spec.submodule_search_locations
        )

    def install(self) -> None:
        sys.meta_path.insert(0, self)

    def uninstall(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def load_entry_module(self, relative_file: str) -> types.ModuleType:
        parts = list(Path(relative_file).with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        return importlib.import_module(".".join(parts))
