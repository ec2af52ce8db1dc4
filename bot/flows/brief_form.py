"""The brief form (`/dailies`, "Make takes from this"): open it filled in, check a submission, start its round.

From `/dailies` the brief is posted as a new message in the picked channel and the round runs in its thread;
from the shortcut it is posted in the picked message's thread. Either way it is then the same text a mention
would carry, so votes, refinements, rounds and tickets work as for `@dailies`.
"""

from __future__ import annotations

import logging

import redis
from pydantic import BaseModel, Field
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.brief_modal import ModalPlace, brief_modal, form_from_state, form_of, place_of
from bot.deps import Deps
from bot.flows.brief_errors import reply_brief_error
from bot.slack.errors import explain_slack_error
from bot.slack.files import attached_references
from bot.slack.payloads import MessageShortcut, SharedFile, SlashCommand, ViewSubmission
from bot.slack.people import may_post_in
from bot.slack.reply import BUSY_REPLY, reply
from bot.slack.text import code, decode_event_text, escape, mention
from jobs.domain.brief import BriefError
from jobs.domain.brief_form import BriefForm, defaults_form, from_text, problems
from jobs.domain.channels import load_channel_settings
from jobs.domain.intake import accept_brief
from jobs.domain.models import ReferenceImage

log = logging.getLogger(__name__)
NOT_POSTED = ("Dailies could not post in that conversation, so nothing was queued. Invite it there "
              "(`/invite @dailies`), or pick a channel it is in.")
NOT_OPENED = "The form could not open (Slack allows 3 s): run `/dailies` again."


class CheckedSubmission(BaseModel):
    """A submitted form: what is wrong with it, field by field, or everything its round needs."""

    errors: dict[str, str]
    form: BriefForm | None = None
    channel: str | None = None
    thread_ts: str | None = None
    references: list[ReferenceImage] = Field(default_factory=list)


def open_from_command(deps: Deps, client: WebClient, command: SlashCommand) -> None:
    """`/dailies [text]`: the form, filled in from the text after the command."""
    try:
        base = defaults_form(deps.settings, load_channel_settings(deps.store, command.channel_id))
    except redis.RedisError as error:
        log.error("redis unavailable while opening the brief form: %s", error)
        reply(client, BUSY_REPLY, channel=command.channel_id, only_to=command.user_id)
        return
    form = from_text(command.text, base) if command.text.strip() else base
    # In a DM, the round goes to the person's DM with Dailies (a DM between two people is not Dailies' to post in).
    default_channel = command.channel_id if not command.in_dm else _own_dm(client, command.user_id)
    try:
        client.views_open(trigger_id=command.trigger_id,
                          view=brief_modal(deps.settings, form, ModalPlace(), default_channel=default_channel))
    except SlackApiError as error:
        log.error("could not open the brief modal for %s: %s", command.user_id, explain_slack_error(error))
        reply(client, NOT_OPENED, channel=command.channel_id, only_to=command.user_id)


def open_from_shortcut(deps: Deps, client: WebClient, shortcut: MessageShortcut, bot_user_id: str | None) -> None:
    """"Make takes from this" on a message: the form filled in from it, its images as the frames."""
    channel = shortcut.channel.id
    try:
        base = defaults_form(deps.settings, load_channel_settings(deps.store, channel))
    except redis.RedisError as error:
        log.error("redis unavailable while opening the brief form: %s", error)
        reply(client, BUSY_REPLY, channel=channel, only_to=shortcut.user.id)
        return
    form = from_text(decode_event_text(shortcut.message.text, bot_user_id), base)
    # The message's images (by what the payload says they are; files.info decides at submission) are its frames.
    images = [f.id for f in shortcut.message.files if f.mimetype.startswith("image/")][:2]
    place = ModalPlace(channel=channel, thread_ts=shortcut.message.thread_ts or shortcut.message.ts,
                       reference_file_ids=images)
    try:
        client.views_open(trigger_id=shortcut.trigger_id,
                          view=brief_modal(deps.settings, form, place, default_channel=None))
    except SlackApiError as error:
        log.error("could not open the brief modal for %s: %s", shortcut.user.id, explain_slack_error(error))


def check_submission(deps: Deps, client: WebClient, submission: ViewSubmission) -> CheckedSubmission:
    """Everything wrong with a submitted form (shown in the form, within Slack's 3 s), checked on the server."""
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
    return CheckedSubmission(errors=errors, form=form, channel=channel, thread_ts=place.thread_ts,
                             references=references)


def start_round(deps: Deps, client: WebClient, form: BriefForm, *, user: str, channel: str,
                thread_ts: str | None, references: list[ReferenceImage]) -> None:
    """Post the brief (quoted, escaped) and run its round in that message's thread."""
    text = form.to_text()
    quoted_brief = "\n".join("> " + escape(line) for line in text.splitlines())
    frames = " → ".join(code(ref.name) for ref in references)
    posted = reply(client, f"Brief from {mention(user)}" + (f", from reference frame {frames}" if frames else "")
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


def _own_dm(client: WebClient, user: str) -> str | None:
    try:
        return str(client.conversations_open(users=user)["channel"]["id"])
    except (SlackApiError, KeyError, TypeError):
        return None
