"""The brief modal's submission: errors back into the form (within Slack's 3 s), else the round starts.

From `/dailies` the brief is posted as a new message in the picked channel and the round runs in its thread;
from the shortcut it is posted in the picked message's thread. Either way it is then the same text a mention
would carry, so votes, refinements, rounds and tickets work as for `@dailies`.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.blocks.brief_modal import CALLBACK_ID, error_blocks, form_from_state, form_of, place_of
from bot.deps import Deps
from bot.flows.brief import reply_brief_error
from bot.slack.files import attached_references
from bot.slack.payloads import SharedFile, ViewSubmission, parse_payload
from bot.slack.people import may_post_in
from bot.slack.reply import BUSY_REPLY, reply
from bot.slack.text import code, escape
from jobs.domain.brief import BriefError
from jobs.domain.brief_form import BriefForm, problems
from jobs.domain.channels import load_channel_settings
from jobs.domain.intake import accept_brief
from jobs.domain.models import ReferenceImage

log = logging.getLogger(__name__)
NOT_POSTED = ("Dailies could not post in that conversation, so nothing was queued. Invite it there "
              "(`/invite @dailies`), or pick a channel it is in.")


def register(app: App) -> None:
    app.view(CALLBACK_ID)(on_brief_submitted)


def on_brief_submitted(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    submission = parse_payload(ViewSubmission, body)
    if submission is None:
        ack()
        return
    deps: Deps = context["deps"]
    values = submission.view.state.values
    raw, picked = form_from_state(values)
    place = place_of(submission.view.private_metadata)
    channel = place.channel or picked
    form, errors = form_of(raw)
    if not channel:
        errors["channel"] = "Pick the channel to post the round in."
    elif not deps.settings.takes_briefs_in(channel):
        errors["channel"] = "Dailies is not switched on in that channel: pick one of the team's Dailies channels."
    elif not place.channel and not may_post_in(client, submission.user.id, channel):
        errors["channel"] = "You are not in that conversation: pick a channel you are in (or your DM with Dailies)."
    references: list[ReferenceImage] = []
    file_ids = raw.get("frames") or place.reference_file_ids
    if file_ids and form is not None and channel:
        try:
            references = attached_references(client, [SharedFile(id=file_id) for file_id in file_ids],
                                             submitter=submission.user.id, channel=channel)
        except BriefError as error:
            errors["frames"] = error.problem.replace(" Nothing was queued.", "")
    if form is not None and channel and "frames" not in errors:
        errors.update(problems(form, deps.settings, load_channel_settings(deps.store, channel), references))
    if errors or form is None or not channel:
        ack(response_action="errors", errors=error_blocks(values, errors))
        return
    ack()
    start_round(deps, client, form, user=submission.user.id, channel=channel, thread_ts=place.thread_ts,
                references=references)


def start_round(deps: Deps, client: WebClient, form: BriefForm, *, user: str, channel: str,
                thread_ts: str | None, references: list[ReferenceImage]) -> None:
    text = form.to_text()
    quoted_brief = "\n".join("> " + escape(line) for line in text.splitlines())
    frames = " → ".join(code(ref.name) for ref in references)
    posted = reply(client, f"Brief from <@{user}>" + (f", from reference frame {frames}" if frames else "")
                   + f":\n{quoted_brief}", channel=channel, thread_ts=thread_ts)
    if posted is None:
        reply(client, NOT_POSTED, channel=None, only_to=user)
        return
    thread = thread_ts or posted
    try:
        accepted = accept_brief(deps.store, deps.settings, channel=channel, thread_ts=thread, source_ts=posted,
                                user=user, text=text, references=references)
    except BriefError as error:
        reply_brief_error(client, error, channel=channel, thread_ts=thread)
        return
    except redis.RedisError as error:
        log.error("redis unavailable while starting a round from the modal: %s", error)
        reply(client, BUSY_REPLY, channel=channel, thread_ts=thread)
        return
    deps.start_round(accepted.request, accepted.takes)
