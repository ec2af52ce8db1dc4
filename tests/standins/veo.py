"""Vertex AI Veo stand-in: predictLongRunning, fetchPredictOperation, and the Cloud Storage JSON API download."""

from __future__ import annotations

import base64
import itertools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from tests.standins.media import ImageProblem, decode_image_field, sample_mp4
from tests.standins.server import Recorded, Reply, StandinServer

TOKEN = "ya29.standin-token"
PROJECT = "dailies-test"
LOCATION = "us-central1"
_MODEL_PATH = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/publishers/google/models/(?P<model>[^/:]+):(?P<verb>\w+)$"
)
_STORAGE_PATH = re.compile(r"^/storage/v1/b/(?P<bucket>[^/]+)/o/(?P<object>.+)$")


def google_error(status: int, grpc: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": status, "message": message, "status": grpc}})


@dataclass
class VeoJob:
    name: str
    body: dict[str, Any]
    finish_after: int
    outcome: str
    polls: int = 0


class VeoStandin(StandinServer):
    name = "veo"

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.finish_after_polls = 2
        self.outcome = "gcs"  # "gcs", "inline", "filtered", "empty", "error"
        self.operation_error = {"code": 13, "message": "Internal error while generating the video."}
        self.filtered_reasons = ["The prompt could not be submitted: it may violate our policies."]
        self.jobs: dict[str, VeoJob] = {}
        self.objects: dict[tuple[str, str], bytes] = {}
        self._ids = itertools.count(1)

    def route(self, request: Recorded) -> Reply | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        storage = _STORAGE_PATH.match(request.path)
        if storage and request.method == "GET":
            key = (unquote(storage["bucket"]), unquote(storage["object"]))
            if request.query.get("alt") != ["media"] or key not in self.objects:
                return google_error(404, "NOT_FOUND", "No such object")
            return Reply(200, body=self.objects[key], headers={"Content-Type": "video/mp4"})
        match = _MODEL_PATH.match(request.path)
        if not match or request.method != "POST":
            return google_error(404, "NOT_FOUND", "not found")
        if match["verb"] == "predictLongRunning":
            return self._predict(match, request.json if isinstance(request.json, dict) else {})
        if match["verb"] == "fetchPredictOperation":
            return self._fetch(request.json if isinstance(request.json, dict) else {})
        return google_error(400, "INVALID_ARGUMENT", "unknown method")

    def _predict(self, match: re.Match[str], body: dict[str, Any]) -> Reply:
        params = body.get("parameters") or {}
        instances = body.get("instances") or []
        if not instances or not instances[0].get("prompt"):
            return google_error(400, "INVALID_ARGUMENT", "instances[0].prompt is required")
        if params.get("durationSeconds") not in (4, 6, 8):
            return google_error(400, "INVALID_ARGUMENT", "durationSeconds must be 4, 6 or 8")
        if params.get("aspectRatio") not in ("16:9", "9:16"):
            return google_error(400, "INVALID_ARGUMENT", "aspectRatio must be 16:9 or 9:16")
        for field in ("image", "lastFrame"):  # Image: {bytesBase64Encoded | gcsUri, mimeType}
            image = instances[0].get(field)
            if image is None:
                continue
            if field == "lastFrame" and "image" not in instances[0]:
                return google_error(400, "INVALID_ARGUMENT", "lastFrame requires image")
            if not isinstance(image, dict) or set(image) != {"bytesBase64Encoded", "mimeType"}:
                return google_error(400, "INVALID_ARGUMENT", f"instances[0].{field} must be an Image")
            try:
                kind, _w, _h = decode_image_field(image["bytesBase64Encoded"], data_uri=False)
            except ImageProblem as problem:
                return google_error(400, "INVALID_ARGUMENT", f"instances[0].{field}: {problem}")
            if image["mimeType"] != f"image/{kind}":
                return google_error(400, "INVALID_ARGUMENT", f"instances[0].{field}.mimeType does not match")
        name = (
            f"projects/{match['project']}/locations/{match['location']}/publishers/google/models/"
            f"{match['model']}/operations/op-{next(self._ids):04d}"
        )
        self.jobs[name] = VeoJob(name, body, self.finish_after_polls, self.outcome)
        return Reply(200, {"name": name})

    def _fetch(self, body: dict[str, Any]) -> Reply:
        job = self.jobs.get(str(body.get("operationName")))
        if job is None:
            return google_error(404, "NOT_FOUND", "Operation not found")
        job.polls += 1
        if job.polls < job.finish_after:
            return Reply(200, {"name": job.name, "done": False})
        audio = bool((job.body.get("parameters") or {}).get("generateAudio"))
        response: dict[str, Any] = {
            "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
            "raiMediaFilteredCount": 0,
        }
        if job.outcome == "error":
            return Reply(200, {"name": job.name, "done": True, "error": self.operation_error})
        if job.outcome == "gcs":
            storage = (job.body.get("parameters") or {}).get("storageUri") or "gs://standin-bucket/out/"
            bucket, _, prefix = storage[len("gs://"):].partition("/")
            obj = f"{prefix.rstrip('/')}/{job.name.rsplit('/', 1)[1]}/sample_0.mp4".lstrip("/")
            self.objects[(bucket, obj)] = sample_mp4(audio)
            response["videos"] = [{"gcsUri": f"gs://{bucket}/{obj}", "mimeType": "video/mp4"}]
        elif job.outcome == "inline":
            response["videos"] = [{"bytesBase64Encoded": base64.b64encode(sample_mp4(audio)).decode(), "mimeType": "video/mp4"}]
        elif job.outcome == "filtered":
            response["raiMediaFilteredCount"] = 1
            response["raiMediaFilteredReasons"] = self.filtered_reasons
        return Reply(200, {"name": job.name, "done": True, "response": response})
