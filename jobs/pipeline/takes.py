"""The take steps: submit → poll (re-scheduled with back-off) → fetch, check, post; failing and cancelling.

Every step takes ids, loads what it needs and is safe to run twice: a step that
finds its take already past its state does nothing, so a retried or duplicated
job never submits, charges or posts twice.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import ffmpeg
from pydantic import BaseModel, ConfigDict

from adapters.base import (
    FailureKind,
    JobPhase,
    PollResult,
    ProviderError,
    RenderSpec,
    SourceVideo,
    SpokenLine,
)
from adapters.media import MediaError, MediaInfo, NotMedia, open_input, probe_media, run_ffmpeg
from jobs.audio.check import check_file
from jobs.audio.decode import UndecodableMedia
from jobs.domain import budget
from jobs.domain.models import Request, RequestState, Take, TakeState
from jobs.domain.provenance import without_frame_bytes
from jobs.domain.providers import family_of
from jobs.domain.slots import RenderSlots
from jobs.infra.faults import DeliveryError, decode_problem
from jobs.infra.logs import scrub_text
from jobs.pipeline import contact_sheet
from jobs.pipeline.backoff import (
    DELIVERY_TRIES,
    PROVIDER_RETRIES,
    delivery_delay_s,
    poll_delay_s,
    provider_retry_delay_s,
)
from jobs.pipeline.callbacks import callback_url
from jobs.pipeline.media import take_dir, take_file
from jobs.pipeline.preview import listening_level, make_preview
from jobs.pipeline.references import ReferenceUnusable, frames_for
from jobs.pipeline.runtime import Runtime

log = logging.getLogger(__name__)

CALLBACK_FIELDS = ("callback_url", "fal_webhook")  # capability URLs: never recorded or shown
QUEUED_LEASE_S = 600.0  # a queued take may wait this long behind others before recovery re-enqueues it
FAILURE_SENTENCES = {
    FailureKind.policy: "{model} declined this brief: {message}",
    FailureKind.bad_request: "{model} rejected the request ({message}). This is a bug or a capability gap; the take was not charged.",
    FailureKind.auth: "{model} refused our credentials or quota ({message}). A lead or the operator needs to fix the account; the take was not charged.",
    FailureKind.expired: "{model} dropped the job before it finished ({message}). Reroll to try again.",
    FailureKind.retry: "{model} kept failing ({message}); gave up after several tries.",
    FailureKind.cancelled: "Cancelled.",
    FailureKind.bad_media: "{model} returned a file Dailies cannot use: {message}",
}
# How a take that ended without being posted is counted (dailies_takes_total's outcome).
OUTCOMES = {FailureKind.cancelled: "cancelled", FailureKind.policy: "refused"}


def render_spec(request: Request, take: Take) -> RenderSpec:
    brief = request.resolved.brief
    return RenderSpec(
        picture=brief.picture_text(),
        sound=[] if take.silent else brief.sound,
        music=None if take.silent else brief.music,
        music_off=brief.music_off,
        dialogue=[] if take.silent else [SpokenLine(speaker=d.speaker, line=d.line) for d in brief.dialogue],
        negative=brief.negative,
        duration_s=take.duration_s,
        aspect=take.aspect,
        resolution=take.resolution,
        seed=take.seed,
        audio=not take.silent,
        label=take.label,
        render_id=take.id,
        standing_sound=None if take.silent else request.resolved.sound_bible,
    )


def start_request(rt: Runtime, request_id: str) -> None:
    request = rt.store.get_request(request_id)
    if request is None or request.state == RequestState.cancelled:
        return
    if request.state == RequestState.queued:
        request = rt.store.update_request(request_id, lambda r: setattr(r, "state", RequestState.rendering)) or request
    for take_id in request.take_ids:
        take = rt.store.get_take(take_id)
        if take and take.state == TakeState.queued:
            rt.scheduler.enqueue("submit_take", take_id)
    refresh_status(rt, request_id, force=True)


def submit_take(rt: Runtime, take_id: str) -> None:
    take = rt.store.get_take(take_id)
    if take is None or take.state != TakeState.queued:
        return
    request = rt.store.get_request(take.request_id)
    if request is None or request.state == RequestState.cancelled:
        return
    with rt.step_lock(f"submit:{take_id}", rt.settings.step_lease_s, "submit_take", take_id) as held:
        if not held:
            return
        # Read again under the lock: another worker may have submitted the take between the read above and now
        # (two queued retries of a take waiting for a slot, say), and a second submit would render it twice.
        take = rt.store.get_take(take_id)
        if take is None or take.state != TakeState.queued:
            return
        provider = rt.provider(take.model)
        try:
            first, last = frames_for(rt, request, take)
        except ReferenceUnusable as problem:
            fail_take(rt, take_id, FailureKind.bad_request, str(problem), sentence=str(problem))
            return
        source = None
        if take.resound_of:
            source = picture_source(rt, take)
            if source is None:
                sentence = ("The picture this take re-sounds is no longer on any machine or in Slack, so it cannot get "
                            "a new sound; it was not charged.")
                fail_take(rt, take_id, FailureKind.expired, "the original take's file is gone", sentence=sentence)
                return
        if not take_slots(rt, take):
            return
        spec = render_spec(request, take).model_copy(update={"first_frame": first, "last_frame": last,
                                                             "source_video": source})
        sent = without_frame_bytes({k: v for k, v in provider.request_body(spec).items() if k not in CALLBACK_FIELDS},
                                   spec)
        try:
            job_id = provider.submit(spec.model_copy(update={"callback_url": callback_url(rt, take_id, take.model)}))
        except ProviderError as error:
            release_slot(rt, take)  # not rendering: the slots go to the next take (a retry asks again)
            _provider_error(rt, take, error, retry_task="submit_take")
            return

        chain = new_poll_chain()

        def submitted(t: Take) -> None:
            if t.state == TakeState.queued:
                t.state, t.provider_job_id, t.submitted_at, t.polls = TakeState.submitted, job_id, time.time(), 0
                t.error, t.poll_chain, t.provider_status = None, chain, None
                t.provider_model, t.sent = provider.model_id_for(spec), sent

        take = rt.store.update_take(take_id, submitted)
    if take is None or take.poll_chain != chain:
        return
    if provider.renders_locally:  # the file is on this machine's disk: poll and fetch here, now
        refresh_status(rt, take.request_id)
        poll_take(rt, take_id, chain)
        return
    rt.scheduler.enqueue("poll_take", take_id, chain)
    refresh_status(rt, take.request_id if take else request.id)


SLOT_RETRY_S = 2.0  # how soon a take waiting for a render slot asks again


class SlotPool(BaseModel):
    """One kind of limit a render waits for: its `slots`, the `group` it takes turns in, what waiting is called."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    slots: RenderSlots
    group: str
    waiting_for: str


