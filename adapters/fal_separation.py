"""fal's text-prompted sound separation (`fal-ai/sam-audio/separate`): one sound out of a mix, and the rest.

The shapes are those of fal's own client (`@fal-ai/client`, src/types/endpoints.d.ts: `SAMAudioInput`,
`SamAudioSeparateOutput`):

- Submit `POST {queue}/fal-ai/sam-audio/separate` with `{"audio_url": …, "prompt": "speech", "output_format":
  "wav"}` (`audio_url` a data URI or a URL fal can fetch; WAV, MP3 or FLAC) → the queue's usual
  `{request_id, status_url, response_url, cancel_url}`; status and errors as every fal endpoint (see fal.py).
- Result `{"target": File, "residual": File, "duration": s, "sample_rate": Hz}`: `target` is the sound the prompt
  names and `residual` everything else, so the two sum back to the input.

Dialogue, music and effects take two passes: "speech" out of the mix, then "music" out of what is left (its
`residual` URL is handed straight to the second pass); effects are the second pass's residual.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from adapters.base import FailureKind, JobPhase, PollResult, ProviderError
from adapters.download import MediaPolicy, download
from adapters.fal import FalConfig, FalFile, FalProvider
from adapters.httpcommon import parse

MAX_INLINE_AUDIO_BYTES = 40 * 1024 * 1024  # sent inline as a data URI, as re-sound sends its picture


class SeparationInput(BaseModel):
    audio_url: str
    prompt: str
    output_format: Literal["wav", "mp3"] = "wav"


class SeparationOutput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    target: FalFile
    residual: FalFile
    duration: float | None = None
    sample_rate: int | None = None


class SeparationPoll(BaseModel):
    """Where a separation stands: running, failed (with why) or done (the two files' URLs)."""

    phase: JobPhase
    message: str | None = None
    failure_kind: FailureKind | None = None
    target_url: str | None = None
    residual_url: str | None = None


def audio_data_uri(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_INLINE_AUDIO_BYTES:
        raise ProviderError(FailureKind.bad_request, f"the take's sound is {size // 1048576} MB as FLAC; at most "
                            f"{MAX_INLINE_AUDIO_BYTES // 1048576} MB is sent for separation")
    return "data:audio/flac;base64," + base64.b64encode(path.read_bytes()).decode()


class FalSeparator:
    """Submit a separation, check on it, fetch its files (only from fal's media hosts, as renders are)."""

    def __init__(self, config: FalConfig, media: MediaPolicy) -> None:
        self.queue = FalProvider(config, media)
        self.endpoint = self.queue.endpoint
        self.display_name = f"fal {self.endpoint}"
        self.media = media

    def submit(self, audio_url: str, prompt: str) -> str:
        body = SeparationInput(audio_url=audio_url, prompt=prompt).model_dump()
        return self.queue.submit_to(self.endpoint, body)

    def poll(self, job_id: str) -> SeparationPoll:
        finished = self.queue.finished(job_id)
        if isinstance(finished, PollResult):
            return SeparationPoll(phase=finished.phase, message=finished.message, failure_kind=finished.failure_kind)
        output: SeparationOutput = parse(SeparationOutput, finished, name=self.display_name)
        return SeparationPoll(phase=JobPhase.succeeded, target_url=output.target.url,
                              residual_url=output.residual.url)

    def fetch(self, url: str, dest: Path) -> Path:
        return download(url, dest, self.media)
