"""The sound queue's slow work, run by rq tasks (`post_ticket`, `sync_ticket`, `check_ticket_mix`).

- `post_ticket`: the ticket message in the sound-queue channel and, in its thread, the handoff package
  (the take's MP4, its native audio as 48 kHz / 24-bit WAV, the full sound report as JSON).
- `sync_ticket`: mirror every recorded change into the creative thread (once each), re-render the
  queue message and the take's card.
- `check_ticket_mix`: fetch a mix uploaded into the ticket's thread, measure it against the ticket's
  target, report the verdict; a passing mix delivers the ticket.

Every step is safe to run twice: what was posted is recorded on the ticket and not posted again.
"""

from __future__ import annotations

import json
import logging
import re
from functools import partial
from pathlib import Path

from adapters.media import MediaError, NotMedia, open_input, probe_media, run_ffmpeg
from jobs.audio.check import check_file
from jobs.audio.report import SoundReport
from jobs.domain import stems, tickets
from jobs.domain.models import Take
from jobs.domain.provenance import Provenance, provenance_of
from jobs.domain.stems import Stems, StemsState
from jobs.domain.tickets import MixCheck, Ticket, TicketError, TicketState
from jobs.pipeline.media import take_dir, take_file
from jobs.pipeline.runtime import FileUnavailable, Runtime, Upload
from jobs.turnover.package import TurnoverNote, TurnoverRequest, TurnoverStem, build_turnover

log = logging.getLogger(__name__)
LOCK_S = 300.0


def _mark_mirrored(ticket: tickets.Ticket, upto: int) -> None:
    ticket.mirrored = max(ticket.mirrored, upto)


def extract_wav(clip: Path, out: Path) -> Path:
    """The clip's native audio as 48 kHz / 24-bit PCM WAV, channels as they are."""
    out.parent.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(open_input(clip)["a:0"].output(str(out), **{"c:a": "pcm_s24le", "ar": 48000}))
    return out


# posting the ticket -----------------------------------------------------------------------------------
def post_ticket(rt: Runtime, ticket_id: str) -> None:
    with rt.step_lock(f"ticket-post:{ticket_id}", LOCK_S, "post_ticket", ticket_id, retry_in_s=2.0) as held:
        if not held:
            return
        _post_ticket(rt, ticket_id)
    sync_ticket(rt, ticket_id)


def _post_ticket(rt: Runtime, ticket_id: str) -> None:
    store = rt.store
    ticket = tickets.get_ticket(store, ticket_id)
    take = store.get_take(ticket.take_id) if ticket else None
    if ticket is None or take is None:
        return
    if ticket.state.open:
        tickets.hold_media(take_dir(rt, take), ticket.id)
    folder = tickets.ticket_dir(rt.settings.media_dir, ticket.id)
    folder.mkdir(parents=True, exist_ok=True)
    if not ticket.permalink:
        permalink = rt.notifier.permalink(take.channel, take.message_ts or take.thread_ts)
        if permalink:
            ticket = tickets.update_ticket(store, ticket_id, lambda t: setattr(t, "permalink", permalink)) or ticket
    clip = take_file(rt, take)
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
        ts = rt.sound_desk().ticket_posted(ticket, take)
        ticket = tickets.update_ticket(store, ticket_id, lambda t: setattr(t, "queue_ts", t.queue_ts or ts)) or ticket
        tickets.index_message(store, ticket.queue_channel, ticket.queue_ts or ts, ticket.id)
    if not ticket.package_file_ids:
        _post_package(rt, ticket, take, clip, report, folder)


