"""Hero takes go to the sound queue: flag, ticket, handoff package, claim, delivery, mirror, App Home.

Everything goes through signed events and actions to the bot's real endpoint, the real rq pipeline, real
Redis and real ffmpeg, against the Slack stand-in.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.media import probe_media, run_ffmpeg
from jobs.domain import tickets
from jobs.domain.export import take_row
from jobs.domain.models import Take
from jobs.domain.store import RedisStore
from jobs.domain.tickets import TicketState
from jobs.pipeline import recovery
from jobs.pipeline.media import take_dir
from tests.audio_signals import decode, reference_lufs
from tests.harness import BotEndpoint, Worker, block_action, make_settings, mention, reaction_event, wait_for
from tests.hostile_files import hostile_files, make_victim
from tests.standins.slack import SlackStandIn

ART = "C0ART"
SOUND = "C0SOUND"
LEAD = "U0LEAD"
DESIGNER = "U0SOUND"
GROUP_DESIGNER = "U0SOUND2"  # on the sound team through the user group S0SOUNDTEAM
CREATIVE = "U0CREATIVE"
THREAD = "1700000001.000100"
BRIEF = (
    "Neon alley at night, slow push-in on a woman with a red umbrella.\n"
    "Sound: rain drumming on metal awnings, distant traffic hiss\n"
    "Music: sparse melancholic synth pad\n"
    'Dialogue: WOMAN: "Not tonight."\n'
    "x1 2s"
)


@pytest.fixture()
def settings(redis_url: str, slack: SlackStandIn, tmp_path: Path):
    slack.usergroups["S0SOUNDTEAM"] = [GROUP_DESIGNER]
    return make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD,
                         DAILIES_SOUND_TEAM=f"{DESIGNER},S0SOUNDTEAM", DAILIES_SOUND_CHANNEL=SOUND,
                         DAILIES_TICKET_SLA_HOURS=24, DAILIES_TERMS_URLS={"previz": "https://studio.example/terms"})


@pytest.fixture()
def store(settings) -> RedisStore:
    return RedisStore.open(settings)


@pytest.fixture()
def take(bot: BotEndpoint, worker: Worker, slack: SlackStandIn, store: RedisStore) -> Take:
    """One posted take with its card in the creative thread."""
    bot.event(mention(BRIEF, user=CREATIVE, ts=THREAD, channel=ART))
    wait_for(lambda: worker.pending())
    worker.drain()
    takes = store.channel_takes(ART)
    assert len(takes) == 1 and takes[0].state.value == "posted" and takes[0].message_ts
    return takes[0]


ticket_for_take = tickets.ticket_for_take


def ephemerals(slack: SlackStandIn, user: str) -> list[str]:
    return [c.args.get("text", "") for c in slack.calls_to("chat.postEphemeral") if c.args.get("user") == user]


def ticket_posts(slack: SlackStandIn) -> list[dict[str, Any]]:
    return [m for m in slack.posted(channel=SOUND)
            if (m.get("metadata") and "dailies_ticket" in str(m.get("metadata")))]


def send_to_sound(bot: BotEndpoint, take: Take, user: str):
    return bot.action(block_action("send_to_sound", take.id, user=user, channel=ART, message_ts=take.message_ts,
                                   thread_ts=take.thread_ts))


def flag_and_post(bot: BotEndpoint, worker: Worker, store: RedisStore, take: Take) -> tickets.Ticket:
    bot.event(reaction_event("headphones", user=LEAD, channel=ART, ts=take.message_ts))
    wait_for(lambda: ticket_for_take(store, take.id))
    worker.drain()
    ticket = ticket_for_take(store, take.id)
    assert ticket and ticket.queue_ts
    return ticket


def ticket_action(bot: BotEndpoint, action_id: str, value: str, user: str, ticket: tickets.Ticket):
    return bot.action(block_action(action_id, value, user=user, channel=SOUND, message_ts=ticket.queue_ts))


def upload_into_thread(bot: BotEndpoint, slack: SlackStandIn, ticket: tickets.Ticket, user: str, path: Path,
                       mimetype: str = "audio/wav") -> dict[str, Any]:
    file = slack.add_file(path.name, path.read_bytes(), mimetype=mimetype)
    event = {"type": "message", "subtype": "file_share", "user": user, "channel": SOUND, "channel_type": "channel",
             "ts": f"{time.time():.6f}", "thread_ts": ticket.queue_ts, "text": "", "files": [file]}
    assert bot.event(event).status_code == 200
    return file


def make_mix(path: Path, lufs: float, seconds: float = 2.0) -> Path:
    """A stereo 997 Hz tone at exactly `lufs` (measured with Dailies' own meter, then corrected)."""
    amplitude = 0.2
    for _ in range(2):
        run_ffmpeg(["-f", "lavfi", "-i", f"aevalsrc={amplitude}*sin(2*PI*997*t)|{amplitude}*sin(2*PI*997*t)"
                    f":s=48000:d={seconds}", "-c:a", "pcm_s24le", str(path)])
        measured = reference_lufs(decode(path))
        amplitude *= 10 ** ((lufs - measured) / 20)
    assert abs(reference_lufs(decode(path)) - lufs) < 0.1
    return path


def test_non_lead_flag_is_refused_by_reaction_and_button(bot, worker, slack, store, take):
    bot.event(reaction_event("headphones", user=CREATIVE, channel=ART, ts=take.message_ts))
    wait_for(lambda: ephemerals(slack, CREATIVE))
    send_to_sound(bot, take, CREATIVE)
    wait_for(lambda: len(ephemerals(slack, CREATIVE)) == 2)
    assert all("only leads can send takes to sound" in text.lower() for text in ephemerals(slack, CREATIVE))
    time.sleep(0.3)
    assert ticket_for_take(store, take.id) is None
    assert tickets.open_tickets(store) == []
    assert worker.pending() == 0
    assert slack.posted(channel=SOUND) == []
    assert store.get_take(take.id).ticket is None


@pytest.fixture
def flagged(bot, worker, slack, store, take) -> Take:
    """The take, flagged for sound by a lead (the ticket job run)."""
    bot.event(reaction_event("headphones", user=LEAD, channel=ART, ts=take.message_ts))
    wait_for(lambda: worker.pending() == 1)
    worker.drain()
    return store.get_take(take.id)


def test_a_reaction_and_the_button_at_once_then_the_reaction_again_make_one_ticket(bot, worker, slack, store, take):
    # a reaction and the button at once, then the reaction again: one ticket
    bot.event(reaction_event("headphones", user=LEAD, channel=ART, ts=take.message_ts))
    send_to_sound(bot, take, LEAD)
    wait_for(lambda: ticket_for_take(store, take.id))
    wait_for(lambda: ephemerals(slack, LEAD))
    bot.event(reaction_event("headphones", user=LEAD, channel=ART, ts=take.message_ts))
    wait_for(lambda: len(ephemerals(slack, LEAD)) == 2)
    assert all("already with the sound team as SND-0001" in text for text in ephemerals(slack, LEAD))
    assert worker.pending() == 1
    worker.drain()
    assert ticket_for_take(store, take.id).id == "SND-0001"


def test_the_ticket_records_who_what_and_when(flagged, store):
    take = flagged
    ticket = ticket_for_take(store, take.id)
    assert ticket.id == "SND-0001" and ticket.state == TicketState.queued
    assert ticket.lead == LEAD and ticket.requester == CREATIVE and ticket.target == "social"
    assert abs(ticket.due_at - ticket.created_at - 24 * 3600) < 1
    assert [e.action for e in ticket.history] == ["created"] and ticket.history[0].by == LEAD
    assert store.redis.get(store.key("ticket", "counter")) == b"1"


def test_the_queue_message_shows_the_brief_the_sound_and_the_buttons(flagged, slack):
    posts = ticket_posts(slack)
    assert len(posts) == 1
    blocks = json.dumps(posts[0]["blocks"])
    for expected in ("SND-0001", "Sonic intent", "rain drumming on metal awnings", "sparse melancholic synth pad",
                     "Not tonight.", "LUFS", "Votes:", "creative thread", "<!date^", "ticket_claim", "ticket_return",
                     "ticket_cancel"):
        assert expected in blocks, expected
    assert f"https://dailies-test.slack.com/archives/{ART}/p" in blocks
    assert posts[0]["parse"] == "none"

    assert "AI-generated by previz" in blocks and "provenance.json" in blocks


def test_the_package_holds_clip_native_wav_report_provenance_and_turnover(flagged, slack, store):
    take = flagged
    ticket = ticket_for_take(store, take.id)
    # the handoff package in the ticket's thread: MP4, 48 kHz / 24-bit WAV, JSON report, provenance, turnover
    package = [f for f in slack.completed_uploads(SOUND) if f["thread_ts"] == ticket.queue_ts]
    names = sorted(f["name"] for f in package)
    assert len(package) == 5 and "SND-0001-turnover.zip" in names, names
    assert {name.rsplit(".", 1)[-1] for name in names} == {"mp4", "wav", "json", "zip"}
    origin = json.loads(slack.uploads[next(f for f in package if f["name"] == "provenance.json")["id"]])
    recorded = store.get_take(take.id)
    assert origin["ai_generated"] == "Picture and sound are AI-generated by previz."
    assert origin["provider_model_id"] == "previz" and origin["provider_job_id"] == recorded.provider_job_id
    assert origin["seed"] == recorded.seed and origin["brief_author"] == CREATIVE
    assert "rain drumming on metal awnings" in origin["prompt"] and origin["parameters"]["prompt"] == origin["prompt"]
    assert origin["parameters"]["duration_s"] == recorded.duration_s
    assert origin["submitted_at"] <= origin["finished_at"] and origin["finished_at"].endswith("+00:00")
    assert origin["thread_permalink"].startswith(f"https://dailies-test.slack.com/archives/{ART}/p")
    assert origin["votes"] == recorded.votes and origin["score"] == recorded.score
    assert origin["terms_of_use"] == "https://studio.example/terms"


def test_the_native_wav_is_48k_24_bit_and_as_long_as_the_take(flagged, slack, store, tmp_path):
    take = flagged
    ticket = ticket_for_take(store, take.id)
    package = [f for f in slack.completed_uploads(SOUND) if f["thread_ts"] == ticket.queue_ts]
    mp4 = next(f for f in package if f["name"].endswith(".mp4"))
    wav = next(f for f in package if f["name"].endswith(".wav"))
    report = next(f for f in package if f["name"].endswith("sound-report.json"))
    clip_path, wav_path = tmp_path / "take.mp4", tmp_path / "native.wav"
    clip_path.write_bytes(slack.uploads[mp4["id"]])
    wav_path.write_bytes(slack.uploads[wav["id"]])
    assert slack.uploads[mp4["id"]] == Path(take.file_path).read_bytes()
    wav_info, clip_info = probe_media(wav_path), probe_media(clip_path)
    assert wav_info.audio_codec == "pcm_s24le" and wav_info.sample_rate_hz == 48000 and not wav_info.has_video
    frame_s = 1 / (clip_info.fps or 24)
    wav_seconds = decode(wav_path).shape[0] / 48000
    take_audio_seconds = decode(clip_path).shape[0] / 48000
    assert abs(wav_seconds - take_audio_seconds) <= frame_s
    assert abs(wav_seconds - clip_info.duration_s) <= frame_s
    full = json.loads(slack.uploads[report["id"]])
    assert full["ticket"] == "SND-0001" and full["sound_report"]["integrated_lufs"] is not None
    assert full["brief"]["music"] == "sparse melancholic synth pad"


def test_the_creative_thread_the_card_and_export_show_the_ticket(flagged, slack, store):
    take = flagged
    ticket = ticket_for_take(store, take.id)
    package = [f for f in slack.completed_uploads(SOUND) if f["thread_ts"] == ticket.queue_ts]
    origin = json.loads(slack.uploads[next(f for f in package if f["name"] == "provenance.json")["id"]])
    # mirrored: the creative thread says so, the card shows it, export has it
    mirrors = [m for m in slack.posted(channel=ART, thread_ts=THREAD) if "SND-0001" in m.get("text", "")]
    assert len(mirrors) == 1 and "sent to the sound team" in mirrors[0]["text"] and f"<@{LEAD}>" in mirrors[0]["text"]
    card_updates = [c for c in slack.calls_to("chat.update") if c.args.get("ts") == take.message_ts]
    assert card_updates and "SND-0001" in str(card_updates[-1].args["blocks"])
    row = take_row(store.get_take(take.id))
    assert row["ticket"]["id"] == "SND-0001" and row["ticket"]["status"] == "queued" and row["ticket"]["lead"] == LEAD
    assert row["prompt"] == origin["prompt"] and row["provider_job_id"] == origin["provider_job_id"]


def test_a_flagged_takes_file_is_kept_however_old(flagged, worker):
    take = flagged
    # the take's file is held for the ticket: the media sweep leaves it, however old it is
    recovery.sweep_media(worker.runtime, now=time.time() + 365 * 24 * 3600)
    assert Path(take.file_path).is_file() and tickets.is_held(take_dir(worker.runtime, take))



def test_package_wav_comes_from_the_take_folder_when_the_recorded_file_is_gone(bot, worker, slack, store, take,
                                                                               tmp_path):
    kept = take_dir(worker.runtime, take) / f"{take.label}.mp4"
    assert kept.is_file()
    store.update_take(take.id, lambda t: setattr(t, "file_path", str(tmp_path / "cleaned" / "gone.mp4")))
    ticket = flag_and_post(bot, worker, store, take)
    package = [f for f in slack.completed_uploads(SOUND) if f["thread_ts"] == ticket.queue_ts]
    assert sorted(f["name"].rsplit(".", 1)[1] for f in package) == ["json", "json", "mp4", "wav", "zip"]


def test_outsiders_cannot_claim_deliver_return_or_cancel(bot, worker, slack, store, take, tmp_path):
    ticket = flag_and_post(bot, worker, store, take)
    for user, action in ((CREATIVE, "ticket_claim"), (LEAD, "ticket_claim"), (CREATIVE, "ticket_deliver"),
                         (CREATIVE, "ticket_return")):
        before = len(ephemerals(slack, user))
        ticket_action(bot, action, ticket.id, user, ticket)
        wait_for(lambda u=user, n=before: len(ephemerals(slack, u)) > n)
        assert "only the sound team" in ephemerals(slack, user)[-1].lower()
    ticket_action(bot, "ticket_cancel", ticket.id, DESIGNER, ticket)
    wait_for(lambda: ephemerals(slack, DESIGNER))
    assert "only leads can cancel" in ephemerals(slack, DESIGNER)[-1].lower()
    # forged or unknown ticket ids are refused
    for forged in ("SND-9999", "../../etc", "SND-0001|x"):
        before = len(ephemerals(slack, DESIGNER))
        ticket_action(bot, "ticket_claim", forged, DESIGNER, ticket)
        wait_for(lambda n=before: len(ephemerals(slack, DESIGNER)) > n)
        assert "does not exist" in ephemerals(slack, DESIGNER)[-1]
    # a claim button pressed in another channel than the ticket's queue channel
    bot.action(block_action("ticket_claim", ticket.id, user=DESIGNER, channel=ART, message_ts=take.message_ts))
    wait_for(lambda: "not handled in this channel" in ephemerals(slack, DESIGNER)[-1])
    # an outsider's upload into the ticket thread is not a delivery
    upload_into_thread(bot, slack, ticket, CREATIVE, make_mix(tmp_path / "mix.wav", -14.0))
    wait_for(lambda: len(ephemerals(slack, CREATIVE)) == 4)
    time.sleep(0.3)
    assert worker.pending() == 0
    after = tickets.get_ticket(store, ticket.id)
    assert after.state == TicketState.queued and after.claimed_by is None and len(after.history) == 1
    assert not slack.calls_to("views.open")


def test_claim_then_a_failing_mix_stays_claimed_and_a_passing_mix_is_delivered(bot, worker, slack, store, take,
                                                                                tmp_path):
    ticket = flag_and_post(bot, worker, store, take)
    # an upload before claiming is not checked
    upload_into_thread(bot, slack, ticket, DESIGNER, make_mix(tmp_path / "early.wav", -14.0))
    wait_for(lambda: any("claim" in m["text"].lower() for m in slack.posted(channel=SOUND, thread_ts=ticket.queue_ts)
                         if "not claimed" in m.get("text", "")))

    ticket_action(bot, "ticket_deliver", ticket.id, GROUP_DESIGNER, ticket)
    wait_for(lambda: any("claim it first" in t for t in ephemerals(slack, GROUP_DESIGNER)))
    ticket_action(bot, "ticket_claim", ticket.id, GROUP_DESIGNER, ticket)
    wait_for(lambda: tickets.get_ticket(store, ticket.id).state == TicketState.claimed)
    worker.drain()
    ticket_action(bot, "ticket_deliver", ticket.id, GROUP_DESIGNER, ticket)
    wait_for(lambda: any("Upload the final mix into the thread" in t for t in ephemerals(slack, GROUP_DESIGNER)))
    assert tickets.get_ticket(store, ticket.id).claimed_by == GROUP_DESIGNER
    claimed_mirror = [m for m in slack.posted(channel=ART, thread_ts=THREAD) if "claimed by" in m.get("text", "")]
    assert len(claimed_mirror) == 1 and f"<@{GROUP_DESIGNER}>" in claimed_mirror[0]["text"]
    assert "claimed" in str(store.get_take(take.id).ticket) and store.get_take(take.id).ticket.claimed_by == GROUP_DESIGNER
    # a second claim by someone else is refused
    ticket_action(bot, "ticket_claim", ticket.id, DESIGNER, ticket)
    wait_for(lambda: any("already" in t for t in ephemerals(slack, DESIGNER)))

    # a mix 10 LU too quiet: not delivered, with the reason, and a lead may accept it
    quiet = tmp_path / "quiet.wav"
    run_ffmpeg(["-i", str(make_mix(tmp_path / "loud.wav", -14.0)), "-af", "volume=-10dB", "-c:a", "pcm_s24le",
                str(quiet)])
    upload_into_thread(bot, slack, ticket, GROUP_DESIGNER, quiet)
    wait_for(lambda: worker.pending())
    worker.drain()
    failed = tickets.get_ticket(store, ticket.id)
    assert failed.state == TicketState.claimed and failed.delivered_at is None
    assert failed.mixes[-1].passed is False and "LU quieter than social" in failed.mixes[-1].reasons[0]
    verdicts = [m for m in slack.posted(channel=SOUND, thread_ts=ticket.queue_ts) if "does not pass" in m.get("text", "")]
    assert len(verdicts) == 1 and "10." in verdicts[0]["text"] and "ticket_accept" in json.dumps(verdicts[0]["blocks"])
    assert not [m for m in slack.posted(channel=ART, thread_ts=THREAD) if "delivered" in m.get("text", "")]

    # a mix on target: delivered, and posted back into the creative thread
    good = make_mix(tmp_path / "final.wav", -14.0)
    mix_file = upload_into_thread(bot, slack, ticket, GROUP_DESIGNER, good)
    wait_for(lambda: worker.pending())
    worker.drain()
    delivered = tickets.get_ticket(store, ticket.id)
    assert delivered.state == TicketState.delivered and delivered.delivered_by == GROUP_DESIGNER
    assert delivered.final_file_id == mix_file["id"] and delivered.mixes[-1].passed is True
    assert [e.action for e in delivered.history] == ["created", "claim", "mix_failed", "deliver"]
    assert any("passes social" in m.get("text", "") for m in slack.posted(channel=SOUND, thread_ts=ticket.queue_ts))
    back = [f for f in slack.completed_uploads(ART) if f["thread_ts"] == THREAD and "final-mix" in f["name"]]
    assert len(back) == 1 and slack.uploads[back[0]["id"]] == good.read_bytes()
    assert "SND-0001" in back[0]["initial_comment"] and "delivered" in back[0]["initial_comment"]
    assert tickets.open_tickets(store) == []
    row = take_row(store.get_take(take.id))
    assert row["ticket"]["status"] == "delivered" and row["ticket"]["claimed_by"] == GROUP_DESIGNER
    # the queue message lost its buttons; the take's file is released
    last_update = [c for c in slack.calls_to("chat.update") if c.args.get("ts") == ticket.queue_ts][-1]
    assert "ticket_claim" not in str(last_update.args["blocks"]) and "delivered" in str(last_update.args["blocks"])
    assert not tickets.is_held(take_dir(worker.runtime, take))


def test_a_lead_can_accept_a_failing_mix_anyway(bot, worker, slack, store, take, tmp_path):
    ticket = flag_and_post(bot, worker, store, take)
    ticket_action(bot, "ticket_claim", ticket.id, DESIGNER, ticket)
    wait_for(lambda: tickets.get_ticket(store, ticket.id).state == TicketState.claimed)
    hot = make_mix(tmp_path / "hot.wav", -8.0)
    mix_file = upload_into_thread(bot, slack, ticket, DESIGNER, hot)
    wait_for(lambda: worker.pending())
    worker.drain()
    assert tickets.get_ticket(store, ticket.id).mixes[-1].passed is False
    value = f"{ticket.id}|{mix_file['id']}"
    ticket_action(bot, "ticket_accept", value, DESIGNER, ticket)
    wait_for(lambda: any("only leads can accept" in t.lower() for t in ephemerals(slack, DESIGNER)))
    assert tickets.get_ticket(store, ticket.id).state == TicketState.claimed
    ticket_action(bot, "ticket_accept", f"{ticket.id}|F99999999", LEAD, ticket)
    wait_for(lambda: any("not one of" in t for t in ephemerals(slack, LEAD)))
    ticket_action(bot, "ticket_accept", value, LEAD, ticket)
    wait_for(lambda: tickets.get_ticket(store, ticket.id).state == TicketState.delivered)
    worker.drain()
    done = tickets.get_ticket(store, ticket.id)
    assert done.accepted_by == LEAD and done.final_file_id == mix_file["id"]
    back = [f for f in slack.completed_uploads(ART) if f["thread_ts"] == THREAD and "final-mix" in f["name"]]
    assert len(back) == 1 and slack.uploads[back[0]["id"]] == hot.read_bytes()
    assert "accepted" in back[0]["initial_comment"]


def test_return_with_notes_and_lead_cancel_are_mirrored(bot, worker, slack, store, take):
    ticket = flag_and_post(bot, worker, store, take)
    ticket_action(bot, "ticket_return", ticket.id, DESIGNER, ticket)
    opened = wait_for(lambda: slack.calls_to("views.open"))
    view = json.loads(opened[0].args["view"]) if isinstance(opened[0].args["view"], str) else opened[0].args["view"]
    assert view["private_metadata"] == ticket.id

    def submission(user: str, notes: str, ticket_id: str = ticket.id) -> dict[str, Any]:
        return {"type": "view_submission", "team": {"id": "T0TEAM"}, "user": {"id": user}, "api_app_id": "A0DAILIES",
                "token": "legacy", "trigger_id": "1.2.4",
                "view": {**view, "id": "V2", "private_metadata": ticket_id,
                         "state": {"values": {"notes": {"notes": {"type": "plain_text_input", "value": notes}}}}}}

    refused = bot.action(submission(CREATIVE, "nope"))
    assert refused.status_code == 200 and refused.json()["response_action"] == "errors"
    assert bot.action(submission(DESIGNER, "x", "SND-0404")).json()["response_action"] == "errors"
    assert tickets.get_ticket(store, ticket.id).state == TicketState.queued
    accepted = bot.action(submission(DESIGNER, "Dialogue is clipped <!channel>; pick take with clean line"))
    assert accepted.status_code == 200 and not accepted.content.strip(b"{} ")
    returned = tickets.get_ticket(store, ticket.id)
    assert returned.state == TicketState.returned and returned.returned_by == DESIGNER
    worker.drain()
    note = [m for m in slack.posted(channel=ART, thread_ts=THREAD) if "returned" in m.get("text", "")]
    assert len(note) == 1 and "&lt;!channel&gt;" in note[0]["text"] and "<!channel>" not in note[0]["text"]

    # a lead flags it again: the same ticket reopens; then the lead cancels it
    bot.event(reaction_event("headphones", user=LEAD, channel=ART, ts=take.message_ts))
    wait_for(lambda: tickets.get_ticket(store, ticket.id).state == TicketState.queued)
    ticket_action(bot, "ticket_cancel", ticket.id, LEAD, ticket)
    wait_for(lambda: tickets.get_ticket(store, ticket.id).state == TicketState.cancelled)
    worker.drain()
    texts = [m.get("text", "") for m in slack.posted(channel=ART, thread_ts=THREAD) if "SND-0001" in m.get("text", "")]
    assert any("reopened" in t for t in texts) and any("cancelled" in t for t in texts)
    assert store.redis.get(store.key("ticket", "counter")) == b"1"
    assert store.get_take(take.id).ticket.status == "cancelled"


def test_app_home_shows_the_queue_to_the_sound_team_and_requests_to_everyone(bot, worker, slack, store, take):
    ticket = flag_and_post(bot, worker, store, take)
    store.redis.set(tickets.ticket_key(store, ticket.id),
                    tickets.get_ticket(store, ticket.id).model_copy(update={"due_at": time.time() - 60})
                    .model_dump_json())
    bot.event({"type": "app_home_opened", "user": DESIGNER, "channel": "D0SOUND", "tab": "home",
               "event_ts": f"{time.time():.6f}"})
    published = wait_for(lambda: [c for c in slack.calls_to("views.publish") if c.args["user_id"] == DESIGNER])
    view = json.dumps(published[-1].args["view"])
    assert "SND-0001" in view and "ticket_claim" in view and "overdue" in view and "Sound queue" in view

    bot.event({"type": "app_home_opened", "user": CREATIVE, "channel": "D0CREATIVE", "tab": "home",
               "event_ts": f"{time.time():.6f}"})
    published = wait_for(lambda: [c for c in slack.calls_to("views.publish") if c.args["user_id"] == CREATIVE])
    view = json.dumps(published[-1].args["view"])
    assert "Sound queue" not in view and "Your requests" in view and "Round 1" in view
    assert "SND-0001 queued" in view

    # claiming from App Home works the same way and republishes the Home
    before = len(slack.calls_to("views.publish"))
    payload = block_action("ticket_claim", ticket.id, user=DESIGNER, channel=SOUND, message_ts=ticket.queue_ts)
    payload.pop("channel")
    payload.pop("message")
    payload["container"] = {"type": "view", "view_id": "V1"}
    payload["view"] = {"id": "V1", "type": "home"}
    bot.action(payload)
    wait_for(lambda: len(slack.calls_to("views.publish")) > before)
    assert tickets.get_ticket(store, ticket.id).claimed_by == DESIGNER


def test_app_home_caps_its_blocks(bot, worker, slack, store, take):
    request = store.get_request(take.request_id)
    for index in range(45):
        copy = take.model_copy(update={"id": f"{take.id}-{index}"})
        tickets.create_ticket(store, copy, request, lead=LEAD, queue_channel=SOUND, sla_hours=1)
    bot.event({"type": "app_home_opened", "user": DESIGNER, "channel": "D0SOUND", "tab": "home",
               "event_ts": f"{time.time():.6f}"})
    published = wait_for(lambda: slack.calls_to("views.publish"))
    view = published[-1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert len(view["blocks"]) <= 100
    assert "more tickets" in json.dumps(view) and "Your requests" in json.dumps(view)
    assert "SND-0001" in json.dumps(view)  # oldest first


def test_transitions_are_validated():
    from jobs.domain.models import Brief

    ticket = tickets.Ticket(id="SND-0001", take_id="t", request_id="r", take_label="1A", model="previz", duration_s=2,
                            channel=ART, thread_ts=THREAD, requester=CREATIVE, lead=LEAD, target="social",
                            brief=Brief(), due_at=time.time() + 10, queue_channel=SOUND)
    with pytest.raises(tickets.TicketError, match="claim it first"):
        tickets.apply(ticket, "deliver", DESIGNER)
    tickets.apply(ticket, "claim", DESIGNER)
    with pytest.raises(tickets.TicketError, match="already"):
        tickets.apply(ticket, "claim", GROUP_DESIGNER)
    tickets.apply(ticket, "deliver", DESIGNER)
    for action in ("claim", "return", "cancel", "deliver"):
        with pytest.raises(tickets.TicketError):
            tickets.apply(ticket, action, LEAD)
    assert [(e.from_state, e.to_state) for e in ticket.history] == [
        (TicketState.queued, TicketState.claimed), (TicketState.claimed, TicketState.delivered)]


def test_mixes_are_downloaded_only_from_slack(settings):
    from adapters.download import refusal
    from bot.slack.notifier import SlackNotifier

    policy = SlackNotifier(None, None, settings).file_policy()  # type: ignore[arg-type]
    api_origin = settings.slack_api_url.rsplit("/api/", 1)[0]
    assert refusal(f"{api_origin}/files/F0001", policy) is None
    assert refusal("https://files.slack.com/files-pri/T0-F0/download/mix.wav", policy) is None
    for url in ("https://evil.example.com/mix.wav", "http://files.slack.com/mix.wav",
                "http://127.0.0.1:9/files/F0001", "https://files.slack.com.evil.example/mix.wav"):
        assert refusal(url, policy), url
    assert policy.max_bytes == settings.max_download_bytes and policy.timeout_s == settings.download_timeout_s


def test_judge_mix_rule():
    from jobs.audio.report import SoundFinding, SoundReport

    on_target = SoundReport(integrated_lufs=-14.4, true_peak_dbtp=-1.05, verdict="pass")
    assert tickets.judge_mix(on_target, "social") == []
    assert "LU louder" in tickets.judge_mix(on_target.model_copy(update={"integrated_lufs": -12.5}), "social")[0]
    assert "ceiling" in tickets.judge_mix(on_target.model_copy(update={"true_peak_dbtp": -0.5}), "social")[0]
    clipped = on_target.model_copy(update={"verdict": "fail", "findings": [
        SoundFinding(code="clipping", severity="fail", message="Clipping: 40 runs")]})
    assert tickets.judge_mix(clipped, "social") == ["Clipping: 40 runs"]
    warned = on_target.model_copy(update={"verdict": "warn", "findings": [
        SoundFinding(code="dc_offset", severity="warn", message="DC offset")]})
    assert tickets.judge_mix(warned, "social") == []
    assert tickets.judge_mix(SoundReport(has_audio=False, verdict="fail"), "social") == ["it has no audio track"]
    assert tickets.judge_mix(on_target.model_copy(update={"integrated_lufs": -23.3}), "broadcast-eu") == []


def test_concurrent_flags_make_one_ticket(store, take):
    from concurrent.futures import ThreadPoolExecutor

    request = store.get_request(take.request_id)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: tickets.create_ticket(store, take, request, lead=LEAD, queue_channel=SOUND,
                                                                sla_hours=1), range(32)))
    assert sum(created for _, created in results) == 1
    assert {ticket.id for ticket, _ in results} == {"SND-0001"}
    assert [t.id for t in tickets.open_tickets(store)] == ["SND-0001"]
    assert store.redis.get(store.key("ticket", "counter")) == b"1"


