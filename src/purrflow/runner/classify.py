"""Which calls from project code are durable steps. Decided per callable, cached.

DIRECT: just call it (project code, builtins, file objects, deterministic stdlib, our SDK).
STEP: journal its outcome (third-party code, network, processes, and nondeterministic values such as
`time.time`, `random`, `uuid4`, `datetime.now`). SLEEP: `time.sleep`, which becomes a durable timer.
"""

from __future__ import annotations

import enum
import os
import time
import types
from dataclasses import dataclass
from typing import Any


class CallKind(enum.Enum):
    DIRECT = "direct"
    STEP = "step"
    SLEEP = "sleep"


@dataclass(frozen=True, slots=True)
class Classification:
    kind: CallKind
    name: str


_DETERMINISTIC = frozenset(
    [
        "builtins",
        "_io",
        "io",
        "re",
        "_sre",
        "json",
        "_json",
        "math",
        "cmath",
        "collections",
        "_collections",
        "itertools",
        "functools",
        "_functools",
        "operator",
        "_operator",
        "string",
        "_string",
        "textwrap",
        "dataclasses",
        "enum",
        "typing",
        "typing_extensions",
        "decimal",
        "_decimal",
        "_pydecimal",
        "fractions",
        "numbers",
        "base64",
        "binascii",
        "hashlib",
        "_hashlib",
        "_sha256",
        "_sha1",
        "_md5",
        "_blake2",
        "hmac",
        "copy",
        "copyreg",
        "pprint",
        "reprlib",
        "html",
        "abc",
        "_abc",
        "contextlib",
        "types",
        "inspect",
        "logging",
        "warnings",
        "_warnings",
        "datetime",
        "_datetime",
        "calendar",
        "zoneinfo",
        "pathlib",
        "posixpath",
        "ntpath",
        "genericpath",
        "struct",
        "_struct",
        "codecs",
        "_codecs",
        "unicodedata",
        "difflib",
        "traceback",
        "weakref",
        "_weakref",
        "_weakrefset",
        "pickle",
        "_pickle",
        "array",
        "keyword",
        "ast",
        "_ast",
        "heapq",
        "_heapq",
        "bisect",
        "_bisect",
        "statistics",
        "shlex",
        "fnmatch",
        "glob",
        "purrflow",
        "autokitteh",
        "cto_ai",  # its requests are answered by purrflow's SDK, whose calls are the steps
    ]
)
_NONDETERMINISTIC_MODULES = frozenset({"random", "_random", "secrets", "uuid"})
_NONDETERMINISTIC_NAMES = frozenset(
    {
        "time.time",
        "time.time_ns",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "posix.urandom",
        "os.urandom",
    }
)
_DIRECT_NAMES = frozenset({"uuid.UUID", "os.getenv", "os.fspath", "os.getcwd"})

_cache: dict[tuple[Any, str], Classification] = {}
_never_steps: set[int] = set()
_never_step_modules: set[str] = set()


def register_no_activity(items: Any) -> None:
    """Calls to these functions, classes or modules (objects or dotted names) never become steps."""
    for item in items if isinstance(items, list | tuple | set) else [items]:
        if isinstance(item, str):
            _never_step_modules.add(item)
        elif isinstance(item, types.ModuleType):
            _never_step_modules.add(item.__name__)
        else:
            _never_steps.add(id(getattr(item, "__func__", item)))
    _cache.clear()


def _identity(fn: Any) -> tuple[str, str]:
    """(module, qualified name) of what is called, looking through bound methods to their class."""
    owner = getattr(fn, "__self__", None)
    if owner is not None and not isinstance(owner, types.ModuleType):
        cls = owner if isinstance(owner, type) else type(owner)
        return cls.__module__ or "", f"{cls.__qualname__}.{getattr(fn, '__name__', '?')}"
    if isinstance(fn, type):
        return fn.__module__ or "", fn.__qualname__
    module = getattr(fn, "__module__", None) or (owner.__name__ if isinstance(owner, types.ModuleType) else "")
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__qualname__
    if module == "" and not hasattr(fn, "__qualname__"):
        module = type(fn).__module__
    return module, name


def _cache_key(fn: Any) -> Any:
    owner = getattr(fn, "__self__", None)
    if owner is not None and not isinstance(owner, types.ModuleType):
        cls = owner if isinstance(owner, type) else type(owner)
        return (cls, getattr(fn, "__name__", None))
    return getattr(fn, "__func__", fn)


def _source_file(fn: Any) -> str | None:
    target = getattr(fn, "__func__", fn)
    code = getattr(target, "__code__", None)
    if code is not None:
        return str(code.co_filename)
    owner = getattr(fn, "__self__", None)
    cls = fn if isinstance(fn, type) else (type(owner) if owner is not None and not isinstance(owner, type) else owner)
    if isinstance(cls, type):
        module = __import__("sys").modules.get(cls.__module__)
        return getattr(module, "__file__", None)
    return None


def classify(fn: Any, project_dir: str) -> Classification:
    try:
        key = (_cache_key(fn), project_dir)
        cached = _cache.get(key)
    except TypeError:  # unhashable callable
        key, cached = None, None
    if cached is not None:
        return cached
    decision = _decide(fn, project_dir)
    if key is not None:
        _cache[key] = decision
    return decision


def _decide(fn: Any, project_dir: str) -> Classification:
    if fn is time.sleep:
        return Classification(CallKind.SLEEP, "sleep")
    if getattr(fn, "__purrflow_activity__", False):  # the activity wrapper journals the call itself
        return Classification(CallKind.DIRECT, getattr(fn, "__qualname__", "activity"))
    module, qualname = _identity(fn)
    name = f"{module}.{qualname}" if module else qualname
    if id(getattr(fn, "__func__", fn)) in _never_steps or any(
        module == m or module.startswith(m + ".") for m in _never_step_modules
    ):
        return Classification(CallKind.DIRECT, name)
    top = module.split(".", 1)[0]
    if name in _NONDETERMINISTIC_NAMES or (top in _NONDETERMINISTIC_MODULES and name not in _DIRECT_NAMES):
        return Classification(CallKind.STEP, name)
    source = _source_file(fn)
    if source and os.path.realpath(source).startswith(project_dir.rstrip("/") + "/"):
        return Classification(CallKind.DIRECT, name)
    if top in _DETERMINISTIC or name in _DIRECT_NAMES or module in ("os.path", "posixpath"):
        return Classification(CallKind.DIRECT, name)
    if top in ("os", "posix") and qualname.startswith("_Environ"):
        return Classification(CallKind.DIRECT, name)
    return Classification(CallKind.STEP, name)
