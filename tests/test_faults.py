"""Faults through the real endpoint, worker and processes: Slack 429/5xx/timeouts/refusals, Redis lost and
back, workers killed or stopped mid-take, and provider files Dailies must not post."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from redis import Redis

from bot.cli import main as cli_main
from bot.doctor import run_doctor
from bot.flows.brief import BUSY_REPLY
from bot.ids import SlackId
from bot.slack.client import make_web_client
from jobs.audio.check import check_file
from jobs.domain import spend
from jobs.domain.channels import ChannelSettings, save_channel_settings
from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore
from jobs.infra.settings import Settings
from tests.harness import (
    BOT_TOKEN,
    SIGNING_SECRET,
    BotEndpoint,
    Worker,
    block_action,
    free_port,
    make_settings,
    mention,
    wait_for,
)
from tests.hostile import crafted_files, crafted_provider, priced
from tests.standins.slack import SlackStandIn

CHANNEL = "C0ART"
CREATIVE = "U0CREATIVE"
DAILIES = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "dailies"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return crafted_files(tmp_path_factory.mktemp("crafted"))


@pytest.fixture()
def priced_env(redis_url: str, slack: SlackStandIn, tmp_path: Path):
    """A bot and worker where the crafted provider costs $0.25 a second."""
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media",
                             **priced({"DAILIES_MAX_CLIP_S": 3, "DAILIES_MAX_DOWNLOAD_BYTES": 1_000_000},
                                      "crafted", 0.25))
    bot = BotEndpoint(settings)
    yield settings, bot, Worker(settings)
    bot.stop()


def cards(slack: SlackStandIn, thread: str) -> list[dict]:
    """Take cards Slack actually holds in the thread (not calls that failed)."""
    return [m for m in list(slack.messages.values()) if m.get("thread_ts") == thread
            and (m.get("metadata") or {}).get("event_type") == "dailies_take"]


def clips(slack: SlackStandIn) -> list[dict]:
    return [f for f in slack.completed_uploads(CHANNEL) if f["name"].endswith(".mp4")]


def day_hash(store: RedisStore) -> dict[str, int]:
    raw = store.redis.hgetall(spend.channel_day_key(store, CHANNEL, spend.today()))
    return {k.decode(): int(v) for k, v in raw.items()}


# -- Slack faults --------------------------------------------------------------------------------------------


def test_429_waits_for_retry_after_and_5xx_is_retried(bot, worker, slack):
    thread = "1700700001.000100"
    slack.fail_next("chat.postMessage", status=429, retry_after_s=1)
    bot.event(mention("Lanterns on a lake x1 1s\nSound: water lapping", ts=thread))
    wait_for(lambda: [m for m in slack.messages.values() if m.get("thread_ts") == thread])
    first, second = slack.calls_to("chat.postMessage")[:2]
    assert second.at - first.at >= 1.0  # Slack's Retry-After was honoured

    slack.fail_next("files.getUploadURLExternal", status=429, retry_after_s=1)
    slack.fail_next("chat.update", status=503, times=2)
    slack.fail_next("chat.postMessage", status=502)
    wait_for(worker.pending)
    worker.drain()
    assert len(clips(slack)) == 1 and len(cards(slack, thread)) == 1
    take, = worker.store.channel_takes(CHANNEL)
    assert take.state == TakeState.posted
    status = slack.messages[(CHANNEL, worker.store.get_request(take.request_id).status_ts)]
    assert "done" in status["text"]


class _Stalling(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        method = self.path.rsplit("/", 1)[-1]
        self.seen.append(method)
        if self.seen.count(method) == 1:
            time.sleep(1.2)  # longer than the client's timeout: the first call of each method times out
        body = json.dumps({"ok": True, "ts": "1700000000.000001", "channel": CHANNEL}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass


def test_timeouts_are_retried_except_where_a_retry_could_post_twice(settings):
    _Stalling.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stalling)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        slow = settings.model_copy(update={"slack_api_url": f"http://127.0.0.1:{server.server_address[1]}/api/"})
        client = make_web_client(slow, timeout_s=0.5)
        assert client.chat_update(channel=CHANNEL, ts="1700000000.000001", text="x", parse="none")["ok"]
        assert _Stalling.seen == ["chat.update", "chat.update"]
        # A take's card is not blindly re-sent by the client: the pipeline retries it and finds it by metadata.
        with pytest.raises(TimeoutError):
            client.chat_postMessage(channel=CHANNEL, text="Take 1A", metadata={
                "event_type": "dailies_take", "event_payload": {"take_id": "x"}})
        assert _Stalling.seen.count("chat.postMessage") == 1
    finally:
        server.shutdown()
        server.server_close()


def test_a_429_one_process_gets_makes_every_process_wait(settings, slack):
    """Two clients on one Redis, as a worker pool's processes have: the second never calls a method Slack told
    the first to hold off, and then calls it once, after the wait (Slack's record shows the order)."""
    shared = Redis.from_url(settings.redis_url)
    first = make_web_client(settings, shared=shared)
    second = make_web_client(settings, shared=Redis.from_url(settings.redis_url))
    alone = make_web_client(settings)  # no Redis: only its own 429s slow it down
    slack.fail_next("chat.postMessage", status=429, retry_after_s=2)

    def first_posts() -> None:
        assert first.chat_postMessage(channel=CHANNEL, text="first")["ok"]

    thread = threading.Thread(target=first_posts)
    thread.start()
    wait_for(lambda: slack.calls_to("chat.postMessage"))  # the 429 has been answered to the first client
    wait_for(lambda: shared.exists(f"{settings.key_prefix}:slack-pause:chat.postMessage"))
    assert second.chat_postMessage(channel=CHANNEL, text="second")["ok"]
    thread.join(timeout=30)
    calls = slack.calls_to("chat.postMessage")
    refused_at = calls[0].at
    second_calls = [c for c in calls if c.args.get("text") == "second"]
    assert len(second_calls) == 1 and second_calls[0].at >= refused_at + 2 - 0.05  # waited out the 429
    assert [c.args.get("text") for c in calls].count("first") == 2  # the first retried after its Retry-After
    assert alone.chat_postMessage(channel=CHANNEL, text="alone")["ok"]


def test_a_failed_upload_is_retried_without_a_second_card(priced_env, slack, files):
    settings, bot, worker = priced_env
    thread = "1700710001.000100"
    with crafted_provider({"*": files["good"]}):
        bot.event(mention("Moths around a porch light 2s --model crafted", ts=thread))
        wait_for(worker.pending)
        slack.fail_next("files.completeUploadExternal", status=500, times=4)  # more than the client's retries
        worker.drain()
        thread_uploads = [c for c in slack.calls_to("files.completeUploadExternal") if "native" not in c.args["files"]]
        assert len(thread_uploads) == 5  # the native copy is kept once the take is posted, in its own upload
        assert len(clips(slack)) == 1 and len(cards(slack, thread)) == 1
        take, = worker.store.channel_takes(CHANNEL)
        assert take.state == TakeState.posted and take.file_id == clips(slack)[0]["id"]
        assert day_hash(worker.store)["spent"] == 500_000 and day_hash(worker.store)["reserved"] == 0

        # A worker that died after Slack took the card but before its ts was recorded: the rerun finds the
        # card by its message metadata instead of posting a second one.
        def lost(t):
            t.state, t.message_ts = TakeState.processing, None

        worker.store.update_take(take.id, lost)
        worker.runtime.scheduler.enqueue("fetch_take", take.id)
        worker.drain()
    again = worker.store.get_take(take.id)
    assert again.state == TakeState.posted and again.message_ts == take.message_ts
    assert len(cards(slack, thread)) == 1 and len(clips(slack)) == 1
    assert day_hash(worker.store)["spent"] == 500_000  # charged once


def test_slack_refusals_are_explained_and_the_requester_told(priced_env, slack, files, caplog):
    caplog.set_level(logging.INFO)
    settings, bot, worker = priced_env
    thread = "1700720001.000100"
    with crafted_provider({"*": files["good"]}):
        bot.event(mention("Bees in a sunflower field 2s --model crafted", ts=thread))
        wait_for(worker.pending)
        slack.fail_next("chat.update", error="channel_not_found")
        slack.fail_next("files.completeUploadExternal", error="not_in_channel")
        slack.fail_next("chat.postMessage", error="not_in_channel")  # the failure notice in the thread
        worker.drain()
    take, = worker.store.channel_takes(CHANNEL)
    assert take.state == TakeState.failed and "not a member of the channel" in take.error
    assert "the channel does not exist or the bot cannot see it" in caplog.text
    assert "invite it with /invite @dailies" in caplog.text
    dm, = [m for m in slack.posted() if m["channel"] == CREATIVE]
    assert "Take 1A" in dm["text"] and "/invite @dailies" in dm["text"]
    assert not cards(slack, thread) and not clips(slack)
    assert day_hash(worker.store) == {"reserved": 0}  # the reservation went back; nothing charged

    slack.fail_next("chat.postMessage", error="invalid_auth")
    bot.event(mention("Bees again", ts="1700720002.000100"))
    wait_for(lambda: "the bot token is invalid or revoked: check SLACK_BOT_TOKEN" in caplog.text)


# -- Redis faults ---------------------------------------------------------------------------------------------


def test_redis_lost_while_running_the_bot_still_answers_and_recovers(bot, worker, slack, redis_server):
    redis_server.stop()
    try:
        bot.event(mention("Fireflies over a meadow", ts="1700730001.000100"))
        busy = wait_for(lambda: slack.posted(thread_ts="1700730001.000100"), timeout_s=30)
        assert busy[0]["text"] == BUSY_REPLY
        bot.action(block_action(SlackId.APPROVE, "0123456789abcdef", user=CREATIVE, channel=CHANNEL,
                                message_ts="1700730001.000200"))
        ephemeral = wait_for(lambda: slack.calls_to("chat.postEphemeral"), timeout_s=30)
        assert ephemeral[0].args["text"] == BUSY_REPLY
    finally:
        redis_server.start()
    bot.event(mention("Fireflies over a meadow", ts="1700730002.000100"))
    status = wait_for(lambda: slack.posted(thread_ts="1700730002.000100"), timeout_s=30)
    assert "queued" in status[0]["text"].lower()
    wait_for(lambda: worker.pending() == 1)


def test_redis_unreachable_at_start_is_one_line_naming_redis_url(settings, tmp_path):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    env = {**os.environ, "REDIS_URL": dead, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": settings.slack_api_url, "DAILIES_MEDIA_DIR": str(tmp_path / "media")}
    result = subprocess.run([str(DAILIES), "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "REDIS_URL=" + dead in lines[0] and "Traceback" not in result.stderr
    runner = CliRunner()
    for command, args in (("serve", []), ("export", ["--channel", CHANNEL]), ("socket", [])):
        outcome = runner.invoke(cli_main.commands[command], args, env={**env, "SLACK_APP_TOKEN": "xapp-1-x"})
        assert outcome.exit_code == 1, (command, outcome.output)
        assert f"Redis is unreachable at REDIS_URL={dead}" in outcome.output, command
    lines = []
    assert run_doctor(settings.model_copy(update={"redis_url": dead}), lines.append) is False
    assert any(line.startswith("✗ REDIS_URL: Redis is unreachable") for line in lines)


# -- worker faults --------------------------------------------------------------------------------------------


def _worker_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ, "SLACK_API_URL": settings.slack_api_url, "REDIS_URL": settings.redis_url,
        "DAILIES_KEY_PREFIX": settings.key_prefix, "DAILIES_QUEUE": settings.queue_name,
        "DAILIES_MEDIA_DIR": str(settings.media_dir), "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET, "DAILIES_STEP_LEASE_S": "1", "DAILIES_POLL_INITIAL_S": "0.1",
        "DAILIES_POLL_MAX_S": "0.5", "DAILIES_STATUS_EDIT_MIN_S": "0",
    }


def _start_worker(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log_file:
        return subprocess.Popen([str(DAILIES), "worker"], env=_worker_env(settings), stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _rendering(settings: Settings) -> bool:
    return any(Path(settings.media_dir, "previz").glob("*.part.mp4"))


def _request_for(store: RedisStore, thread: str):
    return wait_for(lambda: store.thread_requests(CHANNEL, thread))[0]


@pytest.mark.parametrize("stop", ["SIGKILL", "SIGTERM"])
def test_a_worker_killed_or_stopped_mid_render_never_loses_or_duplicates_a_take(bot, slack, settings, tmp_path,
                                                                                   stop):
    store = RedisStore.open(settings)
    thread = "1700740001.000100"
    bot.event(mention("Slow dolly through a greenhouse x2 4s\nSound: sprinklers, birds", ts=thread))
    request = _request_for(store, thread)
    log_path = tmp_path / "worker.log"
    first = _start_worker(settings, log_path)
    second = None
    try:
        wait_for(lambda: _rendering(settings), timeout_s=30)
        if stop == "SIGKILL":
            os.killpg(first.pid, signal.SIGKILL)  # the whole machine is gone: worker, work horse, scheduler
            first.wait(timeout=10)
        else:
            first.send_signal(signal.SIGTERM)  # warm shutdown: the current step finishes, then it exits
            assert first.wait(timeout=60) == 0
            assert not _rendering(settings)
        second = _start_worker(settings, log_path)
        wait_for(lambda: all(t.state.finished for t in store.takes_for(request)), timeout_s=90)
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
    takes = store.takes_for(request)
    assert [t.state for t in takes] == [TakeState.posted] * 2, log_path.read_text()[-3000:]
    for take in takes:
        assert len([c for c in cards(slack, thread) if f"Take {take.label}" in c["text"]]) == 1
    assert len(clips(slack)) == 2
    assert sorted(f["title"] for f in clips(slack)) == ["Take 1A (previz)", "Take 1B (previz)"]
    status = slack.messages[(CHANNEL, store.get_request(request.id).status_ts)]
    assert "done — 2 of 2 posted" in status["text"]


# -- bad media ----------------------------------------------------------------------------------------------------


def test_bad_provider_files_are_refused_with_a_clear_reason(priced_env, slack, files):
    settings, bot, worker = priced_env
    thread = "1700750001.000100"
    mapping = {"1A": "good", "1B": "empty", "1C": "text", "1D": "noaudio", "1E": "long", "1F": "large",
               "1G": "truncated"}
    with crafted_provider({label: files[name] for label, name in mapping.items()}):
        bot.event(mention("Koi under ice x7 2s --model crafted\nSound: muffled water", ts=thread))
        wait_for(worker.pending)
        worker.drain()
    takes = {t.label: t for t in worker.store.channel_takes(CHANNEL)}
    assert takes["1A"].state == TakeState.posted
    expected = {
        "1B": "the file is empty",
        "1C": "not a video",
        "1D": "no sound although sound was asked for",
        "1E": "it is 4 s long; the limit is 3 s",
        "1F": "MB; the limit is 1.0 MB",
        "1G": "does not decode cleanly",
    }
    notices = [m["text"] for m in slack.posted(thread_ts=thread) if m.get("text", "").startswith(":warning: Take")]
    for label, reason in expected.items():
        assert takes[label].state == TakeState.failed and reason in takes[label].error, (label, takes[label].error)
        notice, = [n for n in notices if n.startswith(f":warning: Take {label}:")]
        assert "returned a file Dailies cannot use" in notice and reason in notice
    assert len(clips(slack)) == 1 and len(cards(slack, thread)) == 1
    hashed = day_hash(worker.store)
    assert hashed["spent"] == 500_000 and hashed["reserved"] == 0  # only the good take is charged


@pytest.mark.parametrize("heard", ["matched", "as rendered", "already at the level"])
def test_a_take_whose_picture_does_not_decode_is_refused(priced_env, slack, files, heard):
    """The picture is proven frame by frame whichever way the channel hears takes: in the sound check's own run
    (as rendered), in the run that makes the listening copy (matched), or on its own (no copy needed)."""
    settings, bot, worker = priced_env
    if heard != "matched":
        native = check_file(files["badpicture"]).integrated_lufs  # the sound alone decodes cleanly
        assert native is not None
        level = "native" if heard == "as rendered" else native
        save_channel_settings(worker.store, CHANNEL, ChannelSettings(preview_loudness=level))
    thread = "1700750002.000100"
    with crafted_provider({"1A": files["good"], "1B": files["badpicture"]}):
        bot.event(mention("Koi under ice x2 1s --model crafted\nSound: muffled water", ts=thread))
        wait_for(worker.pending)
        worker.drain()
    takes = {t.label: t for t in worker.store.channel_takes(CHANNEL)}
    assert takes["1A"].state == TakeState.posted
    assert takes["1B"].state == TakeState.failed and "does not decode cleanly" in takes["1B"].error, takes["1B"].error
    notice, = [m["text"] for m in slack.posted(thread_ts=thread) if m.get("text", "").startswith(":warning: Take 1B")]
    assert "returned a file Dailies cannot use" in notice and "does not decode cleanly" in notice
    assert len(clips(slack)) == 1 and len(cards(slack, thread)) == 1
    assert (takes["1A"].preview is not None) == (heard != "as rendered")
    assert not [path.name for path in settings.media_dir.rglob("1B*")]  # nothing of the refused take is kept
    assert day_hash(worker.store)["spent"] == 250_000  # one second of the good take, nothing for the damaged one
