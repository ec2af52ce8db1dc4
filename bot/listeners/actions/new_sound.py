"""*New sound…* on a take's card: a form for the take's new sound (`bot.flows.new_sound`)."""

from __future__ import annotations

from slack_bolt import App

from bot.flows.new_sound import open_new_sound_form
from bot.ids import SlackId
from bot.slack.listener import take_button


def register(app: App) -> None:
    app.action(SlackId.NEW_SOUND)(take_button(open_new_sound_form))
