"""A small real HTTP server for stand-ins: records every request, answers from scripts or routes, serves media.

Each provider stand-in subclasses `StandinServer` and implements `route()`
following the provider's documented shapes. Tests can push scripted replies
(`script()`) that win over the routes, e.g. a 429 with `Retry-After` or a 5xx,
and register media files with behaviours (`serve_media()`): honest, lying or
missing `Content-Length`, endless streams, stalls and redirects.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait this long before answering (to trip a client's timeout)
    lose_answer: bool = False  # do the real work of the route, but answer this instead (a lost answer)


@dataclass
class MediaFile:
    data: bytes
    content_length: int | None | str = "auto"  # "auto": the real size; None: chunked, no length; int: a claim
    endless: bool = False  # keep streaming chunks forever (until the client hangs up)
    stall_s: float = 0.0  # sleep after sending headers, before the body
    drip_s: float = 0.0  # sleep between chunks
    chunk: int = 64 * 1024
    redirect_to: str | None = None
    status: int = 200
    require_auth: str | None = None  # an exact Authorization header the request must carry
    content_type: str = "video/mp4"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def _handle(self) -> None:
        self.server.owner._dispatch(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: StandinServer


class StandinServer:
    """Base stand-in. Subclasses implement `route(request) -> Reply | None`."""

    name = "stand-in"

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: list[tuple[str, re.Pattern[str], Reply]] = []
        self.media: dict[str, MediaFile] = {}
        self.lock = threading.RLock()
        self.callbacks_sent: list[tuple[str, Any]] = []
        self.drop_callbacks = False  # finish renders without calling back (a lost callback)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------

    def start(self) -> StandinServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stand-in first"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # scripting -----------------------------------------------------------------

    def script(self, method: str, path_pattern: str, *replies: Reply) -> None:
        """Answer the next matching requests with `replies`, in order, before the normal route."""
        with self.lock:
            for reply in replies:
                self._scripts.append((method.upper(), re.compile(path_pattern), reply))

    def serve_media(self, path: str, data: bytes, **behaviour: Any) -> str:
        """Serve `data` at `path` (with the given `MediaFile` behaviour); returns its full URL."""
        self.media[path] = MediaFile(data=data, **behaviour)
        return self.url + path

    # callbacks -----------------------------------------------------------------

    def call_back(self, url: str | None, body: Any) -> None:
        """POST `body` to `url` as the provider would when a render finishes (unless `drop_callbacks`)."""
        if not url or getattr(self, "drop_callbacks", False):
            return
        with self.lock:
            self.callbacks_sent.append((url, body))
        with contextlib.suppress(httpx.HTTPError):  # a callback that does not arrive is one to survive
            httpx.post(url, json=body, timeout=5)

    def calls(self, method: str | None = None, path_contains: str = "") -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and path_contains in r.path]

    def route(self, request: Recorded) -> Reply | None:  # pragma: no cover - subclasses override
        return None

    # plumbing ------------------------------------------------------------------

    def _dispatch(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        request = Recorded(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            json=parsed,
        )
        with self.lock:
            self.requests.append(request)
            reply = self._scripted(request)
        if reply is None and request.method == "GET" and request.path in self.media:
            self._send_media(handler, request, self.media[request.path])
            return
        if reply is None or reply.lose_answer:
            try:
                routed = self.route(request)
            except Exception as error:  # a stand-in bug must show up as a 500, not a hang
                routed = Reply(500, {"error": f"stand-in error: {error!r}"})
            reply = reply or routed
        try:
            self._send(handler, reply or Reply(404, {"error": f"no route for {request.method} {request.path}"}))
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up (e.g. its timeout): nothing to answer

    def _scripted(self, request: Recorded) -> Reply | None:
        for index, (method, pattern, reply) in enumerate(self._scripts):
            if method == request.method and pattern.search(request.path):
                del self._scripts[index]
                return reply
        return None

    @staticmethod
    def _send(handler: _Handler, reply: Reply) -> None:
        if reply.delay_s:
            time.sleep(reply.delay_s)
        payload = reply.body if reply.body is not None else (
            json.dumps(reply.json).encode() if reply.json is not None else b""
        )
        handler.send_response(reply.status)
        headers = {"Content-Type": "application/json", **reply.headers}
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if payload and handler.command != "HEAD":
            handler.wfile.write(payload)

    @staticmethod
    def _send_media(handler: _Handler, request: Recorded, media: MediaFile) -> None:
        if media.require_auth is not None and request.headers.get("authorization") != media.require_auth:
            StandinServer._send(handler, Reply(401, {"error": {"code": 401, "message": "Unauthorized"}}))
            return
        if media.redirect_to is not None:
            if media.stall_s:
                time.sleep(media.stall_s)  # a slow hop: the answer comes late, then points elsewhere
            StandinServer._send(handler, Reply(302, headers={"Location": media.redirect_to}))
            return
        if media.status != 200:
            StandinServer._send(handler, Reply(media.status, {"error": "gone"}))
            return
        handler.send_response(200)
        handler.send_header("Content-Type", media.content_type)
        chunked = media.content_length is None or media.endless
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            size = len(media.data) if media.content_length == "auto" else media.content_length
            handler.send_header("Content-Length", str(size))
        handler.end_headers()
        try:
            handler.wfile.flush()
            if media.stall_s:
                time.sleep(media.stall_s)
            if not chunked:
                handler.wfile.write(media.data)
                return
            data = media.data or b"\0" * media.chunk
            while True:
                for start in range(0, len(data), media.chunk):
                    piece = data[start:start + media.chunk]
                    handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    handler.wfile.flush()
                    if media.drip_s:
                        time.sleep(media.drip_s)
                if not media.endless:
                    break
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
