"""Seedance 2.0 on BytePlus ModelArk (the content-generation tasks API).

- Auth `Authorization: Bearer $ARK_API_KEY`; base URL configurable (`SEEDANCE_API_URL`).
- Create `POST /contents/generations/tasks` with `model`, `content: [{type: text}]`,
  `generate_audio`, `ratio`, `duration` (an integer), `resolution`, `seed` (−1 for
  random) and `watermark: false` → `{"id": "cgt-…"}`. Job id: that task id.
- Poll `GET /contents/generations/tasks/{id}` → `status` queued / running /
  succeeded (`content.video_url`, valid 24 h: fetched right away) / failed
  (`error.code`) / cancelled / expired. `DELETE` on the same path cancels a queued task.
- Image-to-video: the reference frame is a second content item
  `{type: image_url, image_url: {url: "data:image/jpeg;base64,…"}, role: first_frame}`,
  a last frame a third with `role: last_frame`.
- No negative-prompt field and the docs do not ask for one in the text, so it is left out.
- Uncertain facts, all configuration: prices (`DAILIES_PRICES`; tokens ≈
  width × height × 24 fps × seconds / 1024 at ≈ $2.40 per million with audio
  and an estimated $1.20 silent), media hosts (`SEEDANCE_MEDIA_HOSTS`), and the
  capability table by model id below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

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

# ModelArk's result links: ark-content-generation-<region>.tos-<region>.volces.com (and the BytePlus twin).
MEDIA_HOSTS = ("ark-content-generation-*.volces.com", "ark-content-generation-*.bytepluses.com")


class SeedanceConfig(ProviderConfig):
    api_key: str | None = None
    api_url: str = "https://ark.ap-southeast.bytepluses.com/api/v3"
    model_name: str = "dreamina-seedance-2-0-260128"
    credentials_hint: str = "set ARK_API_KEY"


class SeedanceText(BaseModel):
    type: Literal["text"] = "text"
    text: str


class SeedanceImageUrl(BaseModel):
    url: str  # a link, or the image itself as a base64 data URI


class SeedanceImage(BaseModel):
    type: Literal["image_url"] = "image_url"
    image_url: SeedanceImageUrl
    role: Literal["first_frame", "last_frame"]


class SeedanceCreate(BaseModel):
    model: str
    content: list[SeedanceText | SeedanceImage]
    generate_audio: bool
    ratio: Literal["16:9", "9:16", "1:1"]
    duration: int
    resolution: Literal["720p", "1080p"]
    seed: int = -1
    watermark: bool = False
    callback_url: str | None = None  # ModelArk POSTs the task here when its status changes


class SeedanceCreated(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str


class SeedanceContent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    video_url: str | None = None


class SeedanceError(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str | None = None
    message: str | None = None


class SeedanceTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    status: str
    content: SeedanceContent | None = None
    error: SeedanceError | None = None
    usage: dict[str, Any] | None = None
    seed: int | None = None


_CAPS: dict[str, tuple[list[int], list[str]]] = {
    # model id prefix: (durations, resolutions of ours it renders)
    "dreamina-seedance-2-0": (list(range(4, 16)), ["720p"]),
    "seedance-1-5-pro": (list(range(4, 13)), ["720p", "1080p"]),
    "seedance-1-0": (list(range(2, 13)), ["720p", "1080p"]),
}
_TOKENS_PER_S = {"720p": 1280 * 720 * 24 / 1024, "1080p": 1920 * 1080 * 24 / 1024}


def seedance_prices(model_name: str, with_audio_per_m: float = 2.40, silent_per_m: float = 1.20) -> Prices:
    return Prices(
        with_audio={r: round(t * with_audio_per_m / 1e6, 5) for r, t in _TOKENS_PER_S.items()},
        silent={r: round(t * silent_per_m / 1e6, 5) for r, t in _TOKENS_PER_S.items()},
    )


def kind_for_code(code: str) -> FailureKind | None:
    """ModelArk error codes to what Dailies does about them."""
    if "SensitiveContentDetected" in code:
        return FailureKind.policy
    if code.startswith(("RateLimitExceeded", "ServerOverloaded", "InternalServiceError", "ServiceUnavailable")):
        return FailureKind.retry
    if code.startswith(("QuotaExceeded", "SetLimitExceeded", "ModelNotOpen", "AccountOverdue", "Authentication",
                        "AccessDenied", "InvalidApiKey", "Unauthorized")):
        return FailureKind.auth
    if code.startswith(("InvalidParameter", "MissingParameter", "InvalidEndpointOrModel", "InvalidArgument")):
        return FailureKind.bad_request
    return None


class SeedanceProvider(Provider):
    key = "seedance"
    accepts_callbacks = True
    media_hosts = MEDIA_HOSTS

    def __init__(self, config: SeedanceConfig, media: MediaPolicy) -> None:
        self.config = config
        self.display_name = "Seedance 2.0" if config.model_name.startswith("dreamina-seedance-2-0") else f"Seedance ({config.model_name})"
        durations, resolutions = next(
            (caps for prefix, caps in _CAPS.items() if config.model_name.startswith(prefix)), _CAPS["dreamina-seedance-2-0"]
        )
        self.capabilities = Capabilities(
            durations_s=durations,
            aspects=["16:9", "9:16", "1:1"],
            resolutions=resolutions,
            audio_switch=True,
            seed=True,
            negative_prompt=False,
            takes_per_call=1,
            max_prompt_chars=2000,
            first_frame=True,
            last_frame=True,
        )
        self.prices = config.prices or seedance_prices(config.model_name)
        self.render_deadline_s = config.render_deadline_s
        self.media = media
        self.base_url = config.api_url.rstrip("/")

    def _headers(self) -> dict[str, str]:
        if not self.config.api_key:
            raise ProviderError(FailureKind.auth, f"{self.display_name} is not configured: {self.config.credentials_hint}")
        return {"Authorization": f"Bearer {self.config.api_key}", "Content-Type": "application/json"}

    def _raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        body = json_body(response)
        error = body.get("error") if isinstance(body, dict) else None
        code = str(error.get("code") or "") if isinstance(error, dict) else ""
        message = short(error.get("message") or "") if isinstance(error, dict) else ""
        kind = kind_for_code(code) if code else None
        kind = kind or kind_for_status(response.status_code)
        label = code or f"HTTP {response.status_code}"
        raise ProviderError(
            kind, f"{message} ({label})" if message else label,
            retry_after_s=retry_after_s(response.headers) if kind == FailureKind.retry else None,
        )

    # the interface -------------------------------------------------------------

    def compose_prompt(self, spec: RenderSpec) -> str:
        """Seedance's guide: describe the picture, then what is heard; spoken lines in quotes."""
        return fit_prompt([compose_prompt(spec)], self.capabilities.max_prompt_chars)

    def build_request(self, spec: RenderSpec) -> SeedanceCreate:
        return SeedanceCreate(
            model=self.config.model_name,
            content=[SeedanceText(text=self.compose_prompt(spec)), *(
                SeedanceImage(image_url=SeedanceImageUrl(url=frame.data_uri()), role=role)
                for role, frame in (("first_frame", spec.first_frame), ("last_frame", spec.last_frame)) if frame)],
            generate_audio=spec.audio,
            ratio=spec.aspect,
            duration=spec.duration_s,
            resolution=spec.resolution,
            seed=spec.seed % 2**32 if spec.seed is not None else -1,
            watermark=False,
            callback_url=spec.callback_url,
        )

    @property
    def model_id(self) -> str:
        return self.config.model_name

    def request_body(self, spec: RenderSpec) -> dict[str, Any]:
        return self.build_request(spec).model_dump(exclude_none=True)

    def start(self, spec: RenderSpec) -> str:
        headers = self._headers()
        with client(self.config.http_timeout_s) as c:
            response = send(c, "POST", f"{self.base_url}/contents/generations/tasks", name=self.display_name,
                            headers=headers, json=self.request_body(spec))
        self._raise_for(response)
        return parse(SeedanceCreated, response, name=self.display_name).id

    def poll(self, job_id: str) -> PollResult:
        headers = self._headers()
        with client(self.config.http_timeout_s) as c:
            response = send(c, "GET", f"{self.base_url}/contents/generations/tasks/{job_id}", name=self.display_name,
                            headers=headers)
        self._raise_for(response)
        task: SeedanceTask = parse(SeedanceTask, response, name=self.display_name)
        if task.status == "queued":
            return PollResult(phase=JobPhase.queued)
        if task.status == "running":
            return PollResult(phase=JobPhase.running)
        if task.status == "succeeded":
            url = task.content.video_url if task.content else None
            if not url:
                return PollResult(phase=JobPhase.failed, failure_kind=FailureKind.bad_media,
                                  message="the task succeeded but gave no video link")
            return PollResult(phase=JobPhase.succeeded, progress=1.0, result_url=url)
        if task.status == "cancelled":
            return PollResult(phase=JobPhase.failed, failure_kind=FailureKind.cancelled, message="the task was cancelled")
        if task.status == "expired":
            return PollResult(phase=JobPhase.failed, failure_kind=FailureKind.expired,
                              message="the task expired before it was rendered")
        if task.status == "failed":
            code = (task.error.code if task.error else None) or ""
            message = short((task.error.message if task.error else None) or "the render failed without a reason")
            kind = kind_for_code(code) if code else None
            if kind in (None, FailureKind.retry):
                kind = FailureKind.expired  # the task is over; a reroll is a new task
            return PollResult(phase=JobPhase.failed, failure_kind=kind, message=f"{message} ({code})" if code else message)
        return PollResult(phase=JobPhase.running)

    def cancel(self, job_id: str) -> bool:
        headers = self._headers()
        with client(self.config.http_timeout_s) as c:
            response = send(c, "DELETE", f"{self.base_url}/contents/generations/tasks/{job_id}", name=self.display_name,
                            headers=headers)
        if response.is_success:
            return True
        if kind_for_status(response.status_code) == FailureKind.retry:
            self._raise_for(response)
        return False  # e.g. a running task, which ModelArk does not stop

    def fetch(self, job_id: str, result_url: str, dest: Path) -> Path:
        return download(result_url, dest, self.media)

