"""*Master for…* on a take's card: a copy at the target's loudness, picture untouched, posted in the thread."""

from __future__ import annotations

import subprocess

from redis import Redis

from adapters.media import ffmpeg_exe
from jobs.audio.check import check_file
from jobs.domain.store import RedisStore
from tests.harness import Worker, block_action, mention, wait_for
from tests.standins.slack import SlackStandIn


def video_md5(path) -> str:
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy", "-f", "md5", "-"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def posted_take(bot, worker: Worker, slack: SlackStandIn, settings, ts: str):
    bot.event(mention("Cathedral interior\nSound: choir echo, footsteps\nx1 3s", ts=ts))
    wait_for(lambda: slack.posted(thread_ts=ts))
    wait_for(worker.pending)
    worker.drain()
    store = RedisStore(Redis.from_url(settings.redis_url), settings.key_prefix)
    (take,) = store.channel_takes("C0ART")
    assert take.message_ts
    return take


def test_master_for_broadcast_posts_a_copy_on_target_with_the_picture_copied(bot, worker, slack, settings, tmp_path):
    ts = "1700030000.000100"
    take = posted_take(bot, worker, slack, settings, ts)
    payload = block_action("master_for", "", user="U0PRODUCER", channel="C0ART", message_ts=take.message_ts,
                           thread_ts=ts, selected=f"{take.id}|broadcast-eu")
    assert bot.action(payload).status_code == 200
    wait_for(lambda: worker.pending())
    worker.drain()
    masters = [f for f in slack.completed_uploads("C0ART") if "broadcast-eu" in f["name"]]
    assert len(masters) == 1 and masters[0]["thread_ts"] == ts
    assert "mastered for" in masters[0]["initial_comment"]
    out = tmp_path / "master.mp4"
    out.write_bytes(slack.uploads[masters[0]["id"]])
    report = check_file(out, "broadcast-eu")
    assert abs(report.integrated_lufs - (-23.0)) <= 0.5
    assert report.true_peak_dbtp <= -1.0
    assert video_md5(out) == video_md5(take.file_path)


def test_master_for_a_take_in_another_channel_is_refused(bot, worker, slack, settings):
    ts = "1700030100.000100"
    take = posted_take(bot, worker, slack, settings, ts)
    forged = block_action("master_for", "", user="U0INTRUDER", channel="C0OTHER", message_ts=take.message_ts,
                          thread_ts=ts, selected=f"{take.id}|social")
    assert bot.action(forged).status_code == 200
    wait_for(lambda: slack.calls_to("chat.postEphemeral"))
    assert worker.pending() == 0
    unknown_target = block_action("master_for", "", user="U0PRODUCER", channel="C0ART", message_ts=take.message_ts,
                                  thread_ts=ts, selected=f"{take.id}|cinema")
    bot.action(unknown_target)
    wait_for(lambda: len(slack.calls_to("chat.postEphemeral")) == 2)
    assert worker.pending() == 0
    assert not [f for f in slack.completed_uploads("C0ART") if "master" in f["name"]]


def test_a_worker_on_another_machine_masters_from_slacks_copy(bot, worker, slack, settings, tmp_path):
    """The worker that rendered the take is gone with its disk; a `dailies worker` with its own media folder
    fetches the native file Slack keeps for it (files.info → url_private_download with the bot token; never the
    loudness-matched copy in the thread) and masters it."""
    import shutil
    import sys

    from tests.test_serve import ROOT, settings_env

    ts = "1700030500.000100"
    take = posted_take(bot, worker, slack, settings, ts)
    native_id = worker.store.get_take(take.id).native_copy_id
    assert native_id and native_id != take.file_id  # the thread plays the matched preview
    native_clip = slack.uploads[native_id]
    shutil.rmtree(settings.media_dir)  # the first machine, and its cache, are gone
    payload = block_action("master_for", "", user="U0PRODUCER", channel="C0ART", message_ts=take.message_ts,
                           thread_ts=ts, selected=f"{take.id}|broadcast-eu")
    assert bot.action(payload).status_code == 200
    wait_for(lambda: worker.pending())
    env = {**settings_env(settings), "DAILIES_MEDIA_DIR": str(tmp_path / "second-machine")}
    second = subprocess.run([sys.executable, "-m", "bot.cli", "worker", "--burst"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stderr[-2000:]
    infos = [c for c in slack.calls_to("files.info") if c.args.get("file") == native_id]
    assert infos, "the second worker did not ask Slack for the take's native file"
    assert not [c for c in slack.calls_to("files.info") if c.args.get("file") == take.file_id]
    masters = [f for f in slack.completed_uploads("C0ART") if "broadcast-eu" in f["name"]]
    assert len(masters) == 1 and masters[0]["thread_ts"] == ts
    out = tmp_path / "master.mp4"
    out.write_bytes(slack.uploads[masters[0]["id"]])
    report = check_file(out, "broadcast-eu")
    assert abs(report.integrated_lufs - (-23.0)) <= 0.5
    source = tmp_path / "posted.mp4"
    source.write_bytes(native_clip)
    assert video_md5(out) == video_md5(source)
    assert not settings.media_dir.exists() or not any(settings.media_dir.rglob("*.mp4"))
    assert not [m for m in slack.posted(thread_ts=ts) if "no longer kept" in m.get("text", "")]
