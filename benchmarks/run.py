"""The benchmark entry point: every figure in the README's speed table, side by side in one run.

    .venv/bin/python benchmarks/run.py [--reps 3] [--minutes 10] [--takes 24] [--render-s 60] [--events 600]
                                       [--only qc,round,flood,ack]

1. Sound check. `dailies qc` of a 10-minute take (the CLI as a person runs it: start-up included) against
   ffmpeg's own `ebur128=peak=true` on the same file, interleaved, median of `--reps`; the ratio of the
   two (goal < 1.0), and the check's peak memory (goal < 300 MB).
2. A round landing. A x1 round first (one take's own cost after its render: the anchor, × 24 ÷ the worker's
   processes), then a x24 round on the fal stand-in under the production processes (`dailies serve` under
   gunicorn, one `dailies worker` with its default process count, Redis, the Slack stand-in). All 24
   renders finish together; the figure is the time from then to the last take's card in the thread.
   With `DAILIES_PUBLIC_URL` set the stand-in calls back (goal < 12 s); without it, polling finds them
   (renders that took `--render-s`, so the poll interval has grown as it does in production). Last, fairness:
   four x24 rounds asked in one channel, then one take in another; everything in flight finishes at once, and
   the figure is that one take's render-finished → card time (goal < 3 s).
3. Acknowledging Slack. `--events` signed events from 16 concurrent senders against `dailies serve` and
   against Bolt's built-in development server (`App.start()`) running the same app on the same Redis and
   Slack stand-in: response times (Slack's limit is 3 s).

Nothing here is asserted in the test suite: timings belong to this machine and this run.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.base import RenderSpec  # noqa: E402
from adapters.media import ffmpeg_exe, run_ffmpeg  # noqa: E402
from adapters.previz import render_previz  # noqa: E402
from tests.harness import (  # noqa: E402
    BOT_TOKEN,
    SIGNING_SECRET,
    RedisServer,
    event_envelope,
    free_port,
    mention,
    wait_for,
)
from tests.standins.fal import FAL_KEY, FalStandin  # noqa: E402
from tests.standins.slack import SlackStandIn  # noqa: E402

DAILIES = [sys.executable, "-m", "bot.cli"]
NEVER = 10**6


def table(title: str, rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"## {title}", ""]
    for index, row in enumerate(rows):
        lines.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |")
        if index == 0:
            lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, Python " \
           f"{platform.python_version()}, load average {load} at start"


# -- 1. the sound check -------------------------------------------------------------------------------
# An installed package has its bytecode compiled (pip does it on install); a checkout gets it on the warm-up run,
# unless the environment says not to write it (some machines set PYTHONDONTWRITEBYTECODE): then every timed run
# would compile Dailies' modules again, which a person's `dailies qc` never does.
INSTALLED_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def timed_run(argv: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB of the process and the children it waited for)."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, env=INSTALLED_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # qc exits 1 on a failing verdict, which is still a measurement
        raise RuntimeError(f"{argv[:3]} exited {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024


def long_take(folder: Path, minutes: float) -> Path:
    path = folder / f"take-{minutes:g}min.mp4"
    seconds = int(minutes * 60)
    run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=s=640x360:r=25:d={seconds}",
                "-f", "lavfi", "-i", f"anoisesrc=d={seconds}:c=pink:a=0.2:seed=3,"
                "aformat=sample_rates=48000:channel_layouts=stereo",
                "-c:v", "libx264", "-preset", "ultrafast", "-crf", "35", "-c:a", "aac", "-b:a", "160k",
                "-shortest", str(path)], timeout_s=3600)
    return path


def bench_qc(folder: Path, minutes: float, reps: int) -> tuple[list[tuple[str, ...]], dict[str, float]]:
    take = long_take(folder, minutes)
    ours = [*DAILIES, "qc", str(take)]
    theirs = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(take), "-map", "0:a:0",
              "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"]
    # The floor: ffmpeg decoding the take's sound and doing nothing with it.
    bare = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(take), "-map", "0:a:0", "-f", "null",
            "-"]
    for argv in (ours, theirs, bare):  # warm the page cache and .pyc files for all three
        timed_run(argv)
    our_s, their_s, bare_s, peaks = [], [], [], []
    for _ in range(reps):  # interleaved, so all see the same machine
        seconds, peak = timed_run(ours)
        our_s.append(seconds)
        peaks.append(peak)
        their_s.append(timed_run(theirs)[0])
        bare_s.append(timed_run(bare)[0])
    ours_median, theirs_median = statistics.median(our_s), statistics.median(their_s)
    bare_median = statistics.median(bare_s)
    ratio = ours_median / theirs_median
    rows = [
        ("what", "Dailies", "anchor in the same run", "goal"),
        (f"`dailies qc` of a {minutes:g}-minute take (all meters and findings)", f"{ours_median:.2f} s",
         f"ffmpeg `ebur128=peak=true` (I, LRA, TP only): {theirs_median:.2f} s",
         f"ratio < 1.0: **{ratio:.2f}**"),
        (f"`dailies qc` of a {minutes:g}-minute take, against decoding its sound", f"{ours_median:.2f} s",
         f"ffmpeg decoding the sound to nothing: {bare_median:.2f} s",
         f"ratio < 1.5: **{ours_median / bare_median:.2f}**"),
        (f"peak memory of the check on a {minutes:g}-minute take", f"{max(peaks):.0f} MB", "—", "< 300 MB"),
    ]
    return rows, {"qc_ratio": ratio, "qc_bare_ratio": ours_median / bare_median, "qc_peak_mb": max(peaks)}


# -- 2. a x24 round landing ---------------------------------------------------------------------------
def signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": "application/json"}


def envelope(event: dict[str, Any], event_id: str) -> str:
    return json.dumps(event_envelope(event, event_id=event_id))


def environment(redis_url: str, slack: SlackStandIn, media: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DAILIES_", "REDIS_", "FAL_"))}
    env.update({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
                "REDIS_URL": redis_url, "DAILIES_MEDIA_DIR": str(media), "DAILIES_STATUS_EDIT_MIN_S": "1",
                "DAILIES_DAILY_BUDGET_USD": "10000", "DAILIES_HOURLY_JOB_LIMIT": "100000", **extra})
    return env


@contextmanager
def processes(*commands: tuple[list[str], dict[str, str]], log: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                                start_new_session=True) for argv, env in commands]
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def round_landing(folder: Path, takes: int, *, webhooks: bool, render_s: float) -> tuple[float, float]:
    """Seconds from the moment all renders finish to the last take's card in the thread, and from that card to
    the round's contact sheet in the thread."""
    redis_server = RedisServer().start()
    slack = SlackStandIn().start()
    fal = FalStandin().start()
    fal.finish_after_polls = NEVER
    clip = folder / "render-8s.mp4"
    if not clip.exists():
        render_previz(RenderSpec(picture="Night market, steam over woks", sound=["sizzling woks, chatter"],
                                 duration_s=8, aspect="16:9", resolution="720p", seed=5, label="R"), clip)
    fal.video_url = fal.serve_media("/media/render.mp4", clip.read_bytes())
    port = free_port()
    # Every render of the round in flight at once (the provider's default cap, 10, would queue the rest).
    extra = {"FAL_KEY": FAL_KEY, "FAL_QUEUE_URL": fal.url, "DAILIES_ALLOWED_MEDIA_URLS": fal.url + "/",
             "DAILIES_PROVIDER_CONCURRENCY": json.dumps({"fal": max(10, takes)})}
    if webhooks:
        extra["DAILIES_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    env = environment(redis_server.url, slack, folder / f"media-{webhooks}", **extra)
    try:
        with processes(([*DAILIES, "serve", "--port", str(port), "--host", "127.0.0.1"], env),
                       ([*DAILIES, "worker"], env), log=folder / "processes.log"):
            wait_for(lambda: up(f"http://127.0.0.1:{port}/healthz"), timeout_s=60)
            thread = f"{int(time.time())}.000100"
            brief = f"Night market, steam over woks\nSound: sizzling woks, chatter\nx{takes} 8s --model fal:fal-ai/veo3.1"
            body = envelope(mention(brief, ts=thread), f"EvROUND{webhooks}")
            httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=signed(body), timeout=10)
            wait_for(lambda: len(fal.jobs) == takes, timeout_s=120)
            time.sleep(render_s)  # the renders take their time; without callbacks, the poll interval grows
            jobs = list(fal.jobs)
            with ThreadPoolExecutor(max_workers=takes) as pool:  # all finish together
                list(pool.map(fal.finish, jobs))
            done_at = time.time()

            def cards() -> list[float]:
                return [c.at for c in slack.calls_to("chat.postMessage")
                        if str(c.args.get("text", "")).startswith("Take ")]

            wait_for(lambda: len(cards()) >= takes, timeout_s=600, interval_s=0.05)

            def sheet_posted() -> float | None:
                sheets = {f["id"] for f in slack.files.values() if "contact-sheet" in f["name"] and f.get("completed")}
                return next((c.at for c in slack.calls_to("files.completeUploadExternal")
                             if sheets & {item["id"] for item in json.loads(c.args["files"])}), None)

            if takes < 2:  # a round of one has no contact sheet
                return max(cards()) - done_at, 0.0
            sheet_at = wait_for(sheet_posted, timeout_s=120, interval_s=0.05)
            return max(cards()) - done_at, sheet_at - max(cards())
    finally:
        fal.stop()
        slack.stop()
        redis_server.stop()


