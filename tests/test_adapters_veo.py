"""Veo on Vertex AI against its stand-in: exact requests, the operation lifecycle, GCS and inline results, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.base import FailureKind, JobPhase, ProviderError, RenderSpec, SpokenLine
from adapters.media import probe_media
from adapters.veo import VeoProvider
from jobs.domain.brief import BriefError, parse_brief
from jobs.domain.channels import ChannelSettings
from jobs.domain.providers import build_provider
from jobs.domain.requests import resolve_brief
from tests.standins.config import provider_settings
from tests.standins.server import Reply
from tests.standins.veo import LOCATION, PROJECT, TOKEN, VeoStandin, google_error

SPEC = RenderSpec(
    picture="Neon alley at night, slow push-in on a woman with a red umbrella",
    sound=["rain drumming on metal awnings", "distant traffic hiss"],
    music="sparse melancholic synth pad",
    dialogue=[SpokenLine(speaker="WOMAN", line="Not tonight.")],
    negative="text, logos",
    duration_s=8,
    aspect="16:9",
    resolution="1080p",
    seed=7,
    label="1A",
)
MODEL_PATH = f"/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/veo-3.1-generate-001"


@pytest.fixture()
def vertex() -> Iterator[VeoStandin]:
    with VeoStandin() as server:
        yield server


def veo_settings(tmp_path: Path, vertex: VeoStandin, **env: object):  # noqa: ANN201 - Settings
    values: dict[str, object] = {
        "VEO_PROJECT": PROJECT, "VEO_LOCATION": LOCATION, "VEO_ACCESS_TOKEN": TOKEN, "VEO_API_URL": vertex.url,
        "VEO_STORAGE_API_URL": vertex.url,
    }
    values.update(env)
    return provider_settings(tmp_path, vertex.url, **values)


@pytest.fixture()
def provider(vertex: VeoStandin, tmp_path: Path) -> VeoProvider:
    built = build_provider("veo", veo_settings(tmp_path, vertex))
    assert isinstance(built, VeoProvider)
    return built


def error_of(call) -> ProviderError:  # noqa: ANN001 - a zero-argument callable
    with pytest.raises(ProviderError) as caught:
        call()
    return caught.value


def test_submit_calls_predict_long_running_with_the_documented_body(provider: VeoProvider, vertex: VeoStandin) -> None:
    name = provider.submit(SPEC)
    assert name == f"{MODEL_PATH[4:]}/operations/op-0001"
    (call,) = vertex.calls("POST")
    assert call.path == MODEL_PATH + ":predictLongRunning"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.json == {
        "instances": [{
            "prompt": (
                "Neon alley at night, slow push-in on a woman with a red umbrella. "
                'Woman says, "Not tonight." '
                "SFX: rain drumming on metal awnings; distant traffic hiss. "
                "Music: sparse melancholic synth pad."
            ),
        }],
        "parameters": {
            "sampleCount": 1,
            "durationSeconds": 8,
            "aspectRatio": "16:9",
            "resolution": "1080p",
            "generateAudio": True,
            "negativePrompt": "text, logos",
            "seed": 7,
            "personGeneration": "allow_adult",
        },
    }


def test_silent_takes_switch_generate_audio_off_and_storage_uri_is_sent_when_set(
    vertex: VeoStandin, tmp_path: Path
) -> None:
    provider = build_provider("veo", veo_settings(tmp_path, vertex, VEO_STORAGE_URI="gs://team-bucket/dailies/"))
    provider.submit(SPEC.model_copy(update={"audio": False, "negative": None, "seed": None}))
    params = vertex.calls("POST")[0].json["parameters"]
    assert params["generateAudio"] is False
    assert params["storageUri"] == "gs://team-bucket/dailies/"
    assert "negativePrompt" not in params and "seed" not in params
    assert vertex.calls("POST")[0].json["instances"][0]["prompt"] == (
        "Neon alley at night, slow push-in on a woman with a red umbrella."
    )


def test_a_gcs_result_is_fetched_through_the_storage_api_with_the_token(
    vertex: VeoStandin, tmp_path: Path
) -> None:
    provider = build_provider("veo", veo_settings(tmp_path, vertex, VEO_STORAGE_URI="gs://team-bucket/dailies/"))
    vertex.finish_after_polls = 3
    name = provider.submit(SPEC)
    phases = [provider.poll(name) for _ in range(3)]
    assert [p.phase for p in phases] == [JobPhase.running, JobPhase.running, JobPhase.succeeded]
    assert phases[-1].result_url == "gs://team-bucket/dailies/op-0001/sample_0.mp4"
    fetches = vertex.calls("POST", ":fetchPredictOperation")
    assert len(fetches) == 3 and all(c.json == {"operationName": name} for c in fetches)
    clip = provider.fetch(name, phases[-1].result_url or "", tmp_path / "1A.mp4")
    download = vertex.calls("GET")[-1]
    assert download.path == "/storage/v1/b/team-bucket/o/dailies%2Fop-0001%2Fsample_0.mp4"
    assert download.query == {"alt": ["media"]}
    assert download.headers["authorization"] == f"Bearer {TOKEN}"
    info = probe_media(clip)
    assert info.has_video and info.has_audio


def test_an_inline_result_is_decoded_at_fetch_time_not_kept_in_the_poll(
    provider: VeoProvider, vertex: VeoStandin, tmp_path: Path
) -> None:
    vertex.outcome, vertex.finish_after_polls = "inline", 1
    name = provider.submit(SPEC)
    result = provider.poll(name)
    assert result.phase == JobPhase.succeeded and result.result_url == "veo-inline:0"
    clip = provider.fetch(name, "veo-inline:0", tmp_path / "1A.mp4")
    assert probe_media(clip).has_video


def test_an_inline_result_over_the_cap_is_refused(vertex: VeoStandin, tmp_path: Path) -> None:
    provider = build_provider("veo", veo_settings(tmp_path, vertex, DAILIES_MAX_DOWNLOAD_BYTES=10_000))
    vertex.outcome, vertex.finish_after_polls = "inline", 1
    name = provider.submit(SPEC)
    error = error_of(lambda: provider.fetch(name, "veo-inline:0", tmp_path / "1A.mp4"))
    assert error.kind == FailureKind.bad_media
    assert not (tmp_path / "1A.mp4").exists()


def test_filtered_videos_are_a_policy_refusal_with_googles_reason(provider: VeoProvider, vertex: VeoStandin) -> None:
    vertex.outcome, vertex.finish_after_polls = "filtered", 1
    result = provider.poll(provider.submit(SPEC))
    assert result.phase == JobPhase.failed and result.failure_kind == FailureKind.policy
    assert result.message == "The prompt could not be submitted: it may violate our policies."


def test_no_samples_at_all_is_a_policy_refusal(provider: VeoProvider, vertex: VeoStandin) -> None:
    vertex.outcome, vertex.finish_after_polls = "empty", 1
    result = provider.poll(provider.submit(SPEC))
    assert result.failure_kind == FailureKind.policy and "no video" in (result.message or "")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"code": 13, "message": "Internal error"}, FailureKind.expired),
        ({"code": 3, "message": "Unsupported resolution for this duration"}, FailureKind.bad_request),
        ({"code": 3, "message": "The prompt violates Vertex AI's usage guidelines"}, FailureKind.policy),
        ({"code": 7, "message": "Permission denied on the model"}, FailureKind.auth),
        ({"code": 1, "message": "Cancelled"}, FailureKind.cancelled),
    ],
)
def test_operation_errors(provider: VeoProvider, vertex: VeoStandin, error: dict, kind: FailureKind) -> None:
    vertex.outcome, vertex.operation_error, vertex.finish_after_polls = "error", error, 1
    result = provider.poll(provider.submit(SPEC))
    assert result.phase == JobPhase.failed and result.failure_kind == kind
    assert result.message == error["message"]


@pytest.mark.parametrize(
    ("status", "grpc", "message", "kind"),
    [
        (429, "RESOURCE_EXHAUSTED", "Quota exceeded for online prediction requests", FailureKind.retry),
        (500, "INTERNAL", "Internal error", FailureKind.retry),
        (503, "UNAVAILABLE", "The service is currently unavailable", FailureKind.retry),
        (400, "INVALID_ARGUMENT", "durationSeconds is invalid", FailureKind.bad_request),
        (400, "INVALID_ARGUMENT", "The prompt contains words that violate the usage guidelines", FailureKind.policy),
        (401, "UNAUTHENTICATED", "Request had invalid authentication credentials", FailureKind.auth),
        (403, "PERMISSION_DENIED", "Vertex AI API has not been used in project", FailureKind.auth),
        (404, "NOT_FOUND", "Publisher model not found", FailureKind.bad_request),
    ],
)
def test_http_errors_on_submit(
    provider: VeoProvider, vertex: VeoStandin, status: int, grpc: str, message: str, kind: FailureKind
) -> None:
    vertex.script("POST", r":predictLongRunning$", google_error(status, grpc, message))
    error = error_of(lambda: provider.submit(SPEC))
    assert error.kind == kind and message in error.message


def test_resource_exhausted_honours_retry_after(provider: VeoProvider, vertex: VeoStandin) -> None:
    name = provider.submit(SPEC)
    vertex.script("POST", r":fetchPredictOperation$",
                  Reply(429, {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}},
                        headers={"Retry-After": "30"}))
    error = error_of(lambda: provider.poll(name))
    assert error.kind == FailureKind.retry and error.retry_after_s == 30.0


def test_an_unknown_operation_has_expired(provider: VeoProvider) -> None:
    error = error_of(lambda: provider.poll(f"{MODEL_PATH[4:]}/operations/op-9999"))
    assert error.kind == FailureKind.expired


def test_a_gcs_result_on_another_host_is_refused(provider: VeoProvider, tmp_path: Path) -> None:
    error = error_of(lambda: provider.fetch("op", "https://evil.example.com/video.mp4", tmp_path / "x.mp4"))
    assert error.kind == FailureKind.bad_media and "evil.example.com" in error.message


def test_without_project_or_token_veo_builds_and_says_what_to_set(tmp_path: Path) -> None:
    provider = build_provider("veo", provider_settings(tmp_path))
    assert provider.capabilities.durations_s == [4, 6, 8]
    error = error_of(lambda: provider.submit(SPEC))
    assert error.kind == FailureKind.auth and "set VEO_PROJECT and VEO_ACCESS_TOKEN" in error.message


def test_capabilities_refuse_15s_square_and_1080p_below_8s(provider: VeoProvider, vertex: VeoStandin) -> None:
    caps = provider.capabilities
    assert caps.problems(SPEC.model_copy(update={"duration_s": 15})) == ["15 s clips (it makes 4, 6, 8 s)"]
    assert caps.problems(SPEC.model_copy(update={"aspect": "1:1"})) == ["1:1 (it makes 16:9, 9:16)"]
    assert caps.problems(SPEC.model_copy(update={"duration_s": 6})) == ["1080p at 6 s (it makes 1080p only at 8 s)"]
    assert caps.problems(SPEC.model_copy(update={"duration_s": 6, "resolution": "720p"})) == []
    error = error_of(lambda: provider.submit(SPEC.model_copy(update={"aspect": "1:1"})))
    assert error.kind == FailureKind.bad_request and vertex.calls() == []


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("--model veo 15s", "Veo 3.1 cannot make 15 s clips (it makes 4, 6, 8 s)."),
        ("--model veo 1:1", "Veo 3.1 cannot make 1:1 (it makes 16:9, 9:16)."),
        ("--model fal:fal-ai/veo3.1 12s", "Veo 3.1 (fal) cannot make 12 s clips (it makes 4, 6, 8 s)."),
        ("--model kling 20s", "Kling 3.0 cannot make 20 s clips (it makes 3–15 s)."),
        ("--model seedance 1080p", "Seedance 2.0 cannot make 1080p (it makes 720p)."),
    ],
)
def test_a_brief_asking_for_what_the_model_cannot_do_is_refused_before_submitting(
    tmp_path: Path, flags: str, expected: str
) -> None:
    brief = parse_brief(f"Neon alley at night. Sound: rain\n{flags}")
    with pytest.raises(BriefError) as caught:
        resolve_brief(brief, provider_settings(tmp_path), ChannelSettings())
    assert str(caught.value) == expected


def test_a_brief_veo_can_make_resolves_without_any_key(tmp_path: Path) -> None:
    brief = parse_brief("Neon alley at night. Sound: rain\n--model veo 8s 9:16 1080p")
    resolved = resolve_brief(brief, provider_settings(tmp_path), ChannelSettings())
    assert (resolved.model, resolved.duration_s, resolved.aspect, resolved.resolution) == ("veo", 8, "9:16", "1080p")
