"""Posting to Slack from the worker: the status message, take uploads and cards, failures."""

from __future__ import annotations

import logging
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks import status_message, take_card, take_failed_message
from jobs.faults import CHANNEL_SLACK_ERRORS, DeliveryError, slack_error_is_retryable
from jobs.models import Request, Take
from jobs.settings import Settings
from jobs.store import RedisStore
from jobs.waveform import render_waveform_png

log = logging.getLogger(__name__)
OPERATOR_ERRORS = {
    "invalid_auth": "the bot token is invalid or revoked: check SLACK_BOT_TOKEN",
    "not_authed": "no bot token was sent: check SLACK_BOT_TOKEN",
    "account_inactive": "the bot's workspace account is deactivated",
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the channel: invite it with /invite @dailies",
    "is_archived": "the channel is archived",
}


def slack_error_code(error: SlackApiError) -> str:
    response = error.response
    code = response.get("error") if response is not None else None
    if not code and response is not None and getattr(response, "status_code", 200) >= 500:
        return f"http_{response.status_code}"
    return str(code or "unknown_error")


def explain_slack_error(error: SlackApiError) -> str:
    code = slack_error_code(error)
    return f"Slack refused the call ({code}): {OPERATOR_ERRORS.get(code, 'see https://api.slack.com/methods')}"


def delivery_error(error: Exception) -> DeliveryError:
    """A Slack failure while posting a take, as the pipeline's retry-or-fail decision."""
    if isinstance(error, SlackApiError):
        code = slack_error_code(error)
        return DeliveryError(explain_slack_error(error), code=code, retryable=slack_error_is_retryable(code))
    if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return DeliveryError(f"the take's file could not be read ({type(error).__name__})", code="file")
    return DeliveryError(f"Slack could not be reached ({type(error).__name__}: {error})", code="unreachable")


