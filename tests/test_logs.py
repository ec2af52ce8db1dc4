"""Logs an operator can search: with DAILIES_LOG_FORMAT=json every line `dailies serve` and `dailies worker` write
is one JSON object, carrying the team, channel, request and take ids where they are known, secrets scrubbed."""

from __future__ import annotations

import inspect
import json
import logging
import subprocess

import httpx
import pytest
from redis import Redis
from rq import Queue

from jobs.domain.store import RedisStore
from jobs.infra.logs import JsonFormatter, TextFormatter, bound, configure_logging
from jobs.pipeline.tasks import ID_KINDS, TASKS
from tests.harness import free_port, mention, wait_for
from tests.standins.slack import SlackStandIn
from tests.test_serve import ROOT, _up, dailies, settings_env, signed


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line[:200]}")
    return parsed


def test_serve_and_worker_write_one_json_object_a_line_with_the_ids_bound(settings, slack: SlackStandIn) -> None:
    env = {**settings_env(settings), "DAILIES_LOG_FORMAT": "json"}
    port = free_port()
    server = subprocess.Popen(dailies("serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "1"),
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _up(url + "/healthz"), timeout_s=30)
        body = json.dumps({"type": "event_callback", "event_id": "EvJSON", "team_id": "T0TEAM",
                           "event": mention("Lanterns on a river\nSound: water\nx1 1s", ts="1700500000.000100")})
        assert httpx.post(url + "/slack/events", content=body, headers=signed(body), timeout=10).status_code == 200
        queue = Queue(settings.queue_name, connection=Redis.from_url(settings.redis_url))
        wait_for(lambda: queue.count == 1, timeout_s=20)
    finally:
        server.terminate()
        server.wait(timeout=20)
    serve_log = server.stdout.read().decode() if server.stdout else ""
    worker = subprocess.run(dailies("worker", "--burst"), cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=180)
    assert worker.returncode == 0, worker.stderr[-2000:]

    take = RedisStore.open(settings).channel_takes("C0ART")[0]
    served = json_lines(serve_log)
    assert {"time", "level", "logger", "message"} <= set(served[0])
    queued = [entry for entry in served if entry["message"].startswith("request queued")]
    assert queued and queued[0]["channel"] == "C0ART" and queued[0]["request"] == take.request_id
    worked = json_lines(worker.stderr + worker.stdout)
    fetched = [entry for entry in worked if entry.get("task") == "submit_take"]  # previz renders, fetches there
    assert fetched and all(entry["take"] == take.id for entry in fetched)
    assert any(entry.get("task") == "start_request" and entry.get("request") == take.request_id for entry in worked)
    for secret in (settings.slack_bot_token.get_secret_value(), settings.slack_signing_secret.get_secret_value()):
        assert secret not in serve_log and secret not in worker.stderr


def test_a_json_line_keeps_the_traceback_and_scrubs_secrets(capsys) -> None:
    configure_logging("INFO", ["hunter2-secret-value"], "json")
    log = logging.getLogger("dailies.test")
    with bound(team="T0ONE", take="take-1", channel=None):
        try:
            raise ValueError("token xoxb-12345-abcdef and hunter2-secret-value leaked")
        except ValueError:
            log.exception("failed with %s", "hunter2-secret-value")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["team"] == "T0ONE" and entry["take"] == "take-1" and "channel" not in entry
    assert "ValueError" in entry["exception"]
    assert "hunter2" not in line and "xoxb-12345" not in line


def test_text_lines_carry_the_ids_too() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "posted", None, None)
    record.dailies_ids = {"team": "T0ONE", "take": "abc"}
    assert TextFormatter().format(record).endswith("posted [team=T0ONE take=abc]")
    assert json.loads(JsonFormatter().format(record))["take"] == "abc"


def test_every_task_names_its_first_id_for_the_log_context() -> None:
    for name, task in TASKS.items():
        params = list(inspect.signature(task).parameters)
        named = params[1].removesuffix("_id") if len(params) > 1 and params[1].endswith("_id") else None
        assert ID_KINDS.get(name) == named, name
