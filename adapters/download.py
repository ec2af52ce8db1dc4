"""Safe download of a provider's result file.

Only `https://` URLs on the provider's own media hosts are fetched, plus any URL
that starts with one of the operator's allowed prefixes (`DAILIES_ALLOWED_MEDIA_URLS`,
used by tests and stand-ins with `http://127.0.0.1:PORT/`). The file is streamed to
disk under a byte cap and a total time limit; redirects are followed only to URLs
that are allowed too. Anything refused raises `ProviderError(bad_media)` with a
sentence that says why, and no partial file is left behind.

Host patterns: `example.com` (that host only), `*.example.com` (any subdomain of
it), a glob such as `ark-content-generation-*.volces.com`, or `host/path/prefix`
(that host, paths under that prefix only).
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import httpx

from adapters.base import FailureKind, ProviderError
from adapters.httpcommon import kind_for_status, retry_after_s, tls_context

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class MediaPolicy:
    """Where a provider's results may come from, and how big and slow a download may be."""

    hosts: tuple[str, ...]
    allowed_prefixes: tuple[str, ...] = ()
    max_bytes: int = 500 * 1024 * 1024
    timeout_s: float = 120.0
    name: str = "the provider"


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _host_matches(host: str, path: str, pattern: str) -> bool:
    pattern = pattern.strip().lower()
    if not pattern:
        return False
    pattern_host, _, pattern_path = pattern.partition("/")
    if pattern_path and not path.startswith("/" + pattern_path):
        return False
    if "*" in pattern_host:
        return fnmatch.fnmatchcase(host, pattern_host)
    return host == pattern_host


def _prefix_matches(url: str, prefix: str) -> bool:
    """`url` starts with `prefix`, comparing scheme, host and port exactly (no `127.0.0.1:80` ⊂ `:8000` slips)."""
    try:
        want, got = urlsplit(prefix.strip()), urlsplit(url)
        if not want.scheme or not want.hostname:
            return False
        if got.username or got.password:
            return False
        if (want.scheme.lower(), want.hostname, want.port) != (got.scheme.lower(), got.hostname, got.port):
            return False
    except ValueError:
        return False
    want_path = want.path or "/"
    got_path = got.path or "/"
    if not want_path.endswith("/") and got_path != want_path:
        want_path += "/"
    return got_path.startswith(want_path)


def _path_problem(url: str) -> str | None:
    """Dot segments (plain or percent-encoded) and backslashes would let a URL pass a host/path prefix check
    and then name another path once the client or server normalises it: refuse them outright."""
    try:
        raw_path = urlsplit(url).path
    except ValueError:
        return "its result link is not a valid URL"
    decoded = raw_path
    for _ in range(3):  # %252e%252e decodes twice
        decoded = unquote(decoded)
    if "\\" in decoded or any(segment in (".", "..") for segment in decoded.split("/")):
        return "its result link has a path with dot segments or backslashes, which is not allowed"
    return None


def refusal(url: str, policy: MediaPolicy) -> str | None:
    """Why `url` may not be downloaded under `policy`, or None when it may."""
    problem = _path_problem(url)
    if problem:
        return problem
    if any(_prefix_matches(url, prefix) for prefix in policy.allowed_prefixes if prefix.strip()):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "its result link is not a valid URL"
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() != "https":
        return f"its result link is not HTTPS ({parts.scheme or 'no scheme'}://{host or '?'}); only HTTPS downloads are allowed"
    if parts.username or parts.password:
        return "its result link carries a user name or password, which is not allowed"
    if port not in (None, 443):
        return f"its result link uses port {port}; only the standard HTTPS port is allowed"
    if not host or not any(_host_matches(host, parts.path or "/", pattern) for pattern in policy.hosts):
        allowed = ", ".join(policy.hosts) or "none configured"
        return f"its result link is on {host or 'no host'}, which is not one of {policy.name}'s media hosts ({allowed})"
    return None


def check_url(url: str, policy: MediaPolicy) -> None:
    reason = refusal(url, policy)
    if reason:
        raise ProviderError(FailureKind.bad_media, reason)


def partial_path(dest: Path) -> Path:
    """Where a file is written before it is renamed to `dest`. Two workers (or threads) may fetch the same file
    at once, a round's reference frame say: each writes its own, so neither reads or removes the other's half."""
    return dest.with_name(f"{dest.name}.{os.getpid()}-{threading.get_ident()}.part")


