"""A brief in a Slack thread becomes a take with sound in that thread, through real HTTP, Redis, rq, ffmpeg."""

from __future__ import annotations

import subprocess

from adapters.media import ffmpeg_exe, probe_media
from jobs.domain.store import RedisStore
from tests.harness import Worker, mention, wait_for
from tests.standins.slack import SlackStandIn


def test_mention_becomes_one_take_with_sound_in_its_thread(bot, worker: Worker, slack: SlackStandIn, tmp_path):
    event = mention("Rain on a tin roof at dusk\nSound: heavy rain, distant thunder\nx1 2s", ts="1700000001.000100")
    response = bot.event(event)
    assert response.status_code == 200
    status = wait_for(lambda: slack.posted(thread_ts="1700000001.000100"))
    assert "queued" in status[0]["text"].lower()
    wait_for(lambda: worker.pending() == 1)

    worker.drain()

    uploads = slack.completed_uploads("C0ART")
    clips = [f for f in uploads if f["name"].endswith(".mp4")]
    assert len(clips) == 1 and clips[0]["thread_ts"] == "1700000001.000100"
    clip = tmp_path / "got.mp4"
    clip.write_bytes(slack.uploads[clips[0]["id"]])
    info = probe_media(clip)
    assert info.has_video and info.has_audio and info.video_codec == "h264" and info.audio_codec == "aac"
    assert info.pix_fmt == "yuv420p" and info.sample_rate_hz == 48000 and info.channels == 2
    decoded = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(clip), "-f", "null", "-"], capture_output=True)
    assert decoded.returncode == 0 and not decoded.stderr

    cards = [m for m in slack.posted(thread_ts="1700000001.000100") if "Take 1A" in m.get("text", "")]
    assert len(cards) == 1
    assert "LUFS" in str(cards[0]["blocks"])
    updates = slack.calls_to("chat.update")
    assert updates and "done" in updates[-1].args["text"].lower()
    assert all(u.args.get("parse") == "none" for u in updates)

    store = RedisStore.open(worker.settings)
    takes = store.channel_takes("C0ART")
    assert [t.state.value for t in takes] == ["posted"]
    assert takes[0].message_ts == cards[0].get("ts") or takes[0].message_ts
    assert takes[0].sound and takes[0].sound.integrated_lufs is not None and takes[0].sound.integrated_lufs > -40
