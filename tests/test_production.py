"""The production topology: `dailies serve` under gunicorn (two processes, gevent) and two `dailies worker`
processes, with concurrent senders. Slack's own record is the truth for votes, whatever order events run in."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from redis import Redis

from adapters.media import run_ffmpeg
from bot.cli import main as cli_main
from jobs.domain.store import RedisStore
from tests.harness import free_port, mention, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn
from tests.test_serve import ROOT, dailies, settings_env, signed
from tests.test_worker_kill import kill_group, start_worker

# Several processes and timed stops: one such module at a time when the suite runs in parallel (scripts/test).
pytestmark = pytest.mark.xdist_group("processes")


@pytest.fixture()
def production(settings, slack: SlackStandIn, tmp_path: Path) -> Iterator[str]:
    with run_production(settings_env(settings), tmp_path) as url:
        yield url


@contextmanager
def run_production(env: dict[str, str], tmp_path: Path, machines: list[dict[str, str]] | None = None) -> Iterator[str]:
    """gunicorn with two processes, a worker pool of two and a single worker (each with `machines[i]` added to
    its environment: its own media folder stands in for its own disk); yields the events URL."""
    port = free_port()
    log = tmp_path / "processes.log"
    server = subprocess.Popen(dailies("serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "2"),
                              cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    machines = machines or [{}, {}]
    workers = [start_worker(env | machines[0], log, processes=2), start_worker(env | machines[1], log)]
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


def settled(condition, timeout_s: float, quiet_s: float = 2.0) -> None:  # noqa: ANN001 - a predicate
    """Wait until `condition()` has held for `quiet_s` without a break."""
    deadline = time.monotonic() + timeout_s
    held_since = None
    while time.monotonic() < deadline:
        if condition():
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since >= quiet_s:
                return
        else:
            held_since = None
        time.sleep(0.05)
    raise AssertionError("the condition did not settle within the time limit")


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

    # Acked is not yet counted: an event still running on a listener thread may move the count for a moment,
    # until the card's next reconcile with reactions.get. So wait for the count to settle, then check it.
    settled(lambda: store.get_take(take.id).votes == {"+1": 8} and store.get_take(take.id).score == 8
            and "+8" in json.dumps(slack.messages[("C0ART", take.message_ts)].get("blocks") or []), timeout_s=60)
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


@pytest.fixture()
def fal() -> Iterator[FalStandin]:
    standin = FalStandin().start()
    standin.finish_after_polls = 2
    yield standin
    standin.stop()


def test_a_storyboard_round_on_workers_on_two_machines(settings, slack: SlackStandIn, fal: FalStandin,
                                                       tmp_path: Path) -> None:
    """Workers that share nothing but Redis and Slack: each fetches the reference frame from Slack by file id,
    whichever posts the round's last take draws the contact sheet from Slack's copies of the others' takes,
    and a note lands on the card."""
    env = settings_env(settings) | {"FAL_KEY": FAL_KEY, "FAL_QUEUE_URL": fal.url,
                                    "DAILIES_ALLOWED_MEDIA_URLS": fal.url + "/", "DAILIES_DEFAULT_DURATION_S": "4"}
    machines = [{"DAILIES_MEDIA_DIR": str(tmp_path / name)} for name in ("machine-a", "machine-b")]
    frame = tmp_path / "board.png"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=1280x720", "-frames:v", "1", str(frame)])
    file = slack.add_file("board.png", frame.read_bytes(), mimetype="image/png", filetype="png",
                          original_w=1280, original_h=720)
    thread = "1700990500.000100"
    event = mention("Kite over dunes\nSound: wind\nx4 --model fal:fal-ai/veo3.1", ts=thread) | {"files": [file]}
    store = RedisStore(Redis.from_url(settings.redis_url), settings.key_prefix)
    with run_production(env, tmp_path, machines) as url:
        assert send(url, event, 500) == 200
        sheet = wait_for(lambda: [f for f in slack.files.values() if "contact-sheet" in f["name"]
                                  and f.get("completed")], timeout_s=120)
        takes = [t for t in store.channel_takes("C0ART") if t.thread_ts == thread]
        assert len(takes) == 4 and all(t.state.value == "posted" for t in takes), [(t.state, t.error) for t in takes]
        assert len(sheet) == 1 and sheet[0]["thread_ts"] == thread
        sent = [c for c in fal.calls("POST") if c.path == "/fal-ai/veo3.1/image-to-video"]
        assert len(sent) == 4 and all(c.json["image_url"].startswith("data:image/jpeg;base64,") for c in sent)
        # both machines prepared their own copy of the frame when they submitted a take (no shared disk)
        prepared = {m["DAILIES_MEDIA_DIR"]: list(Path(m["DAILIES_MEDIA_DIR"]).glob("references/*/*.jpg"))
                    for m in machines}
        assert all(prepared.values()), prepared

        card = next(t for t in takes if t.label == "1C").message_ts
        assert send(url, mention("note 1C 0:02 the wind gust clips", ts="1700990501.000100", thread_ts=thread),
                    501) == 200
        wait_for(lambda: "1 timecoded note at 0:02" in json.dumps(
            slack.messages[("C0ART", card)].get("blocks") or []), timeout_s=30)


def test_previz_takes_land_when_workers_share_no_disk(settings, slack: SlackStandIn, tmp_path: Path) -> None:
    """Previz renders on the worker that submits: its poll and fetch run there too, so a round spread over two
    machines posts every take instead of failing those whose next step ran elsewhere."""
    machines = [{"DAILIES_MEDIA_DIR": str(tmp_path / name)} for name in ("machine-a", "machine-b")]
    thread = "1700990700.000100"
    store = RedisStore(Redis.from_url(settings.redis_url), settings.key_prefix)
    with run_production(settings_env(settings), tmp_path, machines) as url:
        assert send(url, mention("Kite over dunes\nSound: wind\nx6 2s", ts=thread), 700) == 200
        takes = wait_for(lambda: (found := [t for t in store.channel_takes("C0ART") if t.thread_ts == thread])
                         and len(found) == 6 and all(t.state.finished for t in found) and found, timeout_s=120)
        assert [t.state.value for t in takes] == ["posted"] * 6, [(t.label, t.error) for t in takes]
        renders = [list(Path(m["DAILIES_MEDIA_DIR"]).glob("previz/*.mp4")) for m in machines]
        assert all(renders), renders  # both machines rendered some of the round
