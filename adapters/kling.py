"""Kling (official API): text-to-video with native sound.

- Auth: a JWT signed HS256 with the secret key, claims `iss` (access key), `exp`
  (now + 30 min) and `nbf` (now − 5 s), sent as `Authorization: Bearer <jwt>`.
  The token is re-signed a minute before it expires, and once more when Kling
  answers 1004 (token expired) or 1003 (not yet valid: clock skew).
- Create `POST /v1/videos/text2video` with `model_name`, `prompt`,
  `negative_prompt`, `sound: "on"|"off"`, `mode` (`std` = 720p, `pro` = 1080p),
  `aspect_ratio`, `duration` as a string, and `external_task_id`: a stable id
  derived from the take's spec, so a resubmit after a lost answer finds the task
  already made (queried by that id) instead of paying twice. Kling has no seed.
- Poll `GET /v1/videos/text2video/{task_id}`. Job id: Kling's `task_id`.
- Image-to-video: `POST /v1/videos/image2video` with the reference frame as
  `image` (base64, no `data:` prefix) and a last frame as `image_tail`; there is
  no `aspect_ratio` (the frame sets it). Polls go to `/v1/videos/image2video/…`,
  so the job id is `image2video/<task_id>`.
- Kling has no cancel call; `cancel` returns False.
- Uncertain facts, all configuration: prices (`DAILIES_PRICES`; the silent
  prices are an estimate), media hosts (`KLING_MEDIA_HOSTS`).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any, Literal

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field

from adapters.base import (
    Capabilities,
    FailureKind,
    JobPhase,
    PollResult,
    Prices,
    Provider,
    ProviderConfig,
    ProviderError,
    RenderSpec,
    compose_prompt,
)
from adapters.download import MediaPolicy, download
from adapters.httpcommon import client, fit_prompt, json_body, kind_for_status, retry_after_s, send, short

MEDIA_HOSTS = ("*.klingai.com",)
TOKEN_LIFETIME_S = 1800
RESIGN_MARGIN_S = 60
_POLICY_WORDS = ("risk", "policy", "sensitive", "violat", "inappropriate", "security")


class KlingConfig(ProviderConfig):
    access_key: str | None = None
    secret_key: str | None = None
    api_url: str = "https://api-singapore.klingai.com"
    model_name: str = "kling-v3"
    render_deadline_s: float = 3600.0
    credentials_hint: str = "set KLING_ACCESS_KEY and KLING_SECRET_KEY"


class KlingCreate(BaseModel):
    model_name: str
    prompt: str
    negative_prompt: str | None = None
    duration: str
    mode: Literal["std", "pro"]
    sound: Literal["on", "off"]
    aspect_ratio: Literal["16:9", "9:16", "1:1"] | None = None  # text2video only: a frame sets its own shape
    image: str | None = None  # image2video: the first frame, base64
    image_tail: str | None = None  # image2video: the last frame, base64
    external_task_id: str | None = None
    callback_url: str | None = None


class KlingVideo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    url: str
    duration: str | None = None


class KlingTaskResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    videos: list[KlingVideo] = Field(default_factory=list)


class KlingTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task_id: str
    task_status: str = "submitted"
    task_status_msg: str | None = None
    task_result: KlingTaskResult | None = None


class KlingEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: int = 0
    message: str | None = None
    request_id: str | None = None
    data: KlingTask | None = None


# Kling's service codes (the `code` of every answer).
def kind_for_code(code: int) -> FailureKind | None:
    if 1000 <= code <= 1004 or 1100 <= code <= 1103 or code == 1304:
        return FailureKind.auth
    if 1200 <= code <= 1203:
        return FailureKind.bad_request
    if code in (1300, 1301):
        return FailureKind.policy
    if code in (1302, 1303) or 5000 <= code <= 5099:
        return FailureKind.retry
    return None


# Model capabilities: v3 renders 3–15 s; v2.6 only 5 or 10 s. Others are treated like v3.
_DURATIONS = {"kling-v2-6": [5, 10]}


TEXT_KIND, IMAGE_KIND = "text2video", "image2video"


def job_id_for(kind: str, task_id: str) -> str:
    """Text tasks keep Kling's bare task id; image tasks say where they are polled."""
    return task_id if kind == TEXT_KIND else f"{kind}/{task_id}"