def _post_package(rt: Runtime, ticket: Ticket, take: Take, clip: Path | None, report: SoundReport | None,
                  folder: Path) -> None:
    uploads: list[Upload] = []
    notes: list[str] = []
    if clip is not None:
        uploads.append(Upload(path=clip, filename=f"{ticket.id}-take-{take.label}.mp4",
                              title=f"{ticket.id} · take {take.label} (original MP4)"))
        if take.silent or (report is not None and not report.has_audio):
            notes.append("The take has no native audio, so there is no WAV.")
        else:
            try:
                wav = extract_wav(clip, folder / f"{ticket.id}-take-{take.label}-native-48k24.wav")
                uploads.append(Upload(path=wav, filename=wav.name,
                                      title=f"{ticket.id} · native audio, 48 kHz / 24-bit WAV"))
            except MediaError as error:
                notes.append(f"The native audio could not be extracted ({error}).")
    else:
        notes.append("The take's file is no longer available here; download it from the creative thread.")
    full = {
        "ticket": ticket.id, "take": take.label, "take_id": take.id, "model": take.model, "target": ticket.target,
        "brief": ticket.brief.model_dump(mode="json"),
        "sound_report": report.model_dump(mode="json") if report else None,
        "notes": [note.model_dump(mode="json") for note in take.notes],
    }
    report_path = folder / f"{ticket.id}-sound-report.json"
    report_path.write_text(json.dumps(full, indent=2))
    uploads.append(Upload(path=report_path, filename=report_path.name,
                          title=f"{ticket.id} · full sound report (JSON)"))
    origin = take_provenance(rt, take)
    provenance_path = folder / "provenance.json"
    provenance_path.write_text(origin.model_dump_json(indent=2))
    uploads.append(Upload(path=provenance_path, filename=provenance_path.name,
                          title=f"{ticket.id} · provenance: model, exact prompt and parameters, job id, times"))
    comment = (f"Handoff package for {ticket.id}: the take, its native audio as WAV, the full sound report, and its "
               f"provenance. {origin.ai_generated}")
    if clip is not None:
        has_sound = not take.silent and (report is None or report.has_audio)
        if has_sound and rt.settings.separation_model and ticket.stems is None:
            started = Stems(model=rt.settings.separation_model.split(":", 1)[1])
            ticket = tickets.update_ticket(rt.store, ticket.id, lambda t: setattr(t, "stems", t.stems or started)) \
                or ticket
            rt.scheduler.enqueue("separate_stems", ticket.id)
        turnover, said = make_turnover(rt, ticket, take, clip, origin, folder, version=1)
        uploads += turnover
        notes.append(said)
    if notes:
        comment += " " + " ".join(notes)
    ids = rt.sound_desk().ticket_package(ticket, uploads, comment)
    tickets.update_ticket(rt.store, ticket.id, lambda t: setattr(t, "package_file_ids", t.package_file_ids or ids))


def take_provenance(rt: Runtime, take: Take) -> Provenance:
    request = rt.store.get_request(take.request_id)
    parent = rt.store.get_take(take.resound_of) if take.resound_of else None
    return provenance_of(take, provider=rt.provider(take.model).display_name,
                         permalink=rt.notifier.permalink(take.channel, take.thread_ts),
                         terms_urls=rt.settings.terms_urls, references=request.resolved.references if request else [],
                         parent=parent)


# the turnover -------------------------------------------------------------------------------------------
def provenance_lines(origin: Provenance) -> list[str]:
    return [origin.ai_generated, f"Provider: {origin.provider}, model {origin.provider_model_id or '?'}, job "
            f"{origin.provider_job_id or '?'}, seed {origin.seed}",
            f"Rendered: submitted {origin.submitted_at or '?'}, finished {origin.finished_at or '?'} (UTC)",
            f"Brief by {origin.brief_author}; thread {origin.thread_permalink or '(no link)'}",
            f"Terms of use: {origin.terms_of_use or 'see the provider'}"]


