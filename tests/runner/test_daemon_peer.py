"""The SDK daemon answers only clients whose socket belongs to its own uid (found in /proc/net/tcp)."""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import socket
import sys
import threading
from typing import Any

import pytest

from purrflow.runner.daemon import SdkDaemon, _parse_endpoint, peer_uid

NOBODY = 65534


def ask(port: int, path: str, body: bytes = b"{}") -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, dict(json.loads(response.read() or b"{}"))
    finally:
        conn.close()


def serve_until(daemon: SdkDaemon, done: threading.Event | None = None, pid: int | None = None) -> None:
    """Serve requests on this thread (as the runner does) until the client is done."""
    for _ in range(20):
        daemon.handle_one()
        if done is not None and done.is_set():
            return
        if pid is not None and os.waitpid(pid, os.WNOHANG) != (0, 0):
            return
    raise AssertionError("the client never finished")


def test_addresses_in_the_socket_table_are_parsed_in_host_byte_order() -> None:
    loopback = "0100007F" if sys.byteorder == "little" else "7F000001"
    assert _parse_endpoint(f"{loopback}:1F90") == (ipaddress.ip_address("127.0.0.1"), 8080)
    mapped = "0000000000000000FFFF00000100007F" if sys.byteorder == "little" else "00000000000000000000FFFF7F000001"
    assert _parse_endpoint(f"{mapped}:0050") == (ipaddress.ip_address("127.0.0.1"), 80)
    v6_loopback = (
        "00000000000000000000000001000000" if sys.byteorder == "little" else "00000000000000000000000000000001"
    )
    assert _parse_endpoint(f"{v6_loopback}:0016") == (ipaddress.ip_address("::1"), 22)


def test_peer_uid_of_a_local_connection_is_this_process_uid() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        with client, accepted:
            assert peer_uid(accepted) == os.getuid()
            assert peer_uid(client) == os.getuid()  # its peer, the accepted socket, is ours as well


def test_a_client_of_the_same_uid_is_answered() -> None:
    errors: list[str] = []
    daemon = SdkDaemon(on_error=errors.append)
    answers: list[tuple[int, dict[str, Any]]] = []
    done = threading.Event()

    def client() -> None:
        try:
            answers.append(ask(daemon.port, "/no-such-endpoint"))
        finally:
            done.set()

    thread = threading.Thread(target=client)
    thread.start()
    try:
        serve_until(daemon, done=done)
    finally:
        thread.join(timeout=10)
        daemon.close()
    status, body = answers[0]
    assert status == 404, body  # past the uid check: the endpoint is what is wrong
    assert body["error"]["type"] == "InvalidInputError"
    assert "no POST /no-such-endpoint" in body["error"]["message"]
    assert not any("refused" in line for line in errors), errors


@pytest.mark.skipif(os.getuid() != 0, reason="switching to another uid needs root")
def test_a_client_of_another_uid_gets_403_and_the_session_log_says_so() -> None:
    errors: list[str] = []
    daemon = SdkDaemon(on_error=errors.append)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: another team's process that found the port
        code = 1
        try:
            os.close(read_end)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            status, body = ask(daemon.port, "/secret/get", json.dumps({"key": "TOKEN"}).encode())
            os.write(write_end, json.dumps([status, body]).encode())
            code = 0
        except BaseException as err:  # the child must never return into pytest
            os.write(write_end, json.dumps([0, {"child": repr(err)}]).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        serve_until(daemon, pid=pid)
    finally:
        daemon.close()
        with os.fdopen(read_end, "rb") as pipe:
            report = pipe.read()
    status, body = json.loads(report)
    assert status == 403, body
    assert body["error"]["type"] == "ForbiddenError"
    assert f"a socket of uid {NOBODY}" in body["error"]["message"]
    assert f"answers only processes of uid {os.getuid()}" in body["error"]["message"]
    assert body["error"]["hint"]
    assert len(errors) == 1 and errors[0].startswith("SDK daemon /secret/get: refused a request"), errors