FLOOD_RENDER_S = 3.0


def flood_landing(folder: Path, rounds: int, takes: int) -> float:
    """Seconds from one channel's single take's render finishing to its card, while another channel's `rounds`
    rounds of `takes`, asked for first, render and land around it (each render takes FLOOD_RENDER_S; fal's
    default cap of 10 renders in flight; callbacks on)."""
    redis_server = RedisServer().start()
    slack = SlackStandIn().start()
    fal = FalStandin().start()
    fal.finish_after_polls = NEVER
    clip = folder / "render-8s.mp4"
    if not clip.exists():
        render_previz(RenderSpec(picture="Night market, steam over woks", sound=["sizzling woks, chatter"],
                                 duration_s=8, aspect="16:9", resolution="720p", seed=5, label="R"), clip)
    fal.video_url = fal.serve_media("/media/render.mp4", clip.read_bytes())
    port = free_port()
    env = environment(redis_server.url, slack, folder / "media-flood", FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url,
                      DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/", DAILIES_PUBLIC_URL=f"http://127.0.0.1:{port}")
    try:
        with processes(([*DAILIES, "serve", "--port", str(port), "--host", "127.0.0.1"], env),
                       ([*DAILIES, "worker"], env), log=folder / "processes.log"):
            wait_for(lambda: up(f"http://127.0.0.1:{port}/healthz"), timeout_s=60)
            for index in range(rounds):
                thread = f"{int(time.time())}.00{index:04d}"
                brief = f"Flood {index}\nSound: hiss\nx{takes} 8s --model fal:fal-ai/veo3.1"
                body = envelope(mention(brief, ts=thread), f"EvFLOOD{index}")
                httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=signed(body), timeout=10)
            wait_for(lambda: len(fal.jobs) >= 5, timeout_s=120)
            body = envelope(mention("One take\nSound: bell\nx1 8s --model fal:fal-ai/veo3.1", channel="C0OTHER",
                                    ts=f"{int(time.time())}.999900"), "EvSINGLE")
            httpx.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=signed(body), timeout=10)
            finished_at: dict[str, float] = {}
            seen: dict[str, float] = {}
            stop = threading.Event()

            def renders() -> None:  # every render takes RENDER_S from its submission, then finishes
                while not stop.is_set():
                    now = time.time()
                    for job_id in list(fal.jobs):
                        seen.setdefault(job_id, now)
                        if job_id not in finished_at and now - seen[job_id] >= FLOOD_RENDER_S:
                            fal.finish(job_id)
                            finished_at[job_id] = time.time()
                    time.sleep(0.05)

            threading.Thread(target=renders, daemon=True).start()

            def single() -> str | None:
                return next((job_id for job_id, job in list(fal.jobs.items()) if "bell" in str(job.body)), None)

            single_id = wait_for(single, timeout_s=300)
            done_at = wait_for(lambda: finished_at.get(single_id), timeout_s=60, interval_s=0.01)

            def card() -> float | None:
                return next((c.at for c in slack.calls_to("chat.postMessage")
                             if c.args.get("channel") == "C0OTHER" and str(c.args.get("text", "")).startswith("Take ")),
                            None)

            landed = wait_for(card, timeout_s=300, interval_s=0.05) - done_at
            stop.set()
            return landed
    finally:
        fal.stop()
        slack.stop()
        redis_server.stop()


