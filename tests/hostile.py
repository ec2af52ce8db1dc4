"""Helpers for the hostile-input, money and fault tests: a test-only provider that hands back crafted files,
the crafted files themselves, and checks over everything Dailies sent to the Slack stand-in."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adapters.base import Capabilities, JobPhase, PollResult, Prices, Provider, ProviderError, RenderSpec
from adapters.media import ffmpeg_exe
from jobs.domain import providers
from jobs.infra.settings import Settings
from tests.standins.slack import SlackStandIn

POSTING_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish", "views.open")


class CraftedProvider(Provider):
    """Answers at once with a file chosen by the take's label (`*` for any other label)."""

    key = "crafted"
    display_name = "Crafted (test)"
    capabilities = Capabilities(durations_s=list(range(1, 31)), aspects=["16:9", "9:16", "1:1"],
                                resolutions=["720p", "1080p"], max_prompt_chars=3000)
    prices = Prices(with_audio={"720p": 0.0, "1080p": 0.0}, silent={"720p": 0.0, "1080p": 0.0})

    def __init__(self, files: dict[str, Path], errors: dict[str, ProviderError]) -> None:
        self.files = files
        self.errors = errors

    def start(self, spec: RenderSpec) -> str:
        error = self.errors.get(spec.label)
        if error is not None:
            raise error
        return f"{spec.label}:{uuid.uuid4().hex[:8]}"

    def poll(self, job_id: str) -> PollResult:
        return PollResult(phase=JobPhase.succeeded, progress=1.0, result_url=f"https://crafted.invalid/{job_id}")

    def fetch(self, job_id: str, result_url: str, dest: Path) -> Path:
        label = job_id.split(":", 1)[0]
        source = self.files.get(label) or self.files["*"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        return dest


@contextmanager
def crafted_provider(files: dict[str, Path], errors: dict[str, ProviderError] | None = None,
                     key: str = "crafted") -> Iterator[str]:
    """Register the crafted provider as `--model <key>` for the duration of a test."""
    errors = errors or {}
    providers.FACTORIES[key] = lambda settings, model_key: CraftedProvider(files, errors)
    try:
        yield key
    finally:
        providers.FACTORIES.pop(key, None)


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", *args], check=True,
                   capture_output=True, timeout=60)


def make_clip(path: Path, *, seconds: float = 1.0, size: str = "320x180", audio: bool = True,
              noise: bool = False) -> Path:
    video = f"testsrc2=size={size}:rate=24:duration={seconds}" if not noise else \
        f"nullsrc=size={size}:rate=24:duration={seconds},geq=random(1)*255:128:128"
    args = ["-f", "lavfi", "-i", video]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-map", "0:v"] + (["-map", "1:a", "-c:a", "aac", "-ar", "48000", "-ac", "2"] if audio else [])
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast", "-movflags", "+faststart",
             "-t", str(seconds)]
    if noise:
        args += ["-crf", "0"]
    ffmpeg(*args, str(path))
    return path