def slot_pools(rt: Runtime, take: Take) -> list[SlotPool]:
    """The limits a render is counted against, shared by the deployment: its workspace's takes in flight, then its
    provider key's render slots. None for a render made on this machine."""
    if rt.provider(take.model).renders_locally:
        return []
    family, team = family_of(take.model), rt.team or "-"
    lease_s = max(rt.settings.slot_lease_s, 2 * rt.settings.poll_max_s)  # each status check renews them
    workspace_cap = rt.settings.workspace_max_in_flight
    return [
        SlotPool(slots=RenderSlots(rt.store.redis, rt.settings.key_prefix, f"workspace-{team}", workspace_cap,
                                   lease_s), group=take.channel,
                 waiting_for=f"this workspace already has {workspace_cap} takes rendering"),
        SlotPool(slots=RenderSlots(rt.store.redis, rt.settings.key_prefix, family, rt.settings.render_slots(family),
                                   lease_s), group=f"{team}:{take.channel}", waiting_for="waiting for a render slot"),
    ]


def take_slots(rt: Runtime, take: Take) -> bool:
    """Hold every limit's slot for the render, or none of them and say what the take waits for."""
    held: list[SlotPool] = []
    for pool in slot_pools(rt, take):
        answer = pool.slots.acquire(take.id, pool.group)
        if not answer.granted:
            for granted in held:
                granted.slots.release(take.id)
            wait_for_slot(rt, take, pool.waiting_for, answer.ahead)
            return False
        held.append(pool)
    return True


def renew_slots(rt: Runtime, take: Take) -> None:
    for pool in slot_pools(rt, take):
        pool.slots.renew(take.id)


