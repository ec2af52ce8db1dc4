"""`/dailies`, its modal and the "Make takes from this" shortcut, through the bot's real endpoint.

Payloads follow Slack's documented shapes: a slash command is form-encoded fields
(https://api.slack.com/interactivity/slash-commands#app_command_handling), a view submission and a block action
inside a modal carry the view with `state.values` keyed by block id then action id
(https://api.slack.com/reference/interaction-payloads/views), a message shortcut is `message_action` with the
message (https://api.slack.com/reference/interaction-payloads/shortcuts). The person's input is simulated on
the view Dailies actually opened (as recorded by the Slack stand-in).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from jobs.domain.models import TakeState
from tests.harness import BotEndpoint, Worker, wait_for
from tests.standins.slack import SlackStandIn
from tests.test_reference_frames import attach, picture

CHANNEL = "C0ART"
USER = "U0CREATIVE"


def command(bot: BotEndpoint, text: str = "", *, channel: str = CHANNEL) -> httpx.Response:
    fields = {
        "token": "legacy", "team_id": "T0TEAM", "team_domain": "studio", "channel_id": channel,
        "channel_name": "art" if channel.startswith("C") else "directmessage", "user_id": USER, "user_name": "mia",
        "command": "/dailies", "text": text, "api_app_id": "A0DAILIES", "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T0TEAM/1/x", "trigger_id": f"{time.time():.6f}.1.abc",
    }
    return bot.post(urlencode(fields), "application/x-www-form-urlencoded")


def interaction(bot: BotEndpoint, payload: dict[str, Any]) -> httpx.Response:
    return bot.action(payload)


def opened(slack: SlackStandIn, count: int = 1) -> dict[str, Any]:
    """The view Dailies opened (the `count`-th views.open), as Slack keeps it."""
    wait_for(lambda: len(slack.calls_to("views.open")) >= count)
    view_id = sorted(slack.views)[count - 1]
    return slack.views[view_id]


def blocks_by_field(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"].split(":", 1)[0]: b for b in view["blocks"] if b.get("block_id")}


def state_of(view: dict[str, Any], **typed: Any) -> dict[str, Any]:
    """`state.values` as Slack sends it: every input block with what it shows, changed where the person typed."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        field = block["block_id"].split(":", 1)[0]
        element = block["element"]
        kind = element["type"]
        if kind == "static_select":
            chosen = typed.get(field, (element.get("initial_option") or {}).get("value"))
            option = next((o for o in element["options"] if o["value"] == str(chosen)), None)
            state = {"type": kind, "selected_option": option}
        elif kind == "conversations_select":
            state = {"type": kind, "selected_conversation": typed.get(field, element.get("initial_conversation"))}
        elif kind == "file_input":
            state = {"type": kind, "files": typed.get(field, [])}
        else:
            value = typed.get(field, element.get("initial_value"))
            state = {"type": kind, "value": None if value is None else str(value)}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def submission(view: dict[str, Any], **typed: Any) -> dict[str, Any]:
    return {
        "type": "view_submission", "team": {"id": "T0TEAM", "domain": "studio"},
        "user": {"id": USER, "username": "mia", "name": "mia", "team_id": "T0TEAM"}, "api_app_id": "A0DAILIES",
        "token": "legacy", "trigger_id": "2.2.2", "is_enterprise_install": False, "response_urls": [],
        "view": {**view, "team_id": "T0TEAM", "state": {"values": state_of(view, **typed)}},
    }


def model_changed(view: dict[str, Any], model: str, **typed: Any) -> dict[str, Any]:
    block = blocks_by_field(view)["model"]
    option = next(o for o in block["element"]["options"] if o["value"] == model)
    return {
        "type": "block_actions", "team": {"id": "T0TEAM", "domain": "studio"},
        "user": {"id": USER, "username": "mia", "name": "mia", "team_id": "T0TEAM"}, "api_app_id": "A0DAILIES",
        "token": "legacy", "container": {"type": "view", "view_id": view["id"]}, "trigger_id": "3.3.3",
        "view": {**view, "state": {"values": state_of(view, model=model, **typed)}},
        "actions": [{"type": "static_select", "action_id": "brief_model", "block_id": "model",
                     "selected_option": option, "action_ts": f"{time.time():.6f}"}],
    }


