"""Logging that never prints a secret: every record is scrubbed of the configured secret values.

`install_secret_scrubber` wraps the log record factory, so each record is cleaned
when it is made, before any handler (a stream, a file, pytest's capture, a
log shipper) sees it; the bot (`bot.app.build_app`) and the worker
(`bot.worker.build_worker_runtime`) install it with their settings'
secrets, and `configure_logging` does for every `dailies` command.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback

_TOKEN_RE = re.compile(r"\b(xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")
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
    cleaned = _TOKEN_RE.sub(REDACTED, text)
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


def stderr_handler(secrets: list[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretScrubber(secrets))
    return handler


def configure_logging(level: str = "INFO", secrets: list[str] | None = None) -> None:
    """Log to stderr at `level`, every record scrubbed of `secrets` and of anything token-shaped."""
    install_secret_scrubber(secrets)
    root = logging.getLogger()
    root.handlers[:] = [stderr_handler(secrets)]
    root.setLevel(level.upper())
