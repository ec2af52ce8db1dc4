"""The *New sound…* form's submission: errors back into the form, else the new-sound take starts."""

from __future__ import annotations

from typing import Any

import redis
from slack_bolt import Ack, App, BoltContext

from bot.flows.new_sound import submit_new_sound
from bot.ids import SlackId
from bot.slack.payloads import ViewSubmission, parse_payload
from bot.slack.reply import BUSY_IN_FORM


def register(app: App) -> None:
    app.view(SlackId.NEW_SOUND_MODAL)(on_new_sound_submitted)


def on_new_sound_submitted(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    submission = parse_payload(ViewSubmission, body)
    if submission is None:
        ack()
        return
    deps = context["deps"]
    try:
        accepted, errors = submit_new_sound(deps, submission)
    except redis.RedisError:
        ack(response_action="errors", errors={"sound": BUSY_IN_FORM})
        return
    if errors or accepted is None:
        ack(response_action="errors", errors=errors)
        return
    ack()
    deps.start_round(accepted.request, accepted.takes)