HOSTILE_MIXES = {"dash": ("final-mix.wav", "audio/wav"), "hls": ("final-mix.m3u8", "audio/x-mpegurl"),
                 "concat": ("final-mix.wav", "audio/wav"), "png": ("final-mix.wav", "audio/wav")}


@pytest.mark.parametrize("kind", sorted(HOSTILE_MIXES))
def test_a_mix_that_is_not_media_is_refused_and_reads_nothing_it_points_at(kind, bot, worker, slack, store, take,
                                                                          tmp_path):
    """A manifest, playlist, concat script or image uploaded as the final mix: refused with a sentence; the
    file it names (another channel's take on this worker) is never measured, posted or delivered."""
    victim = make_victim(worker.settings.media_dir / "takes" / "victim0000000000-0" / "1A.mp4")
    ticket = flag_and_post(bot, worker, store, take)
    ticket_action(bot, "ticket_claim", ticket.id, DESIGNER, ticket)
    wait_for(lambda: tickets.get_ticket(store, ticket.id).state == TicketState.claimed)
    worker.drain()
    name, mimetype = HOSTILE_MIXES[kind]
    hostile = tmp_path / name
    hostile.write_bytes(hostile_files(victim, tmp_path / "hostile")[kind])
    uploaded = upload_into_thread(bot, slack, ticket, DESIGNER, hostile, mimetype=mimetype)
    wait_for(worker.pending)
    worker.drain()
    checked = tickets.get_ticket(store, ticket.id)
    mix = checked.mix(uploaded["id"])
    assert checked.state == TicketState.claimed and checked.final_file_id is None
    assert mix is not None and mix.passed is None and mix.report is None
    assert "not audio or video" in (mix.error or ""), mix.error
    verdicts = [m for m in slack.posted(channel=SOUND, thread_ts=ticket.queue_ts) if uploaded["id"] not in str(m)
                and "not audio or video" in json.dumps(m)]
    assert verdicts, slack.posted(channel=SOUND, thread_ts=ticket.queue_ts)
    victim_bytes = victim.read_bytes()
    assert all(victim_bytes[1000:2000] not in data for data in slack.uploads.values())