def make_turnover(rt: Runtime, ticket: Ticket, take: Take, clip: Path, origin: Provenance, folder: Path, *,
                  version: int) -> tuple[list[Upload], str]:
    """The turnover archives to upload (one, or parts that each fit Slack's upload size; none when the package
    cannot be made) and the sentence that says what happened to it."""
    made_stems = ticket.stems is not None and ticket.stems.state == StemsState.made
    names = {by: rt.sound_desk().person_name(by) for by in {n.by for n in take.notes}}
    request = TurnoverRequest(
        ticket_id=ticket.id, take_label=take.label, brief_line=first_line(ticket.brief.picture), target=ticket.target,
        model=take.model, provenance_lines=[*provenance_lines(origin), *stems.provenance(ticket.stems)],
        version=version, notes=[TurnoverNote(at_s=n.at_s, author=names[n.by], text=n.text) for n in take.notes],
        stems=[TurnoverStem(name=name, path=Path(path)) for name, path in ticket.stems.files.items()]
        if ticket.stems is not None and made_stems else [],
        stems_summary=stems.summary(ticket.stems, has_audio=not take.silent,
                                    configured=bool(rt.settings.separation_model)))
    limit = rt.settings.slack_upload_max_bytes
    try:
        made = build_turnover(clip, folder, request, max_bytes=limit)
    except MediaError as error:
        log.warning("ticket %s: turnover package not made: %s", ticket.id, error)
        return [], f"The turnover package could not be made ({error}); the take and WAV above are the handoff."
    label = "" if version <= 1 else f" (version {version})"
    count = len(made.archives)
    uploads = [Upload(path=archive, filename=archive.name,
                      title=f"{ticket.id} · turnover{label}" + (f", part {n} of {count}" if count > 1 else "") +
                      f": picture and BWF at {made.start_timecode}, {made.frame_rate} fps, markers for every note")
               for n, archive in enumerate(made.archives, start=1)]
    said = (f"The turnover archive{label} lines picture and sound up on one timecode ({made.start_timecode}, "
            f"{made.frame_rate} fps, 2-pop head) with every note as a marker; its README says what is in it.")
    if count > 1:
        said += (f" It is over the {limit / 1048576:.0f} MB Slack takes in one file, so it comes in {count} parts "
                 "(part 1 holds the README and the markers).")
    if made.too_big:
        said += (f" Over that limit on their own, so not posted: {', '.join(made.too_big)}; ask the operator for "
                 "them.")
    return uploads, said


