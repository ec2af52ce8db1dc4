"""Kling adapter against the Kling stand-in: exact requests, a verified JWT, polling, errors, downloads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from adapters.base import FailureKind, JobPhase, ProviderError, RenderSpec, SpokenLine
from adapters.kling import KlingProvider, external_task_id
from adapters.media import probe_media
from jobs.domain.providers import build_provider
from tests.standins.config import provider_settings
from tests.standins.kling import ACCESS_KEY, SECRET_KEY, KlingStandin, envelope
from tests.standins.server import Reply

SPEC = RenderSpec(
    picture="Neon alley at night, slow push-in on a woman with a red umbrella",
    sound=["rain drumming on metal awnings", "distant traffic hiss"],
    music="sparse melancholic synth pad",
    dialogue=[SpokenLine(speaker="WOMAN", line="Not tonight.")],
    negative="text, logos",
    duration_s=8,
    aspect="16:9",
    resolution="720p",
    seed=7,
    label="1A",
)


@pytest.fixture()
def kling() -> Iterator[KlingStandin]:
    with KlingStandin() as server:
        yield server


@pytest.fixture()
def provider(kling: KlingStandin, tmp_path: Path) -> KlingProvider:
    settings = provider_settings(
        tmp_path, kling.url, KLING_ACCESS_KEY=ACCESS_KEY, KLING_SECRET_KEY=SECRET_KEY, KLING_API_URL=kling.url,
    )
    built = build_provider("kling", settings)
    assert isinstance(built, KlingProvider)
    return built


def error_of(call) -> ProviderError:  # noqa: ANN001 - a zero-argument callable
    with pytest.raises(ProviderError) as caught:
        call()
    return caught.value


# the request -------------------------------------------------------------------------


def test_submit_sends_the_documented_body_and_a_valid_jwt(provider: KlingProvider, kling: KlingStandin) -> None:
    before = int(time.time())
    task_id = provider.submit(SPEC)
    assert task_id == "kt-0001"
    (call,) = kling.calls("POST", "/v1/videos/text2video")
    assert call.headers["content-type"] == "application/json"
    scheme, token = call.headers["authorization"].split(" ", 1)
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
    assert claims["iss"] == ACCESS_KEY
    assert before + 1800 <= claims["exp"] <= int(time.time()) + 1800
    assert before - 5 <= claims["nbf"] <= int(time.time()) - 5
    assert call.json == {
        "model_name": "kling-v3",
        "prompt": (
            "Neon alley at night, slow push-in on a woman with a red umbrella. "
            "Sound: rain drumming on metal awnings; distant traffic hiss. "
            "Music: sparse melancholic synth pad. "
            'Woman says: "Not tonight."'
        ),
        "negative_prompt": "text, logos",
        "duration": "8",
        "mode": "std",
        "sound": "on",
        "aspect_ratio": "16:9",
        "external_task_id": external_task_id(SPEC, "kling-v3"),
    }
    assert "seed" not in call.json


def test_silent_1080p_square_takes_switch_sound_off_and_use_pro_mode(provider: KlingProvider, kling: KlingStandin) -> None:
    silent = SPEC.model_copy(update={"audio": False, "resolution": "1080p", "aspect": "1:1", "duration_s": 15,
                                     "negative": None})
    provider.submit(silent)
    body = kling.calls("POST")[0].json
    assert body["sound"] == "off"
    assert body["mode"] == "pro"
    assert body["aspect_ratio"] == "1:1"
    assert body["duration"] == "15"
    assert "negative_prompt" not in body
    assert body["prompt"] == "Neon alley at night, slow push-in on a woman with a red umbrella."


def test_a_resubmitted_take_finds_its_task_instead_of_paying_twice(provider: KlingProvider, kling: KlingStandin) -> None:
    first = provider.submit(SPEC)
    again = provider.submit(SPEC)
    assert again == first
    assert len(kling.jobs) == 1
    other = provider.submit(SPEC.model_copy(update={"label": "1B", "seed": 8}))
    assert other != first and len(kling.jobs) == 2


def test_a_submit_whose_answer_was_lost_finds_the_task_it_made(provider: KlingProvider, kling: KlingStandin) -> None:
    # Kling creates the task, but its answer is lost behind a 502 from a proxy.
    kling.script("POST", r"^/v1/videos/text2video$", Reply(502, {"message": "bad gateway"}, lose_answer=True))
    task_id = provider.submit(SPEC)
    assert task_id == "kt-0001" and len(kling.jobs) == 1
    assert kling.calls("GET")[-1].path == f"/v1/videos/text2video/{external_task_id(SPEC, 'kling-v3')}"
    assert provider.submit(SPEC) == task_id  # and any later retry lands on the same task
    assert len(kling.jobs) == 1


def test_token_is_reused_then_resigned_before_it_expires(provider: KlingProvider) -> None:
    first = provider.token()
    assert provider.token() == first
    provider._token_expires = time.time() + 30  # inside the re-sign margin
    time.sleep(1.01)
    second = provider.token()
    assert second != first
    assert jwt.decode(second, SECRET_KEY, algorithms=["HS256"])["exp"] >= int(time.time()) + 1799


# polling and the result --------------------------------------------------------------


def test_poll_walks_queued_running_succeeded_and_fetch_gets_a_real_clip(
    provider: KlingProvider, kling: KlingStandin, tmp_path: Path
) -> None:
    kling.finish_after_polls = 3
    task_id = provider.submit(SPEC)
    phases = [provider.poll(task_id) for _ in range(3)]
    assert [p.phase for p in phases] == [JobPhase.queued, JobPhase.running, JobPhase.succeeded]
    assert phases[-1].result_url == f"{kling.url}/media/{task_id}.mp4"
    assert [c.path for c in kling.calls("GET")] == [f"/v1/videos/text2video/{task_id}"] * 3
    clip = provider.fetch(task_id, phases[-1].result_url or "", tmp_path / "out" / "1A.mp4")
    info = probe_media(clip)
    assert info.has_video and info.has_audio


def test_a_failed_task_for_content_reasons_is_a_policy_refusal(provider: KlingProvider, kling: KlingStandin) -> None:
    kling.outcome, kling.finish_after_polls = "failed", 1
    result = provider.poll(provider.submit(SPEC))
    assert result.phase == JobPhase.failed
    assert result.failure_kind == FailureKind.policy
    assert result.message == "Failure to pass the risk control system"


def test_a_failed_task_for_other_reasons_can_be_rerolled(provider: KlingProvider, kling: KlingStandin) -> None:
    kling.outcome, kling.finish_after_polls, kling.fail_message = "failed", 1, "internal render error"
    result = provider.poll(provider.submit(SPEC))
    assert result.failure_kind == FailureKind.expired


def test_a_result_on_a_host_that_is_not_klings_is_refused(provider: KlingProvider, kling: KlingStandin, tmp_path: Path) -> None:
    kling.video_url, kling.finish_after_polls = "https://files.example.net/stolen.mp4", 1
    task_id = provider.submit(SPEC)
    result = provider.poll(task_id)
    assert result.phase == JobPhase.succeeded
    error = error_of(lambda: provider.fetch(task_id, result.result_url or "", tmp_path / "x.mp4"))
    assert error.kind == FailureKind.bad_media
    assert "files.example.net" in error.message and "*.klingai.com" in error.message
    assert not (tmp_path / "x.mp4").exists()


def test_a_plain_http_result_on_klings_own_host_is_refused(provider: KlingProvider, tmp_path: Path) -> None:
    error = error_of(lambda: provider.fetch("kt-1", "http://cdn.klingai.com/bs2/a.mp4", tmp_path / "x.mp4"))
    assert error.kind == FailureKind.bad_media and "not HTTPS" in error.message


# errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 1301, FailureKind.policy),
        (400, 1300, FailureKind.policy),
        (400, 1200, FailureKind.bad_request),
        (400, 1201, FailureKind.bad_request),
        (401, 1000, FailureKind.auth),
        (401, 1002, FailureKind.auth),
        (429, 1101, FailureKind.auth),
        (429, 1102, FailureKind.auth),
        (403, 1103, FailureKind.auth),
        (429, 1302, FailureKind.retry),
        (429, 1303, FailureKind.retry),
        (500, 5000, FailureKind.retry),
        (503, 5001, FailureKind.retry),
        (504, 5002, FailureKind.retry),
    ],
)
def test_service_codes_map_to_what_dailies_does(
    provider: KlingProvider, kling: KlingStandin, status: int, code: int, kind: FailureKind
) -> None:
    kling.script("POST", r"^/v1/videos/text2video$", Reply(status, envelope(code, f"kling says {code}")))
    kling.script("GET", r"^/v1/videos/text2video/", Reply(404, envelope(1203, "task not found")))
    error = error_of(lambda: provider.submit(SPEC))
    assert error.kind == kind
    assert f"kling says {code}" in error.message and f"code {code}" in error.message


def test_rate_limits_honour_retry_after_in_seconds(provider: KlingProvider, kling: KlingStandin) -> None:
    task_id = provider.submit(SPEC)
    kling.script("GET", r"^/v1/videos/text2video/", Reply(429, envelope(1302, "too fast"), headers={"Retry-After": "7"}))
    error = error_of(lambda: provider.poll(task_id))
    assert error.kind == FailureKind.retry and error.retry_after_s == 7.0
    assert provider.poll(task_id).phase in (JobPhase.queued, JobPhase.running, JobPhase.succeeded)


def test_rate_limits_honour_retry_after_as_an_http_date(provider: KlingProvider, kling: KlingStandin) -> None:
    import email.utils

    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    kling.script("GET", r"^/v1/videos/text2video/", Reply(503, envelope(5001, "maintenance"), headers={"Retry-After": when}))
    error = error_of(lambda: provider.poll("kt-0001"))
    assert error.kind == FailureKind.retry
    assert error.retry_after_s is not None and 17.0 <= error.retry_after_s <= 21.0


def test_an_expired_token_is_resigned_once_and_the_call_retried(provider: KlingProvider, kling: KlingStandin) -> None:
    task_id = provider.submit(SPEC)
    kling.script("GET", r"^/v1/videos/text2video/", Reply(401, envelope(1004, "Authorization has expired")))
    assert provider.poll(task_id).phase == JobPhase.queued
    assert len(kling.calls("GET")) == 2


def test_a_token_refused_twice_is_an_auth_failure(provider: KlingProvider, kling: KlingStandin) -> None:
    expired = Reply(401, envelope(1004, "Authorization has expired"))
    kling.script("GET", r"^/v1/videos/text2video/", expired, expired)
    error = error_of(lambda: provider.poll("kt-0001"))
    assert error.kind == FailureKind.auth and "code 1004" in error.message


def test_a_wrong_secret_is_an_auth_failure(kling: KlingStandin, tmp_path: Path) -> None:
    settings = provider_settings(tmp_path, kling.url, KLING_ACCESS_KEY=ACCESS_KEY, KLING_SECRET_KEY="wrong-secret-of-the-same-length-0000",
                                 KLING_API_URL=kling.url)
    error = error_of(lambda: build_provider("kling", settings).submit(SPEC))
    assert error.kind == FailureKind.auth and "code 1002" in error.message


def test_timeouts_and_refused_connections_mean_retry(kling: KlingStandin, tmp_path: Path) -> None:
    settings = provider_settings(tmp_path, kling.url, KLING_ACCESS_KEY=ACCESS_KEY, KLING_SECRET_KEY=SECRET_KEY,
                                 KLING_API_URL=kling.url, DAILIES_PROVIDER_TIMEOUT_S=0.3)
    provider = build_provider("kling", settings)
    kling.script("GET", r"^/v1/videos/text2video/", Reply(200, envelope(0, "ok"), delay_s=1.5))
    error = error_of(lambda: provider.poll("kt-0001"))
    assert error.kind == FailureKind.retry and "did not answer in time" in error.message
    dead = provider_settings(tmp_path, KLING_ACCESS_KEY=ACCESS_KEY, KLING_SECRET_KEY=SECRET_KEY,
                             KLING_API_URL="http://127.0.0.1:9")
    error = error_of(lambda: build_provider("kling", dead).poll("kt-0001"))
    assert error.kind == FailureKind.retry and "could not reach" in error.message


def test_kling_has_no_cancel(provider: KlingProvider) -> None:
    assert provider.cancel("kt-0001") is False


# configuration ---------------------------------------------------------------------------


def test_without_keys_kling_still_builds_and_says_what_to_set_when_used(tmp_path: Path) -> None:
    provider = build_provider("kling", provider_settings(tmp_path))
    assert provider.capabilities.durations_s == list(range(3, 16))
    assert provider.prices.per_second("1080p", True) == 0.168
    error = error_of(lambda: provider.submit(SPEC))
    assert error.kind == FailureKind.auth
    assert "set KLING_ACCESS_KEY and KLING_SECRET_KEY" in error.message


def test_capabilities_refuse_what_kling_cannot_make(provider: KlingProvider, kling: KlingStandin) -> None:
    assert provider.capabilities.problems(SPEC.model_copy(update={"duration_s": 20})) == [
        "20 s clips (it makes 3–15 s)"
    ]
    assert provider.capabilities.seed is False
    error = error_of(lambda: provider.submit(SPEC.model_copy(update={"duration_s": 20})))
    assert error.kind == FailureKind.bad_request
    assert kling.calls() == []


def test_prices_can_be_overridden_by_configuration(tmp_path: Path) -> None:
    settings = provider_settings(tmp_path, DAILIES_PRICES={"kling": {"silent": {"720p": 0.05}}})
    prices = build_provider("kling", settings).prices
    assert prices.per_second("720p", False) == 0.05
    assert prices.per_second("720p", True) == 0.126