def test_only_the_claimant_or_a_lead_acts_on_a_claimed_ticket_and_others_can_take_it_over(bot, worker, slack, store,
                                                                                         take, tmp_path):
    ticket = flag_and_post(bot, worker, store, take)
    ticket_action(bot, "ticket_claim", ticket.id, DESIGNER, ticket)
    wait_for(lambda: tickets.get_ticket(store, ticket.id).state == TicketState.claimed)
    worker.drain()

    # a second sound-team member: Return, Deliver and an upload are refused with a Take over offer
    ticket_action(bot, "ticket_return", ticket.id, GROUP_DESIGNER, ticket)
    ticket_action(bot, "ticket_deliver", ticket.id, GROUP_DESIGNER, ticket)
    upload_into_thread(bot, slack, ticket, GROUP_DESIGNER, make_mix(tmp_path / "mine.wav", -14.0))

    def offers() -> list[dict[str, Any]]:
        return [c.args for c in slack.calls_to("chat.postEphemeral") if c.args.get("user") == GROUP_DESIGNER
                and "ticket_take_over" in json.dumps(c.args.get("blocks") or [])]

    wait_for(lambda: len(offers()) == 3)
    assert all(f"claimed by <@{DESIGNER}>" in offer["text"] for offer in offers())
    assert not slack.calls_to("views.open") and worker.pending() == 0
    assert tickets.get_ticket(store, ticket.id).claimed_by == DESIGNER

    # a forged submission of the Return form by the non-claimant is refused (no form was granted to them)
    forged = {"type": "view_submission", "team": {"id": "T0TEAM"}, "user": {"id": GROUP_DESIGNER},
              "api_app_id": "A0DAILIES", "token": "legacy", "trigger_id": "1.2.5",
              "view": {"id": "V9", "type": "modal", "callback_id": "ticket_return_modal", "private_metadata": ticket.id,
                       "state": {"values": {"notes": {"notes": {"type": "plain_text_input", "value": "mine now"}}}}}}
    assert bot.action(forged).json()["response_action"] == "errors"
    assert tickets.get_ticket(store, ticket.id).state == TicketState.claimed

    # a lead may act on it; the second member takes it over, said in the ticket's thread
    ticket_action(bot, "ticket_deliver", ticket.id, LEAD, ticket)
    wait_for(lambda: any("Upload the final mix" in t for t in ephemerals(slack, LEAD)))
    ticket_action(bot, "ticket_take_over", ticket.id, GROUP_DESIGNER, ticket)
    wait_for(lambda: tickets.get_ticket(store, ticket.id).claimed_by == GROUP_DESIGNER)
    said = wait_for(lambda: [m for m in slack.posted(channel=SOUND, thread_ts=ticket.queue_ts)
                             if "took over" in m.get("text", "")])
    assert f"<@{GROUP_DESIGNER}> took over {ticket.id} from <@{DESIGNER}>" in said[0]["text"]
    assert [e.action for e in tickets.get_ticket(store, ticket.id).history][-1] == "take_over"
    # now the first designer is the one refused
    ticket_action(bot, "ticket_return", ticket.id, DESIGNER, ticket)
    wait_for(lambda: any("ticket_take_over" in json.dumps(c.args.get("blocks") or [])
                         for c in slack.calls_to("chat.postEphemeral") if c.args.get("user") == DESIGNER))


