"""Production processes: `dailies serve` (gunicorn) and `dailies worker`, as the Procfile runs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from redis import Redis
from rq import Queue

from tests.harness import SIGNING_SECRET, free_port, mention, wait_for
from tests.standins.slack import SlackStandIn

ROOT = Path(__file__).resolve().parents[1]


def settings_env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DAILIES_", "REDIS_"))}
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if field.alias and value is not None:
            if isinstance(value, list):
                value = ",".join(value)
            elif isinstance(value, dict):
                value = json.dumps(value)
            elif hasattr(value, "get_secret_value"):
                value = value.get_secret_value()
            env[field.alias] = str(value)
    return env


def dailies(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": "application/json"}


def test_gunicorn_serves_slack_events_and_the_worker_posts_the_take(settings, slack: SlackStandIn):
    env = settings_env(settings)
    port = free_port()
    server = subprocess.Popen(dailies("serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "1"),
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _up(url + "/healthz"), timeout_s=30)
        body = json.dumps({"type": "event_callback", "event_id": "EvGUNI", "team_id": "T0TEAM",
                           "event": mention("Lanterns on a river\nSound: water lapping\nx1 1s", ts="1700009000.000100")})
        response = httpx.post(url + "/slack/events", content=body, headers=signed(body), timeout=10)
        assert response.status_code == 200
        bad = httpx.post(url + "/slack/events", content=body, headers={**signed(body), "X-Slack-Signature": "v0=00"},
                         timeout=10)
        assert bad.status_code == 401
        wait_for(lambda: slack.posted(thread_ts="1700009000.000100"), timeout_s=20)
        queue = Queue(settings.queue_name, connection=Redis.from_url(settings.redis_url))
        wait_for(lambda: queue.count == 1, timeout_s=10)
    finally:
        server.terminate()
        server.wait(timeout=20)

    worker = subprocess.run(dailies("worker", "--burst"), cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=180)
    assert worker.returncode == 0, worker.stderr[-2000:]
    clips = [f for f in slack.completed_uploads("C0ART") if f["name"].endswith(".mp4")]
    assert len(clips) == 1 and clips[0]["thread_ts"] == "1700009000.000100"
    assert any("Take 1A" in m.get("text", "") for m in slack.posted(thread_ts="1700009000.000100"))
    logs = server.stdout.read().decode() if server.stdout else ""
    for secret in (settings.slack_bot_token.get_secret_value(), SIGNING_SECRET):
        assert secret not in logs and secret not in worker.stderr and secret not in worker.stdout


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
