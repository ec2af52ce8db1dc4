"""The one interface every video provider implements, and the shapes it speaks in."""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

Aspect = Literal["16:9", "9:16", "1:1"]
Resolution = Literal["720p", "1080p"]
# The picture size of each shape and resolution (what previz renders, and what a reference frame is fitted to).
FRAME_SIZES_PX: dict[tuple[str, str], tuple[int, int]] = {
    ("16:9", "720p"): (1280, 720),
    ("9:16", "720p"): (720, 1280),
    ("1:1", "720p"): (720, 720),
    ("16:9", "1080p"): (1920, 1080),
    ("9:16", "1080p"): (1080, 1920),
    ("1:1", "1080p"): (1080, 1080),
}


class SpokenLine(BaseModel):
    speaker: str | None = None
    line: str


class FrameImage(BaseModel):
    """A reference frame ready to send: already checked, scaled and cropped to the render's size, as JPEG."""

    path: Path
    mimetype: Literal["image/jpeg", "image/png"] = "image/jpeg"
    width_px: int
    height_px: int
    sha256: str

    def base64(self) -> str:
        return base64.b64encode(self.path.read_bytes()).decode("ascii")

    def data_uri(self) -> str:
        return f"data:{self.mimetype};base64,{self.base64()}"


class SourceVideo(BaseModel):
    """An existing take's file handed to a video-to-audio model (re-sound): it makes a new sound for this picture."""

    path: Path
    sha256: str
    size_bytes: int
    mimetype: str = "video/mp4"

    def data_uri(self) -> str:
        return f"data:{self.mimetype};base64,{base64.b64encode(self.path.read_bytes()).decode('ascii')}"


class RenderSpec(BaseModel):
    """One take to render, in provider-neutral terms."""

    picture: str
    sound: list[str] = Field(default_factory=list)
    music: str | None = None
    music_off: bool = False
    dialogue: list[SpokenLine] = Field(default_factory=list)
    negative: str | None = None
    duration_s: int
    aspect: Aspect
    resolution: Resolution
    seed: int | None = None
    audio: bool = True
    label: str = ""
    # Unique per take: a provider that dedupes submissions (Kling's external_task_id) keys them on this, so a
    # retried submit finds its own render and two takes never share one.
    render_id: str = ""
    # Where the provider may call back when the render finishes (providers with `accepts_callbacks`); a hint only.
    callback_url: str | None = None
    # The channel's sound bible: standing sound direction, after the brief's own (which wins where they differ).
    standing_sound: str | None = None
    # Image-to-video: the take starts from `first_frame` (and ends on `last_frame` where the model can).
    first_frame: FrameImage | None = None
    last_frame: FrameImage | None = None
    # Re-sound: a new sound for this existing picture (a video-to-audio model); the picture is kept as it is.
    source_video: SourceVideo | None = None

    def identity_json(self) -> str:
        """The spec as JSON without what differs between machines for the same render (where a file lies)."""
        return self.model_dump_json(exclude={"label": True, "first_frame": {"path"}, "last_frame": {"path"},
                                             "source_video": {"path"}})


class Capabilities(BaseModel):
    durations_s: list[int]
    aspects: list[Aspect]
    resolutions: list[Resolution]
    audio_switch: bool = True
    always_audio: bool = False
    seed: bool = True
    negative_prompt: bool = True
    takes_per_call: int = 1
    max_prompt_chars: int = 2500
    # A resolution only available at some durations (e.g. Veo: 1080p only at 8 s).
    durations_by_resolution: dict[str, list[int]] = Field(default_factory=dict)
    first_frame: bool = False  # image-to-video from a reference frame
    last_frame: bool = False  # and ending on a second one
    makes_picture: bool = True  # False: a video-to-audio model, which only gives an existing picture a new sound
    video_to_audio: bool = False  # it makes a new sound for an existing picture (re-sound)

    def problems(self, spec: RenderSpec) -> list[str]:
        """What this model cannot do of what `spec` asks, as plain sentences (empty when it can)."""
        found: list[str] = []
        if spec.duration_s not in self.durations_s:
            found.append(f"{spec.duration_s} s clips (it makes {_ranges(self.durations_s)} s)")
        if spec.aspect not in self.aspects:
            found.append(f"{spec.aspect} (it makes {', '.join(self.aspects)})")
        if spec.resolution not in self.resolutions:
            found.append(f"{spec.resolution} (it makes {', '.join(self.resolutions)})")
        if not spec.audio and self.always_audio:
            found.append("silent clips (it always generates sound)")
        if spec.first_frame and not self.first_frame:
            found.append("a take from a reference frame (it makes video from text only)")
        if spec.last_frame and not self.last_frame:
            found.append("a take that ends on a given last frame")
        if spec.source_video is None and not self.makes_picture:
            found.append("a picture from words (it makes a new sound for an existing take: `@dailies resound`)")
        if spec.source_video is not None and not self.video_to_audio:
            found.append("a new sound for an existing picture")
        allowed = self.durations_by_resolution.get(spec.resolution)
        if allowed and spec.resolution in self.resolutions and spec.duration_s in self.durations_s \
                and spec.duration_s not in allowed:
            found.append(f"{spec.resolution} at {spec.duration_s} s (it makes {spec.resolution} only at "
                         f"{_ranges(allowed)} s)")
        return found


def _ranges(values: list[int]) -> str:
    ordered = sorted(set(values))
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}–{ordered[-1]}"
    return ", ".join(str(v) for v in ordered)


