"""Logging that never prints a secret, as text or as one JSON object per line (`DAILIES_LOG_FORMAT=json`).

Every record is scrubbed of the configured secret values.

`install_secret_scrubber` wraps the log record factory, so each record is cleaned
when it is made, before any handler (a stream, a file, pytest's capture, a
log shipper) sees it; the bot (`bot.app.build_app`) and the worker
(`bot.worker.build_worker_runtime`) install it with their settings'
secrets, and `configure_logging` does for every `dailies` command.

`bound(team=…, channel=…, request=…, take=…)` names what the code is working on; every record made inside it
carries those ids (as JSON fields, or `[key=value …]` in text), so a log search finds one take's whole story
across web processes and workers. Ids only: never a person's words or a token.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

_TOKEN_RE = re.compile(r"\b(xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|xoxe[.-][A-Za-z0-9.-]+)")
# A provider callback URL ends in the take's capability token, also inside a query string (fal_webhook=…%2F…).
_WEBHOOK_TOKEN_RE = re.compile(r"((?:/|%2[Ff])webhook(?:/|%2[Ff]))[A-Za-z0-9._~%-]+")
# An OAuth code in flight (Bolt logs it when an exchange fails; a redirect URL carries it).
_OAUTH_CODE_RE = re.compile(r"(\bcode(?:=|: ))[A-Za-z0-9._~-]{8,}")
REDACTED = "[redacted]"

_known_secrets: set[str] = set()
_install_lock = threading.Lock()
_installed = False


def remember_secrets(secrets: list[str] | None) -> None:
    """Add secret values (of 4+ characters) to those every scrubbed text is cleaned of."""
    with _install_lock:
        _known_secrets.update(s for s in (secrets or []) if s and len(s) >= 4)


def scrub_text(text: str, secrets: list[str] | None = None) -> str:
    """`text` with Slack tokens and every known secret replaced by [redacted]."""
    if not text:
        return text
    cleaned = _WEBHOOK_TOKEN_RE.sub(lambda m: m.group(1) + REDACTED, _TOKEN_RE.sub(REDACTED, text))
    cleaned = _OAUTH_CODE_RE.sub(lambda m: m.group(1) + REDACTED, cleaned)
    for secret in sorted({*(secrets or []), *_known_secrets}, key=len, reverse=True):
        if len(secret) >= 4 and secret in cleaned:
            cleaned = cleaned.replace(secret, REDACTED)
    return cleaned


class SecretScrubber(logging.Filter):
    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub_record(record, self.secrets)
        return True


def _scrub_record(record: logging.LogRecord, secrets: list[str] | None = None) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to logging's own error report
        return
    cleaned = scrub_text(message, secrets)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = scrub_text(record.exc_text, secrets)
    if record.stack_info:
        record.stack_info = scrub_text(record.stack_info, secrets)


def install_secret_scrubber(secrets: list[str] | None = None) -> None:
    """Scrub every log record of this process when it is created (idempotent; secrets accumulate)."""
    global _installed
    remember_secrets(secrets)
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


BOUND_FIELDS = ("team", "channel", "request", "take", "ticket", "task")
_bound: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar("dailies_log_context",
                                                                                   default=())


@contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Records made inside carry these ids (those given, added to any bound outside)."""
    merged = {**dict(_bound.get()), **{k: str(v)[:80] for k, v in ids.items() if v and k in BOUND_FIELDS}}
    token = _bound.set(tuple(merged.items()))
    try:
        yield
    finally:
        _bound.reset(token)


def bound_ids() -> dict[str, str]:
    return dict(_bound.get())


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.dailies_ids = bound_ids()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = getattr(record, "dailies_ids", None)
        if not ids:
            return text
        first, _, rest = text.partition("\n")
        tags = " ".join(f"{key}={value}" for key, value in ids.items())
        return f"{first} [{tags}]" + (f"\n{rest}" if rest else "")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound ids, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "dailies_ids", {}),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def stderr_handler(secrets: list[str] | None = None, log_format: str = "text") -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(SecretScrubber(secrets))
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(level: str = "INFO", secrets: list[str] | None = None, log_format: str = "text") -> None:
    """Log to stderr at `level` as text or JSON lines, every record scrubbed of `secrets` and of anything
    token-shaped."""
    install_secret_scrubber(secrets)
    root = logging.getLogger()
    root.handlers[:] = [stderr_handler(secrets, log_format)]
    root.setLevel(level.upper())
