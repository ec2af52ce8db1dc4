"""Files attached to a message, as Slack's own record describes them (`files.info`): a payload's copy of a
file object may be partial (Slack Connect sends only the id) and is never trusted for a URL or a size."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.errors import slack_error_code
from bot.slack.payloads import SharedFile
from jobs.domain.brief import BriefError
from jobs.domain.models import ReferenceImage
from jobs.domain.references import MAX_REFERENCES, references_from_files


def file_records(client: WebClient, files: list[SharedFile]) -> list[dict[str, Any]]:
    records = []
    for shared in files:
        try:
            record = client.files_info(file=shared.id).get("file")
        except (SlackApiError, SlackClientError) as error:
            reason = slack_error_code(error) if isinstance(error, SlackApiError) else "Slack could not be reached"
            raise BriefError(f"Slack would not describe the attached file `{shared.name or shared.id}` ({reason}), "
                             "so nothing was queued.", hint="Attach the image again, or post the brief without it."
                             ) from None
        if isinstance(record, dict) and record.get("id"):
            records.append(record)
    return records


def attached_references(client: WebClient, files: list[SharedFile]) -> list[ReferenceImage]:
    """The reference frames attached to a brief; BriefError (what to attach instead) when one cannot be."""
    if len(files) > MAX_REFERENCES:
        return references_from_files([{"id": f.id} for f in files])  # refused by count before any lookup
    return references_from_files(file_records(client, files))
