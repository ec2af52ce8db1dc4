"""`dailies try`: the take pipeline with no Slack and no Redis, reporting to the terminal."""

from __future__ import annotations

import heapq
import itertools
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from adapters.media import MediaError, NotMedia, image_size, sniff_image
from jobs.domain.brief import BriefError, parse_brief
from jobs.domain.channels import ChannelSettings
from jobs.domain.models import ReferenceImage, Request, Take, TakeState
from jobs.domain.references import HOW, references_from_files
from jobs.domain.requests import build_request, resolve_brief
from jobs.domain.store import in_memory_store
from jobs.infra.settings import Settings
from jobs.pipeline.runtime import FileUnavailable, Runtime, Upload
from jobs.pipeline.tasks import TASKS


class InlineScheduler:
    """Runs tasks in this process in due-time order: the pipeline without Redis or rq."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._heap: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._order = itertools.count()
        self._sleep = sleep

    def enqueue(self, task: str, *args: Any) -> None:
        self.enqueue_in(0.0, task, *args)

    def enqueue_in(self, delay_s: float, task: str, *args: Any) -> None:
        heapq.heappush(self._heap, (time.monotonic() + delay_s, next(self._order), task, args))

    def run_until_idle(self, runtime: Runtime, timeout_s: float = 3600.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self._heap and time.monotonic() < deadline:
            due, _, task, args = heapq.heappop(self._heap)
            wait = due - time.monotonic()
            if wait > 0:
                self._sleep(min(wait, 1.0))
                heapq.heappush(self._heap, (due, next(self._order), task, args))
                continue
            TASKS[task](runtime, *args)


class ConsoleNotifier:
    """Reports to the terminal and copies each finished take into the output folder."""

    def __init__(self, out_dir: Path, stream: TextIO, files: dict[str, Path] | None = None) -> None:
        self.out_dir = out_dir
        self.stream = stream
        self.files = files or {}  # reference frames on disk, by the file id the request knows them by
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

    def card_changed(self, take: Take) -> None:
        """The terminal has no cards to edit."""

    def reactions_on(self, channel: str, ts: str) -> dict[str, list[str]] | None:
        return None  # nobody votes in a terminal

    def post_text(self, take: Take, text: str) -> None:
        print(f"  take {take.label}: {text}", file=self.stream, flush=True)

    def post_file(self, take: Take, path: Path, filename: str, comment: str, *, asked_by: str | None = None) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, self.out_dir / filename)
        print(f"  {comment} → {self.out_dir / filename}", file=self.stream, flush=True)

    def permalink(self, channel: str, ts: str) -> str | None:
        return None

    def post_in_channel(self, channel: str, text: str, uploads: list[Upload]) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for upload in uploads:
            shutil.copyfile(upload.path, self.out_dir / upload.filename)
        print(text, file=self.stream, flush=True)

    def keep_file(self, take: Take, path: Path, filename: str) -> str | None:
        return None  # the native file is on this machine, beside its listening copy

    def fetch_file(self, file_id: str, dest_dir: Path) -> tuple[Path, str]:
        if file_id not in self.files:
            raise FileUnavailable(f"no file {file_id} was given")
        return self.files[file_id], self.files[file_id].name

    def contact_sheet(self, request: Request, path: Path) -> str | None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        sheet = self.out_dir / "contact-sheet.png"
        shutil.copyfile(path, sheet)
        print(f"  contact sheet → {sheet}", file=self.stream, flush=True)
        return str(sheet)


def local_references(frames: list[Path]) -> tuple[list[ReferenceImage], dict[str, Path]]:
    """Image files on disk as a brief's reference frames (checked as Slack's would be), and where each is."""
    infos, files = [], {}
    for index, path in enumerate(frames):
        try:
            kind = sniff_image(path)
            width, height = image_size(path)
        except NotMedia as kind_of:
            raise BriefError(f"{path.name} is {kind_of}, not a PNG, JPEG or WebP image, so it cannot be a "
                             "reference frame.", hint=HOW) from None
        except MediaError as problem:
            raise BriefError(f"{path.name} cannot be read as an image ({problem}).", hint=HOW) from None
        file_id = f"local{index}"
        files[file_id] = path
        infos.append({"id": file_id, "name": path.name, "mimetype": f"image/{kind}", "size": path.stat().st_size,
                      "original_w": width, "original_h": height})
    return references_from_files(infos), files


def run_try(brief_text: str, out_dir: Path, settings: Settings, stream: TextIO = sys.stdout,
            frames: list[Path] | None = None) -> list[Take]:
    """Render every take of one brief into `out_dir` (from `frames`, reference frames on disk); raises
    BriefError for a brief that cannot run."""
    brief = parse_brief(brief_text)
    references, files = local_references(frames or [])
    resolved = resolve_brief(brief, settings, ChannelSettings(), references)
    store = in_memory_store()
    scheduler = InlineScheduler()
    notifier = ConsoleNotifier(out_dir, stream, files)
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
    scheduler.enqueue("start_request", request.id)
    scheduler.run_until_idle(runtime)
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
