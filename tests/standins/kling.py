"""Kling API stand-in: JWT auth checked with the secret, text2video and image2video create and query,
documented codes."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

from tests.standins.media import ImageProblem, decode_image_field, sample_mp4
from tests.standins.server import Recorded, Reply, StandinServer

ACCESS_KEY = "ak-standin"
SECRET_KEY = "sk-standin-secret-0123456789abcdef"


@dataclass
class KlingJob:
    task_id: str
    kind: str
    external_task_id: str | None
    body: dict[str, Any]
    finish_after: int
    outcome: str
    status_msg: str
    video_url: str | None
    polls: int = 0
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))


def envelope(code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": str(uuid.uuid4()), "data": data}


class KlingStandin(StandinServer):
    name = "kling"

    def __init__(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> None:
        super().__init__()
        self.access_key = access_key
        self.secret_key = secret_key
        self.finish_after_polls = 2
        self.outcome = "succeed"  # or "failed"
        self.fail_message = "Failure to pass the risk control system"
        self.video_url: str | None = None  # None: a real MP4 served here
        self.jobs: dict[str, KlingJob] = {}
        self._ids = itertools.count(1)

    def _auth(self, request: Recorded) -> Reply | None:
        header = request.headers.get("authorization", "")
        if not header:
            return Reply(401, envelope(1001, "Authorization is empty"))
        if not header.startswith("Bearer "):
            return Reply(401, envelope(1002, "Authorization is invalid"))
        try:
            claims = jwt.decode(header[7:], self.secret_key, algorithms=["HS256"], options={"require": ["iss", "exp", "nbf"]})
        except jwt.ExpiredSignatureError:
            return Reply(401, envelope(1004, "Authorization has expired"))
        except jwt.ImmatureSignatureError:
            return Reply(401, envelope(1003, "Authorization is not yet valid"))
        except jwt.PyJWTError:
            return Reply(401, envelope(1002, "Authorization is invalid"))
        if claims.get("iss") != self.access_key:
            return Reply(401, envelope(1000, "Authentication failed"))
        return None

    def route(self, request: Recorded) -> Reply | None:
        denied = self._auth(request)
        if denied:
            return denied
        for kind in ("text2video", "image2video"):
            if request.method == "POST" and request.path == f"/v1/videos/{kind}":
                return self._create(request, kind)
            if request.method == "GET" and request.path.startswith(f"/v1/videos/{kind}/"):
                return self._query(request.path.rsplit("/", 1)[1], kind)
        return Reply(404, envelope(1202, "The requested method is invalid"))

    def _create(self, request: Recorded, kind: str) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        problems = []
        if kind == "image2video":
            # image / image_tail: base64 without a prefix (or a URL); ≥300 px, aspect within 1:2.5 … 2.5:1.
            for field in ("image", "image_tail"):
                if field not in body and field == "image_tail":
                    continue
                try:
                    _kind, width, height = decode_image_field(body.get(field), data_uri=False)
                    if min(width, height) < 300 or max(width, height) / min(width, height) > 2.5:
                        problems.append(field)
                except ImageProblem:
                    problems.append(field)
            if "aspect_ratio" in body:  # not an image2video parameter: the image sets the shape
                problems.append("aspect_ratio")
        elif "image" in body or "image_tail" in body:
            problems.append("image")
        if not isinstance(body.get("prompt"), str) or not body["prompt"] or len(body["prompt"]) > 2500:
            problems.append("prompt")
        if body.get("duration") not in [str(n) for n in range(3, 16)]:
            problems.append("duration")
        if body.get("mode", "std") not in ("std", "pro"):
            problems.append("mode")
        if body.get("sound", "off") not in ("on", "off"):
            problems.append("sound")
        if body.get("aspect_ratio", "16:9") not in ("16:9", "9:16", "1:1"):
            problems.append("aspect_ratio")
        if "seed" in body:
            problems.append("seed")
        if problems:
            return Reply(400, envelope(1201, f"Invalid parameters: {', '.join(problems)}"))
        external = body.get("external_task_id") or None
        if external and any(j.external_task_id == external for j in self.jobs.values()):
            return Reply(400, envelope(1201, "external_task_id already exists"))
        task_id = f"kt-{next(self._ids):04d}"
        self.jobs[task_id] = KlingJob(
            task_id=task_id, kind=kind, external_task_id=external, body=body, finish_after=self.finish_after_polls,
            outcome=self.outcome, status_msg=self.fail_message, video_url=self.video_url,
        )
        job = self.jobs[task_id]
        return Reply(200, envelope(0, "SUCCEED", {
            "task_id": task_id, "task_info": {"external_task_id": external}, "task_status": "submitted",
            "created_at": job.created_ms, "updated_at": job.created_ms,
        }))

    def _query(self, ident: str, kind: str) -> Reply:
        job = self.jobs.get(ident) or next((j for j in self.jobs.values() if j.external_task_id == ident), None)
        if job is None or job.kind != kind:  # a task is found only under the path it was created on
            return Reply(404, envelope(1203, "task not found"))
        job.polls += 1
        data: dict[str, Any] = {
            "task_id": job.task_id, "task_info": {"external_task_id": job.external_task_id},
            "created_at": job.created_ms, "updated_at": int(time.time() * 1000),
        }
        if job.polls < job.finish_after:
            data["task_status"] = "submitted" if job.polls == 1 else "processing"
        elif job.outcome == "succeed":
            url = job.video_url or self.serve_media(f"/media/{job.task_id}.mp4", sample_mp4(job.body.get("sound") == "on"))
            data["task_status"] = "succeed"
            data["task_result"] = {"videos": [{"id": f"v-{job.task_id}", "url": url, "duration": job.body["duration"]}]}
        else:
            data["task_status"] = "failed"
            data["task_status_msg"] = job.status_msg
        return Reply(200, envelope(0, "SUCCEED", data))

    def finish(self, task_id: str) -> None:
        """The render is done: the next query says `succeed`, and Kling POSTs the task to `callback_url`."""
        job = self.jobs[task_id]
        job.finish_after = job.polls + 1
        self.call_back(job.body.get("callback_url"), {
            "task_id": job.task_id, "task_status": "succeed", "task_info": {"external_task_id": job.external_task_id},
            "created_at": job.created_ms, "updated_at": int(time.time() * 1000),
            "task_result": {"videos": [{"id": "forged", "url": f"{self.url}/media/forged-by-callback.mp4",
                                        "duration": job.body.get("duration")}]},
        })

