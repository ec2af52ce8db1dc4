"""*New sound…* on a take's card: the form, and its submission (the same re-sound as `@dailies resound`).

Only a person the button's checks let through (the take is on the message pressed, in a channel they are in) may
submit the form for that take: the grant is kept in Redis, and the submission is checked against it."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.new_sound import new_sound_modal, sound_lines
from bot.deps import Deps
from bot.slack.errors import explain_slack_error
from bot.slack.payloads import BlockActionPayload, ViewSubmission
from bot.slack.reply import reply
from jobs.domain.brief import BriefError
from jobs.domain.intake import Accepted
from jobs.domain.models import Take
from jobs.domain.resound import resound_request

log = logging.getLogger(__name__)
FORM_TTL_S = 3600
NO_FORM = "This form was not opened for you on that take (or it expired): press New sound… on the take again."


def form_key(deps: Deps, take_id: str, user: str) -> str:
    return deps.store.key("new-sound-form", take_id, user)


def open_new_sound_form(deps: Deps, client: WebClient, payload: BlockActionPayload, take: Take) -> None:
    deps.store.redis.set(form_key(deps, take.id, payload.user_id), "1", ex=FORM_TTL_S)
    try:
        client.views_open(trigger_id=payload.trigger_id or "", view=new_sound_modal(take))
    except SlackApiError as error:
        log.warning("new-sound form for take %s: %s", take.id, explain_slack_error(error))
        reply(client, "Slack would not open the form; press New sound… again.", channel=take.channel,
              thread_ts=take.thread_ts, only_to=payload.user_id)


def submit_new_sound(deps: Deps, submission: ViewSubmission) -> tuple[Accepted | None, dict[str, str]]:
    """The new take, or the form's errors by field (nothing recorded or charged then)."""
    take_id, user = submission.view.private_metadata, submission.user.id
    take = deps.store.get_take(take_id) if take_id else None
    if take is None or not deps.store.redis.exists(form_key(deps, take_id, user)):
        log.warning("refused a new-sound form by %s for %r: no form was opened for them", user, take_id[:40])
        return None, {"sound": NO_FORM}
    lines = sound_lines(submission.view.state.values)
    try:
        accepted = resound_request(deps.store, deps.settings, channel=take.channel, thread_ts=take.thread_ts,
                                   rest=f"{take.label} {lines}", user=user, source_ts=take.message_ts or take.thread_ts)
    except BriefError as error:
        return None, {"sound": f"{error.problem} {error.hint}".strip()[:150]}
    deps.store.redis.delete(form_key(deps, take_id, user))
    return accepted, {}
