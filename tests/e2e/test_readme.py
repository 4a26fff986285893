"""Every shell block of README.md runs as written, in order, and each of its commands succeeds.

The blocks run with `bash -euo pipefail` from the repository's root, in a throw-away HOME (so the data
folder is a fresh `~/.purrflow`), against the server the README's own `purr up` line starts: the test
starts that line in the background and waits until the server is healthy. The one liberty taken is the
port, so that this test never meets another server on the machine: a free port is given to `purr up`,
`PURRFLOW_URL` points the CLI at it, and `127.0.0.1:9980` in a block is read as that port.

A block may opt out with `<!-- readme-test: skip (why) -->` on the line before its fence; use it only for
what cannot run inside a test (installing everything, running the whole suite). Each block stands alone,
as a reader who jumps to a section meets it: shell variables do not carry from one block to the next.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from helpers import free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.runs_once("the README's own `purr up` is embedded")]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEFAULT_ADDRESS = "127.0.0.1:9980"
_FENCE = re.compile(r"^```(bash|sh)\s*$")
_SKIP = re.compile(r"^<!--\s*readme-test:\s*skip\s*\((?P<why>.+)\)\s*-->\s*$")
_UP = re.compile(r"^purr up(\s|$)")


@dataclass(frozen=True)
class Block:
    line: int  # of its opening fence, 1-based
    text: str
    skipped: str | None  # why, when it opts out


def shell_blocks(markdown: str) -> list[Block]:
    """The ```bash and ```sh blocks of a Markdown text, each with the reason it is skipped, if any."""
    lines = markdown.splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        if not _FENCE.match(lines[index]):
            index += 1
            continue
        end = next((i for i in range(index + 1, len(lines)) if lines[i].strip() == "```"), None)
        assert end is not None, f"README.md:{index + 1}: a shell block that never ends"
        before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        skip = _SKIP.match(before.strip())
        found.append(Block(index + 1, "\n".join(lines[index + 1 : end]), skip.group("why") if skip else None))
        index = end + 1
    return found


def test_the_readme_parser_finds_blocks_and_their_opt_outs() -> None:
    text = (
        "intro\n<!-- readme-test: skip (installs all) -->\n```bash\n./x\n```\n\n```sh\necho 1\n```\n```python\nx\n```\n"
    )
    assert shell_blocks(text) == [Block(3, "./x", "installs all"), Block(7, "echo 1", None)]


@pytest.mark.timeout(600)  # the whole README, every section's walk-through, in one go
def test_every_shell_block_of_the_readme_runs(tmp_path: Path) -> None:
    blocks = shell_blocks(README.read_text())
    run = [block for block in blocks if block.skipped is None]
    assert len(run) >= 2 and len(blocks) - len(run) <= 2, "opt out sparingly"
    ups = [(block, line) for block in run for line in block.text.splitlines() if _UP.match(line.strip())]
    assert len(ups) == 1, f"the README should start its server once, with `purr up`: {ups}"

    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURRFLOW_")}
    env |= {
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PURRFLOW_URL": f"http://127.0.0.1:{port}",
        "COLUMNS": "200",
    }
    server_log = tmp_path / "server.log"
    server: subprocess.Popen[bytes] | None = None
    try:
        for block in run:
            script = block.text.replace(DEFAULT_ADDRESS, f"127.0.0.1:{port}")
            commands = []
            for line in script.splitlines():
                if _UP.match(line.strip()):
                    server = _start(line.strip(), port, env, server_log)
                else:
                    commands.append(line)
            if not any(c.strip() and not c.strip().startswith("#") for c in commands):
                continue
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", "\n".join(commands)],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, (
                f"README.md:{block.line}: the block failed ({done.returncode}):\n{block.text}\n"
                f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
            )
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)


def _start(line: str, port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """The README's `purr up` line in the background (on the test's port), once it answers /health."""
    command = line.split("#", 1)[0].strip().removesuffix("&").strip()
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child process
    server = subprocess.Popen(
        ["bash", "-c", f"exec {command} --port {port}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip

    def healthy() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"`{command}` exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, timeout=60, what=f"`{command}` to serve (log: {log_path})")
    return server
