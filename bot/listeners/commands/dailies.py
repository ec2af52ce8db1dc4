"""`/dailies`: the brief form (pre-filled from any text after the command); `/dailies help`: a short guide."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.flows.brief_form import open_from_command
from bot.slack.payloads import SlashCommand, parse_payload

HELP = "\n".join([
    "*Dailies* turns a brief into takes with picture and sound, posted in a thread for the team to vote on.",
    "• `/dailies` opens a form: the picture, the sound, music and dialogue, the model (with its price per take),"
    " takes, length, shape, and where to post. The round starts a new thread there.",
    "• `/dailies Rain on a neon street. Sound: rain on awnings x4 8s` opens the form filled in from your words.",
    "• On any message (a client's brief, a script excerpt): ⋮ → *Make takes from this* fills the form from it and"
    " posts the round in that message's thread.",
    "• `@dailies` with a brief in a channel does the same in one message; reply in the thread to refine it.",
    "• In a round's thread: `@dailies note 1B 0:03 the whistle is harsh` keeps a note at that moment of take 1B"
    " (it goes to the sound team with the take); `@dailies results` ranks the takes by votes;"
    " `@dailies compare 1A 2C` plays two to four takes side by side, each heard in turn at one loudness.",
    "• Every take is heard in its thread at one loudness (the card shows its native numbers), so the louder take"
    " does not win for being louder. `@dailies reel` posts the day's best take of each thread as one clip.",
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
    open_from_command(context["deps"], client, command)
