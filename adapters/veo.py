"""Veo 3.1 on Vertex AI: `predictLongRunning` to start, `fetchPredictOperation` to poll.

- Auth: `Authorization: Bearer <OAuth access token>`, from the configured token
  (`VEO_ACCESS_TOKEN`) or, when the optional `google` extra is installed, from
  Google application-default credentials (refreshed before they expire).
- Job id: the long-running operation's full name
  (`projects/…/locations/…/publishers/google/models/<model>/operations/<id>`);
  polls go to the model named in it, so a config change never orphans a render.
- Results: with a `storageUri` (VEO_STORAGE_URI) Vertex writes to Cloud Storage
  and answers `gcsUri`; the file is fetched through the Storage JSON API with the
  same bearer token. Without one it answers `bytesBase64Encoded`; the poll then
  reports the result as `veo-inline:<index>` (a few MB of base64 is not kept in
  Redis) and `fetch` reads the finished operation again and decodes it, capped.
- Image-to-video: the reference frame goes inline as `instances[0].image`
  (`{bytesBase64Encoded, mimeType}`), a last frame as `instances[0].lastFrame` (Veo 3.1).
- Speech and sound are described in the prompt (speech in quotes), the negative
  prompt has its own field, `generateAudio` is the audio switch.
- Uncertain facts, all configuration: 1080p only at 8 s (`VEO_1080P_DURATIONS_S`),
  prices (`DAILIES_PRICES`), `personGeneration` (`VEO_PERSON_GENERATION`). Vertex
  documents no cancel for these operations, so `cancel` returns False.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Literal, cast

import httpx
from pydantic import BaseModel, ConfigDict, Field

from adapters.base import (
    Capabilities,
    FailureKind,
    FrameImage,
    JobPhase,
    PollResult,
    Prices,
    Provider,
    ProviderConfig,
    ProviderError,
    RenderSpec,
    standing_sound_sentence,
)
from adapters.download import MediaPolicy, download, gcs_download_url, write_base64
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

INLINE_PREFIX = "veo-inline:"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
MEDIA_HOSTS = ("storage.googleapis.com",)
_OPERATION_RE = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/publishers/google/models/(?P<model>[^/:]+)/operations/[^/]+$"
)
_POLICY_WORDS = ("usage guidelines", "responsible ai", "violat", "safety", "prohibited", "sensitive", "blocked")


class VeoConfig(ProviderConfig):
    project: str | None = None
    location: str = "us-central1"
    model_name: str = "veo-3.1-generate-001"
    api_url: str | None = None
    access_token: str | None = None
    use_adc: bool = True
    storage_uri: str | None = None
    storage_api_url: str = "https://storage.googleapis.com"
    person_generation: str | None = "allow_adult"
    full_hd_durations_s: list[int] = Field(default_factory=lambda: [8])
    render_deadline_s: float = 1200.0
    credentials_hint: str = "set VEO_PROJECT and VEO_ACCESS_TOKEN, or install the `google` extra for application-default credentials"


# request and response shapes --------------------------------------------------


class VeoImage(BaseModel):
    """An image in a Vertex request: inline bytes as base64, with their MIME type."""

    model_config = ConfigDict(populate_by_name=True)

    bytes_base64_encoded: str = Field(alias="bytesBase64Encoded")
    mime_type: str = Field(alias="mimeType")


def veo_image(frame: FrameImage | None) -> VeoImage | None:
    return VeoImage(bytes_base64_encoded=frame.base64(), mime_type=frame.mimetype) if frame else None


class VeoInstance(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    prompt: str
    image: VeoImage | None = None  # image-to-video: the first frame
    last_frame: VeoImage | None = Field(None, alias="lastFrame")  # Veo 3.1: the frame to end on


class VeoParameters(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    sample_count: int = Field(1, alias="sampleCount")
    duration_seconds: int = Field(alias="durationSeconds")
    aspect_ratio: Literal["16:9", "9:16"] = Field(alias="aspectRatio")
    resolution: Literal["720p", "1080p"]
    generate_audio: bool = Field(alias="generateAudio")
    negative_prompt: str | None = Field(None, alias="negativePrompt")
    seed: int | None = None
    person_generation: str | None = Field(None, alias="personGeneration")
    storage_uri: str | None = Field(None, alias="storageUri")


class VeoPredictRequest(BaseModel):
    instances: list[VeoInstance]
    parameters: VeoParameters


class VeoOperationRef(BaseModel):
    name: str


class VeoFetchRequest(BaseModel):
    operation_name: str = Field(alias="operationName")
    model_config = ConfigDict(populate_by_name=True)


class VeoVideo(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    gcs_uri: str | None = Field(None, alias="gcsUri")
    bytes_base64: str | None = Field(None, alias="bytesBase64Encoded")
    mime_type: str | None = Field(None, alias="mimeType")


class VeoResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    videos: list[VeoVideo] = Field(default_factory=list)
    rai_filtered_count: int = Field(0, alias="raiMediaFilteredCount")
    rai_filtered_reasons: list[str] = Field(default_factory=list, alias="raiMediaFilteredReasons")


class VeoStatus(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: int = 0
    message: str = ""


class VeoOperation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = ""
    done: bool = False
    response: VeoResponse | None = None
    error: VeoStatus | None = None
    metadata: dict[str, Any] | None = None


# gRPC status codes a finished operation can carry.
_GRPC_KINDS: dict[int, FailureKind] = {
    1: FailureKind.cancelled,
    3: FailureKind.bad_request,
    4: FailureKind.expired,
    5: FailureKind.expired,
    7: FailureKind.auth,
    8: FailureKind.expired,  # quota ran out mid-render: the operation is over, a reroll may pass
    9: FailureKind.bad_request,
    10: FailureKind.expired,
    13: FailureKind.expired,
    14: FailureKind.expired,
    16: FailureKind.auth,
}


def veo_prices(model_name: str) -> Prices:
    """Published Vertex prices per second [?]: Veo 3.1 $0.40 with audio / $0.20 without; fast $0.15 / $0.10."""
    if "fast" in model_name:
        return Prices(with_audio={"720p": 0.15, "1080p": 0.15}, silent={"720p": 0.10, "1080p": 0.10})
    return Prices(with_audio={"720p": 0.40, "1080p": 0.40}, silent={"720p": 0.20, "1080p": 0.20})


def compose_veo_prompt(spec: RenderSpec, max_chars: int = 4000) -> str:
    """Veo's guide: the shot first, then who says what (speech in quotes), then sound effects and music."""
    parts = [_sentence(spec.picture)]
    if spec.audio:
        for spoken in spec.dialogue:
            who = spoken.speaker.strip().title() if spoken.speaker else "A voice"
            parts.append(f'{who} says, "{spoken.line.strip()}"')
        if spec.sound:
            parts.append("SFX: " + "; ".join(_clean(s) for s in spec.sound) + ".")
        if spec.music_off:
            parts.append("No music.")
        elif spec.music:
            parts.append("Music: " + _clean(spec.music) + ".")
        parts.append(standing_sound_sentence(spec))
    return fit_prompt([p for p in parts if p], max_chars)