def test_slash_command_opens_the_modal_and_a_submission_starts_a_round(bot, worker: Worker, slack: SlackStandIn):
    answer = command(bot)
    assert answer.status_code == 200 and answer.text == ""  # acknowledged, nothing said in the channel
    view = opened(slack)
    fields = blocks_by_field(view)
    assert fields["channel"]["element"]["initial_conversation"] == CHANNEL
    assert {"picture", "sound", "music", "dialogue", "model", "takes", "duration_s", "aspect", "resolution",
            "seed", "negative", "target"} <= set(fields)
    assert slack.calls_to("views.open")[0].args["trigger_id"].endswith(".1.abc")

    answer = interaction(bot, submission(view, picture="Paper boats on a flooded street at dusk",
                                         sound="rain on water, distant thunder", music="none",
                                         dialogue='GIRL: "Look, they float!"', takes=2, duration_s=2, seed=11))
    assert answer.status_code == 200 and not answer.text  # closed: no errors
    brief = wait_for(lambda: [m for m in slack.posted(channel=CHANNEL) if m["text"].startswith("Brief from")])[0]
    assert "thread_ts" not in brief or not brief["thread_ts"]  # a new thread
    assert "Paper boats on a flooded street" in brief["text"] and "&lt;" not in brief["text"].split("\n")[0]
    thread = wait_for(lambda: _ts_of(slack, brief))
    requests = wait_for(lambda: worker.store.thread_requests(CHANNEL, thread))
    request = requests[0]
    assert request.resolved.takes == 2 and request.resolved.seed == 11 and request.resolved.brief.music_off
    assert request.resolved.brief.dialogue[0].line == "Look, they float!"
    worker.drain()
    takes = worker.store.takes_for(worker.store.get_request(request.id))
    assert [t.state for t in takes] == [TakeState.posted] * 2
    cards = [m for m in slack.posted(thread_ts=thread) if m["text"].startswith("Take ")]
    assert len(cards) == 2


def _ts_of(slack: SlackStandIn, posted: dict[str, Any]) -> str | None:
    """The ts Slack gave a message Dailies posted (the stand-in keeps every message it accepted)."""
    for (channel, ts), message in slack.messages.items():
        if channel == CHANNEL and message.get("text") == posted["text"]:
            return ts
    return None


def test_changing_the_model_offers_only_what_it_makes_with_prices_and_missing_keys(bot, slack: SlackStandIn):
    command(bot)
    view = opened(slack)
    options = {o["value"]: o["text"]["text"] for o in blocks_by_field(view)["model"]["element"]["options"]}
    assert "free/take" in options["previz"]
    assert "$" in options["kling"] and "needs KLING_ACCESS_KEY" in options["kling"]
    assert "needs FAL_KEY" in options["fal:fal-ai/veo3.1"]

    assert interaction(bot, model_changed(view, "fal:fal-ai/veo3.1", duration_s=7, aspect="1:1",
                                          picture="Kites over dunes")).status_code == 200
    update = wait_for(lambda: slack.calls_to("views.update"))[0].args
    assert update["view_id"] == view["id"] and update["hash"] == view["hash"]
    new = update["view"] if isinstance(update["view"], dict) else json.loads(update["view"])
    fields = blocks_by_field(new)
    assert [o["value"] for o in fields["duration_s"]["element"]["options"]] == ["4", "6", "8"]
    assert fields["duration_s"]["element"]["initial_option"]["value"] == "6"  # nearest to the 7 s asked
    assert [o["value"] for o in fields["aspect"]["element"]["options"]] == ["16:9", "9:16"]
    assert fields["picture"]["element"]["initial_value"] == "Kites over dunes"  # what was typed is kept
    assert fields["model"]["element"]["initial_option"]["value"] == "fal:fal-ai/veo3.1"
    assert fields["duration_s"]["block_id"] != blocks_by_field(view)["duration_s"]["block_id"]
    assert "$" in next(o["text"]["text"] for o in fields["model"]["element"]["options"]
                       if o["value"] == "fal:fal-ai/veo3.1")

    # A longer take: the model menu's prices follow (Veo 3.1 on fal is priced per second).
    def price_of(view: dict[str, Any], model: str) -> str:
        label = next(o["text"]["text"] for o in blocks_by_field(view)["model"]["element"]["options"]
                     if o["value"] == model)
        return label.split("·")[1].strip()

    current = {**new, "id": view["id"], "hash": slack.views[view["id"]]["hash"]}
    duration_block = blocks_by_field(current)["duration_s"]
    option = next(o for o in duration_block["element"]["options"] if o["value"] == "8")
    changed = model_changed(current, "fal:fal-ai/veo3.1", duration_s=8)
    changed["actions"] = [{"type": "static_select", "action_id": "brief_duration",
                           "block_id": duration_block["block_id"], "selected_option": option,
                           "action_ts": f"{time.time():.6f}"}]
    assert interaction(bot, changed).status_code == 200
    updates = wait_for(lambda: len(slack.calls_to("views.update")) == 2 and slack.calls_to("views.update"))
    longer = updates[1].args["view"]
    longer = longer if isinstance(longer, dict) else json.loads(longer)
    assert price_of(longer, "fal:fal-ai/veo3.1") == "$3.20/take (8 s)"
    assert price_of(new, "fal:fal-ai/veo3.1") == "$2.40/take (6 s)"


