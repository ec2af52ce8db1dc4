"""`SlackTicketNotifier`: the pipeline's `TicketNotifier` for Slack. A sound ticket's message in the sound team's
queue channel, its package in that message's thread, and its mirrors in the creative thread."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.tickets import mirror_text, mix_verdict, note_mirror_text, ticket_message
from bot.slack.errors import explain_slack_error
from bot.slack.people import person_name
from bot.slack.text import escape
from jobs.domain.models import Take, TakeNote
from jobs.domain.tickets import MixCheck, Ticket, TicketEvent
from jobs.pipeline.runtime import Upload

log = logging.getLogger(__name__)


class SlackTicketNotifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def ticket_posted(self, ticket: Ticket, take: Take) -> str:
        text, blocks = ticket_message(ticket, take)
        response = self.client.chat_postMessage(
            channel=ticket.queue_channel, text=text, blocks=blocks, parse="none", unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": "dailies_ticket", "event_payload": {"ticket_id": ticket.id, "take_id": take.id}},
        )
        return str(response["ts"])

    def ticket_changed(self, ticket: Ticket, take: Take | None) -> None:
        text, blocks = ticket_message(ticket, take)
        try:
            self.client.chat_update(channel=ticket.queue_channel, ts=ticket.queue_ts or "", text=text, blocks=blocks,
                                    parse="none")
        except SlackApiError as error:
            log.error("ticket %s: queue message update: %s", ticket.id, explain_slack_error(error))

    def person_name(self, user: str) -> str:
        return person_name(self.client, user)

    def ticket_package(self, ticket: Ticket, uploads: list[Upload], comment: str) -> list[str]:
        comment = escape(comment)  # plain words from the pipeline (a provider's or ffmpeg's reasons among them)
        if not uploads:  # Slack completes no upload without a file: the comment alone is a reply in the thread
            self.client.chat_postMessage(channel=ticket.queue_channel, thread_ts=ticket.queue_ts, text=comment,
                                         parse="none", unfurl_links=False, unfurl_media=False)
            return []
        response = self.client.files_upload_v2(
            file_uploads=[{"file": str(u.path), "filename": u.filename, "title": u.title} for u in uploads],
            channel=ticket.queue_channel, thread_ts=ticket.queue_ts, initial_comment=comment,
        )
        return [f["id"] for f in (response.get("files") or []) if f.get("id")]

    def ticket_mirrored(self, ticket: Ticket, event: TicketEvent, final_mix: Upload | None) -> None:
        text = mirror_text(ticket, event)
        try:
            if final_mix is not None:
                self.client.files_upload_v2(
                    file_uploads=[{"file": str(final_mix.path), "filename": final_mix.filename,
                                   "title": final_mix.title}],
                    channel=ticket.channel, thread_ts=ticket.thread_ts, initial_comment=text,
                )
                return
            if event.action in ("deliver", "accept") and ticket.final_file_id and not ticket.final_posted:
                text += (f"\n(The final mix could not be attached. It is in the sound-queue thread of "
                         f"{ticket.id}.)")
            self.client.chat_postMessage(channel=ticket.channel, thread_ts=ticket.thread_ts, text=text,
                                         parse="none", unfurl_links=False, unfurl_media=False)
        except SlackApiError as error:
            log.error("ticket %s: mirror in the creative thread: %s", ticket.id, explain_slack_error(error))

    def ticket_note(self, ticket: Ticket, take: Take, note: TakeNote) -> None:
        try:
            self.client.chat_postMessage(channel=ticket.queue_channel, thread_ts=ticket.queue_ts,
                                         text=note_mirror_text(ticket, take, note), parse="none",
                                         unfurl_links=False, unfurl_media=False)
        except SlackApiError as error:
            log.error("ticket %s: note mirror: %s", ticket.id, explain_slack_error(error))

    def mix_checked(self, ticket: Ticket, mix: MixCheck) -> None:
        text, blocks = mix_verdict(ticket, mix)
        try:
            self.client.chat_postMessage(channel=ticket.queue_channel, thread_ts=ticket.queue_ts, text=text,
                                         blocks=blocks, parse="none", unfurl_links=False, unfurl_media=False)
        except SlackApiError as error:
            log.error("ticket %s: mix verdict: %s", ticket.id, explain_slack_error(error))