def test_mix_names_cannot_break_their_code_span_or_hide_behind_bidi_controls(bot, worker, slack, store, take,
                                                                            tmp_path):
    ticket = flag_and_post(bot, worker, store, take)
    ticket_action(bot, "ticket_claim", ticket.id, DESIGNER, ticket)
    wait_for(lambda: tickets.get_ticket(store, ticket.id).state == TicketState.claimed)
    worker.drain()
    mix = make_mix(tmp_path / "mix.wav", -14.0)
    spoofed = tmp_path / "final`<!channel>`\u202evaw.exe\u200b.wav"
    spoofed.write_bytes(mix.read_bytes())
    upload_into_thread(bot, slack, ticket, DESIGNER, spoofed)
    wait_for(worker.pending)
    worker.drain()
    verdict = next(m["text"] for m in slack.posted(channel=SOUND, thread_ts=ticket.queue_ts) if "passes" in m["text"])
    span = verdict.split("`")
    assert len(span) == 3, verdict  # exactly one code span: the name cannot close it early
    assert "\u02cb" in span[1] and "<!channel>" not in verdict and "&lt;!channel&gt;" in span[1]
    assert not any(ch in verdict for ch in "\u202e\u200b")


def test_briefs_lose_bidi_and_zero_width_characters_before_anything_shows_them(bot, worker, slack, store):
    bot.event(mention("Rain on neon\u202e,gnissik\u200b\u2066 couple\nSound: rain\nx1 1s", user=CREATIVE,
                      ts="1700800000.000100", channel=ART))
    wait_for(worker.pending)
    worker.drain()
    (take,) = store.channel_takes(ART)
    request = store.get_request(take.request_id)
    assert request.resolved.brief.picture == "Rain on neon,gnissik couple"
    everything = json.dumps([c.args for c in slack.calls_to("chat.postMessage") + slack.calls_to("chat.update")],
                            ensure_ascii=False)
    assert not any(ch in everything for ch in "\u202e\u200b\u2066")