def crafted_files(folder: Path) -> dict[str, Path]:
    """good, empty, not-a-video, no audio, too long, too large, truncated and damaged-picture files."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "good": make_clip(folder / "good.mp4"),
        "noaudio": make_clip(folder / "noaudio.mp4", audio=False),
        "long": make_clip(folder / "long.mp4", seconds=4),
        "large": make_clip(folder / "large.mp4", noise=True),  # ~2 MB of noise: over a 1 MB cap
    }
    (folder / "empty.mp4").write_bytes(b"")
    files["empty"] = folder / "empty.mp4"
    (folder / "text.mp4").write_text("<html>this is an error page, not a video</html>\n" * 20)
    files["text"] = folder / "text.mp4"
    whole = make_clip(folder / "whole.mp4", seconds=3)
    data = whole.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: int(len(data) * 0.5)])
    files["truncated"] = folder / "truncated.mp4"
    # Every frame after the first keyframe scrambled (the noise bitstream filter), the sound untouched.
    ffmpeg("-i", str(whole), "-map", "0", "-c", "copy", "-bsf:v", "noise=amount=100*not(key)",
           str(folder / "badpicture.mp4"))
    files["badpicture"] = folder / "badpicture.mp4"
    return files


def priced(settings_overrides: dict[str, Any], model: str, usd_per_s: float) -> dict[str, Any]:
    """Settings overrides that price `model` at `usd_per_s` (with and without audio, both resolutions)."""
    table = {"720p": usd_per_s, "1080p": usd_per_s}
    prices = dict(settings_overrides.get("DAILIES_PRICES") or {})
    prices[model] = {"with_audio": table, "silent": table}
    return {**settings_overrides, "DAILIES_PRICES": prices}


# -- what Dailies sent ---------------------------------------------------------------------------------


def outbound(slack: SlackStandIn, methods: tuple[str, ...] = POSTING_METHODS) -> list[tuple[str, dict[str, Any]]]:
    """(method, args) of every call that puts words in Slack, with JSON fields decoded."""
    out = []
    with slack.lock:
        calls = list(slack.calls)
    for call in calls:
        if call.method in methods or call.method == "files.completeUploadExternal":
            args = {k: _decoded(v) for k, v in call.args.items()}
            out.append((call.method, args))
    return out


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def every_string(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from every_string(item)
    elif isinstance(value, list):
        for item in value:
            yield from every_string(item)


def limit_problems(method: str, args: dict[str, Any]) -> list[str]:
    """Every way one recorded call breaks Slack's documented message limits."""
    problems: list[str] = []
    text = args.get("text") or ""
    if len(text) > 40_000:
        problems.append(f"{method}: text {len(text)} > 40000")
    blocks = args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    limit = 100 if method in ("views.publish", "views.open") else 50
    if method in ("views.publish", "views.open"):
        blocks = (args.get("view") or {}).get("blocks") or []
    if len(blocks) > limit:
        problems.append(f"{method}: {len(blocks)} blocks > {limit}")
    for block in blocks:
        kind = block.get("type")
        if len(block.get("block_id") or "") > 255:
            problems.append(f"{method}: block_id over 255")
        if kind == "section":
            if len((block.get("text") or {}).get("text") or "") > 3000:
                problems.append(f"{method}: section text {len(block['text']['text'])} > 3000")
            fields = block.get("fields") or []
            if len(fields) > 10 or any(len(f.get("text") or "") > 2000 for f in fields):
                problems.append(f"{method}: section fields over limits")
        if kind == "header" and len((block.get("text") or {}).get("text") or "") > 150:
            problems.append(f"{method}: header over 150")
        if kind == "context":
            elements = block.get("elements") or []
            if len(elements) > 10 or any(len(e.get("text") or "") > 3000 for e in elements):
                problems.append(f"{method}: context over limits")
        if kind == "actions":
            elements = block.get("elements") or []
            if len(elements) > 25:
                problems.append(f"{method}: {len(elements)} action elements > 25")
            for element in elements:
                if len(element.get("action_id") or "") > 255:
                    problems.append(f"{method}: action_id over 255")
                if len(((element.get("text") or {}).get("text")) or "") > 75:
                    problems.append(f"{method}: button text over 75")
                if len(element.get("value") or "") > 2000:
                    problems.append(f"{method}: button value over 2000")
                for option in element.get("options") or []:
                    if len(option["text"]["text"]) > 75 or len(option.get("value") or "") > 150:
                        problems.append(f"{method}: option over limits")
    return problems


def settings_with(settings: Settings, **overrides: Any) -> Settings:
    values = {field.alias or name: getattr(settings, name) for name, field in type(settings).model_fields.items()}
    for name, value in list(values.items()):
        if hasattr(value, "get_secret_value"):
            values[name] = value.get_secret_value()
    values.update(overrides)
    return type(settings)(**values)
