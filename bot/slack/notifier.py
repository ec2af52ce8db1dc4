"""`SlackNotifier`: the pipeline's `TakeNotifier` for Slack. Status messages, take uploads and cards, failures,
and fetching Slack's own copy of a file for a worker that lacks it. Tickets: `bot.slack.ticket_notifier`."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.base import ProviderError
from adapters.download import MediaPolicy, download
from bot.blocks.takes import status_message, take_card, take_failed_message
from bot.slack.errors import (
    CHANNEL_SLACK_ERRORS,
    OPERATOR_ERRORS,
    delivery_error,
    explain_slack_error,
    slack_error_code,
)
from bot.slack.people import is_bot_user
from bot.slack.text import escape, mention
from jobs.audio.waveform import render_waveform_png
from jobs.domain.models import Request, Take
from jobs.domain.store import RedisStore
from jobs.infra.settings import Settings
from jobs.pipeline.runtime import FileUnavailable, Upload

log = logging.getLogger(__name__)
SLACK_FILE_HOSTS = ("files.slack.com",)
CARD_IMAGE_TRIES = 3
CARD_RETRY_S = 0.5


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
            heard = take.preview.path if take.preview and take.preview.path else take.file_path
            uploads = [{"file": heard, "filename": f"take-{take.label}.mp4",
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
            file_id = files[0]["id"] if files else (response.get("file") or {}).get("id")
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
            ts = self._post_card(take)
            take = self.store.update_take(take.id, lambda t: setattr(t, "message_ts", t.message_ts or ts)) or take
            self.store.index_card(take.channel, take.message_ts or ts, take.id)
        return take

    def _post_card(self, take: Take) -> str:
        """Post the take's card and return its ts. Slack sometimes answers `invalid_blocks` for a `slack_file`
        image just after its upload: try again shortly, then post the card without the waveform, and as a last
        resort as plain text; a take whose clip is in the thread is never failed for its card's looks."""
        for attempt in range(CARD_IMAGE_TRIES):
            try:
                return self._send_card(take, with_waveform=True)
            except SlackApiError as error:
                if slack_error_code(error) != "invalid_blocks":
                    raise
                if not take.waveform_file_id:
                    break
                log.warning("take %s: Slack refused the card's blocks (try %d of %d)", take.id, attempt + 1,
                            CARD_IMAGE_TRIES)
                time.sleep(CARD_RETRY_S * (attempt + 1))
        try:
            return self._send_card(take, with_waveform=False)
        except SlackApiError as error:
            if slack_error_code(error) != "invalid_blocks":
                raise
            log.error("take %s: Slack refused the card's blocks without the waveform too; posting it as text", take.id)
            return self._send_card(take, with_waveform=False, plain=True)

    def _send_card(self, take: Take, *, with_waveform: bool, plain: bool = False) -> str:
        text, blocks = take_card(take, with_waveform=with_waveform)
        response = self.client.chat_postMessage(
            channel=take.channel, thread_ts=take.thread_ts, text=text, blocks=None if plain else blocks,
            parse="none", unfurl_links=False,
            metadata={"event_type": "dailies_take", "event_payload": {"take_id": take.id, "label": take.label}},
        )
        return str(response["ts"])

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

    def post_file(self, take: Take, path: Path, filename: str, comment: str, *, asked_by: str | None = None) -> None:
        """Upload a file (a master, a mix) into the take's thread with a comment."""
        if asked_by:
            comment = f"{comment} (asked by {mention(asked_by)})"
        self.client.files_upload_v2(file=str(path), filename=filename, title=filename, channel=take.channel,
                                    thread_ts=take.thread_ts, initial_comment=comment)

    def contact_sheet(self, request: Request, path: Path) -> str | None:
        try:
            response = self.client.files_upload_v2(
                file=str(path), filename=path.name, title=f"Round {request.round} contact sheet",
                channel=request.channel, thread_ts=request.thread_ts,
                initial_comment=(f"Round {request.round} at a glance: every take's frame, label and model; the dot "
                                 "is its sound verdict (green pass, yellow warn, red fail, grey not measured)."),
            )
        except (SlackApiError, SlackClientError, OSError) as error:
            log.error("contact sheet for request %s: %s", request.id, delivery_error(error).message)
            return None
        files = response.get("files") or []
        return str(files[0]["id"]) if files else None

    def _waveform(self, take: Take) -> Path | None:
        if take.silent or not take.file_path:
            return None
        out = Path(take.file_path).with_suffix(".waveform.png")
        try:
            return render_waveform_png(Path(take.file_path), out)
        except Exception as error:  # a missing waveform must never stop a take being posted
            log.warning("waveform for take %s: %s", take.id, error)
            return None

    def card_changed(self, take: Take) -> None:
        """Re-render a posted take's card in place (tally, ticket state)."""
        if not take.message_ts:
            return
        for with_waveform in (True, False):
            text, blocks = take_card(take, with_waveform=with_waveform)
            try:
                self.client.chat_update(channel=take.channel, ts=take.message_ts, text=text, blocks=blocks,
                                        parse="none")
                return
            except SlackApiError as error:
                if slack_error_code(error) != "invalid_blocks" or not with_waveform:
                    log.error("card update for take %s: %s", take.id, explain_slack_error(error))
                    return

    def reactions_on(self, channel: str, ts: str) -> dict[str, list[str]] | None:
        try:
            message = self.client.reactions_get(channel=channel, timestamp=ts, full=True).get("message") or {}
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("reactions on %s/%s could not be read; the tally stays as counted from events: %s",
                        channel, ts, error)
            return None
        record: dict[str, list[str]] = {}
        for reaction in message.get("reactions") or []:
            people = [user for user in reaction.get("users") or []
                      if isinstance(user, str) and not is_bot_user(self.store, self.client, user)]
            if people and isinstance(reaction.get("name"), str):
                record[reaction["name"]] = people
        return record

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

    # Slack's copy of a file ---------------------------------------------------------------------------
    def file_policy(self) -> MediaPolicy:
        """Slack files come from files.slack.com, or from the Slack API host Dailies is pointed at (stand-ins)."""
        api = urlsplit(self.settings.slack_api_url)
        return MediaPolicy(hosts=SLACK_FILE_HOSTS, allowed_prefixes=(f"{api.scheme}://{api.netloc}/",),
                           max_bytes=self.settings.max_download_bytes, timeout_s=self.settings.download_timeout_s,
                           name="Slack")

    def fetch_file(self, file_id: str, dest_dir: Path) -> tuple[Path, str]:
        """Fetch a Slack file by id (its URL is read from files.info, never from a payload); (path, name)."""
        try:
            info = self.client.files_info(file=file_id).get("file") or {}
        except SlackApiError as error:
            raise FileUnavailable(f"Slack would not describe the file ({explain_slack_error(error)})") from None
        name = str(info.get("name") or file_id)
        url = info.get("url_private_download") or info.get("url_private")
        if not url:
            raise FileUnavailable("Slack gave no download link for the file")
        size = info.get("size") or info.get("length")
        limit = self.settings.max_download_bytes
        if isinstance(size, int) and size > limit:
            raise FileUnavailable(f"the file is {size / 1048576:.0f} MB, over the {limit / 1048576:.0f} MB limit")
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else "bin"
        ext = ext if re.fullmatch(r"[a-z0-9]{1,5}", ext) else "bin"
        dest = dest_dir / f"{re.sub(r'[^A-Za-z0-9]', '', file_id)}.{ext}"
        if dest.is_file() and dest.stat().st_size:
            return dest, name
        dest_dir.mkdir(parents=True, exist_ok=True)
        # The token of the workspace the file belongs to: the one this notifier's client speaks for.
        try:
            download(url, dest, self.file_policy(), headers={"Authorization": f"Bearer {self.client.token or ''}"})
        except ProviderError as error:
            raise FileUnavailable(error.message.replace("its result link", "the file's link")) from None
        return dest, name

    # the channel, and files kept for the pipeline ---------------------------------------------------------
    def post_in_channel(self, channel: str, text: str, uploads: list[Upload]) -> None:
        """A message in the channel (the day's reel): the words escaped here, the files attached to it."""
        words = escape(text)
        if not uploads:
            self.client.chat_postMessage(channel=channel, text=words, parse="none", unfurl_links=False)
            return
        self.client.files_upload_v2(file_uploads=[{"file": str(u.path), "filename": u.filename, "title": u.title}
                                                  for u in uploads], channel=channel, initial_comment=words)

    def keep_file(self, take: Take, path: Path, filename: str) -> str | None:
        """Upload without sharing it in any conversation: a file only the bot's token can read (the native copy
        of a take whose thread shows its loudness-matched preview)."""
        try:
            response = self.client.files_upload_v2(file=str(path), filename=filename, title=filename)
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("take %s: its native file could not be kept in Slack: %s", take.id, error)
            return None
        files = response.get("files") or []
        return str(files[0]["id"]) if files else (response.get("file") or {}).get("id")

    def permalink(self, channel: str, ts: str) -> str | None:
        try:
            return self.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
        except SlackApiError as error:
            log.warning("no permalink for %s/%s: %s", channel, ts, explain_slack_error(error))
            return None
