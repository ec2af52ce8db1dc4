"""Benchmark: what many renders in flight cost, under the production processes.

    .venv/bin/python benchmarks/bench_scale.py [--renders 1000] [--render-s 30] [--modes callbacks,polling]

`dailies serve` under gunicorn, two `dailies worker --processes 2` (four worker processes), Redis and the Slack
and fal stand-ins. `--renders` takes are asked for (x24 briefs across several channels, every render in flight at
once: the provider cap is raised to match), each render finishes `--render-s` after it was submitted, and the run
ends when every take is in its thread. Per mode (provider callbacks on; callbacks lost, so status checks find the
renders), it reports:

- Redis memory per take: `used_memory` with every render in flight, less before, ÷ renders;
- status checks per second while the renders run (fal's own count of status requests);
- worker CPU per take: user + system seconds of every worker process (and its children: ffmpeg) ÷ renders;
- the time from the first render finishing to the last take's card.

Nothing here is asserted in the test suite: timings belong to this machine and this run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run import DAILIES, envelope, environment, processes, signed, up  # noqa: E402
from tests.harness import RedisServer, free_port, mention, wait_for  # noqa: E402
from tests.standins.fal import FAL_KEY, FalStandin  # noqa: E402
from tests.standins.media import sample_mp4  # noqa: E402
from tests.standins.slack import SlackStandIn  # noqa: E402

NEVER = 10**9
PER_BRIEF = 24


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these process groups' members, their reaped children included (/proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pids:  # the process group
            total += sum(int(value) for value in fields[11:15]) / tick  # utime stime cutime cstime
    return total


def run(mode: str, renders: int, render_s: float, folder: Path) -> dict[str, float]:
    redis_server, slack, fal = RedisServer().start(), SlackStandIn().start(), FalStandin().start()
    fal.finish_after_polls = NEVER
    fal.video_url = fal.serve_media("/media/render.mp4", sample_mp4(True))
    port = free_port()
    extra = {"FAL_KEY": FAL_KEY, "FAL_QUEUE_URL": fal.url, "DAILIES_ALLOWED_MEDIA_URLS": fal.url + "/",
             "DAILIES_PROVIDER_CONCURRENCY": json.dumps({"fal": renders}),
             "DAILIES_WORKSPACE_MAX_IN_FLIGHT": str(renders * 2), "DAILIES_POLL_MAX_S": "10"}
    if mode == "callbacks":
        extra["DAILIES_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    env = environment(redis_server.url, slack, folder / f"media-{mode}", **extra)
    redis = Redis.from_url(redis_server.url)
    try:
        with processes(([*DAILIES, "serve", "--port", str(port), "--host", "127.0.0.1"], env),
                       ([*DAILIES, "worker", "--processes", "2"], env),
                       ([*DAILIES, "worker", "--processes", "2"], env), log=folder / f"{mode}.log") as started:
            wait_for(lambda: up(f"http://127.0.0.1:{port}/healthz"), timeout_s=60)
            before = int(redis.info("memory")["used_memory"])
            workers = [p.pid for p in started[1:]]
            cpu_before = cpu_seconds(workers)
            for index in range(math.ceil(renders / PER_BRIEF)):
                count = min(PER_BRIEF, renders - index * PER_BRIEF)
                channel = f"C0SCALE{index % 8}"
                body = envelope(mention(f"Scale {index}\nSound: hum\nx{count} 4s --model fal:fal-ai/veo3.1",
                                        channel=channel, ts=f"{1_700_000_000 + index}.000100"), f"EvSCALE{index}")
                httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=signed(body), timeout=30)
            wait_for(lambda: len(fal.jobs) >= renders, timeout_s=900, interval_s=0.2)
            in_flight = int(redis.info("memory")["used_memory"])
            seen: dict[str, float] = {}
            finished: list[float] = []
            stop = threading.Event()

            def renders_finish() -> None:
                while not stop.is_set():
                    now = time.time()
                    for job_id in list(fal.jobs):
                        seen.setdefault(job_id, now)
                        if now - seen[job_id] >= render_s and len(finished) < len(fal.jobs) \
                                and fal.jobs[job_id].finish_after == NEVER:
                            fal.finish(job_id)
                            finished.append(time.time())
                    time.sleep(0.1)

            checks_at_start = len(fal.calls("GET", "/status"))
            started_at = time.time()
            threading.Thread(target=renders_finish, daemon=True).start()
            wait_for(lambda: finished, timeout_s=render_s + 60, interval_s=0.05)
            checks_while_rendering = len(fal.calls("GET", "/status")) - checks_at_start
            rendering_s = min(finished) - started_at

            def cards() -> int:
                return sum(1 for c in slack.calls_to("chat.postMessage") if str(c.args.get("text", "")).startswith("Take "))

            wait_for(lambda: cards() >= renders, timeout_s=3600, interval_s=0.5)
            last_card = max(c.at for c in slack.calls_to("chat.postMessage")
                            if str(c.args.get("text", "")).startswith("Take "))
            stop.set()
            return {"redis_kib_per_take": (in_flight - before) / renders / 1024,
                    "status_checks_per_s": checks_while_rendering / max(rendering_s, 0.001),
                    "cpu_s_per_take": (cpu_seconds(workers) - cpu_before) / renders,
                    "land_s": last_card - min(finished)}
    finally:
        fal.stop()
        slack.stop()
        redis_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=1000)
    parser.add_argument("--render-s", type=float, default=30.0)
    parser.add_argument("--modes", default="callbacks,polling")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="dailies-bench-scale-") as tmp:
        for mode in args.modes.split(","):
            results[mode] = run(mode, args.renders, args.render_s, Path(tmp))
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, Python "
          f"{platform.python_version()}; {args.renders} renders of {args.render_s:g} s, 4 worker processes")
    print("| mode | Redis per take | status checks / s while rendering | worker CPU per take | all landed after |")
    print("| --- | --- | --- | --- | --- |")
    for mode, found in results.items():
        print(f"| {mode} | {found['redis_kib_per_take']:.1f} KiB | {found['status_checks_per_s']:.1f} | "
              f"{found['cpu_s_per_take']:.2f} s | {found['land_s']:.0f} s |")
    print("figures:", json.dumps({m: {k: round(v, 3) for k, v in f.items()} for m, f in results.items()}))


if __name__ == "__main__":
    main()
