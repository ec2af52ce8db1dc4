"""Block Kit for sound tickets: the queue message, its buttons, mirror lines, mix verdicts. User words escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.blocks.common import Block, context, section
from bot.blocks.takes import tally_text
from bot.ids import SlackId
from bot.slack.text import cut, escape, escaped
from jobs.audio.targets import get_target
from jobs.domain.models import Take, TakeNote
from jobs.domain.notes import timecode
from jobs.domain.provenance import ai_statement
from jobs.domain.tickets import MixCheck, Ticket, TicketEvent, TicketState
from jobs.infra.text import quoted

STATE_ICONS = {
    TicketState.queued: ":hourglass_flowing_sand:",
    TicketState.claimed: ":level_slider:",
    TicketState.delivered: ":white_check_mark:",
    TicketState.returned: ":leftwards_arrow_with_hook:",
    TicketState.cancelled: ":heavy_multiplication_x:",
}
VERBS = {
    "created": "sent to the sound team",
    "claimed": "claimed",
    "claim": "claimed",
    "deliver": "delivered: the final mix passed its sound check",
    "accept": "delivered: a lead accepted the final mix despite its sound check",
    "return": "returned by the sound team",
    "cancel": "cancelled",
    "reopen": "reopened",
}


def slack_date(ts: float) -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    fallback = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(ts)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _button(action_id: str, text: str, value: str, *, style: str | None = None,
            confirm: tuple[str, str] | None = None) -> Block:
    button: Block = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text},
                     "value": value}
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = {"title": {"type": "plain_text", "text": confirm[0]},
                             "text": {"type": "mrkdwn", "text": confirm[1]},
                             "confirm": {"type": "plain_text", "text": "Yes"},
                             "deny": {"type": "plain_text", "text": "No"}}
    return button


def target_text(target: str) -> str:
    delivery = get_target(target)
    return (f"{delivery.key} ({delivery.integrated_lufs:g} LUFS ± {delivery.tolerance_lu:g} LU, "
            f"true peak ≤ {delivery.true_peak_dbtp:g} dBTP)")


def due_text(ticket: Ticket) -> str:
    text = f"due {slack_date(ticket.due_at)}"
    if ticket.overdue:
        text += " :rotating_light: *overdue*"
    return text


def state_text(ticket: Ticket) -> str:
    text = f"{STATE_ICONS[ticket.state]} *{ticket.state.value}*"
    if ticket.state == TicketState.claimed and ticket.claimed_by:
        text += f" by <@{ticket.claimed_by}>"
    elif ticket.state == TicketState.delivered and ticket.delivered_by:
        text += f" by <@{ticket.delivered_by}>"
        if ticket.accepted_by:
            text += " (accepted by a lead despite the check)"
    elif ticket.state == TicketState.returned and ticket.returned_by:
        text += f" by <@{ticket.returned_by}>"
    return text


def ticket_buttons(ticket: Ticket, *, block_id: str | None = None) -> Block | None:
    """Claim / Deliver / Return for the sound team, Cancel for leads; none once the ticket is closed."""
    elements: list[Block] = []
    if ticket.state == TicketState.queued:
        elements.append(_button(SlackId.TICKET_CLAIM, "Claim", ticket.id, style="primary"))
    if ticket.state == TicketState.claimed:
        elements.append(_button(SlackId.TICKET_DELIVER, "Deliver", ticket.id, style="primary"))
    if ticket.state.open:
        elements.append(_button(SlackId.TICKET_RETURN, "Return", ticket.id))
        elements.append(_button(SlackId.TICKET_CANCEL, "Cancel (leads)", ticket.id, style="danger",
                                confirm=("Cancel this ticket?", f"{ticket.id} leaves the sound queue.")))
    if not elements:
        return None
    return {"type": "actions", "block_id": block_id or f"ticket_actions:{ticket.id}", "elements": elements}


def sonic_intent_lines(ticket: Ticket) -> list[str]:
    brief = ticket.brief
    lines: list[str] = []
    if brief.silent:
        lines.append("*Silent* take (`--silent`): no native audio.")
    if brief.sound:
        lines.append("*Sound:* " + escaped("; ".join(brief.sound), 900))
    if brief.music_off:
        lines.append("*Music:* none")
    elif brief.music:
        lines.append("*Music:* " + escaped(brief.music, 600))
    for line in brief.dialogue[:12]:
        speaker = f"{escaped(line.speaker, 60)}: " if line.speaker else ""
        lines.append(f"*Dialogue:* {speaker}“{escaped(line.line, 300)}”")
    if not lines:
        lines.append("_No sound direction in the brief: the model chose the sound itself._")
    if ticket.sound_bible and not brief.silent:
        lines.append("*Channel sound bible* (standing direction, the brief's lines win): "
                     + escaped(ticket.sound_bible, 600))
    return lines


def note_line(note: TakeNote) -> str:
    return f"`{timecode(note.at_s)}` {escaped(note.text, 400)} · <@{note.by}>"


def notes_section(take: Take, shown: int = 20) -> Block:
    lines = [note_line(note) for note in take.notes[:shown]]
    if len(take.notes) > shown:
        lines.append(f"…and {len(take.notes) - shown} more (`dailies export` has them all).")
    return section(cut("*Timecoded notes* (from the creative thread)\n" + "\n".join(lines), 2900))


def note_mirror_text(ticket: Ticket, take: Take, note: TakeNote) -> str:
    """A note written after the ticket was posted, as it appears in the ticket's thread."""
    return (f":memo: New note on take {escaped(take.label, 20)} ({ticket.id}) at `{timecode(note.at_s)}` from "
            f"<@{note.by}>:\n> " + escaped(note.text, 1000).replace("\n", "\n> "))


