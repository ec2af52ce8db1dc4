"""fal.ai queue stand-in: submit, status (with queue positions), result, cancel, and fal's two error shapes."""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass
from typing import Any

from tests.standins.media import (
    ImageProblem,
    decode_audio_field,
    decode_image_field,
    decode_video_field,
    resounded_mp4,
    sample_mp4,
    separated_wavs,
)
from tests.standins.server import Recorded, Reply, StandinServer

FAL_KEY = "fal-standin-key:secret"
_REQUEST_PATH = re.compile(r"^/(?P<endpoint>.+)/requests/(?P<id>[0-9a-f-]{36})(?P<tail>/status|/cancel)?$")


@dataclass
class FalJob:
    request_id: str
    endpoint: str
    body: dict[str, Any]
    finish_after: int
    outcome: str
    video_url: str | None
    polls: int = 0
    cancelled: bool = False
    webhook: str | None = None


class FalStandin(StandinServer):
    name = "fal"

    def __init__(self, key: str = FAL_KEY) -> None:
        super().__init__()
        self.key = key
        self.finish_after_polls = 3  # IN_QUEUE (position 1), IN_PROGRESS, then COMPLETED
        self.outcome = "success"  # "success", "policy", "validation", "infra"
        self.video_url: str | None = None
        self.urls_host: str | None = None  # answer status/response/cancel URLs on another host
        self.jobs: dict[str, FalJob] = {}
        self.most_in_flight = 0
        self.separations: list[dict[str, str]] = []  # prompt and (the start of) audio_url of each separation
        self._order = itertools.count(1)

    def route(self, request: Recorded) -> Reply | None:
        if request.headers.get("authorization") != f"Key {self.key}":
            return Reply(401, {"detail": "Unauthorized: invalid or missing key"})
        match = _REQUEST_PATH.match(request.path)
        if match:
            job = self.jobs.get(match["id"])
            if job is None:
                return Reply(404, {"detail": "Request not found"})
            tail = match["tail"]
            if tail == "/status" and request.method == "GET":
                return self._status(job)
            if tail == "/cancel" and request.method == "PUT":
                if job.polls >= job.finish_after:
                    return Reply(400, {"status": "ALREADY_COMPLETED"})
                job.cancelled = True
                return Reply(202, {"status": "CANCELLATION_REQUESTED"})
            if tail is None and request.method == "GET":
                return self._result(job)
            return Reply(405, {"detail": "Method not allowed"})
        if request.method == "POST":
            return self._submit(request)
        return Reply(404, {"detail": "Not found"})

    def in_flight(self) -> int:
        """Requests submitted and neither finished nor cancelled."""
        return sum(1 for job in list(self.jobs.values()) if job.polls < job.finish_after and not job.cancelled)

    def _submit(self, request: Recorded) -> Reply:
        endpoint = request.path.strip("/")
        body = request.json if isinstance(request.json, dict) else {}
        if not body.get("prompt"):
            return Reply(422, {"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "missing"}]})
        # Image-to-video siblings take the frame as `image_url`; first-last-frame ones take both frames.
        fields = (["image_url"] if endpoint.endswith("/image-to-video") else
                  ["first_frame_url", "last_frame_url"] if endpoint.endswith("/first-last-frame-to-video") else [])
        for field in fields:
            try:
                decode_image_field(body.get(field), data_uri=True)
            except ImageProblem as problem:
                return Reply(422, {"detail": [{"loc": ["body", field], "msg": str(problem), "type": "value_error"}]})
        if endpoint == "fal-ai/sam-audio/separate":  # SAMAudioInput: `audio_url`, `prompt`, `output_format`
            audio = decode_audio_field(body.get("audio_url"), {p: m.data for p, m in self.media.items()})
            if audio is None:
                return Reply(422, {"detail": [{"loc": ["body", "audio_url"], "msg": "Could not read the audio",
                                               "type": "value_error"}]})
            self.separations.append({"prompt": body["prompt"], "audio_url": str(body["audio_url"])[:80]})
            body = {**body, "audio_url": f"<{len(audio)} bytes>", "_audio": audio}
        if endpoint == "fal-ai/mmaudio-v2":  # video-to-audio: `video_url` (a URL fal can fetch, or a data URI)
            video = decode_video_field(body.get("video_url"))
            if video is None:
                return Reply(422, {"detail": [{"loc": ["body", "video_url"], "msg": "Could not read the video",
                                               "type": "value_error"}]})
            if not 0 <= int(body.get("seed", 0)) <= 65535 or not 4 <= int(body.get("num_steps", 25)) <= 50:
                return Reply(422, {"detail": [{"loc": ["body", "seed"], "msg": "out of range", "type": "value_error"}]})
            body = {**body, "video_url": f"<{len(video)} bytes>", "_video": video}
        request_id = str(uuid.uuid4())
        with self.lock:  # fal's own record of how many of this key's requests were in flight at once
            self.most_in_flight = max(self.most_in_flight, 1 + self.in_flight())
        self.jobs[request_id] = FalJob(request_id, endpoint, body, self.finish_after_polls, self.outcome, self.video_url,
                                       webhook=(request.query.get("fal_webhook") or [None])[0])
        base = self.urls_host or self.url
        root = f"{base}/{endpoint}/requests/{request_id}"
        return Reply(200, {
            "request_id": request_id, "response_url": root, "status_url": root + "/status",
            "cancel_url": root + "/cancel", "queue_position": 0,
        })

    def _status(self, job: FalJob) -> Reply:
        job.polls += 1
        if job.cancelled:
            return Reply(200, {"status": "COMPLETED", "error": "Request was cancelled", "error_type": "request_cancelled"})
        if job.polls < job.finish_after - 1:
            return Reply(202, {"status": "IN_QUEUE", "queue_position": job.finish_after - 1 - job.polls,
                               "response_url": f"{self.url}/{job.endpoint}/requests/{job.request_id}"})
        if job.polls < job.finish_after:
            return Reply(202, {"status": "IN_PROGRESS", "logs": [],
                               "response_url": f"{self.url}/{job.endpoint}/requests/{job.request_id}"})
        answer: dict[str, Any] = {"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 42.0},
                                  "response_url": f"{self.url}/{job.endpoint}/requests/{job.request_id}"}
        if job.outcome == "infra":
            answer.update(error="Runner disconnected", error_type="runner_disconnected")
        return Reply(200, answer)

    def _result(self, job: FalJob) -> Reply:
        if job.polls < job.finish_after:
            return Reply(400, {"detail": "Request is still in progress"})
        if job.outcome == "policy":
            return Reply(422, {"detail": [{
                "loc": ["body", "prompt"], "msg": "The content was flagged by a content checker.",
                "type": "content_policy_violation", "url": "https://docs.fal.ai/errors#content_policy_violation",
                "input": job.body.get("prompt"),
            }]})
        if job.outcome == "validation":
            return Reply(422, {"detail": [{"loc": ["body", "duration"], "msg": "unexpected value", "type": "literal_error"}]})
        if job.outcome == "infra":
            return Reply(503, {"detail": "Runner disconnected", "error_type": "runner_disconnected"},
                         headers={"X-Fal-Error-Type": "runner_disconnected"})
        if "_audio" in job.body:  # SamAudioSeparateOutput
            split = separated_wavs(job.body["_audio"], job.body["prompt"])
            if split is None:
                return Reply(422, {"detail": [{"loc": ["body", "audio_url"], "msg": "Could not decode the audio",
                                               "type": "value_error"}]})
            urls = [self.serve_media(f"/media/{job.request_id}-{part}.wav", data)
                    for part, data in zip(("target", "residual"), split, strict=True)]
            files = [{"url": url, "content_type": "audio/wav", "file_name": url.rsplit("/", 1)[1]} for url in urls]
            return Reply(200, {"target": files[0], "residual": files[1], "duration": 0.0, "sample_rate": 48000})
        if "_video" in job.body:
            media = resounded_mp4(job.body["_video"], int(job.body.get("seed", 0)), float(job.body.get("duration", 8)))
        else:
            media = sample_mp4(bool(job.body.get("generate_audio", True)))
        url = job.video_url or self.serve_media(f"/media/{job.request_id}.mp4", media)
        return Reply(200, {"video": {"url": url, "content_type": "video/mp4", "file_name": "output.mp4"},
                           "seed": job.body.get("seed", 0)})

    def finish(self, request_id: str) -> None:
        """The render is done: the next status check says COMPLETED, and fal calls the webhook (fal's shape)."""
        job = self.jobs[request_id]
        job.finish_after = job.polls + 1
        payload = {"video": {"url": f"{self.url}/media/forged-by-callback.mp4"}}  # receivers must not trust it
        self.call_back(job.webhook, {"request_id": request_id, "gateway_request_id": request_id, "status": "OK",
                                     "payload": payload})

