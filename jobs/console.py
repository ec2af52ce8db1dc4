"""`dailies try`: the take pipeline with no Slack and no Redis, reporting to the terminal."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import TextIO

from jobs import tasks
from jobs.brief import parse_brief
from jobs.channels import ChannelSettings
from jobs.models import Request, Take, TakeState
from jobs.requests import build_request, resolve_brief
from jobs.runtime import InlineScheduler, Runtime
from jobs.settings import Settings
from jobs.store import MemoryStore


class ConsoleNotifier:
    def __init__(self, out_dir: Path, stream: TextIO) -> None:
        self.out_dir = out_dir
        self.stream = stream
        self.started = time.monotonic()
        self._last_line = ""

    def request_status(self, request: Request, takes: list[Take]) -> str | None:
        done = sum(t.state == TakeState.posted for t in takes)
        failed = sum(t.state in (TakeState.failed, TakeState.cancelled) for t in takes)
        line = (
            f"[{time.monotonic() - self.started:5.1f}s] round {request.round} on {request.resolved.model}: "
            f"{done}/{len(takes)} ready" + (f", {failed} failed" if failed else "")
        )
        if line != self._last_line:
            print(line, file=self.stream, flush=True)
            self._last_line = line
        return None

    def take_ready(self, request: Request, take: Take) -> Take:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        clip = self.out_dir / f"{take.label}.mp4"
        shutil.copyfile(take.file_path or "", clip)
        report = take.sound.model_dump(mode="json") if take.sound else {}
        report.update({"label": take.label, "model": take.model, "seed": take.seed, "file": clip.name})
        (self.out_dir / f"{take.label}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"  take {take.label} → {clip}", file=self.stream, flush=True)
        take.file_path = str(clip)
        return take

    def take_failed(self, request: Request, take: Take) -> None:
        print(f"  take {take.label} failed: {take.error}", file=self.stream, flush=True)


def run_try(brief_text: str, out_dir: Path, settings: Settings, stream: TextIO = sys.stdout) -> list[Take]:
    """Render every take of one brief into `out_dir`; raises BriefError for a brief that cannot run."""
    brief = parse_brief(brief_text)
    resolved = resolve_brief(brief, settings, ChannelSettings())
    store = MemoryStore()
    scheduler = InlineScheduler()
    notifier = ConsoleNotifier(out_dir, stream)
    runtime = Runtime(settings=settings, store=store, scheduler=scheduler, notifier=notifier)
    request, takes = build_request(
        resolved, settings=settings, channel="local", thread_ts="local", source_ts="local",
        requester="you", round_number=1,
    )
    store.save_request(request)
    for take in takes:
        store.save_take(take)
    print(
        f"Rendering {len(takes)} take(s) of {resolved.duration_s} s {resolved.aspect} {resolved.resolution} "
        f"on {resolved.model} (seed {resolved.seed}, target {resolved.target}) into {out_dir}/",
        file=stream, flush=True,
    )
    previous = tasks._runtime
    tasks.use_runtime(runtime)
    try:
        scheduler.enqueue("start_request", request.id)
        scheduler.run_until_idle()
    finally:
        tasks.use_runtime(previous)
    return store.takes_for(request)


def takes_table(takes: list[Take]) -> str:
    rows = [("take", "model", "secs", "LUFS", "dBTP", "verdict", "file")]
    for take in takes:
        sound = take.sound
        rows.append((
            take.label, take.model, str(take.duration_s),
            f"{sound.integrated_lufs:.1f}" if sound and sound.integrated_lufs is not None else "—",
            f"{sound.true_peak_dbtp:+.1f}" if sound and sound.true_peak_dbtp is not None else "—",
            (sound.verdict if sound else take.state.value) if take.state == TakeState.posted else take.state.value,
            take.file_path or (take.error or ""),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
