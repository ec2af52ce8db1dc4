"""Slack's real payload shapes (from its Events API and interactivity docs) through the real endpoint: what
must never start a render does not, and what Dailies has no listener for is acknowledged with 200."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.harness import BotEndpoint, Worker, mention, wait_for
from tests.standins.slack import SlackStandIn

BRIEF = "Lighthouse in fog\nSound: foghorn, waves\nx1 1s"


def nothing_started(bot: BotEndpoint, worker: Worker, slack: SlackStandIn, channel: str) -> None:
    time.sleep(0.5)  # Bolt runs listeners after the ack: give a wrong one the chance to act
    assert worker.pending() == 0
    assert not worker.store.channel_takes(channel)
    assert not [m for m in slack.posted(channel=channel) if m.get("text", "").startswith("Round ")]


# Message events a person did not type as a brief (https://api.slack.com/events/message and its subtypes).
NOT_BRIEFS: dict[str, dict[str, Any]] = {
    "slackbot_dm": {"type": "message", "channel": "D0SLACKBOT", "user": "USLACKBOT", "channel_type": "im",
                    "text": "You have been removed from #art by <@U0ADMIN>", "ts": "1700900001.000100",
                    "event_ts": "1700900001.000100"},
    "channel_join": {"type": "message", "subtype": "channel_join", "channel": "C0ART", "user": "U0NEW",
                     "text": "<@U0NEW> has joined the channel", "ts": "1700900002.000100",
                     "event_ts": "1700900002.000100", "channel_type": "channel"},
    "dm_file_share_without_text": {
        "type": "message", "subtype": "file_share", "channel": "D0CREATIVE", "user": "U0CREATIVE", "text": "",
        "ts": "1700900003.000100", "event_ts": "1700900003.000100", "channel_type": "im", "upload": False,
        "files": [{"id": "F0STORYBOARD", "name": "board.png", "mimetype": "image/png", "filetype": "png"}]},
    "ekm_access_denied": {"type": "message", "subtype": "ekm_access_denied", "channel": "D0EKM",
                          "user": "UREVOKED", "text": "Your admins have suspended everyone's access to this content.",
                          "ts": "1700900004.000100", "event_ts": "1700900004.000100", "channel_type": "im"},
    "me_message": {"type": "message", "subtype": "me_message", "channel": "D0ME", "user": "U0CREATIVE",
                   "text": "waves at the lighthouse x1 1s", "ts": "1700900005.000100",
                   "event_ts": "1700900005.000100", "channel_type": "im"},
    "huddle_thread": {"type": "message", "subtype": "huddle_thread", "channel": "D0HUDDLE", "user": "U0CREATIVE",
                      "text": "", "ts": "1700900006.000100", "event_ts": "1700900006.000100", "channel_type": "im",
                      "room": {"id": "R0HUDDLE", "date_start": 1700900006}},
    "bot_message": {"type": "message", "subtype": "bot_message", "channel": "D0BOT", "bot_id": "B0OTHER",
                    "username": "workflow", "text": BRIEF, "ts": "1700900007.000100",
                    "event_ts": "1700900007.000100", "channel_type": "im"},
    "workflow_message": {"type": "message", "channel": "D0WORKFLOW", "user": "U0WORKFLOWBOT", "bot_id": "B0WF",
                         "bot_profile": {"id": "B0WF", "name": "Workflow Builder"}, "text": BRIEF,
                         "ts": "1700900008.000100", "event_ts": "1700900008.000100", "channel_type": "im"},
    "message_changed": {"type": "message", "subtype": "message_changed", "channel": "D0EDIT", "hidden": True,
                        "channel_type": "im", "ts": "1700900009.000200", "event_ts": "1700900009.000200",
                        "message": {"type": "message", "user": "U0CREATIVE", "text": BRIEF, "ts": "1700900009.000100"},
                        "previous_message": {"type": "message", "user": "U0CREATIVE", "text": "x",
                                             "ts": "1700900009.000100"}},
}


@pytest.mark.parametrize("name", sorted(NOT_BRIEFS))
def test_messages_nobody_typed_as_a_brief_start_nothing(name: str, bot, worker, slack) -> None:
    event = NOT_BRIEFS[name]
    assert bot.event(event).status_code == 200
    nothing_started(bot, worker, slack, event["channel"])


def test_a_dm_brief_still_renders(bot, worker, slack) -> None:
    event = {"type": "message", "channel": "D0CREATIVE", "user": "U0CREATIVE", "text": BRIEF,
             "ts": "1700900010.000100", "event_ts": "1700900010.000100", "channel_type": "im"}
    bot.event(event)
    wait_for(worker.pending)
    assert len(worker.store.channel_takes("D0CREATIVE")) == 1


# Requests Dailies has no listener for: Slack must get a 2xx or it disables event delivery.
def envelope(event: dict[str, Any]) -> dict[str, Any]:
    return {"token": "legacy", "team_id": "T0TEAM", "api_app_id": "A0DAILIES", "type": "event_callback",
            "event_id": "Ev0UNHANDLED", "event_time": 1700900100, "event": event}


UNHANDLED_EVENTS = {
    "tokens_revoked": {"type": "tokens_revoked", "tokens": {"oauth": ["U0ADMIN"], "bot": ["UDAILIESBOT"]}},
    "app_uninstalled": {"type": "app_uninstalled"},
    "member_joined_channel": {"type": "member_joined_channel", "user": "U0NEW", "channel": "C0ART",
                              "channel_type": "C", "team": "T0TEAM", "inviter": "U0LEAD"},
    "channel_rename": {"type": "channel_rename", "channel": {"id": "C0ART", "name": "art-2", "created": 1}},
}
UNHANDLED_INTERACTIONS = {
    "unknown_action": {"type": "block_actions", "user": {"id": "U0CREATIVE"}, "team": {"id": "T0TEAM"},
                       "api_app_id": "A0DAILIES", "container": {"type": "message", "message_ts": "1700900200.000100",
                                                                 "channel_id": "C0ART"},
                       "channel": {"id": "C0ART"}, "message": {"ts": "1700900200.000100"}, "trigger_id": "1.2.3",
                       "actions": [{"action_id": "something_old", "block_id": "b", "type": "button",
                                    "value": "x", "action_ts": "1700900201.000100"}]},
    "global_shortcut": {"type": "shortcut", "callback_id": "unknown_shortcut", "trigger_id": "1.2.3",
                        "user": {"id": "U0CREATIVE"}, "team": {"id": "T0TEAM"}, "token": "legacy",
                        "action_ts": "1700900202.000100"},
    "message_shortcut": {"type": "message_action", "callback_id": "unknown_message_shortcut",
                         "trigger_id": "1.2.3", "user": {"id": "U0CREATIVE"}, "team": {"id": "T0TEAM"},
                         "channel": {"id": "C0ART", "name": "art"}, "message_ts": "1700900203.000100",
                         "message": {"type": "message", "user": "U0CREATIVE", "text": BRIEF,
                                     "ts": "1700900203.000100"}, "response_url": "https://hooks.slack.com/x",
                         "token": "legacy", "action_ts": "1700900203.000200"},
    "view_closed": {"type": "view_closed", "team": {"id": "T0TEAM"}, "user": {"id": "U0CREATIVE"},
                    "view": {"id": "V0CLOSED", "type": "modal", "callback_id": "ticket_return_modal",
                             "private_metadata": "SND-0001", "state": {"values": {}}}, "is_cleared": False},
    "block_suggestion": {"type": "block_suggestion", "user": {"id": "U0CREATIVE"}, "team": {"id": "T0TEAM"},
                         "action_id": "model_search", "block_id": "model", "value": "ve",
                         "container": {"type": "view", "view_id": "V0"}, "api_app_id": "A0DAILIES"},
}


@pytest.mark.parametrize("name", sorted(UNHANDLED_EVENTS))
def test_events_without_a_listener_are_acknowledged(name: str, bot) -> None:
    assert bot.event(UNHANDLED_EVENTS[name]).status_code == 200


@pytest.mark.parametrize("name", sorted(UNHANDLED_INTERACTIONS))
def test_interactions_without_a_listener_are_acknowledged(name: str, bot) -> None:
    assert bot.action(UNHANDLED_INTERACTIONS[name]).status_code == 200


def test_app_rate_limited_is_acknowledged_and_logged_for_the_operator(bot, caplog) -> None:
    body = {"token": "legacy", "type": "app_rate_limited", "team_id": "T0TEAM", "minute_rate_limited": 1700900400,
            "api_app_id": "A0DAILIES"}
    with caplog.at_level("WARNING"):
        assert bot.post(json.dumps(body), "application/json").status_code == 200
    assert any("rate-limiting" in record.getMessage() for record in caplog.records)


def test_a_mention_with_no_brief_still_gets_an_answer(bot, worker, slack) -> None:
    bot.event(mention("", ts="1700900500.000100"))
    said = wait_for(lambda: slack.posted(thread_ts="1700900500.000100"))
    assert "brief" in said[0]["text"].lower()
    assert worker.pending() == 0


@pytest.mark.parametrize("refusals, expect_image, expect_blocks", [(2, True, True), (3, False, True),
                                                                    (4, False, False)])
def test_a_card_slack_refuses_as_invalid_blocks_is_retried_then_simplified_never_failing_the_take(
        refusals: int, expect_image: bool, expect_blocks: bool, bot, worker, slack) -> None:
    thread = "1700900600.000100"
    bot.event(mention(BRIEF, ts=thread))
    wait_for(worker.pending)  # the status message is posted: the next chat.postMessage is the take's card
    slack.fail_next("chat.postMessage", times=refusals, error="invalid_blocks")
    worker.drain()
    (take,) = worker.store.channel_takes("C0ART")
    assert take.state.value == "posted" and take.message_ts and take.waveform_file_id
    card = slack.messages[("C0ART", take.message_ts)]
    blocks = json.dumps(card.get("blocks") or [])
    assert ('"slack_file"' in blocks) == expect_image
    assert bool(card.get("blocks")) == expect_blocks
    assert f"Take {take.label}" in card["text"]
    assert len([f for f in slack.completed_uploads("C0ART") if f["name"].endswith(".mp4")]) == 1


@pytest.mark.parametrize("flags, model_shapes", [("x1 4s 4:3 --model veo", "16:9, 9:16"),
                                                 ("x1 5s 21:9 --model kling", "16:9, 9:16, 1:1"),
                                                 ("x1 1s 2.39:1", "16:9, 9:16, 1:1"),
                                                 ("x1 1s 16:10", "16:9, 9:16, 1:1"),  # a shape no list knew
                                                 ("x2 5:7 --model veo", "16:9, 9:16")])
def test_a_shape_no_model_makes_is_refused_naming_the_models_shapes(flags, model_shapes, bot, worker, slack):
    thread = f"17009007{len(flags):02d}.000100"
    bot.event(mention(f"Harbour at dawn\nSound: gulls\n{flags}", ts=thread))
    said = wait_for(lambda: slack.posted(thread_ts=thread))
    assert "cannot make the aspect" in said[0]["text"] and model_shapes in json.dumps(said[0]["blocks"])
    nothing_started(bot, worker, slack, "C0ART")


@pytest.mark.parametrize("picture", ["Harbour at 7:30 in the morning", "Harbour, sunrise at 7:30"])
def test_a_time_in_prose_stays_prose(bot, worker, slack, picture):
    thread = "1700900800.000100"
    bot.event(mention(f"{picture}\nSound: gulls\nx1 1s", ts=thread))
    wait_for(worker.pending)
    (take,) = worker.store.channel_takes("C0ART")
    assert "7:30" in worker.store.get_request(take.request_id).resolved.brief.picture and take.aspect == "16:9"
