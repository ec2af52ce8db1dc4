"""The sound queue's slow work, run by rq jobs (`jobs.tasks.post_ticket`, `sync_ticket`, `check_ticket_mix`).

- `post_ticket`: the ticket message in the sound-queue channel and, in its thread, the handoff package
  (the take's MP4, its native audio as 48 kHz / 24-bit WAV, the full sound report as JSON).
- `sync_ticket`: mirror every recorded change into the creative thread (once each), re-render the
  queue message and the take's card.
- `check_ticket_mix`: download a mix uploaded into the ticket's thread from Slack, measure it against the
  ticket's target, post the verdict; a passing mix delivers the ticket.

Every step is safe to run twice: what was posted is recorded on the ticket and not posted again.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from adapters.base import ProviderError
from adapters.download import MediaPolicy, download
from adapters.media import MediaError, probe_media, run_ffmpeg
from bot.poster import explain_slack_error, update_card
from bot.ticket_blocks import mirror_text, mix_verdict, ticket_message
from jobs import tickets
from jobs.models import SoundReport, Take
from jobs.runtime import Runtime
from jobs.soundcheck import check_file
from jobs.tickets import MixCheck, Ticket, TicketError, TicketState

log = logging.getLogger(__name__)
SLACK_FILE_HOSTS = ("files.slack.com",)
LOCK_S = 300.0
MIX_EXTENSIONS = {"wav", "wave", "aif", "aiff", "flac", "mp3", "m4a", "aac", "ogg", "opus", "mp4", "mov", "m4v",
                  "mkv", "webm", "mxf"}


class DeliveryProblem(Exception):
    """A mix could not be fetched or read; the message is a sentence for the ticket's thread."""


def slack_client(rt: Runtime) -> WebClient:
    client = getattr(rt.notifier, "client", None)
    if isinstance(client, WebClient):
        return client
    from bot.slack_client import make_web_client

    return make_web_client(rt.settings)


def _store(rt: Runtime) -> tickets.RedisStore:
    return rt.store  # type: ignore[return-value]  # tickets live in Redis only


# media -------------------------------------------------------------------------------------------------
def slack_file_policy(rt: Runtime) -> MediaPolicy:
    """Slack files come from files.slack.com, or from the Slack API host Dailies is pointed at (stand-ins)."""
    api = urlsplit(rt.settings.slack_api_url)
    origin = f"{api.scheme}://{api.netloc}/"
    return MediaPolicy(hosts=SLACK_FILE_HOSTS, allowed_prefixes=(origin,), max_bytes=rt.settings.max_download_bytes,
                       timeout_s=rt.settings.download_timeout_s, name="Slack")


def download_slack_file(rt: Runtime, client: WebClient, file_id: str, dest_dir: Path) -> tuple[Path, str]:
    """Fetch a Slack file by id (its URL is read from files.info, never from a payload); returns (path, name)."""
    try:
        info = client.files_info(file=file_id).get("file") or {}
    except SlackApiError as error:
        raise DeliveryProblem(f"Slack would not describe the file ({explain_slack_error(error)})") from None
    name = str(info.get("name") or file_id)
    url = info.get("url_private_download") or info.get("url_private")
    if not url:
        raise DeliveryProblem("Slack gave no download link for the file")
    size = info.get("size") or info.get("length")
    if isinstance(size, int) and size > rt.settings.max_download_bytes:
        raise DeliveryProblem(f"the file is {size / 1048576:.0f} MB, over the "
                              f"{rt.settings.max_download_bytes / 1048576:.0f} MB limit")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else "bin"
    ext = ext if re.fullmatch(r"[a-z0-9]{1,5}", ext) else "bin"
    dest = dest_dir / f"{re.sub(r'[^A-Za-z0-9]', '', file_id)}.{ext}"
    if dest.is_file() and dest.stat().st_size:
        return dest, name
    token = rt.settings.slack_bot_token.get_secret_value() if rt.settings.slack_bot_token else ""
    try:
        download(url, dest, slack_file_policy(rt), headers={"Authorization": f"Bearer {token}"})
    except ProviderError as error:
        raise DeliveryProblem(error.message.replace("its result link", "the file's link")) from None
    return dest, name


