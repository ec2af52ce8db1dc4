"""The model or length in the brief modal changed: offer that model's lengths, shapes and resolutions, and
the prices per take of the chosen length."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.brief_modal import (
    DURATION_ACTION,
    MODEL_ACTION,
    brief_modal,
    form_from_state,
    form_of,
    place_of,
)
from bot.deps import Deps
from bot.slack.errors import explain_slack_error
from bot.slack.payloads import BlockActionPayload, parse_payload
from jobs.domain.brief_form import defaults_form
from jobs.domain.channels import ChannelSettings
from jobs.domain.providers import UnknownModel, normalise_model_key

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(MODEL_ACTION)(on_model_changed)
    app.action(DURATION_ACTION)(on_model_changed)


def on_model_changed(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    payload = parse_payload(BlockActionPayload, body)
    if payload is None or payload.view is None:
        return
    deps: Deps = context["deps"]
    raw, channel = form_from_state(payload.view.state.values)
    chosen = raw.get("model") if payload.action.action_id == DURATION_ACTION else payload.action.chosen
    try:
        model = normalise_model_key(str(chosen or ""), deps.settings)
    except UnknownModel:
        log.warning("ignored an unknown model %r picked in the brief modal", str(chosen)[:60])
        return
    form, _ = form_of({**raw, "model": model})
    form = form or defaults_form(deps.settings, ChannelSettings()).model_copy(update={"model": model})
    view = brief_modal(deps.settings, form, place_of(payload.view.private_metadata), default_channel=channel)
    try:
        # `hash`: if the person changed something meanwhile, Slack refuses rather than overwrite it.
        client.views_update(view_id=payload.view.id, hash=payload.view.hash, view=view)
    except SlackApiError as error:
        log.info("brief modal not updated: %s", explain_slack_error(error))
