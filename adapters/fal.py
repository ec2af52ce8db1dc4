"""Any fal.ai queue endpoint (`--model fal:<endpoint>`, e.g. `fal:fal-ai/veo3.1`).

- Auth `Authorization: Key $FAL_KEY`; base URL `FAL_QUEUE_URL` (default `https://queue.fal.run`).
- Submit `POST {queue}/{endpoint}` with the model's input →
  `{request_id, status_url, response_url, cancel_url}`. Those URLs are used as
  returned (never rebuilt), and only when they are on the queue's own host: the
  key is never sent anywhere else.
- Job id: compact JSON holding the endpoint, the request id and the three URLs
  (`{"e":…,"id":…,"s":…,"r":…,"c":…}`), since the pipeline keeps one string.
- Poll `GET status_url` → `IN_QUEUE` (with `queue_position`), `IN_PROGRESS`,
  `COMPLETED` (carrying `error` / `error_type` when it failed); on completion the
  result is read from `response_url` (`{"video": {"url": …}}`). Cancel is `PUT cancel_url`.
- Errors: model errors are `{"detail": [{"type": …, "msg": …}]}` (HTTP 422;
  `content_policy_violation` is a policy refusal), request errors are
  `{"detail": "…", "error_type": "…"}` and the `X-Fal-Error-Type` header.
- Image-to-video goes to the endpoint's sibling: `fal-ai/veo3.1/image-to-video` with
  `image_url` (the frame as a data URI), and first and last frame to
  `fal-ai/veo3.1/first-last-frame-to-video` with `first_frame_url` and `last_frame_url`.
  An unknown `…/text-to-video` endpoint is assumed to have an `…/image-to-video` sibling
  taking `image_url`; any other unknown endpoint makes video from text only.
- Known endpoints have a profile (capabilities, input shape, prices). Any other
  endpoint gets a generic text-to-video profile (`prompt`, `aspect_ratio`,
  `duration` as "5", `resolution`, `negative_prompt`, `generate_audio`, `seed`)
  and, unless `DAILIES_PRICES` names it, the highest known price ($0.40/s) so a
  budget is never under-counted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.base import (
    Aspect,
    Capabilities,
    FailureKind,
    JobPhase,
    PollResult,
    Prices,
    Provider,
    ProviderConfig,
    ProviderError,
    RenderSpec,
    Resolution,
    compose_prompt,
)
from adapters.download import MediaPolicy, download
from adapters.httpcommon import (
    client,
    fit_prompt,
    json_body,
    kind_for_status,
    parse,
    retry_after_s,
    send,
    short,
)
from adapters.veo import compose_veo_prompt

MEDIA_HOSTS = ("fal.media", "*.fal.media", "storage.googleapis.com/falserverless/")
ENDPOINT_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(?:/[\w.-]+)*$")
RETRY_ERROR_TYPES = ("generation_timeout", "downstream_service_error", "downstream_service_unavailable",
                     "internal_server_error")


class FalProfile(BaseModel):
    display_name: str
    durations_s: list[int]
    aspects: list[Aspect]
    resolutions: list[Resolution]
    duration_format: str = "{n}s"
    audio_field: str | None = "generate_audio"
    negative_prompt: bool = True
    seed: bool = True
    send_resolution: bool = True
    prompt_style: Literal["veo", "plain"] = "plain"
    max_prompt_chars: int = 4000
    prices: Prices
    video_to_audio: bool = False  # a new sound for an existing picture (`video_url`), not a picture
    image_endpoint: str | None = None  # the image-to-video sibling (`image_url`)
    first_last_endpoint: str | None = None  # the first-and-last-frame sibling (`first_frame_url`, `last_frame_url`)


_VEO = {"durations_s": [4, 6, 8], "aspects": ["16:9", "9:16"], "resolutions": ["720p", "1080p"], "prompt_style": "veo"}
PROFILES: dict[str, FalProfile] = {
    "fal-ai/veo3.1": FalProfile(display_name="Veo 3.1 (fal)", **_VEO,
                                prices=Prices(with_audio={"720p": 0.40, "1080p": 0.40}, silent={"720p": 0.20, "1080p": 0.20}),
                                image_endpoint="fal-ai/veo3.1/image-to-video",
                                first_last_endpoint="fal-ai/veo3.1/first-last-frame-to-video"),
    "fal-ai/veo3.1/fast": FalProfile(display_name="Veo 3.1 fast (fal)", **_VEO,
                                     prices=Prices(with_audio={"720p": 0.15, "1080p": 0.15}, silent={"720p": 0.10, "1080p": 0.10}),
                                     image_endpoint="fal-ai/veo3.1/fast/image-to-video",
                                     first_last_endpoint="fal-ai/veo3.1/fast/first-last-frame-to-video"),
    "fal-ai/veo3/fast": FalProfile(display_name="Veo 3 fast (fal)", **_VEO,
                                   prices=Prices(with_audio={"720p": 0.15, "1080p": 0.15}, silent={"720p": 0.10, "1080p": 0.10}),
                                   image_endpoint="fal-ai/veo3/fast/image-to-video"),
    # Video-to-audio (re-sound): `video_url`, `prompt`, `negative_prompt`, `seed` 0–65535, `num_steps`, `duration`;
    # the result is `video` (the picture with its new sound). About $0.001 per second.
    "fal-ai/mmaudio-v2": FalProfile(display_name="MMAudio v2 (fal)", durations_s=list(range(1, 31)),
                                    aspects=["16:9", "9:16", "1:1"], resolutions=["720p", "1080p"], audio_field=None,
                                    send_resolution=False, video_to_audio=True, max_prompt_chars=1000,
                                    prices=Prices(with_audio={"720p": 0.001, "1080p": 0.001},
                                                  silent={"720p": 0.001, "1080p": 0.001})),
}
TEXT_TO_VIDEO = "/text-to-video"
MMAUDIO_SEEDS = 65536
MMAUDIO_STEPS = 25
MAX_SOURCE_VIDEO_BYTES = 40 * 1024 * 1024  # sent inline as a data URI: a larger take is refused, never cut


def generic_profile(endpoint: str) -> FalProfile:
    return FalProfile(
        display_name=f"fal {endpoint}",
        durations_s=list(range(2, 16)),
        aspects=["16:9", "9:16", "1:1"],
        resolutions=["720p", "1080p"],
        duration_format="{n}",
        prices=Prices(with_audio={"720p": 0.40, "1080p": 0.40}, silent={"720p": 0.40, "1080p": 0.40}),
        image_endpoint=endpoint[: -len(TEXT_TO_VIDEO)] + "/image-to-video" if endpoint.endswith(TEXT_TO_VIDEO) else None,
    )


class FalConfig(ProviderConfig):
    api_key: str | None = None
    queue_url: str = "https://queue.fal.run"
    endpoint: str
    credentials_hint: str = "set FAL_KEY"


class FalInput(BaseModel):
    """The input of a fal text-to-video endpoint (the Veo 3.1 shape; fields a profile lacks are left out)."""

    prompt: str
    aspect_ratio: str
    duration: str
    resolution: str | None = None
    negative_prompt: str | None = None
    generate_audio: bool | None = None
    seed: int | None = None
    image_url: str | None = None  # image-to-video
    first_frame_url: str | None = None  # first-and-last-frame
    last_frame_url: str | None = None


class FalSoundInput(BaseModel):
    """The input of a fal video-to-audio endpoint (`fal-ai/mmaudio-v2`)."""

    video_url: str
    prompt: str
    negative_prompt: str | None = None
    seed: int | None = None
    num_steps: int = MMAUDIO_STEPS
    duration: float


class FalQueued(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request_id: str
    status_url: str
    response_url: str
    cancel_url: str
    queue_position: int | None = None


class FalJob(BaseModel):
    """What the job id carries (compact JSON)."""

    model_config = ConfigDict(populate_by_name=True)

    endpoint: str = Field(alias="e")
    request_id: str = Field(alias="id")
    status_url: str = Field(alias="s")
    response_url: str = Field(alias="r")
    cancel_url: str = Field(alias="c")

    def encode(self) -> str:
        return json.dumps(self.model_dump(by_alias=True), separators=(",", ":"))

    @classmethod
    def decode(cls, job_id: str) -> FalJob:
        try:
            return cls.model_validate_json(job_id)
        except ValidationError:
            raise ProviderError(FailureKind.bad_request, f"{job_id[:60]!r} is not a fal job id") from None


class FalStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: str
    queue_position: int | None = None
    response_url: str | None = None
    error: Any = None
    error_type: str | None = None


class FalFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str
    content_type: str | None = None


class FalResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    video: FalFile | None = None
    videos: list[FalFile] = Field(default_factory=list)


def classify(status: int | None, body: Any, headers: httpx.Headers | None = None, *, finished: bool = False) -> tuple[FailureKind, str]:
    """fal's error shapes to (kind, message). `finished`: the request is over, so a transient cause means a reroll."""
    error_type = headers.get("x-fal-error-type") if headers is not None else None
    message = ""
    detail_types: list[str] = []
    if isinstance(body, dict):
        detail = body.get("detail")
        error_type = body.get("error_type") or error_type
        if isinstance(detail, list):
            for item in detail:
                if isinstance(item, dict):
                    detail_types.append(str(item.get("type") or ""))
                    message = message or str(item.get("msg") or "")
        elif detail:
            message = str(detail)
        if body.get("error") and not message:
            message = str(body["error"])
    types = [t for t in [*detail_types, error_type or ""] if t]
    message = short(message or (f"HTTP {status}" if status else "the request failed"))
    if "content_policy_violation" in types or "content policy" in message.lower():
        return FailureKind.policy, message
    if any("cancel" in t for t in types):
        return FailureKind.cancelled, message
    if status in (401, 403):
        return FailureKind.auth, message
    transient = any(t in RETRY_ERROR_TYPES for t in types) or (error_type is not None and not detail_types)
    if status is not None and kind_for_status(status) == FailureKind.retry or transient:
        return (FailureKind.expired if finished else FailureKind.retry), message
    if status == 404:
        return FailureKind.expired, message
    if finished and not detail_types:
        return FailureKind.expired, message
    return FailureKind.bad_request, message


