"""The turnover's stems: dialogue, music and effects from the separation model, then the package again.

`separate_stems(ticket_id)` is one rq task, run again until the stems are made or given up on:

- first, the channel's budget must have room for both passes; then the take's native sound, as FLAC, goes to the
  first pass ("speech");
- later runs check the current pass; a finished first pass hands its residual (a URL on fal's media host) to the
  second ("music");
- with both done: fetch dialogue (pass 1's target), music (pass 2's target) and effects (pass 2's residual), null
  test them against the native sound, charge both passes, and post the next version of the turnover with them.

Each step is recorded on the ticket before the next is taken, so a run repeated after a crash submits nothing
twice. A separation that fails is never charged; the ticket thread says once why there are no stems.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from adapters.base import FailureKind, JobPhase, ProviderError
from adapters.fal_separation import FalSeparator, audio_data_uri
from adapters.media import MediaError, open_input, probe_media, run_ffmpeg
from jobs.audio.decode import stream_audio
from jobs.audio.null_test import null_residual_db
from jobs.domain import budget, tickets
from jobs.domain.providers import build_separator
from jobs.domain.stems import StemsState
from jobs.domain.tickets import Ticket
from jobs.pipeline.backoff import poll_delay_s, provider_retry_delay_s
from jobs.pipeline.media import take_file
from jobs.pipeline.runtime import Runtime
from jobs.pipeline.tickets import post_next_turnover

log = logging.getLogger(__name__)
LOCK_S = 300.0
DEADLINE_S = 1800.0  # a separation not done in this long is given up on
RATE_HZ = 48000


def separate_stems(rt: Runtime, ticket_id: str) -> None:
    with rt.step_lock(f"stems:{ticket_id}", LOCK_S, "separate_stems", ticket_id, retry_in_s=2.0) as held:
        if held:
            rt.store.redis.set(_alive_key(rt, ticket_id), "1", ex=_alive_s(rt))
            _step(rt, ticket_id)


def resume_stalled(rt: Runtime) -> int:
    """Start again the stems of open tickets whose chain of checks stopped (a worker died, or Redis lost the
    scheduled job): none of their runs has been seen for longer than a check's longest wait and a step."""
    resumed = 0
    for ticket in tickets.open_tickets(rt.store):
        if ticket.stems is None or ticket.stems.said:
            continue
        if rt.store.redis.set(_alive_key(rt, ticket.id), "1", ex=_alive_s(rt), nx=True):
            rt.scheduler.enqueue("separate_stems", ticket.id)
            resumed += 1
    return resumed


def _alive_key(rt: Runtime, ticket_id: str) -> str:
    return rt.store.key("stems-alive", ticket_id)


def _alive_s(rt: Runtime) -> int:
    return int(rt.settings.poll_max_s + rt.settings.step_lease_s) + 1


def _step(rt: Runtime, ticket_id: str) -> None:
    ticket = tickets.get_ticket(rt.store, ticket_id)
    stems = ticket.stems if ticket else None
    if ticket is None or stems is None or stems.said:
        return
    if stems.state == StemsState.not_made:
        _say(rt, ticket, f"No stems: {stems.reason}; the turnover's WAV is the full native mix.")
        return
    if stems.state == StemsState.made:
        _post(rt, ticket)
        return
    separator = build_separator(rt.settings)
    if separator is None:
        _give_up(rt, ticket, "the separation model was taken out of this deployment's settings")
        return
    if time.time() - stems.started_at > DEADLINE_S:
        _give_up(rt, ticket, f"{stems.model} did not finish within {DEADLINE_S / 60:.0f} minutes")
        return
    current = stems.current()
    try:
        if current is None:
            _deliver(rt, ticket, separator)
        elif current.job_id is None:
            _submit(rt, ticket, separator)
        else:
            _check(rt, ticket, separator)
    except ProviderError as error:
        if error.kind == FailureKind.retry:
            tries = _count_poll(rt, ticket.id)
            rt.scheduler.enqueue_in(provider_retry_delay_s(rt.settings, tries, error.retry_after_s),
                                    "separate_stems", ticket.id)
            return
        _give_up(rt, ticket, f"{stems.model} refused it: {error}")
    except MediaError as error:
        _give_up(rt, ticket, f"its sound could not be read ({error})")


def _submit(rt: Runtime, ticket: Ticket, separator: FalSeparator) -> None:
    stems = ticket.stems
    assert stems is not None
    index = next(i for i, p in enumerate(stems.passes) if not p.done)
    if index == 0:
        take = rt.store.get_take(ticket.take_id)
        clip = take_file(rt, take) if take else None
        if clip is None:
            _give_up(rt, ticket, "the take's file is no longer here")
            return
        folder = tickets.ticket_dir(rt.settings.media_dir, ticket.id) / "stems"
        folder.mkdir(parents=True, exist_ok=True)
        native = _native_flac(clip, folder / "native.flac")
        audio_s = probe_media(native).duration_s or float(ticket.duration_s)
        estimate = len(stems.passes) * audio_s * rt.settings.separation_usd_per_s
        refused = budget.room_for(rt.store, rt.settings, ticket.channel, estimate)
        if refused:
            _give_up(rt, ticket, refused)
            return
        audio_url = audio_data_uri(native)
    else:
        residual = stems.passes[index - 1].residual_url
        assert residual is not None
        audio_s = stems.audio_s
        audio_url = residual  # fal's own URL of what the previous pass left: nothing is uploaded again
    job_id = separator.submit(audio_url, stems.passes[index].prompt)

    def record(t: Ticket) -> None:
        if t.stems is not None and t.stems.passes[index].job_id is None:
            t.stems.passes[index].job_id = job_id
            t.stems.audio_s = audio_s
            t.stems.polls = 0

    tickets.update_ticket(rt.store, ticket.id, record)
    log.info("ticket %s: separation pass %d submitted to %s", ticket.id, index + 1, stems.model)
    rt.scheduler.enqueue_in(poll_delay_s(rt.settings, 1), "separate_stems", ticket.id)