def bench_flood(folder: Path, takes: int) -> tuple[list[tuple[str, ...]], dict[str, float]]:
    flood = flood_landing(folder, 4, takes)
    rows = [("what", "Dailies", "anchor in the same run", "goal"),
            (f"another channel's single take while 4 × x{takes} rounds asked first render and land around it",
             f"posted **{flood:.1f} s** after its render finished", "provider's own \"done\"", "< 3 s")]
    return rows, {"flood_single_s": flood}


def frame_grabs(clip: Path, count: int, folder: Path) -> float:
    """The anchor for the contact sheet: `count` plain ffmpeg frame grabs from a take, one process each."""
    started = time.perf_counter()
    for index in range(count):
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-ss", "2.6", "-i", str(clip), "-frames:v", "1",
                        str(folder / f"grab-{index}.png")], check=True)
    return time.perf_counter() - started


def bench_round(folder: Path, takes: int, render_s: float) -> tuple[list[tuple[str, ...]], dict[str, float]]:
    one, _ = round_landing(folder, 1, webhooks=True, render_s=2.0)  # one take's own cost after its render
    hooked, sheet = round_landing(folder, takes, webhooks=True, render_s=2.0)
    polled, _ = round_landing(folder, takes, webhooks=False, render_s=render_s)
    grabs = frame_grabs(folder / "render-8s.mp4", takes, folder)
    workers = os.cpu_count() or 1
    anchor = takes * one / workers
    rows = [
        ("what", "Dailies", "anchor in the same run", "goal"),
        (f"x{takes} round on fal, renders all finish together, `dailies worker` ({workers} processes), "
         "provider callbacks", f"last take posted {hooked:.1f} s after the last render finished",
         f"{takes} × one take's own landing ({one:.2f} s) ÷ {workers} worker processes: {anchor:.1f} s",
         f"ratio ≤ 1.3: **{hooked / anchor:.2f}**"),
        (f"the same round, callbacks lost (polling; renders of {render_s:.0f} s)",
         f"last take posted {polled:.1f} s after the last render finished", "provider's own \"done\"",
         "(fallback: ≤ poll interval + landing)"),
        (f"that round's contact sheet ({takes} labelled frames, one PNG)",
         f"posted {sheet:.1f} s after the last take's card", f"{takes} plain ffmpeg frame grabs: {grabs:.1f} s",
         "< 10 s"),
    ]
    return rows, {"round_webhook_s": hooked, "round_polling_s": polled, "contact_sheet_s": sheet,
                  "frame_grabs_s": grabs, "one_take_s": one, "round_ratio": hooked / anchor}