def test_bad_values_come_back_in_the_modal_and_nothing_is_queued(bot, worker: Worker, slack: SlackStandIn):
    command(bot)
    view = opened(slack)
    ids = {field: block["block_id"] for field, block in blocks_by_field(view).items()}
    answer = interaction(bot, submission(view, picture="", takes=30, seed="1.5"))
    assert answer.status_code == 200
    errors = answer.json()
    assert errors["response_action"] == "errors"
    assert set(errors["errors"]) == {ids["takes"], ids["seed"]}  # form values first
    assert "whole number" in errors["errors"][ids["seed"]]

    answer = interaction(bot, submission(view, picture=" ", model="kling"))
    errors = answer.json()["errors"]
    assert "Describe the picture" in errors[ids["picture"]]
    assert "KLING_ACCESS_KEY" in errors[ids["model"]]
    answer = interaction(bot, submission(view, picture="A lighthouse", channel=None))
    assert "Pick the channel" in answer.json()["errors"][ids["channel"]]
    time.sleep(0.3)
    assert not [m for m in slack.posted() if m["text"].startswith("Brief from")]
    assert worker.pending() == 0


@pytest.mark.parametrize("text", ["help", "HELP"])
def test_help_is_a_short_private_guide_that_mentions_threads(bot, slack: SlackStandIn, text: str):
    answer = command(bot, text)
    assert answer.status_code == 200
    body = answer.json()
    assert body.get("response_type", "ephemeral") == "ephemeral"
    assert "/dailies" in body["text"] and "threads" in body["text"] and "Make takes from this" in body["text"]
    assert not slack.calls_to("views.open")


def test_text_after_the_command_fills_the_form(bot, slack: SlackStandIn):
    command(bot, "A fox in snow\nSound: wind, crunching steps\nx3 5s 9:16")
    fields = blocks_by_field(opened(slack))
    assert fields["picture"]["element"]["initial_value"] == "A fox in snow"
    assert fields["sound"]["element"]["initial_value"] == "wind, crunching steps"
    assert fields["takes"]["element"]["initial_value"] == "3"
    assert fields["aspect"]["element"]["initial_option"]["value"] == "9:16"


def test_in_a_dm_the_round_goes_to_the_dm_with_dailies(bot, slack: SlackStandIn):
    command(bot, channel="D0SOMEONE")
    view = opened(slack)
    dm = slack.calls_to("conversations.open")[0].args
    assert dm["users"] == USER
    assert blocks_by_field(view)["channel"]["element"]["initial_conversation"].startswith("D")