def report_lines(ticket: Ticket) -> list[str]:
    report = ticket.report
    if report is None:
        return ["_Not measured._"]
    verdict_icon = {"pass": ":white_check_mark:", "warn": ":large_yellow_circle:", "fail": ":red_circle:"}
    lines = [f"{verdict_icon.get(report.verdict, '')} {escaped(report.summary or report.verdict, 600)}"]
    numbers = []
    if report.integrated_lufs is not None:
        numbers.append(f"{report.integrated_lufs:.1f} LUFS integrated")
    if report.true_peak_dbtp is not None:
        numbers.append(f"{report.true_peak_dbtp:+.1f} dBTP true peak")
    if report.sample_rate_hz:
        numbers.append(f"{report.sample_rate_hz} Hz")
    if report.channels:
        numbers.append(f"{report.channels} ch")
    if numbers:
        lines.append(" · ".join(numbers))
    for finding in report.findings[:10]:
        lines.append(f"• {escaped(finding.severity, 10)}: {escaped(finding.message, 300)}")
    return lines


def ticket_message(ticket: Ticket, take: Take | None) -> tuple[str, list[Block]]:
    """The ticket as posted in the sound-queue channel."""
    header = (
        f":headphones: *{ticket.id}* · Take {escaped(ticket.take_label, 20)} · {escaped(ticket.model, 60)} · "
        f"{ticket.duration_s} s · target {escaped(target_text(ticket.target), 200)}"
    )
    link = f"<{ticket.permalink}|creative thread>" if ticket.permalink else "creative thread link unavailable"
    people = (f"Requested by <@{ticket.requester}> · sent by <@{ticket.lead}> · {due_text(ticket)} · {link}")
    blocks: list[Block] = [
        section(header, block_id=f"ticket:{ticket.id}"),
        section(f"{state_text(ticket)}"),
        section("*Brief*\n" + escaped(ticket.brief.picture_text() or "(no picture text)", 1500)),
        section("*Sonic intent*\n" + "\n".join(sonic_intent_lines(ticket))),
        section("*Native sound report*\n" + "\n".join(report_lines(ticket))),
        *([notes_section(take)] if take and take.notes else []),
        context(f"Votes: {tally_text(take) if take else 'unknown'}"),
        context(people),
        context(":robot_face: " + escaped(ai_statement(ticket.model, take.provider_model if take else None), 300)
                + " Its provenance (the exact prompt and parameters, the provider's job id, times) is "
                  "`provenance.json` in this thread."),
    ]
    if ticket.state == TicketState.returned and ticket.notes:
        blocks.append(section("*Return notes*\n" + escaped(ticket.notes, 2000)))
    last = ticket.last_mix
    if ticket.state == TicketState.claimed and last and last.passed is False:
        blocks.append(context(":red_circle: Last mix did not pass: " + escaped("; ".join(last.reasons), 1500)))
    if ticket.state == TicketState.claimed:
        blocks.append(context("Deliver by uploading the final mix into this message's thread: Dailies measures it "
                               f"against {target_text(ticket.target)} first."))
    buttons = ticket_buttons(ticket)
    if buttons:
        blocks.append(buttons)
    text = f"{ticket.id}: take {ticket.take_label} for sound ({ticket.state.value})"
    return text, blocks


