"""What every button listener does first, in one place: acknowledge, read the payload (one model), run the
button's flow, and answer a Redis outage with the one "busy" reply, quietly, to the person who pressed.

- `block_action(flow)`: any button or menu; the flow gets the parsed payload and the raw body.
- `take_button(flow)`: a button on a take's card; the flow runs only when the server finds the take on the
  message pressed (`load_take_for_action`).
- `ticket_button(flow)`: a button on a sound ticket; the flow runs only for a press the server allows
  (`ticket_press`: where it was pressed, and whether the presser is on the sound team or a lead).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.ticket_press import TicketPress, ticket_press
from bot.slack.access import load_take_for_action
from bot.slack.payloads import BlockActionPayload, parse_block_action
from bot.slack.reply import BUSY_REPLY, reply
from jobs.domain.models import Take

log = logging.getLogger(__name__)
Listener = Callable[[Ack, dict[str, Any], BoltContext, WebClient], None]
ActionFlow = Callable[[Deps, WebClient, BlockActionPayload, dict[str, Any]], None]
TakeFlow = Callable[[Deps, WebClient, BlockActionPayload, Take], None]
TicketFlow = Callable[[TicketPress], None]


def answer_busy(client: WebClient, payload: BlockActionPayload) -> None:
    reply(client, BUSY_REPLY, channel=None if payload.in_view else payload.channel_id, thread_ts=payload.thread_ts,
          only_to=payload.user_id)


def block_action(flow: ActionFlow) -> Listener:
    def listener(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        ack()
        payload = parse_block_action(body)  # a malformed payload is logged and stops here
        if payload is None:
            return
        try:
            flow(context["deps"], client, payload, body)
        except redis.RedisError as error:
            log.error("redis unavailable while handling %s: %s", payload.action.action_id, error)
            answer_busy(client, payload)

    listener.__name__ = flow.__name__
    return listener


def take_button(flow: TakeFlow) -> Listener:
    def on_take(deps: Deps, client: WebClient, payload: BlockActionPayload, body: dict[str, Any]) -> None:
        take = load_take_for_action(deps, body, client=client)
        if take is not None:
            flow(deps, client, payload, take)

    on_take.__name__ = flow.__name__
    return block_action(on_take)


def ticket_button(flow: TicketFlow, *, leads_only: bool = False, claimant_only: bool = False) -> Listener:
    def on_ticket(deps: Deps, client: WebClient, payload: BlockActionPayload, body: dict[str, Any]) -> None:
        press = ticket_press(body, deps, client, leads_only=leads_only, claimant_only=claimant_only)
        if press is not None:
            flow(press)

    on_ticket.__name__ = flow.__name__
    return block_action(on_ticket)