def test_the_shortcut_fills_the_form_from_a_labelled_message_and_posts_in_its_thread(bot, worker: Worker,
                                                                                      slack: SlackStandIn):
    message_ts = "1700060000.000200"
    payload = {
        "type": "message_action", "token": "legacy", "action_ts": f"{time.time():.6f}",
        "team": {"id": "T0TEAM", "domain": "studio"}, "user": {"id": USER, "name": "mia"},
        "channel": {"id": CHANNEL, "name": "art"}, "callback_id": "make_takes", "trigger_id": "4.4.4",
        "message_ts": message_ts, "response_url": "https://hooks.slack.com/app/T0TEAM/1/x",
        "message": {"type": "message", "user": "U0CLIENT", "ts": message_ts,
                    "text": "Client brief: a tram crossing a bridge at night\nSound: tram bell, rain\n"
                            "Music: none\nDialogue: DRIVER: \"Last stop.\"\nx3 2s"},
    }
    assert interaction(bot, payload).status_code == 200
    view = opened(slack)
    fields = blocks_by_field(view)
    assert "tram crossing a bridge" in fields["picture"]["element"]["initial_value"]
    assert fields["sound"]["element"]["initial_value"] == "tram bell, rain"
    assert fields["dialogue"]["element"]["initial_value"] == 'DRIVER: "Last stop."'
    assert fields["takes"]["element"]["initial_value"] == "3"
    assert "channel" not in fields  # the message decides where

    assert interaction(bot, submission(view, takes=1)).status_code == 200
    requests = wait_for(lambda: worker.store.thread_requests(CHANNEL, message_ts))
    assert requests[0].resolved.takes == 1
    worker.drain()
    cards = [m for m in slack.posted(thread_ts=message_ts) if m["text"].startswith("Take ")]
    assert len(cards) == 1
    assert any(m["text"].startswith("Brief from") for m in slack.posted(thread_ts=message_ts))


def test_reference_frames_from_the_form_and_from_the_shortcut_message(bot, worker: Worker, slack: SlackStandIn,
                                                                     tmp_path):
    board = attach(slack, "board.png", picture(tmp_path, "board.png", "testsrc2", "1280x720"))
    pdf = attach(slack, "treatment.pdf", b"%PDF-1.7 treatment", mimetype="application/pdf", filetype="pdf")
    command(bot)
    view = opened(slack)
    frames = blocks_by_field(view)["frames"]
    assert frames["element"]["type"] == "file_input" and frames["element"]["max_files"] == 2
    refused = interaction(bot, submission(view, picture="A lighthouse in fog", frames=[pdf])).json()
    assert refused["response_action"] == "errors"
    assert "is a PDF file, not a PNG, JPEG or WebP image" in refused["errors"][frames["block_id"]]

    assert interaction(bot, submission(view, picture="A lighthouse in fog", takes=1, duration_s=2,
                                       frames=[board])).status_code == 200
    brief = wait_for(lambda: [m for m in slack.posted(channel=CHANNEL) if m["text"].startswith("Brief from")])[0]
    assert "from reference frame `board.png`" in brief["text"]
    thread = wait_for(lambda: _ts_of(slack, brief))
    request = wait_for(lambda: worker.store.thread_requests(CHANNEL, thread))[0]
    assert [r.file_id for r in request.resolved.references] == [board["id"]]

    # "Make takes from this" on a storyboard image: the message's image is the frame.
    message_ts = "1700060100.000200"
    payload = {
        "type": "message_action", "token": "legacy", "action_ts": f"{time.time():.6f}",
        "team": {"id": "T0TEAM", "domain": "studio"}, "user": {"id": USER, "name": "mia"},
        "channel": {"id": CHANNEL, "name": "art"}, "callback_id": "make_takes", "trigger_id": "4.4.5",
        "message_ts": message_ts, "response_url": "https://hooks.slack.com/app/T0TEAM/1/x",
        "message": {"type": "message", "user": "U0CLIENT", "ts": message_ts, "upload": True,
                    "text": "Opening shot: a kite over dunes", "files": [board]},
    }
    assert interaction(bot, payload).status_code == 200
    shortcut_view = opened(slack, 2)
    assert "image is the reference frame" in json.dumps(shortcut_view["blocks"])
    assert interaction(bot, submission(shortcut_view, takes=1, duration_s=2)).status_code == 200
    requests = wait_for(lambda: worker.store.thread_requests(CHANNEL, message_ts))
    assert [r.file_id for r in requests[0].resolved.references] == [board["id"]]
    worker.drain()
    takes = worker.store.takes_for(worker.store.get_request(requests[0].id))
    assert [t.state for t in takes] == [TakeState.posted] and takes[0].reference_frames == 1