def _clean(text: str) -> str:
    return text.strip().rstrip(".")


def _sentence(text: str) -> str:
    text = _clean(text)
    return text + "." if text else ""


class VeoProvider(Provider):
    key = "veo"
    media_hosts = MEDIA_HOSTS

    def __init__(self, config: VeoConfig, media: MediaPolicy) -> None:
        self.config = config
        self.display_name = "Veo 3.1 fast" if "fast" in config.model_name else "Veo 3.1"
        self.capabilities = Capabilities(
            durations_s=[4, 6, 8],
            aspects=["16:9", "9:16"],
            resolutions=["720p", "1080p"],
            audio_switch=True,
            seed=True,
            negative_prompt=True,
            takes_per_call=4,
            max_prompt_chars=4000,
            durations_by_resolution={"1080p": list(config.full_hd_durations_s)} if config.full_hd_durations_s else {},
            first_frame=True,
            last_frame=True,
        )
        self.prices = config.prices or veo_prices(config.model_name)
        self.render_deadline_s = config.render_deadline_s
        self.media = media
        self._credentials: Any = None
        if config.api_url:
            self.base_url = config.api_url.rstrip("/")
        elif config.location == "global":
            self.base_url = "https://aiplatform.googleapis.com"
        else:
            self.base_url = f"https://{config.location}-aiplatform.googleapis.com"

    # credentials -------------------------------------------------------------

    def _token(self) -> str:
        if not self.config.project:
            raise ProviderError(FailureKind.auth, f"{self.display_name} is not configured: {self.config.credentials_hint}")
        if self.config.access_token:
            return self.config.access_token
        token = self._adc_token() if self.config.use_adc else None
        if not token:
            raise ProviderError(FailureKind.auth, f"{self.display_name} has no access token: {self.config.credentials_hint}")
        return token

    def _adc_token(self) -> str | None:
        try:
            import google.auth
            import google.auth.exceptions
            import google.auth.transport.requests
        except ImportError:
            return None
        try:
            if self._credentials is None:
                self._credentials, _project = google.auth.default(scopes=list(SCOPES))
            if not self._credentials.valid:
                self._credentials.refresh(google.auth.transport.requests.Request())
        except google.auth.exceptions.DefaultCredentialsError:
            return None
        except google.auth.exceptions.TransportError as error:
            raise ProviderError(FailureKind.retry, f"could not refresh the Google token ({short(error, 120)})") from None
        except google.auth.exceptions.RefreshError as error:
            raise ProviderError(FailureKind.auth, f"Google refused to refresh the token ({short(error, 120)})") from None
        token = self._credentials.token
        return str(token) if token else None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}", "Content-Type": "application/json"}

    # the interface -------------------------------------------------------------

    def compose_prompt(self, spec: RenderSpec) -> str:
        return compose_veo_prompt(spec, self.capabilities.max_prompt_chars)

    def model_url(self, model: str, project: str | None = None, location: str | None = None) -> str:
        return (
            f"{self.base_url}/v1/projects/{project or self.config.project}/locations/{location or self.config.location}"
            f"/publishers/google/models/{model}"
        )

    def build_request(self, spec: RenderSpec) -> VeoPredictRequest:
        return VeoPredictRequest(
            instances=[VeoInstance(prompt=self.compose_prompt(spec), image=veo_image(spec.first_frame),
                                   last_frame=veo_image(spec.last_frame))],
            parameters=VeoParameters(
                sample_count=1,
                duration_seconds=spec.duration_s,
                aspect_ratio=cast(Literal["16:9", "9:16"], spec.aspect),  # capabilities() admits only these two
                resolution=spec.resolution,
                generate_audio=spec.audio,
                negative_prompt=spec.negative.strip() if spec.negative and spec.negative.strip() else None,
                seed=(spec.seed % 2**32) if spec.seed is not None else None,
                person_generation=self.config.person_generation or None,
                storage_uri=self.config.storage_uri or None,
            ),
        )

    @property
    def model_id(self) -> str:
        return self.config.model_name

    def request_body(self, spec: RenderSpec) -> dict[str, Any]:
        return self.build_request(spec).model_dump(by_alias=True, exclude_none=True)

    def start(self, spec: RenderSpec) -> str:
        headers = self._headers()
        body = self.request_body(spec)
        with client(self.config.http_timeout_s) as c:
            response = send(c, "POST", self.model_url(self.config.model_name) + ":predictLongRunning",
                            name=self.display_name, headers=headers, json=body)
        self._raise_for(response)
        ref = parse(VeoOperationRef, response, name=self.display_name)
        if not _OPERATION_RE.match(ref.name):
            raise ProviderError(FailureKind.retry, f"{self.display_name} answered an operation name Dailies cannot read")
        return ref.name

    def _fetch_operation(self, job_id: str, *, timeout: httpx.Timeout | float | None = None,
                         max_bytes: int | None = None) -> VeoOperation:
        match = _OPERATION_RE.match(job_id)
        if not match:
            raise ProviderError(FailureKind.bad_request, f"{job_id[:80]!r} is not a Veo operation name")
        headers = self._headers()
        url = self.model_url(match["model"], match["project"], match["location"]) + ":fetchPredictOperation"
        body = VeoFetchRequest(operation_name=job_id).model_dump(by_alias=True)
        with client(timeout or self.config.http_timeout_s) as c:
            try:
                with c.stream("POST", url, headers=headers, json=body) as response:
                    content = _read_capped(response, max_bytes or self.media.max_bytes * 4 // 3 + 1_000_000)
            except httpx.TimeoutException:
                raise ProviderError(FailureKind.retry, f"{self.display_name} did not answer in time") from None
            except httpx.TransportError as error:
                raise ProviderError(FailureKind.retry, f"could not reach {self.display_name} ({type(error).__name__})") from None
        self._raise_for(response, content, polling=True)
        try:
            return VeoOperation.model_validate_json(content)
        except ValueError:
            raise ProviderError(FailureKind.retry, f"{self.display_name} sent an operation Dailies could not read") from None

    def poll(self, job_id: str) -> PollResult:
        operation = self._fetch_operation(job_id)
        if not operation.done:
            progress = None
            if operation.metadata and isinstance(operation.metadata.get("progressPercent"), int | float):
                progress = max(0.0, min(1.0, float(operation.metadata["progressPercent"]) / 100))
            return PollResult(phase=JobPhase.running, progress=progress)
        if operation.error and operation.error.code:
            kind = _GRPC_KINDS.get(operation.error.code, FailureKind.expired)
            message = operation.error.message or f"error code {operation.error.code}"
            if _looks_like_policy(message):
                kind = FailureKind.policy
            return PollResult(phase=JobPhase.failed, failure_kind=kind, message=short(message))
        result = operation.response or VeoResponse()
        for index, video in enumerate(result.videos):
            if video.gcs_uri:
                return PollResult(phase=JobPhase.succeeded, progress=1.0, result_url=video.gcs_uri)
            if video.bytes_base64:
                return PollResult(phase=JobPhase.succeeded, progress=1.0, result_url=f"{INLINE_PREFIX}{index}")
        if result.rai_filtered_count > 0:
            reasons = "; ".join(result.rai_filtered_reasons) or "the video was filtered by Google's safety checks"
            return PollResult(phase=JobPhase.failed, failure_kind=FailureKind.policy, message=short(reasons))
        return PollResult(
            phase=JobPhase.failed, failure_kind=FailureKind.policy,
            message="it returned no video (Google's filters usually do this without saying why)",
        )

    def fetch(self, job_id: str, result_url: str, dest: Path) -> Path:
        if result_url.startswith(INLINE_PREFIX):
            index = int(result_url[len(INLINE_PREFIX):] or 0)
            timeout = httpx.Timeout(connect=10.0, read=self.media.timeout_s, write=30.0, pool=10.0)
            operation = self._fetch_operation(job_id, timeout=timeout)
            videos = operation.response.videos if operation.response else []
            if index >= len(videos) or not videos[index].bytes_base64:
                raise ProviderError(FailureKind.expired, "the finished video is no longer in the operation; reroll the take")
            return write_base64(videos[index].bytes_base64 or "", dest, self.media.max_bytes)
        if result_url.startswith("gs://"):
            url = gcs_download_url(result_url, self.config.storage_api_url)
            return download(url, dest, self.media, headers={"Authorization": f"Bearer {self._token()}"})
        return download(result_url, dest, self.media)

    # errors --------------------------------------------------------------------

    def _raise_for(self, response: httpx.Response, content: bytes | None = None, *, polling: bool = False) -> None:
        if response.is_success:
            return
        status = response.status_code
        body: Any = None
        if content is not None:
            try:
                body = json.loads(content)
            except ValueError:
                body = None
        else:
            body = json_body(response)
        error = body.get("error") if isinstance(body, dict) else None
        message = ""
        grpc_status = ""
        if isinstance(error, dict):
            message = str(error.get("message") or "")
            grpc_status = str(error.get("status") or "")
        message = short(message or f"HTTP {status}")
        kind = kind_for_status(status)
        if status == 404 and not polling:
            kind = FailureKind.bad_request  # the model or project does not exist: a configuration mistake
        if grpc_status == "RESOURCE_EXHAUSTED" or status == 429:
            kind = FailureKind.retry
        elif status == 400 and _looks_like_policy(message):
            kind = FailureKind.policy
        raise ProviderError(
            kind, f"{message} (HTTP {status})" if kind != FailureKind.policy else message,
            retry_after_s=retry_after_s(response.headers) if kind == FailureKind.retry else None,
        )


def _looks_like_policy(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _POLICY_WORDS)


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + 600
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ProviderError(FailureKind.bad_media, "the operation answer is larger than the download limit")
        if time.monotonic() > deadline:
            raise ProviderError(FailureKind.retry, "the operation answer took too long to arrive")
        chunks.append(chunk)
    return b"".join(chunks)
