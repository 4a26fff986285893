"""CTO.ai's images hold the project at /ops: such paths in ops.yml `run:` and in arguments mean the project folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from purrflow.opsyml import resolve_ops_paths

PROJECT = Path("/srv/deployments/dep_1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("python3 /ops/main.py", "python3 /srv/deployments/dep_1/main.py"),
        ("cd /ops && ./run.sh", "cd /srv/deployments/dep_1 && ./run.sh"),
        ("--config=/ops/config.json", "--config=/srv/deployments/dep_1/config.json"),
        ('bash "/ops/a b.sh"', 'bash "/srv/deployments/dep_1/a b.sh"'),
        ("pip install -r /ops/requirements.txt;python3 /ops/x.py", (
            "pip install -r /srv/deployments/dep_1/requirements.txt;python3 /srv/deployments/dep_1/x.py"
        )),
        ("/ops", "/srv/deployments/dep_1"),
        # other paths stay as they are
        ("python3 main.py", "python3 main.py"),
        ("/opsx/main.py", "/opsx/main.py"),
        ("./ops/main.py", "./ops/main.py"),
        ("data/ops/main.py", "data/ops/main.py"),
        ("curl http://host/ops/x", "curl http://host/ops/x"),
        ("~/ops/x", "~/ops/x"),
    ],
)  # fmt: skip
def test_paths_under_ops_point_at_the_project_folder(text: str, expected: str) -> None:
    assert resolve_ops_paths(text, PROJECT) == expected
