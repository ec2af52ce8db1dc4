"""Staying up: delivery errors the pipeline retries, Redis reachability,
and the decode check every provider file passes before it is posted. Which chat errors are worth retrying is
the chat side's to say (`bot/slack/errors.py`); here a `DeliveryError` only carries the answer."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
from redis.sentinel import MasterNotFoundError

from adapters.media import MediaError, ffmpeg_exe, input_args, not_clean
from jobs.infra.redis_client import connect, describe, redact_url
from jobs.infra.settings import Settings


class DeliveryError(Exception):
    """Posting a finished take to Slack failed. `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, code: str = "unknown_error", retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


def redis_problem(settings: Settings, *, timeout_s: float = 2.0) -> str | None:
    """None when the configured Redis answers PING; otherwise one line naming the variable to fix."""
    url = settings.redis_url
    try:
        client = connect(settings, timeout_s=timeout_s)
    except (ValueError, redis.RedisError) as error:
        return f"REDIS_URL={redact_url(url)} is not a valid Redis URL ({error}). Example: redis://127.0.0.1:6379/0"
    try:
        client.ping()
    except MasterNotFoundError as error:
        return (f"REDIS_SENTINEL_MASTER={settings.redis_sentinel_master}: the sentinels at "
                f"{','.join(settings.redis_sentinels)} name no reachable primary of that name ({first_line(error)}). "
                "Use the name in their `sentinel monitor NAME …` line, and check REDIS_SENTINELS.")
    except redis.AuthenticationError as error:
        return (f"Redis at {describe(settings)} refused the password ({first_line(error)}): check REDIS_PASSWORD "
                "(or the password in REDIS_URL)")
    except redis.RedisError as error:
        where = f"REDIS_SENTINELS={','.join(settings.redis_sentinels)}" if settings.redis_sentinels \
            else f"REDIS_URL={redact_url(url)}"
        return f"Redis is unreachable at {where} ({first_line(error)}). Start Redis or point {where.split('=')[0]} " \
               "at a running one."
    finally:
        client.close()
    return None


def first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def decode_problem(clip: Path, *, timeout_s: float = 120.0) -> str | None:
    """Decode every frame and sample with ffmpeg; a file that does not decode cleanly is not posted."""
    started = time.monotonic()
    try:
        result = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *input_args(clip), "-f", "null", "-"],
            capture_output=True, text=True, timeout=timeout_s, errors="replace",
        )
    except MediaError as error:
        return str(error)
    except subprocess.TimeoutExpired:
        return f"it did not decode within {timeout_s:.0f} s"
    errors = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    if result.returncode != 0 or errors:
        return not_clean(errors or [f"ffmpeg exited with {result.returncode}"],
                         f" in {time.monotonic() - started:.1f} s")
    return None
