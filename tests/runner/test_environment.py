"""A runner imports from its deployment's environment first, even what the zygote preloaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_the_environment_comes_first_and_replaces_preloaded_modules_but_not_purrflow(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "certifi").mkdir(parents=True)
    (site / "certifi" / "__init__.py").write_text("__version__ = 'from the environment'\n")
    (site / "purrflow").mkdir()
    (site / "purrflow" / "__init__.py").write_text("raise SystemExit('never imported')\n")
    (site / "purrtiny.py").write_text("VALUE = 7\n")
    (site / "purrtiny-1.0.dist-info").mkdir()
    script = textwrap.dedent(
        f"""
        import sys
        import certifi  # preloaded, as the zygote's requests does
        import purrflow.runner.environment as environment
        sys.path.insert(0, "/project")
        forgotten = environment.use_environment({str(site)!r})
        import certifi, purrtiny, purrflow
        print(forgotten, sys.path[1] == {str(site)!r}, certifi.__version__, purrtiny.VALUE, purrflow.__name__)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['certifi'] True from the environment 7 purrflow"
