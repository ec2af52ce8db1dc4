"""BytePlus ModelArk stand-in: content-generation tasks (create, get, delete) with OpenAI-style errors."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from tests.standins.media import ImageProblem, decode_image_field, sample_mp4
from tests.standins.server import Recorded, Reply, StandinServer

API_KEY = "ark-standin-key"
BASE = "/api/v3/contents/generations/tasks"


def ark_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message, "param": "", "type": code.split(".")[0]}})


@dataclass
class SeedanceJob:
    id: str
    body: dict[str, Any]
    finish_after: int
    outcome: str
    error_code: str
    video_url: str | None
    status: str = "queued"
    polls: int = 0


class SeedanceStandin(StandinServer):
    name = "seedance"

    def __init__(self, api_key: str = API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.finish_after_polls = 2
        self.outcome = "succeeded"  # or "failed", "expired"
        self.error_code = "OutputVideoSensitiveContentDetected"
        self.video_url: str | None = None
        self.jobs: dict[str, SeedanceJob] = {}
        self._ids = itertools.count(1)

    @property
    def api_url(self) -> str:
        return self.url + "/api/v3"

    def route(self, request: Recorded) -> Reply | None:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return ark_error(401, "AuthenticationError", "The API key in the request is missing or invalid.")
        if request.method == "POST" and request.path == BASE:
            return self._create(request.json if isinstance(request.json, dict) else {})
        if request.path.startswith(BASE + "/"):
            job = self.jobs.get(request.path.rsplit("/", 1)[1])
            if job is None:
                return ark_error(404, "ResourceNotFound", "The specified task is not found.")
            if request.method == "GET":
                return self._get(job)
            if request.method == "DELETE":
                if job.status == "queued":
                    job.status = "cancelled"
                    return Reply(200, {})
                if job.status == "running":
                    return ark_error(400, "InvalidParameter", "A running task cannot be cancelled.")
                del self.jobs[job.id]
                return Reply(200, {})
        return ark_error(404, "NotFound", "no such path")

    def _create(self, body: dict[str, Any]) -> Reply:
        content = body.get("content")
        if not body.get("model") or not isinstance(content, list) or not content or content[0].get("type") != "text":
            return ark_error(400, "MissingParameter", "model and content are required")
        roles = []
        for item in content[1:]:  # {type: image_url, image_url: {url}, role: first_frame | last_frame}
            if not isinstance(item, dict) or item.get("type") != "image_url" or \
                    item.get("role") not in ("first_frame", "last_frame") or not isinstance(item.get("image_url"), dict):
                return ark_error(400, "InvalidParameter", "content item is invalid")
            try:
                decode_image_field(item["image_url"].get("url"), data_uri=True)
            except ImageProblem as problem:
                return ark_error(400, "InvalidParameter", f"image_url.url: {problem}")
            roles.append(item["role"])
        if roles and (roles[0] != "first_frame" or len(roles) != len(set(roles))):
            return ark_error(400, "InvalidParameter", "last_frame needs exactly one first_frame before it")
        if not isinstance(body.get("duration"), int) or not 4 <= body["duration"] <= 15:
            return ark_error(400, "InvalidParameter", "duration must be an integer in [4, 15]")
        if body.get("ratio") not in ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "adaptive"):
            return ark_error(400, "InvalidParameter", "ratio is invalid")
        if body.get("resolution") not in ("480p", "720p"):
            return ark_error(400, "InvalidParameter", "resolution is invalid")
        task_id = f"cgt-20261125-{next(self._ids):05d}"
        self.jobs[task_id] = SeedanceJob(task_id, body, self.finish_after_polls, self.outcome, self.error_code,
                                         self.video_url)
        return Reply(200, {"id": task_id})

    def _get(self, job: SeedanceJob) -> Reply:
        if job.status in ("queued", "running"):
            job.polls += 1
            if job.polls >= job.finish_after:
                job.status = job.outcome
            elif job.polls > 1:
                job.status = "running"
        now = int(time.time())
        answer: dict[str, Any] = {
            "id": job.id, "model": job.body["model"], "status": job.status, "created_at": now, "updated_at": now,
            "seed": job.body.get("seed", -1), "resolution": job.body.get("resolution"), "ratio": job.body.get("ratio"),
            "duration": job.body.get("duration"), "framespersecond": 24,
        }
        if job.status == "succeeded":
            url = job.video_url or self.serve_media(f"/media/{job.id}.mp4", sample_mp4(bool(job.body.get("generate_audio"))))
            answer["content"] = {"video_url": url}
            answer["usage"] = {"completion_tokens": 108900, "total_tokens": 108900}
        elif job.status == "failed":
            answer["error"] = {"code": job.error_code, "message": f"The request failed: {job.error_code}"}
        return Reply(200, answer)

    def finish(self, task_id: str) -> None:
        """The render is done: the next GET says `succeeded`, and ModelArk POSTs the task to `callback_url`."""
        job = self.jobs[task_id]
        job.finish_after = job.polls + 1
        self.call_back(job.body.get("callback_url"), {
            "id": job.id, "model": job.body["model"], "status": "succeeded", "updated_at": int(time.time()),
            "content": {"video_url": f"{self.url}/media/forged-by-callback.mp4"},
        })