def kling_prices(model_name: str) -> Prices:
    """Per second [3P]: v3 std (720p) with audio ≈ $0.126, pro (1080p) ≈ $0.168; silent ≈ ⅔ of that [?]."""
    return Prices(with_audio={"720p": 0.126, "1080p": 0.168}, silent={"720p": 0.084, "1080p": 0.112})


def external_task_id(spec: RenderSpec, model_name: str) -> str:
    """Kling's idempotency key for one take: from the take's own id, so a retried submit of the same take finds
    its task, while the same brief and seed in another thread or round is a render of its own."""
    source = spec.render_id or f"{model_name}\n{spec.identity_json()}"  # no id: a one-off spec (tests, try)
    digest = hashlib.sha256(source.encode()).hexdigest()
    return f"dailies-{digest[:32]}"


class KlingProvider(Provider):
    key = "kling"
    accepts_callbacks = True
    media_hosts = MEDIA_HOSTS

    def __init__(self, config: KlingConfig, media: MediaPolicy) -> None:
        self.config = config
        self.display_name = "Kling 3.0" if config.model_name == "kling-v3" else f"Kling ({config.model_name})"
        self.capabilities = Capabilities(
            durations_s=_DURATIONS.get(config.model_name, list(range(3, 16))),
            aspects=["16:9", "9:16", "1:1"],
            resolutions=["720p", "1080p"],
            audio_switch=True,
            seed=False,
            negative_prompt=True,
            takes_per_call=1,
            max_prompt_chars=2500,
            first_frame=True,
            last_frame=True,
        )
        self.prices = config.prices or kling_prices(config.model_name)
        self.render_deadline_s = config.render_deadline_s
        self.media = media
        self.base_url = config.api_url.rstrip("/")
        self._token: str | None = None
        self._token_expires = 0.0

    # auth ----------------------------------------------------------------------

    def token(self, *, fresh: bool = False) -> str:
        if not (self.config.access_key and self.config.secret_key):
            raise ProviderError(FailureKind.auth, f"{self.display_name} is not configured: {self.config.credentials_hint}")
        now = time.time()
        if fresh or self._token is None or now > self._token_expires - RESIGN_MARGIN_S:
            claims = {"iss": self.config.access_key, "exp": int(now) + TOKEN_LIFETIME_S, "nbf": int(now) - 5}
            self._token = jwt.encode(claims, self.config.secret_key, algorithm="HS256", headers={"typ": "JWT"})
            self._token_expires = now + TOKEN_LIFETIME_S
        return self._token

    def _call(self, method: str, path: str, *, json: dict[str, Any] | None = None) -> KlingEnvelope:
        """One API call; re-signs the token once when Kling says it expired or is not valid yet."""
        fresh = False
        for _attempt in range(2):
            headers = {"Authorization": f"Bearer {self.token(fresh=fresh)}", "Content-Type": "application/json"}
            with client(self.config.http_timeout_s) as c:
                response = send(c, method, self.base_url + path, name=self.display_name, headers=headers, json=json)
            body = json_body(response)
            code = body.get("code") if isinstance(body, dict) else None
            if code in (1003, 1004) and not fresh:
                fresh = True
                continue
            return self._envelope(response, body)
        raise AssertionError("unreachable")

    def _envelope(self, response: httpx.Response, body: Any) -> KlingEnvelope:
        code = body.get("code") if isinstance(body, dict) else None
        message = short(body.get("message") or "") if isinstance(body, dict) else ""
        if isinstance(code, int) and code != 0:
            kind = kind_for_code(code) or kind_for_status(response.status_code)
            raise ProviderError(
                kind, f"{message or 'error'} (code {code})",
                retry_after_s=retry_after_s(response.headers) if kind == FailureKind.retry else None,
            )
        if not response.is_success:
            kind = kind_for_status(response.status_code)
            raise ProviderError(
                kind, f"{message or 'error'} (HTTP {response.status_code})",
                retry_after_s=retry_after_s(response.headers) if kind == FailureKind.retry else None,
            )
        try:
            return KlingEnvelope.model_validate(body)
        except ValueError:
            raise ProviderError(FailureKind.retry, f"{self.display_name} sent an answer Dailies could not read") from None

    # the interface -------------------------------------------------------------

    def compose_prompt(self, spec: RenderSpec) -> str:
        """Kling's guide: the scene first, then the sound, music and the quoted lines (the negative has its own field)."""
        return fit_prompt([compose_prompt(spec)], self.capabilities.max_prompt_chars)

    def build_request(self, spec: RenderSpec) -> KlingCreate:
        negative = spec.negative.strip()[:2500] if spec.negative and spec.negative.strip() else None
        return KlingCreate(
            model_name=self.config.model_name,
            prompt=self.compose_prompt(spec),
            negative_prompt=negative,
            duration=str(spec.duration_s),
            mode="pro" if spec.resolution == "1080p" else "std",
            sound="on" if spec.audio else "off",
            aspect_ratio=None if spec.first_frame else spec.aspect,
            image=spec.first_frame.base64() if spec.first_frame else None,
            image_tail=spec.last_frame.base64() if spec.last_frame else None,
            external_task_id=external_task_id(spec, self.config.model_name),
            callback_url=spec.callback_url,
        )

    @property
    def model_id(self) -> str:
        return self.config.model_name

    def request_body(self, spec: RenderSpec) -> dict[str, Any]:
        return self.build_request(spec).model_dump(exclude_none=True)

    def start(self, spec: RenderSpec) -> str:
        request = self.build_request(spec)
        kind = IMAGE_KIND if spec.first_frame else TEXT_KIND
        try:
            envelope = self._call("POST", f"/v1/videos/{kind}", json=request.model_dump(exclude_none=True))
        except ProviderError as error:
            if error.kind in (FailureKind.bad_request, FailureKind.retry) and request.external_task_id:
                existing = self._find_existing(kind, request.external_task_id)
                if existing:
                    return job_id_for(kind, existing)
            raise
        if envelope.data is None or not envelope.data.task_id:
            raise ProviderError(FailureKind.retry, f"{self.display_name} accepted the task but sent no task id")
        return job_id_for(kind, envelope.data.task_id)

    def _find_existing(self, kind: str, external_id: str) -> str | None:
        """The task a previous submit of this same take already created, if any (queried by external_task_id)."""
        try:
            envelope = self._call("GET", f"/v1/videos/{kind}/{external_id}")
        except ProviderError:
            return None
        return envelope.data.task_id if envelope.data else None

    def poll(self, job_id: str) -> PollResult:
        kind, _, task_id = job_id.rpartition("/")
        envelope = self._call("GET", f"/v1/videos/{kind or TEXT_KIND}/{task_id}")
        task = envelope.data
        if task is None:
            raise ProviderError(FailureKind.retry, f"{self.display_name} sent a task status without the task")
        status = task.task_status
        if status == "submitted":
            return PollResult(phase=JobPhase.queued)
        if status == "processing":
            return PollResult(phase=JobPhase.running)
        if status == "succeed":
            videos = task.task_result.videos if task.task_result else []
            if not videos:
                return PollResult(phase=JobPhase.failed, failure_kind=FailureKind.bad_media,
                                  message="the task succeeded but listed no video")
            return PollResult(phase=JobPhase.succeeded, progress=1.0, result_url=videos[0].url)
        if status == "failed":
            message = short(task.task_status_msg or "the render failed without a reason")
            lowered = message.lower()
            kind = FailureKind.policy if any(w in lowered for w in _POLICY_WORDS) else FailureKind.expired
            return PollResult(phase=JobPhase.failed, failure_kind=kind, message=message)
        return PollResult(phase=JobPhase.running)

    def fetch(self, job_id: str, result_url: str, dest: Path) -> Path:
        return download(result_url, dest, self.media)