def source_clip(rt: Runtime, client: WebClient, take: Take, ticket: Ticket) -> Path | None:
    """The take's MP4: its recorded path, the copy kept in its take folder, or Slack's copy of the upload."""
    from jobs.pipeline import take_dir

    candidates = [Path(take.file_path)] if take.file_path else []
    candidates.append(take_dir(rt, take) / f"{take.label}.mp4")
    for path in candidates:
        if path.is_file() and path.stat().st_size:
            return path
    if take.file_id:
        try:
            path, _ = download_slack_file(rt, client, take.file_id, tickets.ticket_dir(rt.settings.media_dir, ticket.id))
            return path
        except DeliveryProblem as problem:
            log.warning("ticket %s: cannot fetch take %s from Slack: %s", ticket.id, take.id, problem)
    return None


def extract_wav(clip: Path, out: Path) -> Path:
    """The clip's native audio as 48 kHz / 24-bit PCM WAV, channels as they are."""
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(["-i", str(clip), "-map", "0:a:0", "-vn", "-c:a", "pcm_s24le", "-ar", "48000", str(out)])
    return out


# posting the ticket -----------------------------------------------------------------------------------
def post_ticket(rt: Runtime, ticket_id: str) -> None:
    with rt.step_lock(f"ticket-post:{ticket_id}", LOCK_S, "post_ticket", ticket_id, retry_in_s=2.0) as held:
        if not held:
            return
        _post_ticket(rt, ticket_id)
    sync_ticket(rt, ticket_id)


def _post_ticket(rt: Runtime, ticket_id: str) -> None:
    store = _store(rt)
    ticket = tickets.get_ticket(store, ticket_id)
    take = store.get_take(ticket.take_id) if ticket else None
    if ticket is None or take is None:
        return
    client = slack_client(rt)
    from jobs.pipeline import take_dir

    if ticket.state.open:
        tickets.hold_media(take_dir(rt, take), ticket.id)
    folder = tickets.ticket_dir(rt.settings.media_dir, ticket.id)
    folder.mkdir(parents=True, exist_ok=True)
    if not ticket.permalink:
        try:
            link = client.chat_getPermalink(channel=take.channel, message_ts=take.message_ts or take.thread_ts)
            permalink = link.get("permalink")
            ticket = tickets.update_ticket(store, ticket_id, lambda t: setattr(t, "permalink", permalink)) or ticket
        except SlackApiError as error:
            log.warning("ticket %s: no permalink: %s", ticket_id, explain_slack_error(error))
    clip = source_clip(rt, client, take, ticket)
    report = ticket.report
    if clip is not None and not ticket.package_file_ids:
        try:
            report = check_file(clip, take.target, expect_audio=not take.silent)
        except (MediaError, OSError, ValueError) as error:
            log.warning("ticket %s: sound check of the take failed: %s", ticket_id, error)
        if report is not None:
            fresh = report
            ticket = tickets.update_ticket(store, ticket_id, lambda t: setattr(t, "report", fresh)) or ticket
    if not ticket.queue_ts:
        text, blocks = ticket_message(ticket, take)
        response = client.chat_postMessage(
            channel=ticket.queue_channel, text=text, blocks=blocks, parse="none", unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": "dailies_ticket", "event_payload": {"ticket_id": ticket.id, "take_id": take.id}},
        )
        ts = response["ts"]
        ticket = tickets.update_ticket(store, ticket_id, lambda t: setattr(t, "queue_ts", t.queue_ts or ts)) or ticket
        tickets.index_message(store, ticket.queue_channel, ticket.queue_ts or ts, ticket.id)
    if not ticket.package_file_ids:
        _post_package(rt, client, ticket, take, clip, report, folder)


