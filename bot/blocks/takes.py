"""Block Kit for Dailies' messages. Every user word passes through `escaped`."""

from __future__ import annotations

import time

from bot.blocks.common import Block, context, section
from bot.ids import SlackId
from bot.slack.text import code, cut, escaped
from jobs.audio.targets import TARGETS
from jobs.domain.models import Request, RequestState, Take, TakePreview, TakeState
from jobs.domain.notes import timecode
from jobs.domain.references import crop_note, frames_phrase

STATE_ICONS = {
    TakeState.queued: "⏳",
    TakeState.submitted: "📨",
    TakeState.generating: "🎬",
    TakeState.processing: "🔊",
    TakeState.posted: "✅",
    TakeState.failed: "⚠️",
    TakeState.cancelled: "✖️",
}


def model_label(model: str) -> str:
    return "previz (local preview, not a model)" if model == "previz" else model


def brief_error_reply(problem: str, hint: str) -> tuple[str, list[Block]]:
    text = f"I can't run that brief: {problem}"
    return escaped(text, 300), [
        section(":warning: *I can't run that brief.* " + escaped(problem, 1500)),
        context(escaped(hint, 1500)),
    ]


def status_message(request: Request, takes: list[Take]) -> tuple[str, list[Block]]:
    resolved = request.resolved
    elapsed = int(time.time() - request.created_at)
    done = sum(t.state == TakeState.posted for t in takes)
    failed = sum(t.state == TakeState.failed for t in takes)
    cancelled = sum(t.state == TakeState.cancelled for t in takes)
    if request.state == RequestState.cancelled:
        headline = f"Round {request.round} cancelled — {done} of {len(takes)} posted"
    elif all(t.state.finished for t in takes):
        headline = f"Round {request.round} done — {done} of {len(takes)} posted"
        if failed:
            headline += f", {failed} failed"
        if cancelled:
            headline += f", {cancelled} cancelled"
    elif request.state == RequestState.queued:
        headline = f"Round {request.round} queued — {len(takes)} take(s)"
    else:
        headline = f"Round {request.round} rendering — {done} of {len(takes)} ready"
    brief = resolved.brief
    cost = f"est. ${request.estimate_usd:.2f}"
    facts = (
        f"{len(takes)} × {resolved.duration_s} s · {resolved.aspect} · {resolved.resolution} · "
        f"{escaped(model_label(resolved.model), 80)} · target {resolved.target} · seed {resolved.seed} · {cost}"
    )
    lines = []
    for take in takes:
        detail = take.state.value
        if take.state == TakeState.generating and take.progress is not None:
            detail += f" {int(take.progress * 100)}%"
        elif take.provider_status and take.state in (TakeState.queued, TakeState.submitted, TakeState.generating):
            detail += f" ({escaped(take.provider_status, 60)})"
        if take.state == TakeState.failed and take.error:
            detail += f": {escaped(take.error, 200)}"
        lines.append(f"{STATE_ICONS[take.state]} *{take.label}* {detail}")
    blocks: list[Block] = [
        section(f"*{headline}* · {elapsed // 60}:{elapsed % 60:02d} elapsed"),
        context(facts),
    ]
    if resolved.references:
        cropped = crop_note(resolved.references[0], resolved.aspect)
        names = " → ".join(code(ref.name) for ref in resolved.references)
        blocks.append(context(f":frame_with_picture: {frames_phrase(resolved.references).capitalize()} {names}"
                              + (f" ({cropped})" if cropped else "")))
    if request.changes:
        blocks.append(context("Changed from the last round: " + escaped("; ".join(request.changes), 1500)))
    for notice in request.notices:
        blocks.append(context(":broom: " + escaped(notice, 500)))
    if resolved.sound_bible and not brief.silent:
        blocks.append(context(":scroll: The channel's sound bible was applied after the brief's own sound lines: "
                              + escaped(resolved.sound_bible, 500)))
    if not brief.has_sound_direction and not brief.silent:
        blocks.append(context(
            "Tip: no sound direction, so the model chooses the sound itself. Add `Sound:`, `Music:` or "
            "`Dialogue:` lines for guided audio."
        ))
    blocks.append(section(cut("\n".join(lines), 2900)))
    if not all(t.state.finished for t in takes):
        blocks.append(context("React :x: to cancel the takes that have not finished."))
    return f"{headline} ({escaped(resolved.model, 40)})", blocks


def tally_text(take: Take) -> str:
    if not take.votes:
        return "no votes yet"
    parts = [f":{name}: {count}" for name, count in sorted(take.votes.items(), key=lambda kv: -kv[1]) if count]
    return f"score *{take.score:+d}*" + (" · " + " ".join(parts) if parts else "")


def notes_summary(take: Take, shown: int = 8) -> str:
    count = len(take.notes)
    times = ", ".join(timecode(note.at_s) for note in take.notes[:shown]) + ("…" if count > shown else "")
    return f":memo: {count} timecoded note{'s' if count != 1 else ''} at {times}"