class SlackNotifier:
    def __init__(self, client: WebClient, store: RedisStore, settings: Settings) -> None:
        self.client = client
        self.store = store
        self.settings = settings

    def request_status(self, request: Request, takes: list[Take]) -> str | None:
        text, blocks = status_message(request, takes)
        try:
            if request.status_ts:
                self.client.chat_update(channel=request.channel, ts=request.status_ts, text=text, blocks=blocks,
                                        parse="none")
                return request.status_ts
            response = self.client.chat_postMessage(channel=request.channel, thread_ts=request.thread_ts, text=text,
                                                    blocks=blocks, parse="none", unfurl_links=False)
        except SlackApiError as error:
            log.error("status message for request %s: %s", request.id, explain_slack_error(error))
            return None
        ts = response["ts"]
        self.store.update_request(request.id, lambda r: setattr(r, "status_ts", r.status_ts or ts))
        self.store.index_status(request.channel, ts, request.id)
        return ts

    def take_ready(self, request: Request, take: Take) -> Take:
        """Upload the clip into the thread, then post its card; each only once, whatever is retried.
        A Slack failure raises DeliveryError: the pipeline retries later or fails the take."""
        try:
            return self._take_ready(request, take)
        except (SlackApiError, SlackClientError, OSError) as error:
            failure = delivery_error(error)
            log.error("posting take %s in %s: %s", take.id, take.channel, failure.message)
            raise failure from None

    def _take_ready(self, request: Request, take: Take) -> Take:
        if not take.file_id:
            uploads = [{"file": take.file_path, "filename": f"take-{take.label}.mp4",
                        "title": f"Take {take.label} ({take.model})"}]
            waveform = self._waveform(take)
            if waveform:
                uploads.append({"file": str(waveform), "filename": f"take-{take.label}-waveform.png",
                                "title": f"Take {take.label} waveform"})
            response = self.client.files_upload_v2(
                file_uploads=uploads, channel=take.channel, thread_ts=take.thread_ts,
                initial_comment=f"Take {take.label} · {take.model}",
            )
            files = response.get("files") or []
            file_id = files[0]["id"] if files else response.get("file", {}).get("id")
            waveform_id = files[1]["id"] if len(files) > 1 else None

            def uploaded(t: Take) -> None:
                t.file_id = file_id
                t.waveform_path = str(waveform) if waveform else None
                t.waveform_file_id = waveform_id

            take = self.store.update_take(take.id, uploaded) or take
        if not take.message_ts and self._card_attempted_before(take):
            found = self._find_card(take)  # an earlier try may have posted it and died before recording its ts
            if found:
                take = self.store.update_take(take.id, lambda t: setattr(t, "message_ts", t.message_ts or found)) or take
                self.store.index_card(take.channel, take.message_ts or found, take.id)
        if not take.message_ts:
            text, blocks = take_card(take)
            response = self.client.chat_postMessage(
                channel=take.channel, thread_ts=take.thread_ts, text=text, blocks=blocks, parse="none",
                unfurl_links=False,
                metadata={"event_type": "dailies_take", "event_payload": {"take_id": take.id, "label": take.label}},
            )
            ts = response["ts"]
            take = self.store.update_take(take.id, lambda t: setattr(t, "message_ts", t.message_ts or ts)) or take
            self.store.index_card(take.channel, take.message_ts or ts, take.id)
        return take

    def _card_attempted_before(self, take: Take) -> bool:
        """Mark this card attempt; True when an earlier one was made (its outcome unknown)."""
        return not self.store.redis.set(self.store.key("card_attempt", take.id), "1", nx=True, ex=7 * 24 * 3600)

    def _find_card(self, take: Take) -> str | None:
        """The ts of this take's card in its thread, found by its message metadata, if it was posted."""
        cursor = None
        for _ in range(10):
            response = self.client.conversations_replies(channel=take.channel, ts=take.thread_ts, limit=200,
                                                         include_all_metadata=True, cursor=cursor)
            for message in response.get("messages") or []:
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("take_id") == take.id:
                    return message.get("ts")
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def post_text(self, take: Take, text: str) -> None:
        """A plain line in the take's thread (our own words; user text must already be escaped)."""
        try:
            self.client.chat_postMessage(channel=take.channel, thread_ts=take.thread_ts, text=text, parse="none")
        except SlackApiError as error:
            log.error("message for take %s: %s", take.id, explain_slack_error(error))

    def post_file(self, take: Take, path: Path, filename: str, comment: str) -> None:
        """Upload a file (a master, a mix) into the take's thread with a comment."""
        self.client.files_upload_v2(file=str(path), filename=filename, title=filename, channel=take.channel,
                                    thread_ts=take.thread_ts, initial_comment=comment)

    def _waveform(self, take: Take) -> Path | None:
        if take.silent or not take.file_path:
            return None
        out = Path(take.file_path).with_suffix(".waveform.png")
        try:
            return render_waveform_png(Path(take.file_path), out)
        except Exception as error:  # a missing waveform must never stop a take being posted
            log.warning("waveform for take %s: %s", take.id, error)
            return None

    def take_failed(self, request: Request, take: Take) -> None:
        try:
            self.client.chat_postMessage(channel=take.channel, thread_ts=take.thread_ts,
                                         text=take_failed_message(take), parse="none")
        except SlackApiError as error:
            log.error("failure message for take %s: %s", take.id, explain_slack_error(error))
            if slack_error_code(error) in CHANNEL_SLACK_ERRORS:
                self.tell_requester(take, f"{take_failed_message(take)}\n(I could not post in <#{take.channel}>: "
                                          f"{OPERATOR_ERRORS.get(slack_error_code(error), slack_error_code(error))}.)")
        except SlackClientError as error:
            log.error("failure message for take %s: Slack could not be reached (%s)", take.id, error)

    def tell_requester(self, take: Take, text: str) -> None:
        """A DM to the person who asked, when their channel cannot be posted in (once per request)."""
        if not self.store.first_time("dm_failure", take.request_id):
            return
        try:
            self.client.chat_postMessage(channel=take.requester, text=text, parse="none", unfurl_links=False)
        except SlackApiError as error:
            log.error("could not tell %s about take %s either: %s", take.requester, take.id,
                      explain_slack_error(error))


def update_card(client: WebClient, take: Take) -> None:
    """Re-render a posted take's card in place (tally, ticket state)."""
    if not take.message_ts:
        return
    text, blocks = take_card(take)
    try:
        client.chat_update(channel=take.channel, ts=take.message_ts, text=text, blocks=blocks, parse="none")
    except SlackApiError as error:
        log.error("card update for take %s: %s", take.id, explain_slack_error(error))
