"""What every network adapter shares: timeouts, Retry-After, and turning transport failures into ProviderError.

Each call builds its own short-lived `httpx.Client` (rq forks a work horse per job, so
a client kept across jobs would share sockets across processes) with a timeout on
every phase: no provider call can hang a worker.
"""

from __future__ import annotations

import email.utils
import json
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from adapters.base import FailureKind, ProviderError

DEFAULT_TIMEOUT_S = 30.0
MAX_RETRY_AFTER_S = 3600.0

ModelT = TypeVar("ModelT", bound=BaseModel)


def timeout(seconds: float) -> httpx.Timeout:
    """A limit on every phase of a call: connecting, sending, each read, waiting for a pooled connection."""
    return httpx.Timeout(connect=min(10.0, seconds), read=seconds, write=seconds, pool=min(10.0, seconds))


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """One verified TLS context per process. Loading the CA bundle costs ~45 ms, a client on a shared
    context ~0.2 ms; a context holds no sockets, so sharing it with forked work horses is safe."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


@contextmanager
def client(limit: httpx.Timeout | float = DEFAULT_TIMEOUT_S) -> Iterator[httpx.Client]:
    limits = limit if isinstance(limit, httpx.Timeout) else timeout(limit)
    with httpx.Client(timeout=limits, follow_redirects=False, trust_env=False, verify=tls_context()) as c:
        yield c


def retry_after_s(headers: httpx.Headers | dict[str, str], now: float | None = None) -> float | None:
    """`Retry-After` as seconds from now: a number of seconds or an HTTP date; None when absent or unreadable."""
    raw = headers.get("retry-after") or headers.get("Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return min(max(float(raw), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return min(max(delta, 0.0), MAX_RETRY_AFTER_S)


def send(c: httpx.Client, method: str, url: str, *, name: str, **kwargs: Any) -> httpx.Response:
    """One HTTP call; timeouts and connection failures become `retry` errors naming the provider."""
    try:
        return c.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise ProviderError(FailureKind.retry, f"{name} did not answer in time") from None
    except httpx.TransportError as error:
        raise ProviderError(FailureKind.retry, f"could not reach {name} ({type(error).__name__})") from None


def kind_for_status(status: int) -> FailureKind:
    """The default reading of an HTTP status when the body says nothing more specific."""
    if status in (408, 409, 425, 429) or status >= 500:
        return FailureKind.retry
    if status in (401, 403):
        return FailureKind.auth
    if status in (404, 410):
        return FailureKind.expired
    return FailureKind.bad_request


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None


def parse(model: type[ModelT], response: httpx.Response, *, name: str) -> ModelT:
    """Validate a 2xx body against its pydantic model; a malformed answer is a provider fault worth retrying."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as error:
        problems = error.errors()
        where = ".".join(str(p) for p in problems[0]["loc"]) if problems else ""
        what = problems[0]["msg"] if problems else "invalid"
        raise ProviderError(
            FailureKind.retry, f"{name} sent an answer Dailies could not read ({where or 'body'}: {what})"
        ) from None


def short(text: object, limit: int = 300) -> str:
    value = " ".join(str(text).split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def fit_prompt(parts: list[str], max_chars: int) -> str:
    """Join prompt parts, dropping whole trailing parts (never the first, the picture) to fit `max_chars`."""
    kept = [p for p in parts if p]
    while len(kept) > 1 and len(" ".join(kept)) > max_chars:
        kept.pop()
    text = " ".join(kept)
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"