def mirror_text(ticket: Ticket, event: TicketEvent) -> str:
    """One line in the creative thread for one change of the ticket."""
    verb = VERBS.get(event.action, event.action)
    text = f":headphones: Sound ticket *{ticket.id}* (take {escaped(ticket.take_label, 20)}) {verb} by <@{event.by}> · {slack_date(event.at)}"
    if event.action == "created":
        text += f" · {due_text(ticket)}"
    if event.note:
        text += "\n> " + escaped(event.note, 1500).replace("\n", "\n> ")
    return text


def mix_verdict(ticket: Ticket, mix: MixCheck) -> tuple[str, list[Block]]:
    """The sound check of an uploaded mix, posted in the ticket's thread."""
    name = quoted(escape(mix.name), 120)
    if mix.error:
        text = f":warning: Could not check {name} for {ticket.id}: {escaped(mix.error, 600)}"
        return text, [section(text)]
    numbers = (f"{mix.integrated_lufs:.1f} LUFS, {mix.true_peak_dbtp:+.1f} dBTP"
               if mix.integrated_lufs is not None and mix.true_peak_dbtp is not None else "unmeasurable")
    if mix.passed:
        text = (f":white_check_mark: {name} passes {escaped(target_text(ticket.target), 200)}: {numbers}. "
                f"*{ticket.id}* is delivered and the mix goes to the creative thread.")
        blocks = [section(text)]
        if mix.summary:
            blocks.append(context(escaped(mix.summary, 1500)))
        return text, blocks
    reasons = "; ".join(mix.reasons) or "it failed the sound check"
    text = (f":red_circle: {name} does not pass {escaped(target_text(ticket.target), 200)}: {escaped(reasons, 1500)}. "
            f"*{ticket.id}* stays claimed: upload a corrected mix into this thread, or a lead can accept this one.")
    blocks = [
        section(text),
        context(f"Measured: {numbers}" + (f" · {escaped(mix.summary, 1200)}" if mix.summary else "")),
        {"type": "actions", "block_id": f"ticket_accept:{ticket.id}:{mix.file_id}", "elements": [
            _button(SlackId.TICKET_ACCEPT, "Accept anyway (leads)", f"{ticket.id}|{mix.file_id}",
                    confirm=("Accept a failing mix?", f"{ticket.id} will be marked delivered with this mix."))]},
    ]
    return text, blocks


def return_modal(ticket: Ticket) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": SlackId.TICKET_RETURN_MODAL,
        "private_metadata": ticket.id,
        "title": {"type": "plain_text", "text": f"Return {ticket.id}"[:24]},
        "submit": {"type": "plain_text", "text": "Return"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"Return take {escaped(ticket.take_label, 20)} to the creative team with notes. "
                     "The notes are posted in the creative thread."),
            {"type": "input", "block_id": "notes", "label": {"type": "plain_text", "text": "Notes"},
             "element": {"type": "plain_text_input", "action_id": "notes", "multiline": True,
                         "max_length": 2000}},
        ],
    }


def take_over_offer(ticket: Ticket) -> tuple[str, list[Block]]:
    """What a sound-team member who did not claim the ticket is told, with a button to take it over."""
    text = (f"{ticket.id} is claimed by <@{ticket.claimed_by}>: only they (or a lead) can deliver or return it. "
            "Take it over if they have handed it to you; the thread will say so.")
    return text, [section(text), {"type": "actions", "block_id": f"ticket_take_over:{ticket.id}", "elements": [
        _button(SlackId.TICKET_TAKE_OVER, "Take over", ticket.id,
                confirm=("Take over this ticket?", f"{ticket.id} becomes yours; <@{ticket.claimed_by}> is told in "
                                                   "its thread."))]}]
