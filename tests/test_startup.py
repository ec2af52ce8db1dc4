"""A freshly started `dailies serve` knows every model from its very first requests (no start-up race)."""

from __future__ import annotations

import json
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.harness import free_port, mention, wait_for
from tests.standins.slack import SlackStandIn
from tests.test_serve import ROOT, dailies, settings_env, signed

BRIEFS = {
    "veo": "x1 8s 16:9 --model veo",
    "kling": "x1 5s --model kling",
    "seedance": "x1 5s --model seedance",
    "fal": "x1 8s --model fal:fal-ai/veo3.1",
}


def _accepts_connections(port: int) -> bool:
    """A TCP connect only: no HTTP request may reach the app before the burst."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_first_concurrent_briefs_for_network_models_on_a_fresh_server(settings, slack: SlackStandIn):
    port = free_port()
    server = subprocess.Popen(dailies("serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "2"),
                              cwd=ROOT, env=settings_env(settings), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _accepts_connections(port), timeout_s=30)
        threads = {f"17000200{index:02d}.000100": model for index, model in
                   enumerate([*BRIEFS, *BRIEFS])}

        def send(thread_ts: str) -> int:
            text = f"A lighthouse in fog\nSound: foghorn, waves\n{BRIEFS[threads[thread_ts]]}"
            body = json.dumps({"type": "event_callback", "event_id": f"EvBURST{thread_ts[8:10]}",
                               "team_id": "T0TEAM", "event": mention(text, ts=thread_ts)})
            return httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=signed(body),
                              timeout=10).status_code

        with ThreadPoolExecutor(max_workers=len(threads)) as pool:
            statuses = list(pool.map(send, threads))
        assert statuses == [200] * len(threads)
        wait_for(lambda: all(slack.posted(thread_ts=ts) for ts in threads), timeout_s=30)
    finally:
        server.terminate()
        server.wait(timeout=20)
    for thread_ts, model in threads.items():
        texts = [json.dumps(m) for m in slack.posted(thread_ts=thread_ts)]
        assert not any("not a model Dailies knows" in text for text in texts), (model, texts)
        assert any("Round 1" in text or "round 1" in text for text in texts), (model, texts)