class Prices(BaseModel):
    """USD per second of output, by resolution."""

    with_audio: dict[str, float]
    silent: dict[str, float]

    def per_second(self, resolution: str, audio: bool) -> float:
        table = self.with_audio if audio else self.silent
        return table.get(resolution, max(table.values(), default=0.0))

    def estimate_usd(self, resolution: str, audio: bool, duration_s: float, takes: int = 1) -> float:
        return round(self.per_second(resolution, audio) * duration_s * takes, 4)


class ProviderConfig(BaseModel):
    """What every network adapter's configuration carries besides its keys and URLs."""

    prices: Prices | None = None  # None: the adapter's published prices
    render_deadline_s: float = 1800.0  # give up on a render after this long
    http_timeout_s: float = 30.0  # each API call
    credentials_hint: str = ""  # what to set when a key is missing


class JobPhase(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class FailureKind(StrEnum):
    retry = "retry"  # 429, 5xx, timeouts: try again later
    policy = "policy"  # refused by content policy: say so, never retry, never charge
    bad_request = "bad_request"  # a bug or a capability gap
    auth = "auth"  # credentials or quota: tell the requester and the operator
    expired = "expired"  # the provider dropped the job
    cancelled = "cancelled"
    bad_media = "bad_media"  # the result file is unusable


class ProviderError(Exception):
    def __init__(self, kind: FailureKind, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after_s = retry_after_s


class PollResult(BaseModel):
    phase: JobPhase
    progress: float | None = None
    queue_position: int | None = None
    result_url: str | None = None
    failure_kind: FailureKind | None = None
    message: str | None = None


class Provider(ABC):
    """A video model behind one interface. Implementations must not block on a render."""

    key: str
    display_name: str
    capabilities: Capabilities
    prices: Prices
    media_hosts: tuple[str, ...] = ()
    render_deadline_s: float | None = None  # give up on a render after this long (None: the global setting)
    accepts_callbacks: bool = False  # submit() passes RenderSpec.callback_url on to the provider
    # The render is a file on the machine that submitted it (previz): poll and fetch must run there too.
    renders_locally: bool = False

    @property
    def model_id(self) -> str:
        """The provider's own name for the model (`kling-v3`, `fal-ai/veo3.1`…), for provenance."""
        return self.key

    def model_id_for(self, spec: RenderSpec) -> str:
        """The model that renders `spec` (a provider may route image-to-video to a sibling model)."""
        return self.model_id

    def request_body(self, spec: RenderSpec) -> dict[str, Any]:
        """Exactly what `submit` sends for `spec` (the prompt and every parameter), for provenance."""
        body = {"prompt": self.compose_prompt(spec), "duration_s": spec.duration_s, "aspect": spec.aspect,
                "resolution": spec.resolution, "seed": spec.seed, "audio": spec.audio}
        for field, frame in (("first_frame_sha256", spec.first_frame), ("last_frame_sha256", spec.last_frame)):
            if frame is not None:
                body[field] = frame.sha256
        return body

    def submit(self, spec: RenderSpec) -> str:
        """Start a render and return the provider's job id as soon as it exists; a spec the model cannot make is
        refused (`bad_request`) before anything is sent."""
        problems = self.capabilities.problems(spec)
        if problems:
            raise ProviderError(FailureKind.bad_request, f"{self.display_name} cannot make " + " or ".join(problems))
        return self.start(spec)

    @abstractmethod
    def start(self, spec: RenderSpec) -> str:
        """Send the render request (`spec` is one the model makes); the provider's job id."""

    @abstractmethod
    def poll(self, job_id: str) -> PollResult:
        """One short status check."""

    def cancel(self, job_id: str) -> bool:
        """Ask the provider to stop; False where the API has no cancel call."""
        return False

    def fetch(self, job_id: str, result_url: str, dest: Path) -> Path:
        """Put the finished file at `dest`. Network providers use the safe downloader."""
        raise NotImplementedError

    def compose_prompt(self, spec: RenderSpec) -> str:
        return compose_prompt(spec)


def compose_prompt(spec: RenderSpec, *, include_negative: bool = False) -> str:
    """Picture first, then sound lines, music and quoted dialogue, as the video models' guides advise."""
    parts = [spec.picture.strip().rstrip(".") + "." if spec.picture.strip() else ""]
    if spec.audio:
        if spec.sound:
            parts.append("Sound: " + "; ".join(s.strip().rstrip(".") for s in spec.sound) + ".")
        if spec.music_off:
            parts.append("No music.")
        elif spec.music:
            parts.append("Music: " + spec.music.strip().rstrip(".") + ".")
        for spoken in spec.dialogue:
            who = f"{spoken.speaker.strip().title()} says" if spoken.speaker else "A voice says"
            parts.append(f'{who}: "{spoken.line.strip()}"')
        parts.append(standing_sound_sentence(spec))
    if include_negative and spec.negative:
        parts.append(f"Avoid: {spec.negative}.")
    return " ".join(p for p in parts if p).strip()


def standing_sound_sentence(spec: RenderSpec) -> str:
    """The sound bible as the last sound direction, marked as giving way to the brief's own lines."""
    if not spec.audio or not spec.standing_sound or not spec.standing_sound.strip():
        return ""
    return ("Standing sound direction for this campaign (the sound described above wins where they differ): "
            + spec.standing_sound.strip().rstrip(".") + ".")