def test_a_mention_in_a_ticket_thread_is_the_same_delivery_not_a_brief(bot, worker, slack, store, take, tmp_path):
    """Slack sends a mix uploaded with "@dailies final mix" twice: a file_share message and an app_mention."""
    ticket = flag_and_post(bot, worker, store, take)
    ticket_action(bot, "ticket_claim", ticket.id, DESIGNER, ticket)
    wait_for(lambda: tickets.get_ticket(store, ticket.id).state == TicketState.claimed)
    worker.drain()
    path = make_mix(tmp_path / "final.wav", -14.0)
    file = slack.add_file(path.name, path.read_bytes(), mimetype="audio/wav")
    ts = f"{time.time():.6f}"
    share = {"type": "message", "subtype": "file_share", "user": DESIGNER, "channel": SOUND,
             "channel_type": "channel", "ts": ts, "event_ts": ts, "thread_ts": ticket.queue_ts,
             "text": "<@UDAILIESBOT> final mix", "files": [file], "upload": False}
    twin = {"type": "app_mention", "user": DESIGNER, "channel": SOUND, "ts": ts, "event_ts": ts,
            "thread_ts": ticket.queue_ts, "text": "<@UDAILIESBOT> final mix", "files": [file]}
    assert bot.event(twin).status_code == 200 and bot.event(share).status_code == 200
    bot.event(mention("and another round please x2", channel=SOUND, user=DESIGNER, thread_ts=ticket.queue_ts))
    wait_for(worker.pending)
    time.sleep(0.5)
    assert [job.func_name for job in worker.queue.get_jobs()] == ["jobs.pipeline.tasks.check_ticket_mix"]
    worker.drain()
    assert tickets.get_ticket(store, ticket.id).state == TicketState.delivered
    assert not store.channel_takes(SOUND)  # no round was started in the sound-queue channel
