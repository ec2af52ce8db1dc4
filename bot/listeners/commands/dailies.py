"""`/dailies`: the brief modal (pre-filled from any text after the command); `/dailies help`: a short guide."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.brief_modal import ModalPlace, brief_modal
from bot.deps import Deps
from bot.slack.errors import explain_slack_error
from bot.slack.payloads import SlashCommand, parse_payload
from bot.slack.reply import reply
from jobs.domain.brief_form import defaults_form, from_text
from jobs.domain.channels import load_channel_settings

log = logging.getLogger(__name__)

HELP = "\n".join([
    "*Dailies* turns a brief into takes with picture and sound, posted in a thread for the team to vote on.",
    "• `/dailies` opens a form: the picture, the sound, music and dialogue, the model (with its price per take),"
    " takes, length, shape, and where to post. The round starts a new thread there.",
    "• `/dailies Rain on a neon street. Sound: rain on awnings x4 8s` opens the form filled in from your words.",
    "• On any message (a client's brief, a script excerpt): ⋮ → *Make takes from this* fills the form from it and"
    " posts the round in that message's thread.",
    "• `@dailies` with a brief in a channel does the same in one message; reply in the thread to refine it.",
    "• In a round's thread: `@dailies note 1B 0:03 the whistle is harsh` keeps a note at that moment of take 1B"
    " (it goes to the sound team with the take); `@dailies results` ranks the takes by votes.",
    "Slack does not run slash commands inside threads: use `/dailies` in the channel, or `@dailies` in the thread.",
])


def register(app: App) -> None:
    app.command("/dailies")(on_dailies)


def on_dailies(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    command = parse_payload(SlashCommand, body)
    if command is None:
        ack()
        return
    if command.text.strip().lower() in ("help", "?", "-h", "--help"):
        ack(text=HELP, response_type="ephemeral")  # only the person who asked sees it
        return
    ack()
    deps: Deps = context["deps"]
    base = defaults_form(deps.settings, load_channel_settings(deps.store, command.channel_id))
    form = from_text(command.text, base) if command.text.strip() else base
    # In a DM, the round goes to the person's DM with Dailies (a DM between two people is not Dailies' to post in).
    default_channel = command.channel_id if not command.in_dm else _own_dm(client, command.user_id)
    try:
        client.views_open(trigger_id=command.trigger_id,
                          view=brief_modal(deps.settings, form, ModalPlace(), default_channel=default_channel))
    except SlackApiError as error:
        log.error("could not open the brief modal for %s: %s", command.user_id, explain_slack_error(error))
        reply(client, "The form could not open (Slack allows 3 s): run `/dailies` again.",
              channel=command.channel_id, only_to=command.user_id)


def _own_dm(client: WebClient, user: str) -> str | None:
    try:
        return str(client.conversations_open(users=user)["channel"]["id"])
    except (SlackApiError, KeyError, TypeError):
        return None
