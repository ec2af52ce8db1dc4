"""Provider callbacks through `dailies serve`'s real endpoint: hints that make a finished render land at once.

The stand-ins call back in each provider's documented shape (fal `fal_webhook`, Kling and Seedance
`callback_url`) and put a forged video URL in the callback, which Dailies must never fetch: the result
always comes from the provider's own status API. Polling is set to 30 s here, so a take posted within
the test's few seconds was landed by its callback, not by a poll.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobs.domain.models import Take, TakeState
from jobs.infra.settings import Settings
from tests.harness import BotEndpoint, Worker, free_port, make_settings, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.kling import ACCESS_KEY, SECRET_KEY, KlingStandin
from tests.standins.seedance import API_KEY, SeedanceStandin
from tests.standins.slack import SlackStandIn
from tests.vote_helpers import cancel_round, send_brief

NEVER = 10**6  # status checks before a stand-in finishes a render by itself: only finish() does it


class Setup:
    def __init__(self, bot: BotEndpoint, worker: Worker, provider: Any, model: str, public_url: str) -> None:
        self.bot, self.worker, self.provider, self.model, self.public_url = bot, worker, provider, model, public_url

    def round(self, thread_ts: str, count: int = 1) -> list[Take]:
        seconds = 6 if self.model.startswith("fal:") else 5
        request = send_brief(self.bot, self.worker.store, f"Rain on a neon street\nSound: rain\nx{count} {seconds}s "
                             f"--model {self.model}", thread_ts=thread_ts)
        self.worker.drain_until(lambda: all(t.provider_job_id for t in self.takes(request.id)))
        return self.takes(request.id)

    def takes(self, request_id: str) -> list[Take]:
        return self.worker.store.takes_for(self.worker.store.get_request(request_id))

    def job_for(self, take: Take) -> str:
        job_id = take.provider_job_id or ""
        return json.loads(job_id)["id"] if self.model.startswith("fal:") else job_id

    def webhook_url(self, take: Take) -> str:
        job = self.provider.jobs[self.job_for(take)]
        return job.webhook if isinstance(self.provider, FalStandin) else job.body["callback_url"]

    def queued_checks(self) -> int:
        return sum(1 for job in self.worker.queue.jobs if job.func_name.endswith(".check_take"))

    def run_queued(self) -> None:
        """Run what is queued now (not the polls scheduled 30 s ahead)."""
        self.worker._worker().work(burst=True, logging_level="WARNING")


PROVIDERS = {
    "fal": (FalStandin, "fal:fal-ai/veo3.1", lambda p: {"FAL_KEY": FAL_KEY, "FAL_QUEUE_URL": p.url}),
    "kling": (KlingStandin, "kling", lambda p: {"KLING_ACCESS_KEY": ACCESS_KEY, "KLING_SECRET_KEY": SECRET_KEY,
                                                 "KLING_API_URL": p.url}),
    "seedance": (SeedanceStandin, "seedance", lambda p: {"ARK_API_KEY": API_KEY, "SEEDANCE_API_URL": p.api_url}),
}


def _setup(name: str, redis_url: str, slack: SlackStandIn, tmp_path: Path, **env: Any) -> Iterator[Setup]:
    standin_class, model, keys = PROVIDERS[name]
    provider = standin_class().start()
    provider.finish_after_polls = NEVER
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    values = {"DAILIES_PUBLIC_URL": public_url, "DAILIES_ALLOWED_MEDIA_URLS": provider.url + "/",
              "DAILIES_POLL_INITIAL_S": 30, "DAILIES_POLL_MAX_S": 30, **keys(provider), **env}
    settings: Settings = make_settings(redis_url, slack.api_url, tmp_path / "media", **values)
    bot = BotEndpoint(settings, port=port)
    try:
        yield Setup(bot, Worker(settings), provider, model, public_url)
    finally:
        bot.stop()
        provider.stop()


@pytest.fixture(params=list(PROVIDERS))
def each(request, redis_url: str, slack: SlackStandIn, tmp_path: Path) -> Iterator[Setup]:
    yield from _setup(request.param, redis_url, slack, tmp_path)


@pytest.fixture()
def fal(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> Iterator[Setup]:
    yield from _setup("fal", redis_url, slack, tmp_path)


def posted_cards(slack: SlackStandIn, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.posted(thread_ts=thread_ts) if m["text"].startswith("Take ")]


def test_a_callback_lands_the_take_without_waiting_for_the_next_poll(each: Setup, slack: SlackStandIn):
    thread = "1700009000.000100"
    (take,) = each.round(thread)
    url = each.webhook_url(take)
    assert url.startswith(f"{each.public_url}/providers/{take.model.split(':')[0]}/webhook/")

    each.provider.finish(each.job_for(take))  # the stand-in calls back, in its own shape
    assert each.provider.callbacks_sent, "the stand-in did not call back"
    wait_for(each.queued_checks)
    deadline = time.monotonic() + 20
    while each.worker.store.get_take(take.id).state != TakeState.posted and time.monotonic() < deadline:
        each.run_queued()
    assert each.worker.store.get_take(take.id).state == TakeState.posted
    assert len(posted_cards(slack, thread)) == 1
    assert not each.provider.calls(path_contains="forged")  # the callback's URL was never fetched


def test_a_forged_callback_cannot_inject_a_result_or_address_a_take(fal: Setup, slack: SlackStandIn):
    thread = "1700009100.000100"
    (take,) = fal.round(thread)
    real = fal.webhook_url(take)
    base = f"{fal.public_url}/providers"
    for url in (f"{base}/fal/webhook/{secrets.token_urlsafe(32)}",  # a guessed token
                real.replace("/providers/fal/", "/providers/kling/"),  # the right token, the wrong provider
                f"{base}/fal/webhook/short", f"{base}/fal/webhook/{'x' * 300}"):
        answer = httpx.post(url, json={"status": "OK", "payload": {"video": {"url": "https://evil.example/x.mp4"}}})
        assert answer.status_code == 404, url
    assert fal.queued_checks() == 0  # nothing was queued for any of them

    # The right URL with a lying body: the status is checked with fal, which says it is still queued.
    answer = httpx.post(real, json={"request_id": "x", "status": "OK",
                                    "payload": {"video": {"url": f"{fal.provider.url}/media/forged-by-callback.mp4"}}})
    assert answer.status_code == 200
    fal.run_queued()
    assert fal.worker.store.get_take(take.id).state in (TakeState.submitted, TakeState.generating)
    assert not posted_cards(slack, thread)
    assert not fal.provider.calls(path_contains="forged")
    assert httpx.get(real).status_code == 405


def test_duplicate_callbacks_post_the_take_once(fal: Setup, slack: SlackStandIn):
    thread = "1700009200.000100"
    (take,) = fal.round(thread)
    fal.provider.finish(fal.job_for(take))
    url, body = fal.provider.callbacks_sent[-1]
    for _ in range(3):  # fal retries a webhook it thinks was not delivered
        assert httpx.post(url, json=body).status_code == 200
    wait_for(fal.queued_checks)
    assert fal.queued_checks() == 1  # four callbacks in a row: one status check
    deadline = time.monotonic() + 20
    while fal.worker.store.get_take(take.id).state != TakeState.posted and time.monotonic() < deadline:
        fal.run_queued()
    for _ in range(2):  # late duplicates after the take is posted: acknowledged, nothing queued
        assert httpx.post(url, json=body).status_code == 200
    assert fal.queued_checks() == 0
    fal.run_queued()
    assert len(posted_cards(slack, thread)) == 1
    results = [c for c in fal.provider.calls("GET") if "/status" not in c.path and "/media/" not in c.path]
    assert len(results) == 1  # the result was read once


def test_a_callback_for_a_cancelled_take_changes_nothing(fal: Setup, slack: SlackStandIn):
    thread = "1700009300.000100"
    (take,) = fal.round(thread)
    request = fal.worker.store.get_request(take.request_id)
    cancel_round(fal.bot, request)
    wait_for(lambda: fal.worker.queue.count)
    fal.run_queued()
    assert fal.worker.store.get_take(take.id).state == TakeState.cancelled
    fal.provider.finish(fal.job_for(take))  # fal finished it anyway and calls back
    url, _body = fal.provider.callbacks_sent[-1]
    assert fal.queued_checks() == 0
    fal.run_queued()
    assert fal.worker.store.get_take(take.id).state == TakeState.cancelled
    assert not posted_cards(slack, thread)
    assert httpx.post(url, json={}).status_code == 200  # known, acknowledged, ignored


def test_a_lost_callback_still_lands_by_polling(redis_url: str, slack: SlackStandIn, tmp_path: Path):
    for setup in _setup("fal", redis_url, slack, tmp_path, DAILIES_POLL_INITIAL_S=0.05, DAILIES_POLL_MAX_S=0.2):
        thread = "1700009400.000100"
        (take,) = setup.round(thread)
        setup.provider.drop_callbacks = True
        setup.provider.finish(setup.job_for(take))
        assert not setup.provider.callbacks_sent
        setup.worker.drain()
        assert setup.worker.store.get_take(take.id).state == TakeState.posted
        assert len(posted_cards(slack, thread)) == 1


def test_without_a_public_url_nothing_asks_for_a_callback(redis_url: str, slack: SlackStandIn, tmp_path: Path):
    for setup in _setup("kling", redis_url, slack, tmp_path, DAILIES_PUBLIC_URL="", DAILIES_POLL_INITIAL_S=0.05):
        (take,) = setup.round("1700009500.000100")
        assert "callback_url" not in setup.provider.jobs[take.provider_job_id].body
