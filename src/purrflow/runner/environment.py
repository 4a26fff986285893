"""A deployment's installed requirements.txt, put in front of what the runner imports.

Runners are forked from a zygote that imported purrflow and its dependencies (requests, yaml, …) before
any session was known, so `PYTHONPATH` comes too late for them: the runner puts the environment's folder
in front of `sys.path` itself, before it imports the project, and forgets the preloaded modules that the
environment provides anew, so that `import requests` gives the version the project asked for, with its
own dependencies, rather than a mix. purrflow's own modules, and the `autokitteh` and `cto_ai` modules
its compat layer patched, are kept: the runner itself runs on them.
"""

from __future__ import annotations

import importlib
import os
import site
import sys

#: Top-level modules the runner needs as they are, whatever the environment holds.
_KEPT = frozenset({"purrflow", "autokitteh", "cto_ai"})
_NOT_MODULES = (".dist-info", ".egg-info", ".data")


def use_environment(site_dir: str) -> list[str]:
    """Import from `site_dir` before anything installed with purrflow (right after the project's own
    folder); return the preloaded top-level modules forgotten because the environment has its own."""
    if site_dir in sys.path:
        sys.path.remove(site_dir)
    sys.path.insert(1 if sys.path else 0, site_dir)
    site.addsitedir(site_dir)  # already on sys.path, so this only reads its .pth files (namespace packages)
    provided = _top_level_names(site_dir)
    forgotten = sorted({name for name in list(sys.modules) if name.partition(".")[0] in provided})
    for name in forgotten:
        del sys.modules[name]
    importlib.invalidate_caches()
    return sorted({name.partition(".")[0] for name in forgotten})


def _top_level_names(site_dir: str) -> set[str]:
    names: set[str] = set()
    try:
        entries = os.listdir(site_dir)
    except OSError:
        return names
    for entry in entries:
        if entry.startswith(".") or entry.endswith(_NOT_MODULES) or entry in ("bin", "__pycache__"):
            continue
        if entry.endswith(".py"):
            names.add(entry[:-3])
        elif entry.endswith((".so", ".pyd")):
            names.add(entry.split(".", 1)[0])
        elif "." not in entry and os.path.isdir(os.path.join(site_dir, entry)):
            names.add(entry)
    return names - _KEPT