def _check(rt: Runtime, ticket: Ticket, separator: FalSeparator) -> None:
    stems = ticket.stems
    assert stems is not None
    index = next(i for i, p in enumerate(stems.passes) if not p.done)
    job_id = stems.passes[index].job_id
    assert job_id is not None
    result = separator.poll(job_id)
    if result.phase == JobPhase.failed:
        _give_up(rt, ticket, f"{stems.model} could not separate it: {result.message or 'no reason given'}")
        return
    if result.phase != JobPhase.succeeded:
        polls = _count_poll(rt, ticket.id)
        rt.scheduler.enqueue_in(poll_delay_s(rt.settings, polls + 1), "separate_stems", ticket.id)
        return

    def record(t: Ticket) -> None:
        if t.stems is not None and t.stems.passes[index].job_id == job_id:
            t.stems.passes[index].target_url = result.target_url
            t.stems.passes[index].residual_url = result.residual_url

    tickets.update_ticket(rt.store, ticket.id, record)
    rt.scheduler.enqueue("separate_stems", ticket.id)  # the next pass, or the delivery


def _deliver(rt: Runtime, ticket: Ticket, separator: FalSeparator) -> None:
    stems = ticket.stems
    assert stems is not None
    take = rt.store.get_take(ticket.take_id)
    clip = take_file(rt, take) if take else None
    if clip is None:
        _give_up(rt, ticket, "the take's file is no longer here")
        return
    folder = tickets.ticket_dir(rt.settings.media_dir, ticket.id) / "stems"
    folder.mkdir(parents=True, exist_ok=True)
    first, second = stems.passes
    sources = {"dialogue": first.target_url, "music": second.target_url, "effects": second.residual_url}
    files = {name: str(separator.fetch(url, folder / f"{name}.wav")) for name, url in sources.items() if url}
    native = folder / "native.flac"
    if not native.exists():
        _native_flac(clip, native)
    mix = _samples(native)
    residual_db = null_residual_db(mix, [_samples(Path(path)) for path in files.values()])
    cost = len(stems.passes) * stems.audio_s * rt.settings.separation_usd_per_s

    def record(t: Ticket) -> None:
        if t.stems is not None and t.stems.state == StemsState.separating:
            t.stems.state = StemsState.made
            t.stems.files = files
            t.stems.null_residual_db = residual_db if np.isfinite(residual_db) else None
            t.stems.cost_usd = cost

    ticket = tickets.update_ticket(rt.store, ticket.id, record) or ticket
    budget.charge_once(rt.store, charge_id=f"stems-{ticket.id}", channel=ticket.channel, user=ticket.lead,
                       model=f"fal:{stems.model}", cost_usd=cost)
    _post(rt, ticket)


def _post(rt: Runtime, ticket: Ticket) -> None:
    stems = ticket.stems
    assert stems is not None
    null = f"{stems.null_residual_db:.1f} dB" if stems.null_residual_db is not None else "exactly"
    post_next_turnover(rt, ticket.id, f"Stems are in: dialogue, music and effects from {stems.model}; they null "
                                      f"against the native mix at {null}.")
    tickets.update_ticket(rt.store, ticket.id, lambda t: setattr(t.stems, "said", True) if t.stems else None)


def _give_up(rt: Runtime, ticket: Ticket, reason: str) -> None:
    log.warning("ticket %s: no stems: %s", ticket.id, reason)

    def record(t: Ticket) -> None:
        if t.stems is not None and t.stems.state == StemsState.separating:
            t.stems.state, t.stems.reason = StemsState.not_made, reason

    ticket = tickets.update_ticket(rt.store, ticket.id, record) or ticket
    stems = ticket.stems
    if stems is not None and stems.state == StemsState.not_made:
        _say(rt, ticket, f"No stems: {stems.reason}; the turnover's WAV is the full native mix. Nothing was charged.")


def _say(rt: Runtime, ticket: Ticket, text: str) -> None:
    rt.sound_desk().ticket_package(ticket, [], text)
    tickets.update_ticket(rt.store, ticket.id, lambda t: setattr(t.stems, "said", True) if t.stems else None)


def _count_poll(rt: Runtime, ticket_id: str) -> int:
    def bump(t: Ticket) -> None:
        if t.stems is not None:
            t.stems.polls += 1

    ticket = tickets.update_ticket(rt.store, ticket_id, bump)
    return ticket.stems.polls if ticket is not None and ticket.stems is not None else 1


def _native_flac(clip: Path, out: Path) -> Path:
    """The take's native sound as 48 kHz / 24-bit FLAC: lossless, and half the bytes of the WAV on the wire."""
    partial = out.with_suffix(".part.flac")
    run_ffmpeg(open_input(clip)["a:0"].output(str(partial), acodec="flac", ar=RATE_HZ, sample_fmt="s32",
                                              bits_per_raw_sample=24))
    partial.replace(out)
    return out


def _samples(path: Path) -> np.ndarray:
    """A short sound file as (channels, samples) float32 at 48 kHz."""
    info = probe_media(path)
    chunks: list[np.ndarray] = []
    stream_audio(path, info, chunks.append, rate=RATE_HZ, channels=info.channels or 2)
    return np.concatenate(chunks, axis=1) if chunks else np.zeros((info.channels or 2, 0), dtype=np.float32)

