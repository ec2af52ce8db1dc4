"""The take pipeline end to end with real provider adapters against their stand-ins, on a real Redis.

submit → poll (re-scheduled with back-off) → fetch, check, post, driven by the
inline scheduler; a notifier written here records what the thread would see.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.domain.brief import parse_brief
from jobs.domain.channels import ChannelSettings
from jobs.domain.models import Request, Take, TakeState
from jobs.domain.requests import build_request, resolve_brief
from jobs.domain.store import RedisStore
from jobs.infra.settings import Settings
from jobs.pipeline import takes as pipeline
from jobs.pipeline.console import InlineScheduler
from jobs.pipeline.runtime import Runtime
from tests.standins.config import provider_settings
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.kling import ACCESS_KEY, SECRET_KEY, KlingStandin, envelope
from tests.standins.seedance import API_KEY, SeedanceStandin, ark_error
from tests.standins.server import Reply


class RecordingNotifier:
    """What the pipeline would say in the thread, recorded."""

    def __init__(self) -> None:
        self.statuses: list[list[tuple[str, str, str | None]]] = []
        self.ready: list[Take] = []
        self.failed: list[Take] = []
        self.sheets: list[bytes] = []

    def request_status(self, request: Request, takes: list[Take]) -> str | None:
        self.statuses.append([(t.label, t.state.value, t.provider_status) for t in takes])
        return "status-ts"

    def take_ready(self, request: Request, take: Take) -> Take:
        self.ready.append(take)
        return take.model_copy(update={"message_ts": f"msg-{take.label}", "file_id": f"F{take.label}"})

    def take_failed(self, request: Request, take: Take) -> None:
        self.failed.append(take)

    def card_changed(self, take: Take) -> None:
        """No cards here."""

    def contact_sheet(self, request: Request, path: Path) -> str | None:
        self.sheets.append(path.read_bytes())
        return f"sheet-{request.id}"


def runtime_for(settings: Settings) -> tuple[Runtime, RecordingNotifier, InlineScheduler]:
    notifier = RecordingNotifier()
    scheduler = InlineScheduler()
    rt = Runtime(settings=settings, store=RedisStore.open(settings),
                 scheduler=scheduler, notifier=notifier)
    return rt, notifier, scheduler


def run_brief(rt: Runtime, scheduler: InlineScheduler, text: str) -> tuple[Request, list[Take]]:
    resolved = resolve_brief(parse_brief(text), rt.settings, ChannelSettings())
    request, takes = build_request(resolved, settings=rt.settings, channel="C1", thread_ts="1.0", source_ts="1.0",
                                   requester="U1", round_number=1)
    store = rt.store
    assert isinstance(store, RedisStore)
    store.record_new_request(request, takes)
    pipeline.start_request(rt, request.id)
    scheduler.run_until_idle(rt, timeout_s=60)
    final = [t for t in (store.get_take(t.id) for t in takes) if t is not None]
    return request, final


def base_settings(tmp_path: Path, redis_url: str, *prefixes: str, **env: object) -> Settings:
    values: dict[str, object] = {
        "REDIS_URL": redis_url, "DAILIES_KEY_PREFIX": "dailies-provider-test", "DAILIES_POLL_INITIAL_S": 0.05,
        "DAILIES_POLL_MAX_S": 0.2, "DAILIES_STATUS_EDIT_MIN_S": 0,
    }
    values.update(env)
    return provider_settings(tmp_path, *prefixes, **values)


@pytest.fixture()
def kling() -> Iterator[KlingStandin]:
    with KlingStandin() as server:
        yield server


def kling_settings(tmp_path: Path, redis_url: str, kling: KlingStandin) -> Settings:
    return base_settings(tmp_path, redis_url, kling.url, KLING_ACCESS_KEY=ACCESS_KEY, KLING_SECRET_KEY=SECRET_KEY,
                         KLING_API_URL=kling.url)


BRIEF = 'Neon alley at night, a woman with a red umbrella.\nSound: rain on awnings\nDialogue: WOMAN: "Not tonight."\n'


def test_kling_takes_render_and_post_once_each(tmp_path: Path, redis_url: str, kling: KlingStandin) -> None:
    kling.finish_after_polls = 3
    rt, notifier, scheduler = runtime_for(kling_settings(tmp_path, redis_url, kling))
    _request, takes = run_brief(rt, scheduler, BRIEF + "x2 5s --model kling")
    assert [t.state for t in takes] == [TakeState.posted, TakeState.posted]
    assert sorted(t.label for t in notifier.ready) == ["1A", "1B"]
    assert notifier.failed == []
    assert len(kling.calls("POST", "/v1/videos/text2video")) == 2
    for take in takes:
        assert take.provider_job_id in kling.jobs
        assert take.cost_usd == pytest.approx(0.126 * 5)
        assert take.file_path and Path(take.file_path).is_file()
        assert take.sound is not None and take.sound.has_audio
    bodies = [c.json for c in kling.calls("POST")]
    assert all(b["sound"] == "on" and b["duration"] == "5" for b in bodies)
    assert {b["external_task_id"] for b in bodies} == {kling.jobs[t.provider_job_id or ""].external_task_id for t in takes}
    # the status message showed the provider's phases while it rendered
    seen = {state for status in notifier.statuses for (_label, state, _ps) in status}
    assert {"submitted", "generating", "posted"} <= seen


def test_the_same_brief_and_seed_in_two_threads_are_two_kling_renders(tmp_path: Path, redis_url: str,
                                                                       kling: KlingStandin) -> None:
    """Kling dedupes by external_task_id: it must come from the take, not from the spec, or the second thread
    would be handed the first thread's render."""
    kling.finish_after_polls = 1
    rt, notifier, scheduler = runtime_for(kling_settings(tmp_path, redis_url, kling))
    _first, first_takes = run_brief(rt, scheduler, BRIEF + "x1 5s --model kling --seed 7")
    _second, second_takes = run_brief(rt, scheduler, BRIEF + "x1 5s --model kling --seed 7")
    ids = [c.json["external_task_id"] for c in kling.calls("POST", "/v1/videos/text2video")]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert first_takes[0].provider_job_id != second_takes[0].provider_job_id
    assert [t.state for t in first_takes + second_takes] == [TakeState.posted, TakeState.posted]


