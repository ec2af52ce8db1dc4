"""Hostile traffic at the real `dailies serve` (gunicorn, gevent workers): slow bodies, huge and deeply
nested unsigned bodies. Localhost only; every loop is bounded in count and time."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import free_port, wait_for
from tests.standins.slack import SlackStandIn
from tests.test_serve import ROOT, dailies, settings_env, signed

SLOW_CLIENTS = 100
SLACK_ACK_LIMIT_S = 3.0  # Slack's own limit for an answer; not a benchmark


@pytest.fixture()
def server(settings, slack: SlackStandIn, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(dailies("serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "2"),
                                   cwd=ROOT, env=settings_env(settings), stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(lambda: _up(url), timeout_s=30)
            yield url, log
        finally:
            process.terminate()
            process.wait(timeout=20)


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def harmless_event(index: int) -> str:
    """An event Dailies has no listener for (someone joined a channel): Slack expects 200 all the same."""
    return json.dumps({"type": "event_callback", "team_id": "T0TEAM", "event_id": f"EvSLOW{index:04d}",
                       "event": {"type": "member_joined_channel", "user": "U0NEW", "channel": "C0ART",
                                 "channel_type": "C", "team": "T0TEAM", "event_ts": f"1700600{index:03d}.0001"}})


def test_slow_bodies_do_not_stop_slack_being_acknowledged(server) -> None:
    url, _ = server
    port = int(url.rsplit(":", 1)[1])
    stop = threading.Event()
    sockets: list[socket.socket] = []
    for _ in range(SLOW_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 5000\r\n\r\n{")
        sockets.append(sock)

    def drip() -> None:  # one byte a second on every connection, for at most 10 s
        deadline = time.monotonic() + 10
        while not stop.is_set() and time.monotonic() < deadline:
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b" ")
            stop.wait(1.0)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        time.sleep(1.0)  # every slow connection has been accepted and is mid-body
        statuses = []
        for index in range(10):
            body = harmless_event(index)
            response = httpx.post(url + "/slack/events", content=body, headers=signed(body),
                                  timeout=SLACK_ACK_LIMIT_S)
            statuses.append(response.status_code)
        assert statuses == [200] * 10
    finally:
        stop.set()
        dripper.join(timeout=5)
        for sock in sockets:
            sock.close()


def test_unsigned_bodies_are_refused_cheaply_and_logged_briefly(server) -> None:
    url, log = server
    before = log.stat().st_size
    huge = "x" * (5 * 1024 * 1024)
    deep = "[" * 200_000 + "]" * 200_000
    nested_form = "payload=" + "%5B" * 100_000
    answers = []
    with httpx.Client(timeout=30) as client:
        for _ in range(5):
            answers.append(client.post(url + "/slack/events", content=huge,
                                       headers={"Content-Type": "application/json"}).status_code)
        for body, kind in ((deep, "application/json"), (nested_form, "application/x-www-form-urlencoded")):
            for _ in range(5):
                answers.append(client.post(url + "/slack/events", content=body,
                                           headers={"Content-Type": kind, "X-Slack-Signature": "v0=00",
                                                    "X-Slack-Request-Timestamp": str(int(time.time()))}
                                           ).status_code)
    assert answers[:5] == [413] * 5 and answers[5:] == [401] * 10
    time.sleep(0.5)  # let the server's log lines reach the file
    added = log.read_bytes()[before:].decode(errors="replace")
    assert len(added) < 3000, added[:3000]
    assert "Traceback" not in added and "RecursionError" not in added and "xxxxxxxx" not in added
    assert added.count("refused") == 15


def test_a_signed_deeply_nested_body_is_acknowledged_not_a_500(server) -> None:
    url, _ = server
    body = '{"type": "event_callback", "event": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = httpx.post(url + "/slack/events", content=body, headers=signed(body), timeout=10)
    assert response.status_code == 200