# -- 3. acknowledging Slack ---------------------------------------------------------------------------
def hammer(url: str, count: int, senders: int) -> tuple[list[float], int]:
    """Response times of `count` signed events from `senders` concurrent clients, and how many got no 200
    (a refused or reset connection, an error status: Slack would retry those, or give up on the app)."""
    def events(start: int) -> Iterator[str]:
        for index in range(start, count, senders):
            ts = f"{1_700_000_000 + index}.000100"
            event = ({"type": "reaction_added", "user": f"U{index % 40:04d}", "reaction": "+1",
                      "item": {"type": "message", "channel": "C0ART", "ts": ts}, "item_user": "U0OTHER",
                      "event_ts": f"{time.time():.6f}"} if index % 3 else
                     mention("help", ts=ts))
            yield envelope(event, f"EvACK{index:06d}")

    def sender(start: int) -> tuple[list[float], int]:
        times, failed = [], 0
        client = httpx.Client(timeout=10)
        for body in events(start):
            began = time.perf_counter()
            try:
                ok = client.post(url, content=body, headers=signed(body)).status_code == 200
            except httpx.HTTPError:  # reset or refused: count it, and connect again for the next
                ok = False
                client.close()
                client = httpx.Client(timeout=10)
            times.append(time.perf_counter() - began)
            failed += not ok
        client.close()
        return times, failed

    with ThreadPoolExecutor(max_workers=senders) as pool:
        results = list(pool.map(sender, range(senders)))
    return [t for times, _ in results for t in times], sum(failed for _, failed in results)


