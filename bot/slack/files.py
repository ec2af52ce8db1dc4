"""Files attached to a message, as Slack's own record describes them (`files.info`): a payload's copy of a
file object may be partial (Slack Connect sends only the id) and is never trusted for a URL or a size."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.errors import slack_error_code
from bot.slack.payloads import SharedFile
from bot.slack.people import in_conversation
from jobs.domain.brief import BriefError
from jobs.domain.models import ReferenceImage
from jobs.domain.references import MAX_REFERENCES, references_from_files
from jobs.infra.text import quoted


def file_records(client: WebClient, files: list[SharedFile]) -> list[dict[str, Any]]:
    records = []
    for shared in files:
        try:
            record = client.files_info(file=shared.id).get("file")
        except (SlackApiError, SlackClientError) as error:
            reason = slack_error_code(error) if isinstance(error, SlackApiError) else "Slack could not be reached"
            raise BriefError(f"Slack would not describe the attached file {quoted(shared.name or shared.id)} ({reason}), "
                             "so nothing was queued.", hint="Attach the image again, or post the brief without it."
                             ) from None
        if isinstance(record, dict) and record.get("id"):
            records.append(record)
    return records


def attached_references(client: WebClient, files: list[SharedFile], *,
                        submitter: str | None = None, channel: str | None = None) -> list[ReferenceImage]:
    """The reference frames attached to a brief; BriefError (what to attach instead) when one cannot be. Files
    named by a form (`submitter`, `channel`) must also be ones that person may use there."""
    if len(files) > MAX_REFERENCES:
        return references_from_files([{"id": f.id} for f in files])  # refused by count before any lookup
    records = file_records(client, files)
    if submitter is not None and channel is not None:
        for record in records:
            if not may_use_file(client, record, submitter, channel):
                raise BriefError(NOT_YOURS, hint="Upload the frame in the form, or pick one shared in this channel.")
    return references_from_files(records)


# Said without the file's name: it may be one the person cannot see.
NOT_YOURS = ("A reference frame is not a file you can use here: it must be one you uploaded, or one shared in "
             "this channel or in a conversation you are in. Nothing was queued.")


def shared_in(record: dict[str, Any]) -> set[str]:
    """The conversations Slack says a file is shared in."""
    places = {*(record.get("channels") or []), *(record.get("groups") or []), *(record.get("ims") or [])}
    shares = record.get("shares")
    if not isinstance(shares, dict):
        shares = {}
    for kind in ("public", "private"):
        if isinstance(shares.get(kind), dict):
            places |= set(shares[kind])
    return {place for place in places if isinstance(place, str)}


def may_use_file(client: WebClient, record: dict[str, Any], submitter: str, channel: str) -> bool:
    """A file may be a round's frame when the submitter uploaded it, it is shared where the round goes, or it is
    shared in a conversation the submitter is in (a file id alone proves nothing: anyone can name one)."""
    if record.get("user") == submitter:
        return True
    places = shared_in(record)
    if channel in places:
        return True
    return any(in_conversation(client, submitter, place) for place in sorted(places)[:MAX_PLACES_CHECKED])


MAX_PLACES_CHECKED = 10