def wait_for_slot(rt: Runtime, take: Take, waiting_for: str, ahead: int) -> None:
    """A limit is reached: say where the take stands and ask again shortly."""
    status = f"{waiting_for}, {ahead} ahead" if ahead else f"{waiting_for}, next in line"

    def waiting(t: Take) -> None:
        if t.state == TakeState.queued:
            t.provider_status, t.next_step_at = status, time.time() + SLOT_RETRY_S

    changed = rt.store.get_take(take.id)
    rt.store.update_take(take.id, waiting)
    rt.scheduler.enqueue_in(SLOT_RETRY_S, "submit_take", take.id)
    if changed is None or changed.provider_status != status:
        refresh_status(rt, take.request_id)


def release_slot(rt: Runtime, take: Take) -> None:
    for pool in slot_pools(rt, take):
        pool.slots.release(take.id)


def new_poll_chain() -> str:
    return uuid.uuid4().hex[:12]


def poll_take(rt: Runtime, take_id: str, chain: str | None = None) -> None:
    """One status check. Each take has one poll chain; a poll from any other chain (a retried job, a
    recovered step whose original turned up after all) stops at once, so polling is never doubled."""
    take = rt.store.get_take(take_id)
    if take is None or take.state not in (TakeState.submitted, TakeState.generating) or not take.provider_job_id:
        return
    if chain != take.poll_chain:
        return
    provider = rt.provider(take.model)
    try:
        result = provider.poll(take.provider_job_id)
    except ProviderError as error:
        _provider_error(rt, take, error, retry_task="poll_take", chain=chain)
        return
    if _finished(rt, take, result):
        return
    renew_slots(rt, take)
    elapsed = time.time() - (take.submitted_at or time.time())
    if elapsed > (provider.render_deadline_s or rt.settings.render_deadline_s):
        try:
            provider.cancel(take.provider_job_id)
        except ProviderError as error:
            log.warning("cancel after the deadline failed for take %s: %s", take.id, error.message)
        fail_take(rt, take_id, FailureKind.expired, f"no result after {elapsed / 60:.0f} minutes")
        return

    def running_until(delay_s: float) -> Callable[[Take], None]:
        def running(t: Take) -> None:
            if t.state in (TakeState.submitted, TakeState.generating):
                t.state = TakeState.generating if result.phase == JobPhase.running else t.state
                t.progress, t.polls = result.progress, t.polls + 1
                t.next_step_at = time.time() + delay_s
                t.provider_status = (
                    f"queue position {result.queue_position}" if result.queue_position is not None
                    else result.phase.value
                )

        return running

    delay = poll_delay_s(rt.settings, take.polls + 1)
    take = rt.store.update_take(take_id, running_until(delay)) or take
    rt.scheduler.enqueue_in(delay, "poll_take", take_id, chain)
    refresh_status(rt, take.request_id)


def check_take(rt: Runtime, take_id: str) -> None:
    """One status check out of turn, because the provider called back: lands a finished render now and
    otherwise changes nothing (the poll chain carries on). What the callback said is never used."""
    take = rt.store.get_take(take_id)
    if take is None or take.state not in (TakeState.submitted, TakeState.generating) or not take.provider_job_id:
        return
    try:
        result = rt.provider(take.model).poll(take.provider_job_id)
    except ProviderError as error:
        log.info("status check after a callback failed for take %s (%s); polling carries on", take_id, error.message)
        return
    _finished(rt, take, result)


def _finished(rt: Runtime, take: Take, result: PollResult) -> bool:
    """Act on a status that ends the render (fetch it, or fail the take); False while it is still rendering."""
    if result.phase == JobPhase.succeeded:
        landed = False

        def succeeded(t: Take) -> None:
            nonlocal landed
            landed = False  # update_record may run this again after a conflicting write
            if t.state in (TakeState.submitted, TakeState.generating):
                t.state, t.result_url, t.progress, t.provider_status = TakeState.processing, result.result_url, 1.0, "done"
                t.finished_at = time.time()
                landed = True

        finished = rt.store.update_take(take.id, succeeded)
        release_slot(rt, take)
        if landed:  # a poll and a callback's check may both see "done": one fetch
            if finished and finished.submitted_at and finished.finished_at:
                rt.metrics.observe("provider_render_seconds", {"model": take.model},
                                   finished.finished_at - finished.submitted_at)
            refresh_status(rt, take.request_id)
            if rt.provider(take.model).renders_locally:
                fetch_take(rt, take.id)
            else:
                rt.scheduler.enqueue("fetch_take", take.id)
        return True
    if result.phase == JobPhase.failed:
        count_provider_error(rt, take, result.failure_kind or FailureKind.bad_request)
        fail_take(rt, take.id, result.failure_kind or FailureKind.bad_request, result.message or "no reason given")
        return True
    return False


