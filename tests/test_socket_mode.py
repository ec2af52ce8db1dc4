"""`dailies socket` as a process, against a local stand-in of Slack's Socket Mode endpoint.

No public URL: the app asks `apps.connections.open` (with the app-level token) for a WebSocket URL, receives
envelopes over it, acknowledges each by its `envelope_id`, and reconnects when Slack says `disconnect`. A
mention sent through it becomes a posted take, as over HTTP; so does a `/dailies` command's modal.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.domain.models import TakeState
from tests.harness import Worker, event_envelope, mention, wait_for
from tests.standins.slack import SlackStandIn
from tests.standins.socket_mode import SocketModeStandin
from tests.test_serve import ROOT, dailies, settings_env

APP_TOKEN = "xapp-1-A0DAILIES-1-standinsecret"


@pytest.fixture()
def socket_mode(slack: SlackStandIn) -> Iterator[SocketModeStandin]:
    standin = SocketModeStandin().start()
    slack.app_token = APP_TOKEN
    slack.socket_url = standin.connection_url
    yield standin
    standin.stop()


def test_a_mention_over_socket_mode_becomes_a_take_and_a_reconnect_loses_nothing(
        settings, slack: SlackStandIn, socket_mode: SocketModeStandin, worker: Worker, tmp_path: Path) -> None:
    env = {**settings_env(settings), "SLACK_APP_TOKEN": APP_TOKEN}
    log = tmp_path / "socket.log"
    app = subprocess.Popen(dailies("socket"), cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: socket_mode.opened == 1, timeout_s=60)
        assert [c.method for c in slack.calls if c.method == "apps.connections.open"] == ["apps.connections.open"]

        first = "1700070000.000100"
        envelope = socket_mode.send("events_api", event_envelope(
            mention("A heron lifting off a misty lake\nSound: wings, water\nx1 1s", ts=first), event_id="EvSOCK1"))
        wait_for(lambda: envelope in socket_mode.acks, timeout_s=10)  # acknowledged by its envelope id
        request = wait_for(lambda: worker.store.thread_requests("C0ART", first))[0]
        worker.drain()
        assert [t.state for t in worker.store.takes_for(request)] == [TakeState.posted]

        socket_mode.ask_to_reconnect()
        wait_for(lambda: socket_mode.opened == 2, timeout_s=30)
        assert len(slack.calls_to("apps.connections.open")) == 2  # a new URL for the new connection

        second = "1700070100.000100"
        envelope = socket_mode.send("events_api", event_envelope(
            mention("Night ferry leaving port\nSound: horn, engines\nx1 1s", ts=second), event_id="EvSOCK2"))
        wait_for(lambda: envelope in socket_mode.acks, timeout_s=10)
        request = wait_for(lambda: worker.store.thread_requests("C0ART", second))[0]
        worker.drain()
        assert [t.state for t in worker.store.takes_for(request)] == [TakeState.posted]

        # The slash command arrives as a `slash_commands` envelope and opens the modal the same way.
        envelope = socket_mode.send("slash_commands", {
            "token": "legacy", "team_id": "T0TEAM", "channel_id": "C0ART", "user_id": "U0CREATIVE",
            "command": "/dailies", "text": "", "api_app_id": "A0DAILIES", "trigger_id": "5.5.5",
            "response_url": "https://hooks.slack.com/commands/x"}, accepts_response_payload=True)
        wait_for(lambda: envelope in socket_mode.acks, timeout_s=10)
        wait_for(lambda: slack.calls_to("views.open"), timeout_s=10)
        cards = [m for m in slack.posted(channel="C0ART") if m["text"].startswith("Take ")]
        assert len(cards) == 2  # one per mention: nothing lost or doubled across the reconnect
    finally:
        app.terminate()
        app.wait(timeout=30)
    assert "Traceback" not in log.read_text(errors="replace")
