"""Sessions on Temporal: an API server that runs no session code, workers that do, over one PostgreSQL.

Each test has a task queue of its own on the run's Temporal dev server, so one test's workers never take
another's sessions (each test has its own database too).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from projects import manifest, write_project

from helpers import Server, Worker, alive, descendants, session_runners, wait_until
from postgres_cluster import Cluster
from scaled import ScaledPlatform
from temporal_server import TemporalServer

pytestmark = [pytest.mark.slow, pytest.mark.runs_once("it builds its own scaled platform")]

PROGRAM = """
import os
import time

from purrflow import sdk


@sdk.activity
def step(name, n):
    with open(os.environ["OUT"], "a") as out:
        out.write(f"{name} {n} {os.getppid()}\\n")  # the runner's parent: its worker's zygote
    time.sleep(0.05)  # sleep-ok: inside an activity, so a kill lands mid-session
    return n


def steps(event):
    name = event.data.name
    return sum(step(name, n) for n in range(int(event.data.steps)))


def napper(event):
    step("napper", 0)
    time.sleep(float(event.data.seconds))  # sleep-ok: the durable sleep under test
    step("napper", 1)
    return "rested"


def snoop(event):
    # Look for the database's URL and the data key wherever a session might: none may be found.
    found = [
        name for name, value in os.environ.items()
        if "postgresql://" in value or name in ("PURRFLOW_DATABASE_URL", "PURRFLOW_SECRET_KEY", "PURRFLOW_TEMPORAL")
    ]
    for pid in (entry for entry in os.listdir("/proc") if entry.isdigit()):
        for what in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as source:
                    text = source.read()
            except OSError:
                continue
            if b"postgresql://" in text or b"PURRFLOW_SECRET_KEY" in text:
                found.append(f"/proc/{pid}/{what}")
    return found


def keeper(event):
    # Write the run's state folder, have a step journaled, write more, then hold in an activity (where the
    # worker is killed); the session resumes on the other worker, sleeps there, and reads what it wrote.
    state = os.environ["SDK_STATE_DIR"]
    os.makedirs(os.path.join(state, "notes"), exist_ok=True)
    with open(os.path.join(state, "notes", "first.txt"), "w") as out:
        out.write("before step 0")
    os.symlink("notes/first.txt", os.path.join(state, "latest"))  # (a step: replayed, not made again)
    step("keeper", 0)
    with open(os.path.join(state, "after.txt"), "w") as out:
        out.write("after step 0")
    hold(event.data.release)
    time.sleep(1)  # sleep-ok: the durable sleep gives the runner up; it resumes from the store's copy
    with open(os.path.join(state, "latest")) as first, open(os.path.join(state, "after.txt")) as after:
        return f"{first.read()} | {after.read()} | {sorted(os.listdir(state))}"


@sdk.activity
def hold(release):
    with open(os.environ["OUT"], "a") as out:
        out.write(f"hold 0 {os.getppid()}\\n")
    while not os.path.exists(release):
        time.sleep(0.05)  # sleep-ok: the test kills this worker meanwhile, then lets the retry through


def hoarder(event):
    state = os.environ["SDK_STATE_DIR"]
    os.makedirs(state, exist_ok=True)
    with open(os.path.join(state, "big"), "wb") as out:
        out.truncate(65 * 1024 * 1024)  # (sparse: its size is over the limit, not the disk it takes)
    try:
        step("hoarder", 0)
    except Exception as err:
        os.remove(os.path.join(state, "big"))
        return f"{type(err).__name__}: {err}".splitlines()[0]
    return "kept"


@sdk.activity
def alone(name):
    with open(os.environ["OUT"], "a") as out:
        out.write(f"begin {name} {os.getppid()}\\n")
    time.sleep(0.2)  # sleep-ok: inside an activity, so that a second session under way would overlap it
    with open(os.environ["OUT"], "a") as out:
        out.write(f"end {name} {os.getppid()}\\n")