def fetch_take(rt: Runtime, take_id: str) -> None:
    """Download, check and post one finished take; exactly once however often it runs."""
    take = rt.store.get_take(take_id)
    if take is None or take.state != TakeState.processing:
        return
    with rt.step_lock(f"fetch:{take_id}", rt.settings.step_lease_s, "fetch_take", take_id) as held:
        if not held:
            return
        take = rt.store.get_take(take_id)  # again, under the lock (see submit_take): it may be posted by now
        if take is None or take.state != TakeState.processing:
            return
        request = rt.store.get_request(take.request_id)
        if request is None:
            return
        folder = take_dir(rt, take)
        folder.mkdir(parents=True, exist_ok=True)
        clip = folder / f"{take.label}.mp4"
        if not take.message_ts and (not take.file_path or not Path(take.file_path).is_file()):
            try:
                rt.provider(take.model).fetch(take.provider_job_id or "", take.result_url or "", clip)
                if take.resound_of:
                    keep_original_picture(rt, take, clip)
                problem, info = media_problem(rt, take, clip)
            except ProviderError as error:
                clip.unlink(missing_ok=True)
                count_provider_error(rt, take, error.kind)
                tries = rt.store.count_attempt(f"download:{take_id}")
                if error.kind == FailureKind.retry and tries < PROVIDER_RETRIES:
                    rt.scheduler.enqueue_in(provider_retry_delay_s(rt.settings, tries, error.retry_after_s),
                                            "fetch_take", take_id)
                    return
                fail_take(rt, take_id, error.kind if error.kind != FailureKind.retry else FailureKind.bad_media,
                          error.message)
                return
            except MediaError as error:
                problem, info = str(error), None
            report = preview = None
            if not problem and info is not None:
                # Every frame of the picture is proven to decode while other work the take needs runs: beside the
                # sound check, or, when the take is heard matched, in the run that makes its listening copy.
                level = listening_level(rt, take)
                try:
                    report = check_file(clip, take.target, expect_audio=not take.silent, info=info,
                                        waveform_png=clip.with_suffix(".waveform.png"), decode_picture=level is None)
                    if level is not None:
                        preview = make_preview(rt, take, clip, report, info, level)
                except UndecodableMedia as error:
                    problem = str(error)
            if problem or report is None:
                clip.unlink(missing_ok=True)
                clip.with_suffix(".waveform.png").unlink(missing_ok=True)
                fail_take(rt, take_id, FailureKind.bad_media, problem or "it could not be read")
                return
            cost = rt.provider(take.model).prices.estimate_usd(take.resolution, not take.silent, take.duration_s)

            def measured(t: Take) -> None:
                t.file_path, t.sound, t.cost_usd, t.preview = str(clip), report, cost, preview

            take = rt.store.update_take(take_id, measured) or take
        try:
            take = rt.notifier.take_ready(request, take)
        except DeliveryError as error:
            _delivery_error(rt, take, error)
            return
        record_spend(rt, take)  # before the state changes: a crash in between still charges exactly once
        became_posted = False

        def posted(t: Take) -> None:
            nonlocal became_posted
            became_posted = t.state != TakeState.posted
            t.state, t.file_id, t.message_ts = TakeState.posted, take.file_id, take.message_ts
            t.waveform_path, t.file_path = take.waveform_path, take.file_path

        rt.store.update_take(take_id, posted)
        if became_posted:
            rt.metrics.count("takes_total", {"model": take.model, "outcome": "posted"})
            if take.finished_at:
                rt.metrics.observe("take_seconds", {"model": take.model}, time.time() - take.finished_at)
    refresh_status(rt, take.request_id, force=True)
    keep_native(rt, take_id)


def record_spend(rt: Runtime, take: Take) -> None:
    """Charge a posted take to its channel, person and model, exactly once (jobs.domain.budget; Redis stores only)."""
    if budget.settle_take(rt.store, take):
        rt.metrics.count("spend_usd_total", {"model": take.model}, take.cost_usd)


