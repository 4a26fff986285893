"""Makes `import autokitteh` resolve to purrflow's implementation inside a session.

Without the PyPI package, `autokitteh` (and `autokitteh.errors`) simply are purrflow's compat module.
With it, the package is imported and every SDK function it defines — at the top level and in its
submodules — is replaced by ours, so its integration helpers (`autokitteh.slack.slack_client`, …) keep
working while its stand-ins for the platform are gone.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

from purrflow.compat import autokitteh as ours

_SUBMODULES = ("activities", "events", "outcomes", "signals", "store", "triggers", "attr_dict", "event")


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
        return
    real = importlib.import_module("autokitteh")
    modules = [real]
    for name in _SUBMODULES:
        try:
            modules.append(importlib.import_module(f"autokitteh.{name}"))
        except ImportError:
            continue
    for module in modules:
        for name in ours.__all__:
            if name not in ("errors",) and hasattr(module, name):
                setattr(module, name, getattr(ours, name))