def single(event):
    alone(event.data.name)


def waiter(event):
    got = sdk.wait_for_signal("never", timeout=float(event.data.seconds))
    return "no signal" if got is None else f"got {got}"
"""


@dataclass
class Scaled:
    platform: ScaledPlatform
    out: Path

    @property
    def api(self) -> Server:
        return self.platform.apis[0]

    @property
    def workers(self) -> list[Worker]:
        return self.platform.workers

    def start_session(self, entrypoint: str, **data: object) -> str:
        with self.api.client() as client:
            answer = client.post(
                "/api/v1/sessions", json={"project": "scaled", "entrypoint": f"program.py:{entrypoint}", "data": data}
            )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["session_id"])

    def side_effects(self) -> list[list[str]]:
        return [line.split() for line in self.out.read_text().splitlines()]


@pytest.fixture
def scaled(tmp_path: Path, postgres_cluster: Cluster, temporal_server: TemporalServer) -> Iterator[Scaled]:
    """One API server (`--role api`) and two workers on a new database and a task queue of their own."""
    database = postgres_cluster.new_database()
    platform = ScaledPlatform(tmp_path, database=database, temporal=temporal_server.address)
    try:
        platform.add_api()
        platform.add_worker()
        platform.add_worker()
        out = platform.outside / "side-effects.txt"
        out.touch()
        out.chmod(0o666)  # the sessions append to it as their team's uid
        single = "- name: single\n  type: manual\n  concurrency: 1\n  call: program.py:single"
        files = {
            "purrflow.yaml": manifest("scaled", single, vars=f"- name: OUT\n  value: {out}"),
            "program.py": PROGRAM,
        }
        platform.apis[0].deploy(write_project(tmp_path / "scaled", files))
        yield Scaled(platform, out)
    finally:
        platform.stop()
        postgres_cluster.drop_database(database)


def test_sessions_run_on_the_workers_and_never_on_the_api_server(scaled: Scaled) -> None:
    ids = [scaled.start_session("steps", name=f"s{i}", steps=3) for i in range(6)]
    for session_id in ids:
        session = scaled.api.wait_state(session_id, "completed", "error", timeout=60)
        assert session["state"] == "completed", session["error"]
        assert session["result_repr"] == "3"
    on_workers: set[int] = set()
    for worker in scaled.workers:
        assert worker.proc is not None
        on_workers |= descendants(worker.proc.pid)
    zygotes = {int(parent) for (_, _, parent) in scaled.side_effects()}
    assert len(scaled.side_effects()) == 18
    assert zygotes <= on_workers, "every step ran in a runner forked by a worker's zygote"


def test_a_sleeping_session_holds_no_process_and_wakes_on_temporals_timer(scaled: Scaled) -> None:
    session_id = scaled.start_session("napper", seconds=3)
    wait_until(lambda: ["napper", "0"] in [line[:2] for line in scaled.side_effects()], timeout=30, what="step 0")
    scaled.api.wait_state(session_id, "waiting", timeout=30)
    wait_until(
        lambda: not any(session_runners(worker) for worker in scaled.workers),
        timeout=10,
        what="the sleeping session's runner to be given up",
    )
    session = scaled.api.wait_state(session_id, "completed", "error", timeout=60)
    assert session["state"] == "completed", session["error"]
    assert [line[:2] for line in scaled.side_effects()] == [["napper", "0"], ["napper", "1"]]


def test_a_wait_for_a_signal_that_never_comes_ends_at_its_deadline(scaled: Scaled) -> None:
    session_id = scaled.start_session("waiter", seconds=2)
    scaled.api.wait_state(session_id, "waiting", timeout=30)
    session = scaled.api.wait_state(session_id, "completed", "error", timeout=60)
    assert session["state"] == "completed", session["error"]
    assert session["result_repr"] == repr("no signal")


def test_a_stopped_session_ends_its_runner_on_the_worker(scaled: Scaled) -> None:
    session_id = scaled.start_session("napper", seconds=0)
    wait_until(lambda: scaled.side_effects(), timeout=30, what="the first step")
    long_one = scaled.start_session("steps", name="long", steps=1000)
    wait_until(lambda: any(line[0] == "long" for line in scaled.side_effects()), timeout=30, what="the long one")
    with scaled.api.client() as client:
        answer = client.post(f"/api/v1/sessions/{long_one}/stop", json={"reason": "enough"})
    assert answer.status_code == 200, answer.text
    wait_until(
        lambda: not any(session_runners(worker) for worker in scaled.workers), timeout=20, what="its runner to end"
    )
    count = len(scaled.side_effects())
    assert scaled.api.session(long_one)["state"] == "stopped"
    assert scaled.api.wait_state(session_id, "completed", timeout=30)["result_repr"] == repr("rested")
    assert len(scaled.side_effects()) == count, "nothing of the stopped session ran after its runner ended"


def test_a_worker_killed_mid_session_has_its_sessions_finished_by_the_other(scaled: Scaled) -> None:
    steps = 10
    ids = [scaled.start_session("steps", name=f"s{i}", steps=steps) for i in range(8)]
    wait_until(lambda: len(scaled.side_effects()) >= 15, timeout=60, what="some steps to run")
    victim = next(w for w in scaled.workers if w.proc is not None and session_runners(w))
    runners = session_runners(victim)
    victim.kill9()
    wait_until(lambda: not any(alive(pid) for pid in runners), timeout=10, what="the dead worker's runners to exit")
    before = Counter((name, n) for (name, n, _) in scaled.side_effects())
    for session_id in ids:
        session = scaled.api.wait_state(session_id, "completed", "error", timeout=90)
        assert session["state"] == "completed", session["error"]
        assert session["result_repr"] == str(sum(range(steps)))
    after = Counter((name, n) for (name, n, _) in scaled.side_effects())
    for i in range(8):
        name = f"s{i}"
        done_before = [int(n) for (who, n) in before if who == name]
        for n in range(steps):
            count = after[(name, str(n))]
            assert count >= 1, f"{name} step {n} never ran"
            if done_before and n < max(done_before):
                assert count == 1, f"{name} step {n} finished before the kill but ran {count} times"
            else:
                assert count <= 2, f"{name} step {n} ran {count} times"


def test_a_session_on_a_worker_finds_neither_the_database_url_nor_the_data_key(scaled: Scaled) -> None:
    session_id = scaled.start_session("snoop")
    session = scaled.api.wait_state(session_id, "completed", "error", timeout=60)
    assert session["state"] == "completed", session["error"]
    assert session["result_repr"] == "[]"


def test_a_runs_state_folder_goes_with_it_to_another_worker_and_keeps_what_its_journaled_steps_wrote(
    scaled: Scaled,
) -> None:
    release = scaled.platform.outside / "release"
    session_id = scaled.start_session("keeper", release=str(release))
    wait_until(lambda: ["hold", "0"] in [line[:2] for line in scaled.side_effects()], timeout=30, what="the hold")
    victim = next(w for w in scaled.workers if w.proc is not None and session_runners(w))
    runners = session_runners(victim)
    victim.kill9()  # mid-stretch: after step 0 was journaled, inside `hold`
    wait_until(lambda: not any(alive(pid) for pid in runners), timeout=10, what="the dead worker's runners to exit")
    release.touch()
    session = scaled.api.wait_state(session_id, "completed", "error", timeout=90)
    assert session["state"] == "completed", session["error"]
    assert session["result_repr"] == repr("before step 0 | after step 0 | ['after.txt', 'latest', 'notes']")
    ran = Counter(tuple(line[:2]) for line in scaled.side_effects())
    assert ran[("keeper", "0")] == 1, "step 0 finished before the kill, so it ran once"
    assert ran[("hold", "0")] == 2, "the step in flight ran again, on the other worker"
    survivor = next(w for w in scaled.workers if w is not victim)
    wait_until(
        lambda: not list((survivor.data_dir / "state").glob("*/*")),
        timeout=10,
        what="the worker's copy of the state folder to go once no runner uses it",
    )


def test_a_state_folder_past_the_carried_limit_fails_the_step_that_found_it_and_the_handler_can_make_room(
    scaled: Scaled,
) -> None:
    session = scaled.api.wait_state(scaled.start_session("hoarder"), "completed", "error", timeout=60)
    assert session["state"] == "completed", session["error"]
    assert session["result_repr"].startswith(
        repr("FolderLimitError: the state folder ($SDK_STATE_DIR) of session")[:-1]
    )
    assert "holds 65.0 MiB in 1 entry, over the 64.0 MiB" in session["result_repr"]


def test_a_worker_that_lost_temporal_has_its_runner_stop_at_the_next_step_once_another_took_the_session(
    scaled: Scaled,
) -> None:
    """A worker frozen past its heartbeat's timeout (as one cut off from Temporal would be) has its stretch
    given to the other; when it wakes, its runner must not journal or run another step."""
    session_id = scaled.start_session("steps", name="frozen", steps=60)
    wait_until(lambda: len(scaled.side_effects()) >= 5, timeout=30, what="some steps to run")
    paused = next(w for w in scaled.workers if w.proc is not None and session_runners(w))
    other = next(w for w in scaled.workers if w is not paused)
    assert paused.proc is not None and other.proc is not None
    zygotes_of_paused = descendants(paused.proc.pid)
    before_pause = len(scaled.side_effects())
    os.kill(paused.proc.pid, signal.SIGSTOP)  # the worker only: its runner goes on, then waits for its step
    try:
        wait_until(
            lambda: any(int(parent) in descendants(other.proc.pid) for (_, _, parent) in scaled.side_effects()),
            timeout=60,
            what="the other worker to take the session over",
        )
        ran_on_paused = [line for line in scaled.side_effects() if int(line[2]) in zygotes_of_paused]
    finally:
        os.kill(paused.proc.pid, signal.SIGCONT)
    wait_until(lambda: not session_runners(paused), timeout=20, what="the woken worker's runner to stop")
    session = scaled.api.wait_state(session_id, "completed", "error", timeout=90)
    assert session["state"] == "completed", session["error"]
    assert session["result_repr"] == str(sum(range(60)))
    assert [line for line in scaled.side_effects() if int(line[2]) in zygotes_of_paused] == ran_on_paused
    assert "was taken over by another worker" in paused.log_path.read_text()
    ran = Counter(n for (_, n, _) in scaled.side_effects())
    assert all(count == 1 for n, count in ran.items() if int(n) < before_pause - 1), ran
    assert all(count <= 2 for count in ran.values()), ran


def test_a_trigger_with_concurrency_1_runs_one_session_at_a_time_across_workers(scaled: Scaled) -> None:
    ids = []
    with scaled.api.client() as client:
        for n in range(8):
            answer = client.post(
                "/api/v1/sessions", json={"project": "scaled", "entrypoint": "single", "data": {"name": f"s{n}"}}
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["session_id"])
    for session_id in ids:
        session = scaled.api.wait_state(session_id, "completed", "error", timeout=90)
        assert session["state"] == "completed", session["error"]
    lines = scaled.side_effects()
    assert len(lines) == 16
    for begin, end in zip(lines[::2], lines[1::2], strict=True):  # each session's step alone, never two at once
        assert begin[0] == "begin" and end[:2] == ["end", begin[1]], lines
    parents = {int(parent) for (_, _, parent) in lines}
    on_each = [parents & descendants(worker.proc.pid) for worker in scaled.workers if worker.proc is not None]
    assert all(on_each), f"both workers ran some of them: {on_each}"
