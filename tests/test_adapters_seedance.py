"""Seedance adapter against the ModelArk stand-in: exact requests, task states, error codes, cancel, downloads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.base import FailureKind, JobPhase, ProviderError, RenderSpec, SpokenLine
from adapters.media import probe_media
from adapters.seedance import SeedanceProvider
from jobs.domain.providers import build_provider
from tests.standins.config import provider_settings
from tests.standins.seedance import API_KEY, SeedanceStandin, ark_error
from tests.standins.server import Reply

SPEC = RenderSpec(
    picture="A lighthouse on a cliff at dusk, waves breaking below",
    sound=["surf crashing", "gulls"],
    music_off=True,
    dialogue=[SpokenLine(speaker="KEEPER", line="Storm's coming.")],
    negative="people",
    duration_s=5,
    aspect="9:16",
    resolution="720p",
    seed=1234,
    label="2B",
)


@pytest.fixture()
def ark() -> Iterator[SeedanceStandin]:
    with SeedanceStandin() as server:
        yield server


@pytest.fixture()
def provider(ark: SeedanceStandin, tmp_path: Path) -> SeedanceProvider:
    built = build_provider("seedance", provider_settings(tmp_path, ark.url, ARK_API_KEY=API_KEY, SEEDANCE_API_URL=ark.api_url))
    assert isinstance(built, SeedanceProvider)
    return built


def error_of(call) -> ProviderError:  # noqa: ANN001 - a zero-argument callable
    with pytest.raises(ProviderError) as caught:
        call()
    return caught.value


def test_submit_sends_the_documented_task(provider: SeedanceProvider, ark: SeedanceStandin) -> None:
    task_id = provider.submit(SPEC)
    assert task_id == "cgt-20261125-00001"
    (call,) = ark.calls("POST")
    assert call.path == "/api/v3/contents/generations/tasks"
    assert call.headers["authorization"] == f"Bearer {API_KEY}"
    assert call.json == {
        "model": "dreamina-seedance-2-0-260128",
        "content": [{
            "type": "text",
            "text": (
                "A lighthouse on a cliff at dusk, waves breaking below. Sound: surf crashing; gulls. No music. "
                'Keeper says: "Storm\'s coming."'
            ),
        }],
        "generate_audio": True,
        "ratio": "9:16",
        "duration": 5,
        "resolution": "720p",
        "seed": 1234,
        "watermark": False,
    }
    assert "people" not in call.json["content"][0]["text"]  # no negative field, and not smuggled into the text


def test_silent_takes_switch_generate_audio_off_and_no_seed_means_random(provider: SeedanceProvider, ark: SeedanceStandin) -> None:
    provider.submit(SPEC.model_copy(update={"audio": False, "seed": None}))
    body = ark.calls("POST")[0].json
    assert body["generate_audio"] is False
    assert body["seed"] == -1
    assert body["content"][0]["text"] == "A lighthouse on a cliff at dusk, waves breaking below."


def test_poll_walks_the_task_states_and_fetch_gets_a_real_clip(
    provider: SeedanceProvider, ark: SeedanceStandin, tmp_path: Path
) -> None:
    ark.finish_after_polls = 3
    task_id = provider.submit(SPEC)
    phases = [provider.poll(task_id) for _ in range(3)]
    assert [p.phase for p in phases] == [JobPhase.queued, JobPhase.running, JobPhase.succeeded]
    assert [c.path for c in ark.calls("GET")] == [f"/api/v3/contents/generations/tasks/{task_id}"] * 3
    clip = provider.fetch(task_id, phases[-1].result_url or "", tmp_path / "2B.mp4")
    assert probe_media(clip).has_audio


@pytest.mark.parametrize(
    ("outcome", "code", "kind"),
    [
        ("failed", "OutputVideoSensitiveContentDetected", FailureKind.policy),
        ("failed", "OutputAudioSensitiveContentDetected", FailureKind.policy),
        ("failed", "InputTextSensitiveContentDetected", FailureKind.policy),
        ("failed", "InternalServiceError", FailureKind.expired),
        ("expired", "", FailureKind.expired),
    ],
)
def test_finished_tasks_that_did_not_succeed(
    provider: SeedanceProvider, ark: SeedanceStandin, outcome: str, code: str, kind: FailureKind
) -> None:
    ark.outcome, ark.error_code, ark.finish_after_polls = outcome, code, 1
    result = provider.poll(provider.submit(SPEC))
    assert result.phase == JobPhase.failed
    assert result.failure_kind == kind
    if code:
        assert code in (result.message or "")


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "InputTextSensitiveContentDetected", FailureKind.policy),
        (400, "InvalidParameter", FailureKind.bad_request),
        (400, "MissingParameter", FailureKind.bad_request),
        (401, "AuthenticationError", FailureKind.auth),
        (403, "AccountOverdueError", FailureKind.auth),
        (404, "ModelNotOpen", FailureKind.auth),
        (429, "QuotaExceeded", FailureKind.auth),
        (429, "RateLimitExceeded.EndpointRPMExceeded", FailureKind.retry),
        (429, "ServerOverloaded", FailureKind.retry),
        (500, "InternalServiceError", FailureKind.retry),
        (502, "", FailureKind.retry),
    ],
)
def test_error_codes_map_to_what_dailies_does(
    provider: SeedanceProvider, ark: SeedanceStandin, status: int, code: str, kind: FailureKind
) -> None:
    reply = ark_error(status, code, f"ark says {code}") if code else Reply(status, body=b"<html>bad gateway</html>")
    ark.script("POST", r"/tasks$", reply)
    error = error_of(lambda: provider.submit(SPEC))
    assert error.kind == kind
    if code:
        assert code in error.message


def test_rate_limits_honour_retry_after(provider: SeedanceProvider, ark: SeedanceStandin) -> None:
    ark.script("POST", r"/tasks$", Reply(429, {"error": {"code": "RateLimitExceeded", "message": "slow down"}},
                                         headers={"Retry-After": "3"}))
    error = error_of(lambda: provider.submit(SPEC))
    assert error.kind == FailureKind.retry and error.retry_after_s == 3.0
    assert provider.submit(SPEC).startswith("cgt-")


def test_cancel_deletes_a_queued_task_and_reports_a_running_one_as_not_cancelled(
    provider: SeedanceProvider, ark: SeedanceStandin
) -> None:
    queued = provider.submit(SPEC)
    assert provider.cancel(queued) is True
    assert ark.calls("DELETE")[0].path == f"/api/v3/contents/generations/tasks/{queued}"
    result = provider.poll(queued)
    assert result.phase == JobPhase.failed and result.failure_kind == FailureKind.cancelled
    ark.finish_after_polls = 5
    running = provider.submit(SPEC)
    provider.poll(running)
    provider.poll(running)
    assert provider.cancel(running) is False


def test_a_result_on_a_host_that_is_not_modelarks_is_refused(
    provider: SeedanceProvider, ark: SeedanceStandin, tmp_path: Path
) -> None:
    ark.video_url, ark.finish_after_polls = "https://cdn.example.org/video.mp4", 1
    task_id = provider.submit(SPEC)
    result = provider.poll(task_id)
    error = error_of(lambda: provider.fetch(task_id, result.result_url or "", tmp_path / "x.mp4"))
    assert error.kind == FailureKind.bad_media and "cdn.example.org" in error.message


def test_modelarks_real_result_hosts_are_allowed(provider: SeedanceProvider) -> None:
    from adapters.download import refusal

    url = "https://ark-content-generation-ap-southeast-1.tos-ap-southeast-1.volces.com/seedance/0217.mp4?X-Tos-Algorithm=x"
    assert refusal(url, provider.media) is None
    assert refusal("https://ark-content-generation-v2-ap-southeast-1.tos-ap-southeast-1.bytepluses.com/a.mp4",
                   provider.media) is None
    assert refusal("https://someone.tos-ap-southeast-1.volces.com/a.mp4", provider.media) is not None


def test_capabilities_refuse_what_seedance_2_cannot_make(provider: SeedanceProvider, ark: SeedanceStandin) -> None:
    problems = provider.capabilities.problems(SPEC.model_copy(update={"resolution": "1080p", "duration_s": 3}))
    assert problems == ["3 s clips (it makes 4–15 s)", "1080p (it makes 720p)"]
    error = error_of(lambda: provider.submit(SPEC.model_copy(update={"resolution": "1080p"})))
    assert error.kind == FailureKind.bad_request and ark.calls() == []
    assert provider.capabilities.negative_prompt is False


def test_without_a_key_seedance_builds_and_says_what_to_set_when_used(tmp_path: Path) -> None:
    provider = build_provider("seedance", provider_settings(tmp_path))
    assert provider.prices.per_second("720p", True) == pytest.approx(0.0518, abs=0.001)
    error = error_of(lambda: provider.poll("cgt-1"))
    assert error.kind == FailureKind.auth and "set ARK_API_KEY" in error.message
