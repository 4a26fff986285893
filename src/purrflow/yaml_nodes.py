"""Reading YAML as a node tree, so that every value and every error carries the line it came from.

Manifests (`purrflow.yaml`, `autokitteh.yaml`) and `ops.yml` are read through `YamlReader`: unknown and
repeated keys are errors with a did-you-mean, and scalars are taken exactly as written. Nesting deeper
than MAX_DEPTH is refused while the file is read (PyYAML's composer recurses once per level), and so
are NUL characters (they cannot be part of an environment variable, an argument or a file name).
"""

from __future__ import annotations

import difflib
import re

import yaml

from purrflow.errors import ManifestError

NodePath = tuple[str | int, ...]
#: How deep lists and mappings may nest in a manifest or ops.yml; theirs nest four or five levels.
MAX_DEPTH = 64
_NULL_TAG = "tag:yaml.org,2002:null"
_YAML_HINT = (
    "a value that contains ': ' or ' #', or starts with a quote, [, {, *, &, !, | or >, "
    "must be quoted as a whole, e.g. filter: 'data.method == \"POST\"'"
)


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        self.mark = mark


class _DepthLimitedLoader(yaml.SafeLoader):
    """The safe loader, counting how deep its composer is: past MAX_DEPTH it stops, where it is."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:  # blamed on the innermost list or mapping we allow
                raise _TooDeep(parent.start_mark if parent is not None else self.get_mark())
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def compose_yaml(text: str, filename: str) -> yaml.Node | None:
    """The YAML node tree; syntax errors name file:line:column."""
    loader = _DepthLimitedLoader(text)
    try:
        return loader.get_single_node()
    except _TooDeep as err:
        raise ManifestError(
            f"{filename}:{err.mark.line + 1}:{err.mark.column + 1}: lists and mappings are nested more than "
            f"{MAX_DEPTH} levels deep here",
            hint="no field of this file nests more than a few levels: check the brackets and the indentation",
        ) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        problem = err.problem or err.context or "cannot be read"
        hint = "YAML indents with spaces; replace the tabs" if "'\\t'" in problem else _YAML_HINT
        raise ManifestError(f"{where}: not valid YAML: {problem}", hint=hint) from None
    except yaml.YAMLError as err:
        raise ManifestError(f"{filename}: not valid YAML: {err}") from None
    finally:
        loader.dispose()


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "nothing" if is_null(node) else f"{node.value!r}"


def dotted(path: NodePath) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    return text.removeprefix(".") or "top level"


class YamlReader:
    """Typed access to YAML nodes that remembers the line of every field it has seen, for errors."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._lines: dict[NodePath, int] = {(): 1}

    def line(self, path: NodePath) -> int:
        """The line of `path`, or of its nearest enclosing field we have seen (a missing field's parent)."""
        while path not in self._lines:
            path = path[:-1]
        return self._lines[path]

    def error(self, path: NodePath, message: str, *, hint: str | None = None, line: int | None = None) -> ManifestError:
        at = line if line is not None else self.line(path)
        return ManifestError(f"{self.filename}:{at}: {dotted(path)}: {message}", hint=hint)

    def mapping(self, node: yaml.Node, path: NodePath, fields: tuple[str, ...]) -> dict[str, yaml.Node]:
        """A mapping's values by key; unknown and repeated keys are errors (with a did-you-mean)."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(path, f"expected a mapping ({', '.join(fields)}), found {describe(node)}")
        found: dict[str, yaml.Node] = {}
        for key_node, value in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            self._lines[(*path, key)] = key_node.start_mark.line + 1
            if key == "<<":
                raise self.error(
                    (*path, key), "YAML merge keys (<<) are not supported here", hint="write the fields out"
                )
            if key not in fields:
                close = difflib.get_close_matches(key, fields, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"the fields here are: {', '.join(fields)}"
                raise self.error((*path, key), f"unknown field {key!r}", hint=hint)
            if key in found:
                raise self.error((*path, key), f"{key!r} is given twice", hint="keep one of them")
            found[key] = value
        return found

    def sequence(self, node: yaml.Node | None, path: NodePath) -> list[yaml.Node]:
        """A list's items (a missing or null list is empty)."""
        if node is None or is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(path, f"expected a list, found {describe(node)}", hint="start each item with '- '")
        for index, item in enumerate(node.value):
            self._lines[(*path, index)] = item.start_mark.line + 1
        return list(node.value)

    def text(self, node: yaml.Node | None, path: NodePath) -> str | None:
        """A scalar as written (None when missing or null); lists and mappings are errors."""
        if node is None or is_null(node):
            return None
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(path, f"expected a single value, found {describe(node)}")
        value = str(node.value)
        if "\x00" in value:
            raise self.error(
                path,
                f"{value[:60]!r} holds a NUL character (written \\0 or \\x00)",
                hint="remove it: environment variables, arguments and file names cannot hold NUL",
            )
        return value

    def name(self, node: yaml.Node | None, path: NodePath, pattern: re.Pattern[str], rule: str) -> str:
        value = self.text(node, path)
        if not value:
            raise self.error(path, "a name is required")
        if not pattern.fullmatch(value):
            raise self.error(path, f"{value!r} is not a valid name: {rule}")
        return value

    def flag(self, node: yaml.Node | None, path: NodePath) -> bool | None:
        """true/false (and YAML's yes/no/on/off); None when missing or null."""
        value = self.text(node, path)
        if value is None:
            return None
        flag = yaml.constructor.SafeConstructor.bool_values.get(value.lower())
        if flag is None:
            raise self.error(path, f"expected true or false, found {value!r}")
        return flag