def count_provider_error(rt: Runtime, take: Take, kind: FailureKind) -> None:
    rt.metrics.count("provider_errors_total", {"provider": family_of(take.model), "kind": kind.value})


def _delivery_error(rt: Runtime, take: Take, error: DeliveryError) -> None:
    """Slack would not take the finished take: retry with back-off (the recorded file id and message ts stop
    a second upload or card), or fail it, uncharged, when retrying cannot help."""
    tries = rt.store.count_attempt(f"deliver:{take.id}")
    if error.retryable and tries < DELIVERY_TRIES:
        delay = delivery_delay_s(rt.settings, tries)
        log.warning("posting take %s failed (try %d of %d), again in %.1f s: %s", take.id, tries,
                    DELIVERY_TRIES, delay, error.message)
        rt.scheduler.enqueue_in(delay, "fetch_take", take.id)
        return
    log.error("giving up posting take %s after %d tries: %s", take.id, tries, error.message)
    fail_take(rt, take.id, FailureKind.bad_request, error.message,
              sentence=f"Take {take.label} could not be posted to Slack: {error.message}. It was not charged.")


def media_problem(rt: Runtime, take: Take, clip: Path) -> tuple[str | None, MediaInfo | None]:
    """Why a provider file cannot be posted (None when it may be), and what the probe found. A clip with
    sound is decoded in full by the sound check that follows; one without is decoded here."""
    if not clip.is_file() or clip.stat().st_size == 0:
        return "the file is empty", None
    try:
        info = probe_media(clip)
    except NotMedia as error:
        return f"it is {error}, not a video; nothing of it was used", None
    except MediaError as error:
        return f"it is not a video ffmpeg can read ({error})", None
    if not info.has_video:
        return "it has no picture", info
    if not take.silent and not info.has_audio:
        return "it has no sound although sound was asked for", info
    if info.duration_s is not None and info.duration_s > rt.settings.max_clip_s:
        return f"it is {info.duration_s:.0f} s long; the limit is {rt.settings.max_clip_s:.0f} s", info
    size = clip.stat().st_size
    if size > rt.settings.max_download_bytes:
        return f"it is {size / 1e6:.1f} MB; the limit is {rt.settings.max_download_bytes / 1e6:.1f} MB", info
    return (None if info.has_audio else decode_problem(clip)), info


def fail_take(rt: Runtime, take_id: str, kind: FailureKind, message: str, *, sentence: str | None = None) -> None:
    take = rt.store.get_take(take_id)
    if take is None or take.state.finished:
        return
    model = rt.provider(take.model).display_name if kind != FailureKind.cancelled else take.model
    message = scrub_text(message)  # a provider's error text must never carry a key into Slack
    sentence = scrub_text(sentence) if sentence else FAILURE_SENTENCES[kind].format(model=model, message=message)

    ended = False

    def failed(t: Take) -> None:
        nonlocal ended
        ended = not t.state.finished
        if ended:
            t.state = TakeState.cancelled if kind == FailureKind.cancelled else TakeState.failed
            t.error, t.error_kind = sentence, kind.value

    take = rt.store.update_take(take_id, failed)
    if take is None:
        return
    release_slot(rt, take)
    if ended:
        rt.metrics.count("takes_total", {"model": take.model, "outcome": OUTCOMES.get(kind, "failed")})
    budget.release_take(rt.store, take)  # failed and cancelled takes are never charged
    if kind == FailureKind.auth:
        log.error("provider auth/quota failure model=%s take=%s: %s", take.model, take.id, message)
    request = rt.store.get_request(take.request_id)
    if request and kind != FailureKind.cancelled:
        rt.notifier.take_failed(request, take)
    refresh_status(rt, take.request_id, force=True)


def _provider_error(rt: Runtime, take: Take, error: ProviderError, *, retry_task: str,
                    chain: str | None = None) -> None:
    count_provider_error(rt, take, error.kind)
    if error.kind == FailureKind.retry:
        tries = rt.store.count_attempt(f"{retry_task}:{take.id}")
        if tries <= PROVIDER_RETRIES * (20 if retry_task == "poll_take" else 1):
            delay = provider_retry_delay_s(rt.settings, tries, error.retry_after_s)

            def waiting(t: Take) -> None:
                t.polls += 1
                t.next_step_at = time.time() + delay if retry_task == "poll_take" else t.next_step_at

            rt.store.update_take(take.id, waiting)
            rt.scheduler.enqueue_in(delay, retry_task, take.id, *([chain] if retry_task == "poll_take" else []))
            return
    fail_take(rt, take.id, error.kind, error.message)


