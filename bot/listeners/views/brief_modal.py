"""The brief form's submission: errors back into the form (within Slack's 3 s), else the round starts
(`bot.flows.brief_form`)."""

from __future__ import annotations

from typing import Any

import redis
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.blocks.brief_modal import CALLBACK_ID, error_blocks
from bot.flows.brief_form import check_submission, start_round
from bot.slack.payloads import ViewSubmission, parse_payload
from bot.slack.reply import BUSY_IN_FORM


def register(app: App) -> None:
    app.view(CALLBACK_ID)(on_brief_submitted)


def on_brief_submitted(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    submission = parse_payload(ViewSubmission, body)
    if submission is None:
        ack()
        return
    deps = context["deps"]
    try:
        checked = check_submission(deps, client, submission)
    except redis.RedisError:
        ack(response_action="errors", errors=error_blocks(submission.view.state.values, {"brief": BUSY_IN_FORM}))
        return
    if checked.errors or checked.form is None or not checked.channel:
        ack(response_action="errors", errors=error_blocks(submission.view.state.values, checked.errors))
        return
    ack()
    start_round(deps, client, checked.form, user=submission.user.id, channel=checked.channel,
                thread_ts=checked.thread_ts, references=checked.references)