def take_card(take: Take, *, with_waveform: bool = True) -> tuple[str, list[Block]]:
    sound = take.sound
    verdict_icon = {"pass": ":white_check_mark:", "warn": ":large_yellow_circle:", "fail": ":red_circle:"}
    sound_line = (
        f"{verdict_icon.get(sound.verdict, '')} {escaped(sound.summary or sound.verdict, 600)}" if sound else "not measured"
    )
    header = (
        f"*Take {take.label}* · {escaped(model_label(take.model), 80)} · {take.duration_s} s · "
        f"{take.aspect} {take.resolution} · ${take.cost_usd:.2f}"
    )
    if take.reference_frames:
        header += " · from reference frame" + ("s (first → last)" if take.reference_frames > 1 else "")
    blocks: list[Block] = [
        {"type": "section", "block_id": f"take:{take.id}", "text": {"type": "mrkdwn", "text": header}},
        context(f"Sound ({take.target}): {sound_line}"),
    ]
    if take.resound_of:
        original = take.label.split("·", 1)[0]
        blocks.append(context(f":arrows_counterclockwise: A new sound for take {escaped(original, 20)}'s picture "
                              f"(frame for frame): picture by {escaped(model_label(take.picture_model or ''), 80)}, "
                              f"sound by {escaped(model_label(take.model), 80)}."))
    if take.preview:
        blocks.append(context(heard_line(take.preview)))
    if take.waveform_file_id and with_waveform:
        blocks.append({"type": "image", "slack_file": {"id": take.waveform_file_id}, "alt_text": f"Waveform of take {take.label}"})
    blocks.append(context(f"Votes: {tally_text(take)}"))
    if take.notes:
        blocks.append(context(notes_summary(take)))
    if take.ticket:
        blocks.append(context(f":headphones: Sound ticket *{take.ticket.id}*: {take.ticket.status}"
                               + (f" by <@{take.ticket.claimed_by}>" if take.ticket.claimed_by else "")))
    blocks.append({
        "type": "actions",
        "block_id": f"take_actions:{take.id}",
        "elements": [
            {"type": "button", "action_id": SlackId.REROLL, "text": {"type": "plain_text", "text": "Reroll"}, "value": take.id},
            {"type": "button", "action_id": SlackId.MORE_LIKE_THIS, "text": {"type": "plain_text", "text": "More like this"},
             "value": take.id},
            {"type": "button", "action_id": SlackId.SEND_TO_SOUND, "text": {"type": "plain_text", "text": "Send to sound"},
             "value": take.id},
            {"type": "button", "action_id": SlackId.NEW_SOUND, "text": {"type": "plain_text", "text": "New sound…"},
             "value": take.id},
            {"type": "static_select", "action_id": SlackId.MASTER_FOR,
             "placeholder": {"type": "plain_text", "text": "Master for…"},
             "options": [
                 {"text": {"type": "plain_text", "text": t.key}, "value": f"{take.id}|{t.key}"} for t in TARGETS.values()
             ]},
        ],
    })
    return f"Take {take.label} · {take.model} · {sound.summary if sound else ''}"[:300], blocks


def heard_line(preview: TakePreview) -> str:
    """What the thread plays, beside what was rendered: takes are compared at one loudness."""
    how = " (peaks limited)" if preview.limited else ""
    return (f":level_slider: Native {preview.native_lufs:.1f} LUFS, heard here at {preview.heard_lufs:g} LUFS{how} "
            "so every take plays equally loud; checks, masters and the sound team use the native file.")


def take_failed_message(take: Take) -> str:
    return f":warning: Take {take.label}: {escaped(take.error or 'failed', 1500)}"


RESULTS_MAX_LINES = 40


def emoji_summary(take: Take) -> str:
    parts = [f":{name}: {count}" for name, count in sorted(take.votes.items(), key=lambda kv: (-kv[1], kv[0]))]
    return " ".join(parts)


def results_message(takes: list[Take]) -> tuple[str, list[Block]]:
    if not takes:
        text = "No takes have been posted in this thread yet, so there is nothing to rank."
        return text, [section(text)]
    winner = takes[0]
    voted = any(t.votes or t.score for t in takes)
    lines = []
    for place, take in enumerate(takes[:RESULTS_MAX_LINES], start=1):
        mark = ":trophy:" if place == 1 and voted else f"{place}."
        line = (f"{mark} *Take {escaped(take.label, 20)}* · {escaped(model_label(take.model), 80)} · "
                f"score *{take.score:+d}*")
        summary = emoji_summary(take)
        lines.append(line + (f" · {summary}" if summary else ""))
    if len(takes) > RESULTS_MAX_LINES:
        lines.append(f"…and {len(takes) - RESULTS_MAX_LINES} more with lower scores.")
    if voted:
        headline = (f"*Results:* Take {escaped(winner.label, 20)} wins with {winner.score:+d} "
                    f"({len(takes)} take{'s' if len(takes) != 1 else ''} ranked by score, then earliest)")
        fallback = f"Results: Take {escaped(winner.label, 20)} ({escaped(winner.model, 40)}) wins with {winner.score:+d}"
    else:
        headline = "*Results:* no votes yet. React to a take's card to vote; until then they stand in order:"
        fallback = "Results: no votes yet"
    blocks = [section(headline), section("\n".join(lines))]
    return fallback, blocks
