"""*Take over* on a claimed sound ticket: another sound-team member takes it from its claimant, said in its
thread so nobody works on it twice."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.flows.ticket_press import ticket_press
from bot.ids import SlackId
from bot.slack.reply import reply


def register(app: App) -> None:
    app.action(SlackId.TICKET_TAKE_OVER)(on_take_over)


def on_take_over(ack: Ack, body: dict[str, Any], context: BoltContext,
                 client: WebClient) -> None:
    ack()
    press = ticket_press(body, context["deps"], client)
    if press is None:
        return
    before = press.ticket.claimed_by
    if before == press.user:
        press.tell(f"{press.ticket.id} is already yours.")
        return
    if press.transition("take_over"):
        reply(client, f"<@{press.user}> took over {press.ticket.id} from <@{before}>.",
              channel=press.ticket.queue_channel, thread_ts=press.ticket.queue_ts)