class FalProvider(Provider):
    media_hosts = MEDIA_HOSTS
    accepts_callbacks = True

    def __init__(self, config: FalConfig, media: MediaPolicy) -> None:
        self.config = config
        self.endpoint = config.endpoint.strip().strip("/")
        self.key = f"fal:{self.endpoint}"
        self.profile = PROFILES.get(self.endpoint) or generic_profile(self.endpoint)
        self.display_name = self.profile.display_name
        self.capabilities = Capabilities(
            durations_s=self.profile.durations_s,
            aspects=self.profile.aspects,
            resolutions=self.profile.resolutions,
            audio_switch=self.profile.audio_field is not None,
            seed=self.profile.seed,
            negative_prompt=self.profile.negative_prompt,
            takes_per_call=1,
            max_prompt_chars=self.profile.max_prompt_chars,
            first_frame=self.profile.image_endpoint is not None,
            last_frame=self.profile.first_last_endpoint is not None,
            makes_picture=not self.profile.video_to_audio,
            video_to_audio=self.profile.video_to_audio,
        )
        self.prices = config.prices or self.profile.prices
        self.render_deadline_s = config.render_deadline_s
        self.media = media
        self.queue_url = config.queue_url.rstrip("/")

    def _headers(self) -> dict[str, str]:
        if not self.config.api_key:
            raise ProviderError(FailureKind.auth, f"{self.display_name} is not configured: {self.config.credentials_hint}")
        return {"Authorization": f"Key {self.config.api_key}", "Content-Type": "application/json"}

    def _on_queue_host(self, url: str) -> bool:
        want, got = urlsplit(self.queue_url), urlsplit(url)
        return (want.scheme, want.hostname, want.port) == (got.scheme, got.hostname, got.port)

    def _raise_for(self, response: httpx.Response, *, finished: bool = False) -> None:
        if response.is_success:
            return
        kind, message = classify(response.status_code, json_body(response), response.headers, finished=finished)
        raise ProviderError(
            kind, f"{message} (HTTP {response.status_code})" if kind != FailureKind.policy else message,
            retry_after_s=retry_after_s(response.headers) if kind == FailureKind.retry else None,
        )

    # the interface -------------------------------------------------------------

    def compose_prompt(self, spec: RenderSpec) -> str:
        if self.profile.prompt_style == "veo":
            return compose_veo_prompt(spec, self.profile.max_prompt_chars)
        return fit_prompt([compose_prompt(spec)], self.profile.max_prompt_chars)

    def build_input(self, spec: RenderSpec) -> FalInput:
        profile = self.profile
        negative = spec.negative.strip() if spec.negative and spec.negative.strip() else None
        return FalInput(
            prompt=self.compose_prompt(spec),
            aspect_ratio=spec.aspect,
            duration=profile.duration_format.format(n=spec.duration_s),
            resolution=spec.resolution if profile.send_resolution else None,
            negative_prompt=negative if profile.negative_prompt else None,
            generate_audio=spec.audio if profile.audio_field else None,
            seed=spec.seed if profile.seed and spec.seed is not None else None,
            image_url=spec.first_frame.data_uri() if spec.first_frame and not spec.last_frame else None,
            first_frame_url=spec.first_frame.data_uri() if spec.first_frame and spec.last_frame else None,
            last_frame_url=spec.last_frame.data_uri() if spec.first_frame and spec.last_frame else None,
        )

    def endpoint_for(self, spec: RenderSpec) -> str:
        """The endpoint that renders `spec`: this one, or its image-to-video or first-and-last-frame sibling."""
        if spec.first_frame and spec.last_frame and self.profile.first_last_endpoint:
            return self.profile.first_last_endpoint
        if spec.first_frame and self.profile.image_endpoint:
            return self.profile.image_endpoint
        return self.endpoint

    def model_id_for(self, spec: RenderSpec) -> str:
        return self.endpoint_for(spec)

    @property
    def model_id(self) -> str:
        return self.endpoint

    def build_sound_input(self, spec: RenderSpec) -> FalSoundInput:
        """A new sound for the take's picture, handed over inline (fal accepts a data URI wherever it takes a file
        URL), never as a Slack link."""
        assert spec.source_video is not None
        if spec.source_video.size_bytes > MAX_SOURCE_VIDEO_BYTES:
            raise ProviderError(FailureKind.bad_request, f"the take's file is {spec.source_video.size_bytes // 1048576} "
                                f"MB; {self.display_name} is sent at most {MAX_SOURCE_VIDEO_BYTES // 1048576} MB")
        negative = spec.negative.strip() if spec.negative and spec.negative.strip() else None
        return FalSoundInput(video_url=spec.source_video.data_uri(), prompt=self.compose_sound_prompt(spec),
                             negative_prompt=negative, seed=spec.seed % MMAUDIO_SEEDS if spec.seed is not None else None,
                             duration=float(spec.duration_s))

    def compose_sound_prompt(self, spec: RenderSpec) -> str:
        """Only the sound: the model hears the picture itself."""
        parts = [*spec.sound]
        if spec.music and not spec.music_off:
            parts.append(f"music: {spec.music}")
        elif spec.music_off:
            parts.append("no music")
        parts += [f"{line.speaker or 'a voice'} says: {line.line}" for line in spec.dialogue]
        if spec.standing_sound:
            parts.append(spec.standing_sound)
        return fit_prompt(["; ".join(parts) or spec.picture], self.profile.max_prompt_chars)

    def request_body(self, spec: RenderSpec) -> dict[str, Any]:
        if self.profile.video_to_audio:
            body = self.build_sound_input(spec).model_dump(exclude_none=True)
            return body
        return self.build_input(spec).model_dump(exclude_none=True)

    def start(self, spec: RenderSpec) -> str:
        # fal calls `fal_webhook` when the request finishes (https://docs.fal.ai/model-apis/model-endpoints/webhooks).
        return self.submit_to(self.endpoint_for(spec), self.request_body(spec), callback_url=spec.callback_url)

    def submit_to(self, endpoint: str, body: dict[str, Any], *, callback_url: str | None = None) -> str:
        """Queue `body` on `endpoint`; the job id the pipeline keeps (see FalJob)."""
        if not ENDPOINT_RE.match(endpoint):
            raise ProviderError(FailureKind.bad_request, f"`{endpoint}` is not a fal endpoint id (like fal-ai/veo3.1)")
        headers = self._headers()
        with client(self.config.http_timeout_s) as c:
            params = {"fal_webhook": callback_url} if callback_url else None
            response = send(c, "POST", f"{self.queue_url}/{endpoint}", name=self.display_name, headers=headers,
                            params=params, json=body)
        self._raise_for(response)
        queued: FalQueued = parse(FalQueued, response, name=self.display_name)
        for url in (queued.status_url, queued.response_url, queued.cancel_url):
            if not self._on_queue_host(url):
                raise ProviderError(
                    FailureKind.bad_request,
                    f"fal answered a link on {urlsplit(url).hostname}, not on the queue's host; Dailies will not send the key there",
                )
        return FalJob(endpoint=endpoint, request_id=queued.request_id, status_url=queued.status_url,
                      response_url=queued.response_url, cancel_url=queued.cancel_url).encode()

    def _job(self, job_id: str) -> FalJob:
        job = FalJob.decode(job_id)
        if not all(self._on_queue_host(u) for u in (job.status_url, job.response_url, job.cancel_url)):
            raise ProviderError(FailureKind.bad_request, "the fal job's links are not on the configured queue host")
        return job

    def poll(self, job_id: str) -> PollResult:
        finished = self.finished(job_id)
        if isinstance(finished, PollResult):
            return finished
        output: FalResult = parse(FalResult, finished, name=self.display_name)
        video = output.video or (output.videos[0] if output.videos else None)
        if video is None:
            return PollResult(phase=JobPhase.failed, failure_kind=FailureKind.bad_media,
                              message="the request completed without a video")
        return PollResult(phase=JobPhase.succeeded, progress=1.0, result_url=video.url)

    def finished(self, job_id: str) -> PollResult | httpx.Response:
        """Where the request stands (a PollResult), or, once it completed well, the response holding its result."""
        job = self._job(job_id)
        headers = self._headers()
        with client(self.config.http_timeout_s) as c:
            response = send(c, "GET", job.status_url, name=self.display_name, headers=headers)
            self._raise_for(response)
            status: FalStatus = parse(FalStatus, response, name=self.display_name)
            if status.status == "IN_QUEUE":
                return PollResult(phase=JobPhase.queued, queue_position=status.queue_position)
            if status.status == "IN_PROGRESS":
                return PollResult(phase=JobPhase.running)
            if status.status != "COMPLETED":
                return PollResult(phase=JobPhase.running)
            if status.error or status.error_type:
                kind, message = classify(None, {"detail": status.error, "error_type": status.error_type}, finished=True)
                return PollResult(phase=JobPhase.failed, failure_kind=kind, message=message)
            result = send(c, "GET", job.response_url, name=self.display_name, headers=headers)
        if not result.is_success:
            body = json_body(result)
            stored = isinstance(body, dict) and ("detail" in body or "error_type" in body)
            if result.status_code == 429 or (kind_for_status(result.status_code) == FailureKind.retry and not stored):
                # reading the result failed, not the render: read it again later
                raise ProviderError(FailureKind.retry, f"fal answered HTTP {result.status_code} for the result",
                                    retry_after_s=retry_after_s(result.headers))
            kind, message = classify(result.status_code, body, result.headers, finished=True)
            return PollResult(phase=JobPhase.failed, failure_kind=kind, message=message)
        return result

    def cancel(self, job_id: str) -> bool:
        job = self._job(job_id)
        headers = self._headers()
        with client(self.config.http_timeout_s) as c:
            response = send(c, "PUT", job.cancel_url, name=self.display_name, headers=headers)
        if response.is_success:
            return True
        if kind_for_status(response.status_code) == FailureKind.retry:
            self._raise_for(response)
        return False  # e.g. ALREADY_COMPLETED

    def fetch(self, job_id: str, result_url: str, dest: Path) -> Path:
        return download(result_url, dest, self.media)