def download(url: str, dest: Path, policy: MediaPolicy, *, headers: dict[str, str] | None = None) -> Path:
    """Stream `url` to `dest` under `policy`; returns `dest` or raises ProviderError with no partial file left."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(dest)
    deadline = time.monotonic() + policy.timeout_s  # one deadline for the whole download, redirects included
    # Compressed bodies would make the byte cap count what was sent, not what lands on disk.
    send_headers = {**(headers or {}), "Accept-Encoding": "identity"}
    current = url
    try:
        with httpx.Client(follow_redirects=False, trust_env=False, verify=tls_context()) as c:
            for _hop in range(MAX_REDIRECTS + 1):
                check_url(current, policy)
                with c.stream("GET", current, headers=send_headers, timeout=_remaining(deadline)) as response:
                    if response.is_redirect:
                        target = response.headers.get("location", "")
                        following = str(response.url.join(target)) if target else ""
                        reason = refusal(following, policy) if following else "it redirected nowhere"
                        if reason:
                            raise ProviderError(FailureKind.bad_media, f"the download redirected elsewhere and {reason}")
                        if _origin(following) != _origin(current):
                            send_headers.pop("Authorization", None)  # never carry credentials to another origin
                        current = following
                        continue
                    _check_status(response, policy)
                    # A body that trickles in just inside each read timeout must still stop at the deadline.
                    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), response.close)
                    watchdog.start()
                    try:
                        _stream_to(response, partial, policy, deadline)
                    finally:
                        watchdog.cancel()
                    partial.replace(dest)
                    return dest
            raise ProviderError(FailureKind.bad_media, f"the download redirected more than {MAX_REDIRECTS} times")
    except (httpx.TimeoutException, httpx.StreamError, httpx.TransportError) as error:
        if isinstance(error, httpx.TimeoutException) or time.monotonic() >= deadline:
            raise ProviderError(
                FailureKind.bad_media, f"the download from {policy.name} took longer than {policy.timeout_s:g} s"
            ) from None
        if isinstance(error, httpx.StreamError):
            raise
        raise ProviderError(FailureKind.retry, f"could not download from {policy.name} ({type(error).__name__})") from None
    finally:
        partial.unlink(missing_ok=True)


def _remaining(deadline: float) -> httpx.Timeout:
    """What is left of the download's one deadline, as the timeout of its next request."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpx.ReadTimeout("the download's deadline passed")
    return httpx.Timeout(left, connect=min(10.0, left), pool=min(10.0, left))


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.hostname, parts.port


def _check_status(response: httpx.Response, policy: MediaPolicy) -> None:
    if response.status_code == 200:
        return
    kind = kind_for_status(response.status_code)
    if kind == FailureKind.retry:
        raise ProviderError(
            FailureKind.retry, f"{policy.name}'s media host answered HTTP {response.status_code}",
            retry_after_s=retry_after_s(response.headers),
        )
    if response.status_code == 401:
        raise ProviderError(FailureKind.auth, f"{policy.name}'s media host refused our credentials (HTTP 401)")
    if response.status_code in (403, 404, 410):
        raise ProviderError(
            FailureKind.expired,
            f"the result link answered HTTP {response.status_code}: it has expired or was removed",
        )
    raise ProviderError(FailureKind.bad_media, f"the result link answered HTTP {response.status_code}")


def _stream_to(response: httpx.Response, partial: Path, policy: MediaPolicy, deadline: float) -> None:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > policy.max_bytes:
        raise ProviderError(
            FailureKind.bad_media,
            f"the file is {_mb(int(declared))}, over the {_mb(policy.max_bytes)} download limit",
        )
    received = 0
    with partial.open("wb") as out:
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > policy.max_bytes:
                raise ProviderError(
                    FailureKind.bad_media, f"the file grew past the {_mb(policy.max_bytes)} download limit"
                )
            if time.monotonic() > deadline:
                raise ProviderError(
                    FailureKind.bad_media,
                    f"the download from {policy.name} took longer than {policy.timeout_s:g} s",
                )
            out.write(chunk)
    if received == 0:
        raise ProviderError(FailureKind.bad_media, "the file is empty")


def write_base64(data: str, dest: Path, max_bytes: int) -> Path:
    """Decode an inline base64 result to `dest`, refusing it (before decoding) when it would exceed `max_bytes`."""
    dest = Path(dest)
    compact = "".join(data.split())
    if len(compact) * 3 // 4 > max_bytes:
        raise ProviderError(
            FailureKind.bad_media, f"the inline file is about {_mb(len(compact) * 3 // 4)}, over the {_mb(max_bytes)} limit"
        )
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderError(FailureKind.bad_media, "the inline file is not valid base64") from None
    if not raw:
        raise ProviderError(FailureKind.bad_media, "the inline file is empty")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(dest)
    try:
        partial.write_bytes(raw)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest


def gcs_download_url(gs_uri: str, api_url: str = "https://storage.googleapis.com") -> str:
    """The Cloud Storage JSON API media URL for `gs://bucket/object`."""
    if not gs_uri.startswith("gs://"):
        raise ProviderError(FailureKind.bad_media, f"{gs_uri[:60]} is not a gs:// link")
    bucket, _, name = gs_uri[len("gs://"):].partition("/")
    if not bucket or not name:
        raise ProviderError(FailureKind.bad_media, f"{gs_uri[:60]} does not name a bucket and an object")
    return f"{api_url.rstrip('/')}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}?alt=media"
