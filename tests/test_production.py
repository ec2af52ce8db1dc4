"""The production topology: `dailies serve` under gunicorn (two processes, gevent) and two `dailies worker`
processes, with concurrent senders. Slack's own record is the truth for votes, whatever order events run in."""

from __future__ import annotations

import json
import random
import signal
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from redis import Redis

from bot.cli import main as cli_main
from jobs.infra.store import RedisStore
from tests.harness import free_port, mention, wait_for
from tests.standins.slack import SlackStandIn
from tests.test_serve import ROOT, dailies, settings_env, signed
from tests.test_worker_kill import kill_group, start_worker


@pytest.fixture()
def production(settings, slack: SlackStandIn, tmp_path: Path) -> Iterator[str]:
    env = settings_env(settings)
    port = free_port()
    log = tmp_path / "processes.log"
    server = subprocess.Popen(dailies("serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "2"),
                              cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    workers = [start_worker(env, log, processes=2), start_worker(env, log)]  # a pool and a single worker
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        wait_for(lambda: _up(f"http://127.0.0.1:{port}/healthz"), timeout_s=30)
        yield url
    finally:
        for process in (server, *workers):
            kill_group(process, signal.SIGTERM)


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def send(url: str, event: dict, index: int) -> int:
    body = json.dumps({"type": "event_callback", "team_id": "T0TEAM", "event_id": f"EvPROD{index:05d}",
                       "event_time": 1700990000, "event": event})
    return httpx.post(url, content=body, headers=signed(body), timeout=10).status_code


def test_votes_equal_what_slack_shows_whatever_order_events_run_in(production, settings, slack: SlackStandIn):
    thread = "1700990000.000100"
    assert send(production, mention("Kite over dunes\nSound: wind\nx1 1s", ts=thread), 0) == 200
    store = RedisStore(Redis.from_url(settings.redis_url), settings.key_prefix)
    take = wait_for(lambda: next((t for t in store.channel_takes("C0ART") if t.message_ts), None), timeout_s=90)

    # 16 people react +1 at once; 8 of them take it back. Slack records each as it happens and sends the
    # events, which Bolt then runs on its thread pools in any order: here they are even sent shuffled.
    people = [f"U0FAN{i:02d}" for i in range(16)]
    events = [slack.react(user, "C0ART", take.message_ts, "+1") for user in people]
    events += [slack.react(user, "C0ART", take.message_ts, "+1", added=False) for user in people[:8]]
    random.Random(7).shuffle(events)
    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(lambda pair: send(production, pair[1], 100 + pair[0]), enumerate(events)))
    assert codes == [200] * len(events)

    wait_for(lambda: store.get_take(take.id).score == 8, timeout_s=60)
    wait_for(lambda: "+8" in json.dumps(slack.messages[("C0ART", take.message_ts)].get("blocks") or []),
             timeout_s=30)
    assert store.get_take(take.id).votes == {"+1": 8}

    # `results` ranks by Slack's record too, and `dailies export` says the same number.
    assert send(production, mention("results", ts="1700990001.000100", thread_ts=thread), 1) == 200
    ranking = wait_for(lambda: [m for m in slack.posted(thread_ts=thread) if m.get("text", "").startswith("Results")],
                       timeout_s=30)
    assert "+8" in ranking[0]["text"]
    exported = CliRunner().invoke(cli_main, ["export", "--channel", "C0ART", "--json"],
                                  env=settings_env(settings))
    assert exported.exit_code == 0, exported.output
    assert [row["score"] for row in json.loads(exported.output)] == [8]
