"""fal queue adapter against its stand-in: exact requests, returned URLs, queue positions, fal's error shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.base import FailureKind, JobPhase, ProviderError, RenderSpec, SpokenLine
from adapters.fal import FalProvider
from adapters.media import probe_media
from jobs.domain.providers import build_provider
from tests.standins.config import provider_settings
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.server import Reply, StandinServer

SPEC = RenderSpec(
    picture="A chef flambés a pan in a busy kitchen",
    sound=["pan sizzle", "kitchen clatter"],
    music=None,
    dialogue=[SpokenLine(speaker=None, line="Service!")],
    negative="blurry",
    duration_s=8,
    aspect="9:16",
    resolution="720p",
    seed=42,
    label="1C",
)


@pytest.fixture()
def fal() -> Iterator[FalStandin]:
    with FalStandin() as server:
        yield server


def fal_provider(fal: FalStandin, tmp_path: Path, endpoint: str = "fal-ai/veo3.1", **env: object) -> FalProvider:
    settings = provider_settings(tmp_path, fal.url, FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url, **env)
    built = build_provider(f"fal:{endpoint}", settings)
    assert isinstance(built, FalProvider)
    return built


@pytest.fixture()
def provider(fal: FalStandin, tmp_path: Path) -> FalProvider:
    return fal_provider(fal, tmp_path)


def error_of(call) -> ProviderError:  # noqa: ANN001 - a zero-argument callable
    with pytest.raises(ProviderError) as caught:
        call()
    return caught.value


def test_submit_posts_the_veo31_input_with_the_key(provider: FalProvider, fal: FalStandin) -> None:
    job_id = provider.submit(SPEC)
    (call,) = fal.calls("POST")
    assert call.path == "/fal-ai/veo3.1"
    assert call.headers["authorization"] == f"Key {FAL_KEY}"
    assert call.json == {
        "prompt": (
            'A chef flambés a pan in a busy kitchen. A voice says, "Service!" SFX: pan sizzle; kitchen clatter.'
        ),
        "aspect_ratio": "9:16",
        "duration": "8s",
        "resolution": "720p",
        "negative_prompt": "blurry",
        "generate_audio": True,
        "seed": 42,
    }
    job = json.loads(job_id)
    (request_id,) = fal.jobs
    root = f"{fal.url}/fal-ai/veo3.1/requests/{request_id}"
    assert job == {"e": "fal-ai/veo3.1", "id": request_id, "s": root + "/status", "r": root, "c": root + "/cancel"}


def test_silent_takes_switch_generate_audio_off(provider: FalProvider, fal: FalStandin) -> None:
    provider.submit(SPEC.model_copy(update={"audio": False, "seed": None, "negative": None}))
    body = fal.calls("POST")[0].json
    assert body["generate_audio"] is False
    assert "seed" not in body and "negative_prompt" not in body
    assert body["prompt"] == "A chef flambés a pan in a busy kitchen."


def test_any_other_endpoint_gets_the_generic_input(fal: FalStandin, tmp_path: Path) -> None:
    provider = fal_provider(fal, tmp_path, endpoint="fal-ai/kling-video/v3/pro/text-to-video",
                            DAILIES_FAL_ENDPOINTS="fal-ai/kling-video/v3/pro/text-to-video")
    provider.submit(SPEC.model_copy(update={"duration_s": 5, "aspect": "1:1"}))
    call = fal.calls("POST")[0]
    assert call.path == "/fal-ai/kling-video/v3/pro/text-to-video"
    assert call.json["duration"] == "5" and call.json["aspect_ratio"] == "1:1"
    assert call.json["prompt"] == (
        'A chef flambés a pan in a busy kitchen. Sound: pan sizzle; kitchen clatter. A voice says: "Service!"'
    )
    assert provider.prices.per_second("720p", False) == 0.40  # never under-counted


def test_poll_reports_queue_position_then_progress_then_the_video(
    provider: FalProvider, fal: FalStandin, tmp_path: Path
) -> None:
    fal.finish_after_polls = 4
    job_id = provider.submit(SPEC)
    first, second, third, done = (provider.poll(job_id) for _ in range(4))
    assert (first.phase, first.queue_position) == (JobPhase.queued, 2)
    assert (second.phase, second.queue_position) == (JobPhase.queued, 1)
    assert third.phase == JobPhase.running
    assert done.phase == JobPhase.succeeded
    (request_id,) = fal.jobs
    assert done.result_url == f"{fal.url}/media/{request_id}.mp4"
    status_calls = fal.calls("GET", "/status")
    assert len(status_calls) == 4 and all(c.headers["authorization"] == f"Key {FAL_KEY}" for c in status_calls)
    assert fal.calls("GET")[-1].path == f"/fal-ai/veo3.1/requests/{request_id}"
    clip = provider.fetch(job_id, done.result_url or "", tmp_path / "1C.mp4")
    assert probe_media(clip).has_audio


@pytest.mark.parametrize(
    ("outcome", "kind", "message"),
    [
        ("policy", FailureKind.policy, "The content was flagged by a content checker."),
        ("validation", FailureKind.bad_request, "unexpected value"),
        ("infra", FailureKind.expired, "Runner disconnected"),
    ],
)
def test_failed_requests(provider: FalProvider, fal: FalStandin, outcome: str, kind: FailureKind, message: str) -> None:
    fal.outcome, fal.finish_after_polls = outcome, 1
    result = provider.poll(provider.submit(SPEC))
    assert result.phase == JobPhase.failed and result.failure_kind == kind
    assert message in (result.message or "")


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply(401, {"detail": "Unauthorized"}), FailureKind.auth),
        (Reply(403, {"detail": "User is locked. Reason: Exhausted balance."}), FailureKind.auth),
        (Reply(422, {"detail": [{"loc": ["body", "duration"], "msg": "bad", "type": "literal_error"}]}),
         FailureKind.bad_request),
        (Reply(422, {"detail": [{"loc": ["body", "prompt"], "msg": "flagged", "type": "content_policy_violation"}]}),
         FailureKind.policy),
        (Reply(429, {"detail": "Too many requests"}, headers={"Retry-After": "9"}), FailureKind.retry),
        (Reply(503, {"detail": "No runner", "error_type": "runner_scheduling_failure"},
               headers={"X-Fal-Error-Type": "runner_scheduling_failure"}), FailureKind.retry),
        (Reply(504, {"detail": "Request timed out", "error_type": "request_timeout"}), FailureKind.retry),
    ],
)
def test_submit_errors(provider: FalProvider, fal: FalStandin, reply: Reply, kind: FailureKind) -> None:
    fal.script("POST", r"^/fal-ai/veo3\.1$", reply)
    error = error_of(lambda: provider.submit(SPEC))
    assert error.kind == kind
    if reply.status == 429:
        assert error.retry_after_s == 9.0


def test_a_busy_status_endpoint_means_retry_later(provider: FalProvider, fal: FalStandin) -> None:
    job_id = provider.submit(SPEC)
    fal.script("GET", r"/status$", Reply(502, body=b"bad gateway", headers={"Retry-After": "4"}))
    error = error_of(lambda: provider.poll(job_id))
    assert error.kind == FailureKind.retry and error.retry_after_s == 4.0


def test_links_on_another_host_are_refused_and_the_key_never_sent_there(fal: FalStandin, tmp_path: Path) -> None:
    with StandinServer() as elsewhere:
        fal.urls_host = elsewhere.url
        provider = fal_provider(fal, tmp_path)
        error = error_of(lambda: provider.submit(SPEC))
        assert error.kind == FailureKind.bad_request and "will not send the key there" in error.message
        forged = json.dumps({"e": "fal-ai/veo3.1", "id": "x", "s": elsewhere.url + "/s", "r": elsewhere.url + "/r",
                             "c": elsewhere.url + "/c"})
        assert error_of(lambda: provider.poll(forged)).kind == FailureKind.bad_request
        assert elsewhere.calls() == []


def test_cancel_puts_the_cancel_url_and_a_finished_request_cannot_be_cancelled(
    provider: FalProvider, fal: FalStandin
) -> None:
    job_id = provider.submit(SPEC)
    assert provider.cancel(job_id) is True
    (request_id,) = fal.jobs
    assert fal.calls("PUT")[0].path == f"/fal-ai/veo3.1/requests/{request_id}/cancel"
    result = provider.poll(job_id)
    assert result.phase == JobPhase.failed and result.failure_kind == FailureKind.cancelled
    fal.finish_after_polls = 1
    finished = provider.submit(SPEC)
    provider.poll(finished)
    assert provider.cancel(finished) is False


def test_a_result_on_a_host_that_is_not_fals_is_refused(provider: FalProvider, fal: FalStandin, tmp_path: Path) -> None:
    fal.video_url, fal.finish_after_polls = "https://uploads.example.com/video.mp4", 1
    job_id = provider.submit(SPEC)
    result = provider.poll(job_id)
    error = error_of(lambda: provider.fetch(job_id, result.result_url or "", tmp_path / "x.mp4"))
    assert error.kind == FailureKind.bad_media and "uploads.example.com" in error.message


def test_fals_own_media_hosts_are_allowed(provider: FalProvider) -> None:
    from adapters.download import refusal

    assert refusal("https://v3b.fal.media/files/b/lion/k_output.mp4", provider.media) is None
    assert refusal("https://fal.media/files/output.mp4", provider.media) is None
    assert refusal("https://storage.googleapis.com/falserverless/example_outputs/out.mp4", provider.media) is None
    assert refusal("https://storage.googleapis.com/another-bucket/out.mp4", provider.media) is not None


def test_a_malformed_endpoint_is_refused_before_any_request(fal: FalStandin, tmp_path: Path) -> None:
    # the model table refuses it already (test_only_known_or_allowed_fal_endpoints_build); the adapter checks too
    provider = fal_provider(fal, tmp_path, endpoint="../../admin", DAILIES_FAL_ENDPOINTS="../../admin")
    error = error_of(lambda: provider.submit(SPEC))
    assert error.kind == FailureKind.bad_request and "not a fal endpoint id" in error.message
    assert fal.calls() == []


def test_without_a_key_fal_builds_and_says_what_to_set(tmp_path: Path) -> None:
    provider = build_provider("fal:fal-ai/veo3.1", provider_settings(tmp_path))
    assert provider.display_name == "Veo 3.1 (fal)"
    assert provider.prices.per_second("1080p", True) == 0.40 and provider.prices.per_second("720p", False) == 0.20
    error = error_of(lambda: provider.submit(SPEC))
    assert error.kind == FailureKind.auth and "set FAL_KEY" in error.message


def test_fal_veo_capabilities(provider: FalProvider) -> None:
    assert provider.capabilities.problems(SPEC.model_copy(update={"duration_s": 10, "aspect": "1:1"})) == [
        "10 s clips (it makes 4, 6, 8 s)", "1:1 (it makes 16:9, 9:16)",
    ]


def test_only_known_or_allowed_fal_endpoints_build(fal: FalStandin, tmp_path: Path) -> None:
    from jobs.domain.providers import UnknownModel

    settings = provider_settings(tmp_path, fal.url, FAL_KEY=FAL_KEY, DAILIES_FAL_ENDPOINTS="acme/house-model")
    assert isinstance(build_provider("fal:acme/house-model", settings), FalProvider)
    for endpoint in ("stranger/any-app", "fal-ai/veo3.1/../../stranger", "<!channel>"):
        with pytest.raises(UnknownModel, match="DAILIES_FAL_ENDPOINTS") as refused:
            build_provider(f"fal:{endpoint}", settings)
        assert "<!channel>" not in str(refused.value)
    assert not fal.calls()
