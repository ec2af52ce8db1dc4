"""Hostile input through the real endpoint and worker: forged buttons, the channel allowlist, mrkdwn
injection, Slack's size limits, and secrets that must never show up in logs, errors, exports or messages."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.base import FailureKind, ProviderError
from bot.cli import main as cli_main
from bot.doctor import run_doctor
from bot.slack.text import escape
from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore
from jobs.infra.logs import stderr_handler
from tests.harness import (
    BOT_TOKEN,
    SIGNING_SECRET,
    BotEndpoint,
    Worker,
    block_action,
    make_settings,
    mention,
    reaction_event,
    wait_for,
)
from tests.hostile import crafted_files, crafted_provider, every_string, limit_problems, outbound
from tests.standins.slack import SlackStandIn
from tests.vote_helpers import event_id

CHANNEL = "C0ART"
OTHER = "C0OTHER"
CREATIVE = "U0CREATIVE"
INTRUDER = "U0INTRUDER"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return crafted_files(tmp_path_factory.mktemp("crafted"))


def ephemerals(slack: SlackStandIn, user: str) -> list[str]:
    return [c.args.get("text", "") for c in slack.calls_to("chat.postEphemeral") if c.args.get("user") == user]


def posted_take(bot: BotEndpoint, worker: Worker, slack: SlackStandIn, *, thread: str, channel: str = CHANNEL):
    bot.event(mention("Paper lanterns on a river --model crafted", ts=thread, channel=channel))
    wait_for(worker.pending)
    worker.drain()
    take, = [t for r in worker.store.thread_requests(channel, thread) for t in worker.store.takes_for(r)]
    assert take.state == TakeState.posted and take.message_ts
    return take


# -- authorization ---------------------------------------------------------------------------------------


def test_forged_buttons_are_refused_logged_and_change_nothing(bot, worker, slack, files, caplog):
    caplog.set_level(logging.INFO)
    with crafted_provider({"*": files["good"]}):
        mine = posted_take(bot, worker, slack, thread="1700600001.000100")
        theirs = posted_take(bot, worker, slack, thread="1700600002.000100")
        elsewhere = posted_take(bot, worker, slack, thread="1700600003.000100", channel=OTHER)
        store = worker.store
        requests_before = len(store.redis.keys(f"{worker.settings.key_prefix}:req:*"))

        def press(action_id: str, value: str, *, channel: str = CHANNEL, message_ts: str = mine.message_ts,
                  **extra: object) -> None:
            payload = block_action(action_id, value, user=INTRUDER, channel=channel, message_ts=message_ts,
                                   thread_ts=mine.thread_ts)
            payload.update(extra)
            assert bot.action(payload).status_code == 200

        forged = [
            ("reroll", theirs.id, {}),  # someone else's take, pressed on my card
            ("more_like_this", theirs.id, {}),
            ("send_to_sound", theirs.id, {}),
            ("reroll", "deadbeefdeadbeef-0", {}),  # a take that does not exist
            ("reroll", "../../" + "A" * 500, {}),  # a forged value
            ("more_like_this", elsewhere.id, {"message_ts": elsewhere.message_ts}),  # another channel's take
            ("send_to_sound", elsewhere.id, {"message_ts": elsewhere.message_ts}),
        ]
        for action_id, value, extra in forged:
            press(action_id, value, **extra)
        for action_id in ("ticket_claim", "ticket_deliver", "ticket_return", "ticket_cancel", "ticket_accept"):
            press(action_id, "SND-9999")  # a ticket that does not exist
        press("ticket_claim", "SND-0001'; FLUSHALL")  # a forged ticket value
        for selected in (f"{theirs.id}|social", "deadbeefdeadbeef-0|social", f"{mine.id}|louder"):
            payload = block_action("master_for", "", user=INTRUDER, channel=CHANNEL, message_ts=mine.message_ts,
                                   thread_ts=mine.thread_ts, selected=selected)
            assert bot.action(payload).status_code == 200
        wait_for(lambda: len(ephemerals(slack, INTRUDER)) >= len(forged) + 9, timeout_s=30)
        assert "jobs.pipeline.tasks.master_take" not in [job.func_name for job in worker.queue.get_jobs()]

        # Malformed payloads: acknowledged, nothing happens.
        broken = block_action("reroll", mine.id, user=INTRUDER, channel=CHANNEL, message_ts=mine.message_ts)
        broken["actions"] = []
        assert bot.action(broken).status_code == 200
        assert bot.action({"type": "block_actions", "user": {}, "actions": [{"x": 1}]}).status_code == 200
        oversized = block_action("reroll", "A" * 3000, user=INTRUDER, channel=CHANNEL, message_ts=mine.message_ts)
        assert bot.action(oversized).status_code == 200  # over Slack's 2000-character button value
        assert sum("malformed block_actions" in r.getMessage() for r in caplog.records) == 3

        worker.drain()
        assert len(store.redis.keys(f"{worker.settings.key_prefix}:req:*")) == requests_before
        assert not store.redis.keys(f"{worker.settings.key_prefix}:ticket*")
        assert all(t.ticket is None for t in store.channel_takes(CHANNEL))
        refused = [r for r in caplog.records if r.levelno >= logging.WARNING and "refused" in r.getMessage()]
        assert len(refused) >= len(forged) + 9

        # The same button, pressed honestly, works: the refusals above were about the payloads.
        press("reroll", mine.id)
        wait_for(lambda: len(store.thread_requests(CHANNEL, mine.thread_ts)) == 2)


def test_the_channel_allowlist_drops_events_buttons_and_reactions_from_elsewhere(redis_url, slack, tmp_path,
                                                                                   caplog):
    caplog.set_level(logging.INFO)
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_CHANNELS=CHANNEL)
    bot, worker = BotEndpoint(settings), Worker(settings)
    try:
        bot.event(mention("Storm over a lighthouse", ts="1700610001.000100", channel=OTHER))
        bot.event(reaction_event("x", user=CREATIVE, ts="1700610001.000100", channel=OTHER), event_id=event_id())
        response = bot.action(block_action("approve_request", "0123456789abcdef", user=CREATIVE, channel=OTHER,
                                           message_ts="1700610001.000100"))
        assert response.status_code == 200
        wait_for(lambda: sum("not in DAILIES_CHANNELS" in r.getMessage() for r in caplog.records) >= 3)
        # Allowed: the channel on the list, and a DM.
        bot.event(mention("Storm over a lighthouse", ts="1700610002.000100"))
        dm = {"type": "message", "channel_type": "im", "channel": "D0DIRECT", "user": CREATIVE,
              "text": "Storm over a lighthouse", "ts": "1700610003.000100"}
        bot.event(dm)
        wait_for(lambda: len(slack.posted()) == 2)
        assert {m["channel"] for m in slack.posted()} == {CHANNEL, "D0DIRECT"}
        assert not slack.calls_to("chat.postEphemeral")
        wait_for(lambda: worker.pending() == 2)
    finally:
        bot.stop()


def test_one_rule_says_where_briefs_run_and_what_dailies_listens_to(redis_url, slack, tmp_path):
    listed = make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_CHANNELS=CHANNEL,
                           DAILIES_SOUND_CHANNEL="C0SOUNDQ")
    assert listed.takes_briefs_in(CHANNEL) and listed.takes_briefs_in("D0DIRECT")
    assert not listed.takes_briefs_in(OTHER) and not listed.takes_briefs_in("C0SOUNDQ")  # the queue is for tickets
    assert listed.listens_in("C0SOUNDQ") and not listed.listens_in(OTHER)
    assert make_settings(redis_url, slack.api_url, tmp_path / "media").takes_briefs_in(OTHER)  # no list: anywhere


# -- injection and limits ---------------------------------------------------------------------------------

LIVE = re.compile(r"<[!@#]|<https?:|<mailto:")
BROKEN_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def slack_wire(text: str) -> str:
    """How Slack sends text a person typed: &, < and > as entities (markup added separately)."""
    return escape(text)


def test_mentions_and_links_in_a_brief_never_come_back_out_live(bot, worker, slack, files):
    thread = "1700620001.000100"
    hostile = ("Rooftop party <!channel> <!here> <!subteam^S0SOUND|@sound-team> <@U0VICTIM> "
               "<#C0SECRET|secret> <https://evil.example/x|click me> "
               + slack_wire("<!everyone> <@U0VICTIM> <https://evil.example> &amp; <b>bold</b>")
               + "\nSound: crowd " + slack_wire("<!here>") + " cheering\nx2 1s --model crafted")
    refinement = ("Sound: " + slack_wire("<!channel> fireworks <@U0VICTIM>") + "\nMusic: "
                  + slack_wire("<!subteam^S0SOUND> anthem") + "\n--no " + slack_wire("<!here>"))
    with crafted_provider({"*": files["good"], "1B": files["empty"]}):
        bot.event(mention(hostile, ts=thread))
        wait_for(lambda: worker.pending())
        worker.drain()
        bot.event(mention(refinement, ts="1700620002.000100", thread_ts=thread))
        wait_for(lambda: len(worker.store.thread_requests(CHANNEL, thread)) == 2 and worker.pending())
        worker.drain()
        for bad in ("--model " + slack_wire("<!channel><@U0VICTIM>"), "x2 --bogus" + slack_wire("<!here>"),
                    "--target " + slack_wire("<@U0VICTIM>")):
            bot.event(mention(bad, ts=f"17006{len(bad):05d}.000100"))
        wait_for(lambda: sum("can't run" in m.get("text", "") for m in slack.posted()) == 3)

    calls = outbound(slack)
    assert len([c for c in calls if c[0] == "chat.postMessage"]) >= 8
    for method, args in calls:
        for text in every_string(args):
            assert not LIVE.search(text), (method, text)
            assert not BROKEN_ENTITY.search(text), (method, text)
        assert not args.get("link_names"), method
        if method in ("chat.postMessage", "chat.update"):
            assert args.get("parse") == "none", (method, args.get("text"))
    shown = json.dumps([args for _, args in calls])
    assert "&lt;!channel&gt;" in shown and "&lt;@U0VICTIM&gt;" in shown  # shown as words, not as mentions


def test_huge_briefs_and_24_takes_stay_within_slacks_limits(bot, worker, slack, files):
    thread = "1700630001.000100"
    flags = "x24 1s --model crafted"
    picture = ("Storm & <neon> signs > rain " * 200)[: 3000 - len(flags) - 1]
    with crafted_provider({"*": files["good"], "1C": files["text"]}):
        bot.event(mention(slack_wire(picture) + "\n" + flags, ts=thread))
        wait_for(lambda: worker.pending())
        worker.drain(timeout_s=120)
        sound = ("thunder & <hail> on tin > wind " * 120)[:2990]
        bot.event(mention(slack_wire("Sound: " + sound), ts="1700630002.000100", thread_ts=thread))
        wait_for(lambda: len(worker.store.thread_requests(CHANNEL, thread)) == 2)
        bot.event(mention(slack_wire("--" + "&<>" * 990), ts="1700630003.000100"))  # echoed in the refusal
        bot.event(mention(slack_wire("&<>" * 1100), ts="1700630004.000100"))  # over the brief limit
        wait_for(lambda: sum("can't run" in m.get("text", "") for m in slack.posted()) == 2)

    takes = worker.store.takes_for(worker.store.thread_requests(CHANNEL, thread)[0])
    assert len(takes) == 24 and sum(t.state == TakeState.posted for t in takes) == 23
    calls = outbound(slack)
    problems = [problem for method, args in calls for problem in limit_problems(method, args)]
    assert problems == []
    for _, args in calls:
        for text in every_string(args):
            assert not BROKEN_ENTITY.search(text), text[-40:]
    cut_texts = [t for _, args in calls for t in every_string(args) if t.endswith("…")]
    assert cut_texts  # long user text was cut, with an ellipsis


# -- secrets ----------------------------------------------------------------------------------------------

SECRETS = {
    "SLACK_APP_TOKEN": "xapp-test-not-a-real-app-token",
    "FAL_KEY": "fal-secret-3f1c2b8e9d7a6b5c4d3e2f1a",
    "KLING_ACCESS_KEY": "kling-access-9a8b7c6d5e4f",
    "KLING_SECRET_KEY": "kling-secret-0f1e2d3c4b5a",
    "ARK_API_KEY": "ark-key-77aa88bb99cc00dd",
    "VEO_ACCESS_TOKEN": "ya29.veo-token-5566778899",
}


def test_secrets_never_reach_logs_errors_exports_or_messages(redis_url, slack, tmp_path, files, caplog, capfd):
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", **SECRETS)
    secrets = [BOT_TOKEN, SIGNING_SECRET, *SECRETS.values()]
    assert sorted(settings.secret_values()) == sorted(secrets)
    caplog.set_level(logging.DEBUG)
    handler = stderr_handler([])  # a plain stderr handler: only the process-wide scrubber protects it
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    bot, worker = BotEndpoint(settings), Worker(settings)
    leaky = ProviderError(FailureKind.auth, f"401 for key {SECRETS['FAL_KEY']} (Authorization: Key "
                                            f"{SECRETS['FAL_KEY']}; token {BOT_TOKEN})")
    try:
        with crafted_provider({"*": files["good"]}, errors={"1B": leaky}):
            bot.event(mention("Dust storm over salt flats x2 1s --model crafted\nSound: wind", ts="1700640001.000100"))
            wait_for(lambda: worker.pending())
            worker.drain()
            logging.getLogger("dailies.test").info("a careless line with %s and %s", SECRETS["ARK_API_KEY"],
                                                    SIGNING_SECRET)
            try:
                raise RuntimeError(f"boom {SECRETS['KLING_SECRET_KEY']}")
            except RuntimeError:
                logging.getLogger("dailies.test").exception("with a traceback")
            slack.fail_next("chat.postMessage", error="invalid_auth")
            bot.event(mention("Dust storm again", ts="1700640002.000100"))
            wait_for(lambda: "check SLACK_BOT_TOKEN" in caplog.text)
        export = CliRunner().invoke(cli_main.commands["export"], ["--channel", CHANNEL, "--json"],
                                    env={"REDIS_URL": settings.redis_url, "DAILIES_KEY_PREFIX": settings.key_prefix})
        doctor_lines: list[str] = []
        run_doctor(settings, doctor_lines.append)
    finally:
        logging.getLogger().removeHandler(handler)
        bot.stop()
    sys.stderr.flush()
    captured = capfd.readouterr()
    takes = RedisStore.open(settings).channel_takes(CHANNEL)
    assert sorted(t.state.value for t in takes) == ["failed", "posted", "queued"]
    assert "[redacted]" in (next(t for t in takes if t.state == TakeState.failed).error or "")
    redis_dump = json.dumps([t.model_dump(mode="json") for t in takes])
    slack_words = json.dumps([args for _, args in outbound(slack)])
    places = {"logs": caplog.text, "stderr": captured.err, "stdout": captured.out, "export": export.output,
              "doctor": "\n".join(doctor_lines), "redis": redis_dump, "slack": slack_words,
              "slack urls": json.dumps([c.args for c in slack.calls])}
    assert export.exit_code == 0 and "SLACK_BOT_TOKEN: set" in places["doctor"]
    assert "[redacted]" in caplog.text and "with a traceback" in captured.err
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {where}"