def test_a_policy_refusal_is_said_in_the_thread_never_retried_never_charged(
    tmp_path: Path, redis_url: str, kling: KlingStandin
) -> None:
    kling.outcome, kling.finish_after_polls = "failed", 2
    rt, notifier, scheduler = runtime_for(kling_settings(tmp_path, redis_url, kling))
    _request, (take,) = run_brief(rt, scheduler, BRIEF + "x1 5s --model kling")
    assert take.state == TakeState.failed and take.error_kind == "policy"
    assert take.error == "Kling 3.0 declined this brief: Failure to pass the risk control system"
    assert take.cost_usd == 0 and notifier.ready == [] and [t.label for t in notifier.failed] == ["1A"]
    assert len(kling.calls("POST")) == 1


def test_rate_limits_are_retried_after_retry_after_and_the_take_lands(
    tmp_path: Path, redis_url: str, kling: KlingStandin
) -> None:
    kling.finish_after_polls = 1
    busy = Reply(429, envelope(1303, "parallel task over resource pack limit"), headers={"Retry-After": "0.2"})
    kling.script("POST", r"^/v1/videos/text2video$", busy)
    kling.script("GET", r"^/v1/videos/text2video/", Reply(500, envelope(5000, "server error")))
    rt, notifier, scheduler = runtime_for(kling_settings(tmp_path, redis_url, kling))
    _request, (take,) = run_brief(rt, scheduler, BRIEF + "x1 5s --model kling")
    assert take.state == TakeState.posted
    assert len(kling.jobs) == 1 and [t.label for t in notifier.ready] == ["1A"]


def test_a_result_on_a_host_not_allowed_fails_the_take_and_posts_nothing(
    tmp_path: Path, redis_url: str, kling: KlingStandin
) -> None:
    kling.video_url, kling.finish_after_polls = "https://files.example.net/take.mp4", 1
    rt, notifier, scheduler = runtime_for(kling_settings(tmp_path, redis_url, kling))
    _request, (take,) = run_brief(rt, scheduler, BRIEF + "x1 5s --model kling")
    assert take.state == TakeState.failed and take.error_kind == "bad_media"
    assert "files.example.net" in (take.error or "")
    assert notifier.ready == [] and take.cost_usd == 0


def test_missing_keys_tell_the_thread_what_to_set(tmp_path: Path, redis_url: str) -> None:
    rt, notifier, scheduler = runtime_for(base_settings(tmp_path, redis_url))
    _request, (take,) = run_brief(rt, scheduler, BRIEF + "x1 5s --model kling")
    assert take.state == TakeState.failed and take.error_kind == "auth"
    assert "set KLING_ACCESS_KEY and KLING_SECRET_KEY" in (take.error or "")


def test_fal_queue_positions_reach_the_status_message(tmp_path: Path, redis_url: str) -> None:
    with FalStandin() as fal:
        fal.finish_after_polls = 4
        settings = base_settings(tmp_path, redis_url, fal.url, FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url)
        rt, notifier, scheduler = runtime_for(settings)
        _request, (take,) = run_brief(rt, scheduler, BRIEF + "x1 8s --model fal:fal-ai/veo3.1")
    assert take.state == TakeState.posted
    statuses = [ps for status in notifier.statuses for (_l, _s, ps) in status if ps]
    assert "queue position 2" in statuses and "queue position 1" in statuses
    assert take.cost_usd == pytest.approx(0.40 * 8)


def test_seedance_output_refused_by_policy(tmp_path: Path, redis_url: str) -> None:
    with SeedanceStandin() as ark:
        ark.outcome, ark.finish_after_polls = "failed", 2
        ark.script("POST", r"/tasks$", ark_error(500, "InternalServiceError", "try again"))
        settings = base_settings(tmp_path, redis_url, ark.url, ARK_API_KEY=API_KEY, SEEDANCE_API_URL=ark.api_url)
        rt, notifier, scheduler = runtime_for(settings)
        _request, (take,) = run_brief(rt, scheduler, BRIEF + "x1 5s --model seedance")
    assert take.state == TakeState.failed and take.error_kind == "policy"
    assert (take.error or "").startswith("Seedance 2.0 declined this brief:")
    assert "OutputVideoSensitiveContentDetected" in (take.error or "")
