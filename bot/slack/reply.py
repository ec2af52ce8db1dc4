"""The one way a listener answers a person: in the thread for everyone, or privately to one person."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.errors import explain_slack_error

log = logging.getLogger(__name__)
BUSY_REPLY = (":hourglass: Dailies is busy right now (its queue is unreachable). Nothing was queued; try again in "
              "a minute.")
# The same, as a form's field error (Slack shows at most 150 characters there, without markup).
BUSY_IN_FORM = "Dailies is busy right now (its queue is unreachable); nothing was queued. Submit again in a minute."
Blocks = list[dict]


def reply(client: WebClient, text: str, *, channel: str | None, thread_ts: str | None = None,
          blocks: Blocks | None = None, only_to: str | None = None) -> str | None:
    """Post `text` (our words; user words already escaped) in `channel`'s thread; returns the message's ts
    (None for an ephemeral, or when Slack refused).

    With `only_to`, only that person sees it: an ephemeral in `channel`, or a DM when there is no channel
    (an action pressed in App Home or a modal). Slack refusing is logged, never raised: a reply that cannot
    be posted must not undo what the listener did.
    """
    try:
        if only_to and channel:
            client.chat_postEphemeral(channel=channel, user=only_to, text=text, blocks=blocks, thread_ts=thread_ts)
        elif only_to:
            return client.chat_postMessage(channel=only_to, text=text, blocks=blocks, parse="none",
                                           unfurl_links=False).get("ts")
        elif channel:
            return client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks,
                                           parse="none", unfurl_links=False, unfurl_media=False).get("ts")
    except SlackApiError as error:
        log.error("reply in %s to %s: %s", channel or "a DM", only_to or "everyone", explain_slack_error(error))
    return None