def refresh_status(rt: Runtime, request_id: str, *, force: bool = False) -> None:
    """Edit the request's one status message, at most every few seconds unless the state changed."""
    request = rt.store.get_request(request_id)
    if request is None:
        return
    takes = rt.store.takes_for(request)
    finished = all(t.state.finished for t in takes)
    if not force and time.time() - request.status_edited_at < rt.settings.status_edit_min_s:
        return

    def stamped(r: Request) -> None:
        r.status_edited_at = time.time()
        if finished and r.state != RequestState.cancelled:
            r.state, r.finished_at = RequestState.done, r.finished_at or time.time()

    request = rt.store.update_request(request_id, stamped) or request
    rt.notifier.request_status(request, takes)
    if finished:
        for take in takes:
            rt.store.mark_inactive(take.id)
        if sum(t.state == TakeState.posted for t in takes) >= contact_sheet.MIN_TAKES and not request.contact_sheet_file_id:
            rt.scheduler.enqueue("post_contact_sheet", request_id)


def cancel_request(rt: Runtime, request_id: str) -> list[str]:
    """Cancel every unfinished take of a request, on the provider too; returns the labels cancelled."""
    request = rt.store.update_request(request_id, lambda r: setattr(r, "state", RequestState.cancelled))
    if request is None:
        return []
    cancelled: list[str] = []
    for take in rt.store.takes_for(request):
        if take.state.finished:
            continue
        if take.provider_job_id and take.state in (TakeState.submitted, TakeState.generating):
            try:
                rt.provider(take.model).cancel(take.provider_job_id)
            except ProviderError as error:
                log.warning("cancel failed for take %s: %s", take.id, error.message)
        fail_take(rt, take.id, FailureKind.cancelled, "cancelled by request")
        cancelled.append(take.label)
    refresh_status(rt, request_id, force=True)
    return cancelled


def keep_native(rt: Runtime, take_id: str) -> None:
    """Keep the native file of a take whose thread has its matched preview in Slack too (not shared anywhere),
    so a worker on another machine masters and hands off the native sound, never the preview. Runs where the
    take was fetched, once it is in its thread."""
    take = rt.store.get_take(take_id)
    if take is None or take.state != TakeState.posted or take.native_file_id or take.thread_copy_is_native \
            or not take.file_path:
        return
    if not Path(take.file_path).is_file():
        log.warning("take %s: its native file is gone from this machine before it was kept", take_id)
        return
    file_id = rt.notifier.keep_file(take, Path(take.file_path), f"take-{take.label}-native.mp4")
    if file_id:
        rt.store.update_take(take_id, lambda t: setattr(t, "native_file_id", t.native_file_id or file_id))


def picture_source(rt: Runtime, take: Take) -> SourceVideo | None:
    """The native file of the take a re-sound keeps the picture of (this machine's, else Slack's copy)."""
    original = rt.store.get_take(take.resound_of or "")
    path = take_file(rt, original) if original is not None else None
    if path is None:
        return None
    return SourceVideo(path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), size_bytes=path.stat().st_size)


def keep_original_picture(rt: Runtime, take: Take, clip: Path) -> None:
    """A video-to-audio model hands back the picture with its new sound, re-encoded or not: keep the original's
    picture packets as they were (stream copy) under the new sound."""
    original = rt.store.get_take(take.resound_of or "")
    picture = take_file(rt, original) if original is not None else None
    if picture is None:
        raise MediaError("the original take's picture is gone, so the new sound has nothing to go under")
    joined = clip.with_name(f"{clip.stem}.joined.mp4")
    # The sound padded with silence to the picture's end: the picture is never cut to a shorter sound.
    run_ffmpeg(ffmpeg.output(open_input(picture)["v:0"], open_input(clip)["a:0"].filter("apad"), str(joined),
                             **{"c:v": "copy", "c:a": "aac", "b:a": "192k", "ar": 48000, "shortest": None,
                                "movflags": "+faststart", "map_metadata": "-1"}), timeout_s=300)
    joined.replace(clip)
