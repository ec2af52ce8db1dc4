"""Benchmark: what fair review costs.

    .venv/bin/python benchmarks/bench_review.py [--reps 5] [--takes 12]

1. The listening copy. An 8 s 1080p take (H.264 + AAC, 12 LU under the target) handed back at once by a test
   provider, from its render's end to its card in the thread (download, sound check with every frame decoded,
   waveform, upload, card), through the real worker, Redis and the Slack stand-in: in a channel that hears takes
   as rendered (`preview-loudness=native`, the anchor) and in one that hears them matched (the default),
   alternated, median of `--reps`. Goal: under 10 % more.
2. A compare of four 8 s 1080p takes and a reel of `--takes` of them, cut by the worker's own functions (the
   slowest part of each job; Slack's upload is not included), beside one plain decode of the same files.

Nothing here is asserted in the test suite: timings belong to this machine and this run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.media import ffmpeg_exe  # noqa: E402
from jobs.audio.preview import plan_preview  # noqa: E402
from jobs.domain.channels import ChannelSettings, save_channel_settings  # noqa: E402
from jobs.review.compare import render_compare  # noqa: E402
from jobs.review.compose import Clip  # noqa: E402
from jobs.review.reel import Slate, render_reel  # noqa: E402
from tests.audio_signals import at_lufs, dual, noise, write_mp4  # noqa: E402
from tests.harness import BotEndpoint, RedisServer, Worker, make_settings, mention, wait_for  # noqa: E402
from tests.hostile import crafted_provider  # noqa: E402
from tests.standins.slack import SlackStandIn  # noqa: E402

MATCHED, NATIVE = "C0MATCHED", "C0NATIVE"


def take_file(folder: Path, seed: int) -> Path:
    return write_mp4(folder / f"take-{seed}.mp4", at_lufs(dual(noise(-20, 8.0, seed=seed)), -26.0),
                     size="1920x1080", fps=24)


def posting(folder: Path, reps: int) -> tuple[float, float]:
    """(median seconds to post a take in a native channel, in a matched one)."""
    redis_server, slack = RedisServer().start(), SlackStandIn().start()
    try:
        settings = make_settings(redis_server.url, slack.api_url, folder / "media")
        bot, worker = BotEndpoint(settings), Worker(settings)
        save_channel_settings(worker.store, NATIVE, ChannelSettings(preview_loudness="native"))
        times: dict[str, list[float]] = {NATIVE: [], MATCHED: []}
        with crafted_provider({"*": take_file(folder, 1)}):
            for rep in range(reps + 1):  # the first pair warms the caches and is not counted
                for channel in (NATIVE, MATCHED) if rep % 2 else (MATCHED, NATIVE):
                    thread = f"17009{rep:05d}.{len(times[channel]):06d}"
                    bot.event(mention("Neon alley x1 8s 1080p --model crafted", ts=thread, channel=channel))
                    wait_for(worker.pending)
                    worker.drain(wait_for_work_s=0)
                    (take,) = worker.store.thread_takes(channel, thread)
                    assert take.state.value == "posted" and (take.preview is not None) == (channel == MATCHED)
                    card = next(c for c in slack.calls_to("chat.postMessage")
                                if take.id in str(c.args.get("metadata") or ""))
                    if rep:  # the provider's "done" to the card in the thread (the native copy is kept after)
                        times[channel].append(card.at - (take.finished_at or 0.0))
        bot.stop()
        return statistics.median(times[NATIVE]), statistics.median(times[MATCHED])
    finally:
        slack.stop()
        redis_server.stop()


def decode_s(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        os.system(f"{ffmpeg_exe()} -v error -nostdin -i {path} -f null - ")  # noqa: S605 - our own files
    return time.perf_counter() - start


def cuts(folder: Path, reel_takes: int) -> dict[str, float]:
    sources = [take_file(folder, seed) for seed in range(2, 6)]
    clips = [Clip(label=f"1{chr(65 + i)}", path=path, duration_s=8.0, plan=plan_preview(-26.0, -12.0, -14.0, -1.0))
             for i, path in enumerate(sources)]
    work = Path(tempfile.mkdtemp(dir=folder))
    start = time.perf_counter()
    render_compare(clips, work / "compare.mp4", work)
    compare = time.perf_counter() - start
    reel_clips, slates = [], []
    for index in range(reel_takes):
        copy = folder / f"reel-{index}.mp4"
        shutil.copyfile(sources[index % len(sources)], copy)
        reel_clips.append(Clip(label=f"{index + 1}A", path=copy, duration_s=8.0, plan=clips[0].plan))
        slates.append(Slate(title=f"Brief {index + 1}: a lighthouse in fog", take=f"Take {index + 1}A · previz",
                            facts="score +2 (3 votes) · sound: pass"))
    start = time.perf_counter()
    render_reel(reel_clips, slates, work / "reel.mp4", work)
    reel = time.perf_counter() - start
    return {"compare": compare, "compare_decode": decode_s(sources), "reel": reel,
            "reel_decode": decode_s([c.path for c in reel_clips])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--takes", type=int, default=12)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="dailies-bench-review-"))
    try:
        native_s, matched_s = posting(folder, args.reps)
        cut = cuts(folder, args.takes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"Python {platform.python_version()}, --reps {args.reps}")
    print("| what | Dailies | anchor in the same run | goal |")
    print("| --- | --- | --- | --- |")
    print(f"| an 8 s 1080p take, render finished → card in the thread, sound matched | {matched_s:.2f} s | "
          f"the same take heard as rendered: {native_s:.2f} s | < 10 % more: **{matched_s / native_s - 1:+.0%}** |")
    print(f"| compare of four 8 s 1080p takes (32 s of 1280×720) | {cut['compare']:.1f} s | plain decode of the "
          f"four files: {cut['compare_decode']:.1f} s | a few seconds |")
    print(f"| reel of {args.takes} 8 s 1080p takes with slates | {cut['reel']:.1f} s | plain decode of the "
          f"{args.takes} files: {cut['reel_decode']:.1f} s | a few seconds per take |")


if __name__ == "__main__":
    main()