def first_line(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else "(no picture line)"
    return line if len(line) <= 120 else line[:119] + "…"


def post_next_turnover(rt: Runtime, ticket_id: str, why: str) -> None:
    """The turnover archive again, as the next version (a note added after the handoff, or the stems), posted in the
    ticket thread with `why` before its line."""
    store = rt.store
    ticket = tickets.get_ticket(store, ticket_id)
    take = store.get_take(ticket.take_id) if ticket else None
    clip = take_file(rt, take) if take else None
    if ticket is None or take is None or clip is None:
        return
    ticket = tickets.update_ticket(store, ticket_id,
                                   lambda t: setattr(t, "turnover_version", t.turnover_version + 1)) or ticket
    origin = take_provenance(rt, take)
    folder = tickets.ticket_dir(rt.settings.media_dir, ticket.id)
    turnover, said = make_turnover(rt, ticket, take, clip, origin, folder, version=ticket.turnover_version)
    rt.sound_desk().ticket_package(ticket, turnover, f"{why} {said}".strip())


# mirroring ----------------------------------------------------------------------------------------------
def sync_ticket(rt: Runtime, ticket_id: str) -> None:
    """Post every change not yet mirrored into the creative thread, then refresh the queue message and card."""
    # A change made while another sync runs may be missed by it, so look again soon rather than at lock expiry.
    with rt.step_lock(f"ticket-sync:{ticket_id}", LOCK_S, "sync_ticket", ticket_id, retry_in_s=1.0) as held:
        if held:
            _sync(rt, ticket_id)


def _sync(rt: Runtime, ticket_id: str) -> None:
    store = rt.store
    ticket = tickets.get_ticket(store, ticket_id)
    if ticket is None:
        return
    for index in range(ticket.mirrored, len(ticket.history)):
        event = ticket.history[index]
        if event.changes_state:
            _mirror(rt, ticket, index)
        done = index + 1
        ticket = tickets.update_ticket(store, ticket_id, partial(_mark_mirrored, upto=done)) or ticket
    take = store.get_take(ticket.take_id)
    if ticket.queue_ts:
        rt.sound_desk().ticket_changed(ticket, take)
    if take is not None:
        ref = ticket.ref()
        take = store.update_take(take.id, lambda t: setattr(t, "ticket", ref)) or take
        rt.notifier.card_changed(take)
        if ticket.state in (TicketState.delivered, TicketState.cancelled):
            tickets.release_media(take_dir(rt, take), ticket.id)


def _mirror(rt: Runtime, ticket: Ticket, index: int) -> None:
    event = ticket.history[index]
    final: Upload | None = None
    if event.to_state == TicketState.delivered and ticket.final_file_id and not ticket.final_posted:
        try:
            path, name = _final_mix(rt, ticket)
            final = Upload(path=path, filename=f"{ticket.id}-final-mix-{_safe(name)}",
                           title=f"{ticket.id} · final mix for take {ticket.take_label}")
        except FileUnavailable as problem:
            log.error("ticket %s: final mix could not be fetched: %s", ticket.id, problem)
    rt.sound_desk().ticket_mirrored(ticket, event, final)
    if final is not None:
        tickets.update_ticket(rt.store, ticket.id, lambda t: setattr(t, "final_posted", True))


def _safe(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return cleaned[-80:] or "mix"


def _final_mix(rt: Runtime, ticket: Ticket) -> tuple[Path, str]:
    mix = ticket.mix(ticket.final_file_id or "")
    if mix and mix.path and Path(mix.path).is_file():
        return Path(mix.path), mix.name
    return rt.notifier.fetch_file(ticket.final_file_id or "", tickets.ticket_dir(rt.settings.media_dir, ticket.id))


# delivery -----------------------------------------------------------------------------------------------
def check_ticket_mix(rt: Runtime, ticket_id: str, file_id: str, user: str) -> None:
    with rt.store.held(f"ticket-mix:{ticket_id}:{file_id}", LOCK_S) as held:
        delivered = held and _check_mix(rt, ticket_id, file_id, user)
    if delivered:
        sync_ticket(rt, ticket_id)


def _check_mix(rt: Runtime, ticket_id: str, file_id: str, user: str) -> bool:
    store = rt.store
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
        path, mix.name = rt.notifier.fetch_file(file_id, folder)
        mix.path = str(path)
        info = probe_media(path)
        if info.duration_s is not None and info.duration_s > rt.settings.max_clip_s * 2:
            raise FileUnavailable(f"it is {info.duration_s:.0f} s long; the take is {ticket.duration_s} s")
        report = check_file(path, ticket.target, expect_audio=True)
    except FileUnavailable as problem:
        mix.error = str(problem)
    except NotMedia as error:
        mix.error = (f"it is {error}, not audio or video, so nothing of it was checked: upload the final mix "
                     "as WAV, AIFF, FLAC, MP3, M4A, Ogg or a video (MP4, MOV, MKV, WebM)")
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
            ticket = tickets.transition(store, ticket_id, "deliver", user,
                                        note=f"final mix {mix.name}: {mix.summary}"[:500], extra=deliver)
            delivered = True
        except TicketError as error:  # delivered or cancelled meanwhile: report the check, change nothing
            ticket = tickets.update_ticket(store, ticket_id, record) or ticket
            mix.passed, mix.reasons = False, [str(error)]
    else:
        ticket = tickets.update_ticket(store, ticket_id, record) or ticket
        tickets.note_event(store, ticket_id, "mix_failed", user, "; ".join(mix.reasons) or mix.error)
    rt.sound_desk().mix_checked(ticket, mix)
    if not delivered:
        sync_ticket(rt, ticket_id)  # the queue message shows the failed mix's reason
    return delivered
