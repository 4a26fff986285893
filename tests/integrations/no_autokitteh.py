"""Running Python as if the PyPI `autokitteh` package were not installed, everything else still there.

`hide_autokitteh(folder)` writes a `sitecustomize.py` there; with the folder on PYTHONPATH an interpreter
(and a server's runners: the zygote keeps PYTHONPATH) cannot find the package, so purrflow's loader
gives programs its own modules."""

from __future__ import annotations

from pathlib import Path

_SITECUSTOMIZE = """
import sys


class _HideAutokitteh:
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "autokitteh":
            raise ModuleNotFoundError("hidden by the test", name=fullname)
        return None


sys.meta_path.insert(0, _HideAutokitteh())
"""


def hide_autokitteh(folder: Path) -> dict[str, str]:
    """The environment variables that hide the package from interpreters started with them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    return {"PYTHONPATH": str(folder)}
