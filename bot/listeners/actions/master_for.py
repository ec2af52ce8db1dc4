"""*Master for…* on a take's card: a delivery copy at the chosen loudness target, made by a worker."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.ids import SlackId
from bot.slack.access import refuse
from bot.slack.listener import take_button
from bot.slack.payloads import BlockActionPayload
from jobs.audio.targets import TARGETS
from jobs.domain.models import Take


def register(app: App) -> None:
    app.action(SlackId.MASTER_FOR)(take_button(master_for))


def master_for(deps: Deps, client: WebClient, payload: BlockActionPayload, take: Take) -> None:
    target = payload.action.chosen.split("|", 1)[1] if "|" in payload.action.chosen else ""
    if target not in TARGETS:
        refuse(client, payload, f"Pick one of the delivery targets: {', '.join(TARGETS)}.", f"unknown target {target!r}")
        return
    if take.silent or (take.sound is not None and not take.sound.has_audio):
        refuse(client, payload, f"Take {take.label} has no sound to master.", "silent take")
        return
    deps.enqueue("master_take", take.id, target, payload.user_id)
    client.chat_postEphemeral(channel=take.channel, user=payload.user_id, thread_ts=take.thread_ts,
                              text=f"Mastering take {take.label} for {target}; it will appear in the thread.")