def _post_package(rt: Runtime, client: WebClient, ticket: Ticket, take: Take, clip: Path | None,
                  report: SoundReport | None, folder: Path) -> None:
    store = _store(rt)
    uploads: list[dict[str, str]] = []
    notes: list[str] = []
    if clip is not None:
        uploads.append({"file": str(clip), "filename": f"{ticket.id}-take-{take.label}.mp4",
                        "title": f"{ticket.id} · take {take.label} (original MP4)"})
        if take.silent or (report is not None and not report.has_audio):
            notes.append("The take has no native audio, so there is no WAV.")
        else:
            try:
                wav = extract_wav(clip, folder / f"{ticket.id}-take-{take.label}-native-48k24.wav")
                uploads.append({"file": str(wav), "filename": wav.name,
                                "title": f"{ticket.id} · native audio, 48 kHz / 24-bit WAV"})
            except MediaError as error:
                notes.append(f"The native audio could not be extracted ({error}).")
    else:
        notes.append("The take's file is no longer available here; download it from the creative thread.")
    full = {
        "ticket": ticket.id, "take": take.label, "take_id": take.id, "model": take.model, "target": ticket.target,
        "brief": ticket.brief.model_dump(mode="json"),
        "sound_report": report.model_dump(mode="json") if report else None,
    }
    report_path = folder / f"{ticket.id}-sound-report.json"
    report_path.write_text(json.dumps(full, indent=2))
    uploads.append({"file": str(report_path), "filename": report_path.name,
                    "title": f"{ticket.id} · full sound report (JSON)"})
    comment = f"Handoff package for {ticket.id}: the take, its native audio as WAV, the full sound report."
    if notes:
        comment += " " + " ".join(notes)
    response = client.files_upload_v2(file_uploads=uploads, channel=ticket.queue_channel, thread_ts=ticket.queue_ts,
                                      initial_comment=comment)
    ids = [f["id"] for f in (response.get("files") or []) if f.get("id")]
    tickets.update_ticket(store, ticket.id, lambda t: setattr(t, "package_file_ids", t.package_file_ids or ids))


# mirroring ----------------------------------------------------------------------------------------------
def sync_ticket(rt: Runtime, ticket_id: str) -> None:
    """Post every change not yet mirrored into the creative thread, then refresh the queue message and card."""
    # A change made while another sync runs may be missed by it, so look again soon rather than at lock expiry.
    with rt.step_lock(f"ticket-sync:{ticket_id}", LOCK_S, "sync_ticket", ticket_id, retry_in_s=1.0) as held:
        if held:
            _sync(rt, ticket_id)


def _sync(rt: Runtime, ticket_id: str) -> None:
    store = _store(rt)
    client = slack_client(rt)
    ticket = tickets.get_ticket(store, ticket_id)
    if ticket is None:
        return
    for index in range(ticket.mirrored, len(ticket.history)):
        event = ticket.history[index]
        if event.changes_state:
            _mirror(rt, client, ticket, index)
        done = index + 1
        ticket = tickets.update_ticket(store, ticket_id, lambda t, n=done: setattr(t, "mirrored", max(t.mirrored, n))) or ticket
    take = store.get_take(ticket.take_id)
    if ticket.queue_ts:
        text, blocks = ticket_message(ticket, take)
        try:
            client.chat_update(channel=ticket.queue_channel, ts=ticket.queue_ts, text=text, blocks=blocks, parse="none")
        except SlackApiError as error:
            log.error("ticket %s: queue message update: %s", ticket_id, explain_slack_error(error))
    if take is not None:
        ref = ticket.ref()
        take = store.update_take(take.id, lambda t: setattr(t, "ticket", ref)) or take
        update_card(client, take)
        if ticket.state in (TicketState.delivered, TicketState.cancelled):
            from jobs.pipeline import take_dir

            tickets.release_media(take_dir(rt, take), ticket.id)


def _mirror(rt: Runtime, client: WebClient, ticket: Ticket, index: int) -> None:
    event = ticket.history[index]
    text = mirror_text(ticket, event)
    try:
        if event.to_state == TicketState.delivered and ticket.final_file_id and not ticket.final_posted:
            path, name = _final_mix(rt, client, ticket)
            client.files_upload_v2(
                file_uploads=[{"file": str(path), "filename": f"{ticket.id}-final-mix-{_safe(name)}",
                               "title": f"{ticket.id} · final mix for take {ticket.take_label}"}],
                channel=ticket.channel, thread_ts=ticket.thread_ts, initial_comment=text,
            )
            tickets.update_ticket(_store(rt), ticket.id, lambda t: setattr(t, "final_posted", True))
            return
        client.chat_postMessage(channel=ticket.channel, thread_ts=ticket.thread_ts, text=text, parse="none",
                                unfurl_links=False, unfurl_media=False)
    except DeliveryProblem as problem:
        log.error("ticket %s: final mix could not be posted: %s", ticket.id, problem)
        client.chat_postMessage(channel=ticket.channel, thread_ts=ticket.thread_ts, parse="none",
                                text=text + f"\n(The final mix could not be attached: {problem}. It is in the "
                                            f"sound-queue thread of {ticket.id}.)")
    except SlackApiError as error:
        log.error("ticket %s: mirror in the creative thread: %s", ticket.id, explain_slack_error(error))


