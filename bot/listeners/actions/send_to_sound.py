"""*Send to sound* on a take's card: a lead flags the take for the sound team (see `bot.flows.hero`)."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.hero import flag_take
from bot.ids import SlackId
from bot.slack.listener import take_button
from bot.slack.payloads import BlockActionPayload
from jobs.domain.models import Take


def register(app: App) -> None:
    app.action(SlackId.SEND_TO_SOUND)(take_button(send_to_sound))


def send_to_sound(deps: Deps, client: WebClient, payload: BlockActionPayload, take: Take) -> None:
    flag_take(deps, client, user=payload.user_id, take=take, channel=take.channel, thread_ts=take.thread_ts)