DEV_SERVER = """
from bot.app import build_app
from jobs.infra.settings import get_settings
build_app(get_settings()).start(port={port}, path="/slack/events", http_server_logger_enabled=False)
"""


def bench_ack(folder: Path, count: int, senders: int = 16) -> tuple[list[tuple[str, ...]], dict[str, float]]:
    redis_server = RedisServer().start()
    slack = SlackStandIn().start()
    env = environment(redis_server.url, slack, folder / "media-ack")
    ours, dev = free_port(), free_port()
    try:
        with processes(([*DAILIES, "serve", "--port", str(ours), "--host", "127.0.0.1"], env),
                       ([sys.executable, "-c", DEV_SERVER.format(port=dev)], env), log=folder / "ack.log"):
            wait_for(lambda: up(f"http://127.0.0.1:{ours}/healthz"), timeout_s=60)
            wait_for(lambda: _accepts(f"http://127.0.0.1:{dev}/slack/events"), timeout_s=60)
            hammer(f"http://127.0.0.1:{ours}/slack/events", 48, senders)  # warm both
            hammer(f"http://127.0.0.1:{dev}/slack/events", 48, senders)
            serve_times, serve_failed = hammer(f"http://127.0.0.1:{ours}/slack/events", count, senders)
            dev_times, dev_failed = hammer(f"http://127.0.0.1:{dev}/slack/events", count, senders)
    finally:
        slack.stop()
        redis_server.stop()

    def summary(times: list[float], failed: int) -> str:
        ordered = sorted(times)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        return (f"p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max "
                f"{ordered[-1] * 1000:.0f} ms, {failed} not acknowledged")

    rows = [
        ("what", "Dailies", "anchor in the same run", "goal"),
        (f"ack latency, {count} events from {senders} senders", f"`dailies serve`: {summary(serve_times, serve_failed)}",
         f"Bolt's development server, same app: {summary(dev_times, dev_failed)}",
         "all acknowledged, well under Slack's 3 s"),
    ]
    return rows, {"ack_p95_ms": sorted(serve_times)[int(len(serve_times) * 0.95) - 1] * 1000,
                  "ack_dev_p95_ms": sorted(dev_times)[int(len(dev_times) * 0.95) - 1] * 1000,
                  "ack_failed": serve_failed, "ack_dev_failed": dev_failed}


def _accepts(url: str) -> bool:
    try:
        return httpx.post(url, content=b"{}", timeout=1).status_code in (200, 401, 404)
    except httpx.HTTPError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--takes", type=int, default=24)
    parser.add_argument("--render-s", type=float, default=60.0)
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--only", default="qc,round,flood,ack")
    parser.add_argument("--keep", type=Path, help="keep the generated media in this folder")
    args = parser.parse_args()
    parts: dict[str, Callable[[Path], tuple[list[tuple[str, ...]], dict[str, float]]]] = {
        "qc": lambda folder: bench_qc(folder, args.minutes, args.reps),
        "round": lambda folder: bench_round(folder, args.takes, args.render_s),
        "flood": lambda folder: bench_flood(folder, args.takes),
        "ack": lambda folder: bench_ack(folder, args.events),
    }
    print(f"Machine: {machine()}; {time.strftime('%Y-%m-%d')}\n")
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="dailies-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in args.only.split(","):
            rows, found = parts[name.strip()](folder)
            figures.update(found)
            print(table(name, rows), flush=True)
    print("figures:", json.dumps({k: round(v, 3) for k, v in figures.items()}))
    print(f"benchmark process peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    misses = [name for name, ok in (("qc ratio", figures.get("qc_ratio", 0) < 1.0),
                                    ("qc memory", figures.get("qc_peak_mb", 0) < 300),
                                    ("round with callbacks", figures.get("round_webhook_s", 0) < 12),
                                    ("contact sheet", figures.get("contact_sheet_s", 0) < 10),
                                    ("a take beside a flood", figures.get("flood_single_s", 0) < 3),
                                    ("every event acknowledged", figures.get("ack_failed", 0) == 0)) if not ok]
    print("PASS" if not misses else "MISS: " + ", ".join(misses))
    return 0 if not misses else 1


if __name__ == "__main__":
    threading.excepthook = lambda hook: None  # a stand-in thread dying at shutdown is not a result
    sys.exit(main())