def _safe(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return cleaned[-80:] or "mix"


def _final_mix(rt: Runtime, client: WebClient, ticket: Ticket) -> tuple[Path, str]:
    mix = ticket.mix(ticket.final_file_id or "")
    if mix and mix.path and Path(mix.path).is_file():
        return Path(mix.path), mix.name
    return download_slack_file(rt, client, ticket.final_file_id or "", tickets.ticket_dir(rt.settings.media_dir, ticket.id))


# delivery -----------------------------------------------------------------------------------------------
def check_ticket_mix(rt: Runtime, ticket_id: str, file_id: str, user: str) -> None:
    store = _store(rt)
    lock = f"ticket-mix:{ticket_id}:{file_id}"
    if not store.try_lock(lock, LOCK_S):
        return
    try:
        delivered = _check_mix(rt, ticket_id, file_id, user)
    finally:
        store.unlock(lock)
    if delivered:
        sync_ticket(rt, ticket_id)


def _check_mix(rt: Runtime, ticket_id: str, file_id: str, user: str) -> bool:
    store = _store(rt)
    client = slack_client(rt)
    ticket = tickets.get_ticket(store, ticket_id)
    if ticket is None:
        return False
    existing = ticket.mix(file_id)
    if existing is not None and (existing.passed is not None or existing.error):
        return False  # already checked: a re-run posts nothing twice
    if ticket.state != TicketState.claimed:
        return False
    folder = tickets.ticket_dir(rt.settings.media_dir, ticket.id) / "mixes"
    mix = MixCheck(file_id=file_id, name=file_id, by=user)
    try:
        path, mix.name = download_slack_file(rt, client, file_id, folder)
        mix.path = str(path)
        info = probe_media(path)
        if info.duration_s is not None and info.duration_s > rt.settings.max_clip_s * 2:
            raise DeliveryProblem(f"it is {info.duration_s:.0f} s long; the take is {ticket.duration_s} s")
        report = check_file(path, ticket.target, expect_audio=True)
    except DeliveryProblem as problem:
        mix.error = str(problem)
    except MediaError as error:
        mix.error = f"ffmpeg cannot read it as audio or video ({error})"
    else:
        mix.reasons = tickets.judge_mix(report, ticket.target)
        mix.passed = not mix.reasons
        mix.integrated_lufs, mix.true_peak_dbtp = report.integrated_lufs, report.true_peak_dbtp
        mix.summary, mix.verdict = report.summary, report.verdict
        mix.report = report.model_dump(mode="json")
        if report.duration_s and abs(report.duration_s - ticket.duration_s) > 0.5:
            mix.summary += f" (length {report.duration_s:.2f} s; the take is {ticket.duration_s} s)"

    def record(t: Ticket) -> None:
        t.mixes = [m for m in t.mixes if m.file_id != file_id] + [mix]

    delivered = False
    if mix.passed:
        def deliver(t: Ticket) -> None:
            record(t)
            t.final_file_id = file_id

        try:
            ticket = tickets.transition(store, ticket_id, "deliver", user, note=f"final mix {mix.name}: {mix.summary}"[:500],
                                        extra=deliver)
            delivered = True
        except TicketError as error:  # delivered or cancelled meanwhile: report the check, change nothing
            ticket = tickets.update_ticket(store, ticket_id, record) or ticket
            mix.passed, mix.reasons = False, [str(error)]
    else:
        ticket = tickets.update_ticket(store, ticket_id, record) or ticket
        tickets.note_event(store, ticket_id, "mix_failed", user, "; ".join(mix.reasons) or mix.error)
    text, blocks = mix_verdict(ticket, mix)
    try:
        client.chat_postMessage(channel=ticket.queue_channel, thread_ts=ticket.queue_ts, text=text, blocks=blocks,
                                parse="none", unfurl_links=False, unfurl_media=False)
    except SlackApiError as error:
        log.error("ticket %s: mix verdict: %s", ticket_id, explain_slack_error(error))
    if not delivered:
        sync_ticket(rt, ticket_id)  # the queue message shows the failed mix's reason
    return delivered


def is_mix_file(file: dict[str, object]) -> bool:
    mimetype = str(file.get("mimetype") or "")
    name = str(file.get("name") or "")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return mimetype.startswith(("audio/", "video/")) or ext in MIX_EXTENSIONS
