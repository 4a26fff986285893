"""Makes `import autokitteh` resolve to purrflow's implementation inside a session.

Without the PyPI package, `autokitteh` simply is purrflow's compat module, and `autokitteh.<name>` is
`purrflow.compat.autokitteh.<name>` — the same module object, imported when the program first asks for
it (the helpers import their client libraries, which only some programs need).

With it, the package is imported and every SDK function it defines — at the top level and in its
submodules — is replaced by ours. Its `errors` module is ours from the start, so an error purrflow raises
is the class programs catch. Its integration helpers (`autokitteh.slack.slack_client`, …) are replaced by
ours as each helper module is imported, so a connection's `base_url` redirects them too; a helper module
that cannot be imported because one of its libraries is missing (`autokitteh.google` wants Gemini's) is
ours instead.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

from purrflow.compat import autokitteh as ours

_SUBMODULES = ("activities", "events", "outcomes", "signals", "store", "triggers", "attr_dict", "event")
#: Our helper modules (`purrflow.compat.autokitteh.<name>`), imported lazily under `autokitteh.<name>`.
HELPERS = ("atlassian", "connections", "github", "google", "slack", "twilio")
_OURS = "purrflow.compat.autokitteh"


def install() -> None:
    if "autokitteh" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("autokitteh")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        sys.modules["autokitteh"] = ours
        sys.modules["autokitteh.errors"] = ours.errors
        sys.meta_path.insert(0, _HelperFinder(with_package=False))
        return
    sys.modules["autokitteh.errors"] = ours.errors  # before the package's `from . import errors`
    sys.meta_path.insert(0, _HelperFinder(with_package=True))
    real = importlib.import_module("autokitteh")
    modules = [real]
    for name in _SUBMODULES:
        try:
            modules.append(importlib.import_module(f"autokitteh.{name}"))
        except ImportError:
            continue
    for module in modules:
        for name in ours.__all__:
            # the top level also gets what the package lacks (wait_for_signal, the SDK reference's form)
            if name not in ("errors",) and (hasattr(module, name) or module is real):
                setattr(module, name, getattr(ours, name))


class _HelperFinder(importlib.abc.MetaPathFinder):
    """Finds `autokitteh.<helper>`: ours (without the package), or the package's with our functions."""

    def __init__(self, *, with_package: bool) -> None:
        self._with_package = with_package

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.partition(".")
        if package != "autokitteh" or not name or "." in name:
            return None
        if not self._with_package:  # every module of ours, so that none is loaded twice under two names
            found = importlib.util.find_spec(f"{_OURS}.{name}")
            return importlib.util.spec_from_loader(fullname, _Alias(name)) if found else None
        if name not in HELPERS:
            return None
        real = importlib.machinery.PathFinder.find_spec(fullname, path)
        if real is None or real.loader is None:
            return importlib.util.spec_from_loader(fullname, _Alias(name))
        real.loader = _Patching(real.loader, name)
        return real


class _Alias(importlib.abc.Loader):
    """Loads `autokitteh.<name>` as our module of that name: one module object under both names."""

    def __init__(self, name: str) -> None:
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(f"{_OURS}.{self._name}")

    def exec_module(self, module: ModuleType) -> None:
        return None  # imported (executed) by create_module


class _Patching(importlib.abc.Loader):
    """Runs the package's helper module, then replaces its functions with ours of the same name."""

    def __init__(self, real: importlib.abc.Loader, name: str) -> None:
        self._real = real
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            self._real.exec_module(module)
        except ImportError as err:
            if err.name and (err.name == "autokitteh" or err.name.startswith(("autokitteh.", "purrflow."))):
                raise
            # one of the package's libraries is missing: ours may need fewer (the import machinery takes
            # whatever sys.modules holds under the name once this returns)
            sys.modules[module.__name__] = importlib.import_module(f"{_OURS}.{self._name}")
            return
        helpers = importlib.import_module(f"{_OURS}.{self._name}")
        for name in getattr(helpers, "__all__", ()):
            if hasattr(module, name):
                setattr(module, name, getattr(helpers, name))
