"""What an operator scrapes and probes: /metrics moves when takes are made (whichever process did the work),
/readyz says which check failed, and no label carries a person, a channel or words of a brief."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue, SimpleWorker

from jobs.infra.metrics import RedisMetrics, label_field
from tests.harness import BotEndpoint, RedisServer, Worker, make_settings, mention, wait_for
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn


def scrape(bot: BotEndpoint) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{bot.base_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.text):  # Prometheus's own parser, not ours
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_a_posted_take_moves_takes_spend_and_both_histograms(bot: BotEndpoint, worker: Worker,
                                                             slack: SlackStandIn) -> None:
    before = scrape(bot)
    assert value(before, "dailies_takes_total", model="previz", outcome="posted") is None
    bot.event(mention("Rain on a tin roof\nSound: heavy rain\nx2 2s", user="U0SECRETPERSON", ts="1700300001.000100"))
    wait_for(lambda: worker.pending() >= 1)
    worker.drain()

    after = scrape(bot)
    assert value(after, "dailies_takes_total", model="previz", outcome="posted") == 2.0
    assert value(after, "dailies_take_seconds_count", model="previz") == 2.0
    assert value(after, "dailies_take_seconds_bucket", model="previz", le="+Inf") == 2.0
    assert value(after, "dailies_provider_render_seconds_count", model="previz") == 2.0
    assert value(after, "dailies_spend_usd_total", model="previz") == 0.0  # previz is free, and was charged once
    text = httpx.get(f"{bot.base_url}/metrics").text
    for private in ("U0SECRETPERSON", "C0ART", "tin roof", "1700300001", "xoxb"):
        assert private not in text


def test_a_provider_refusal_and_a_slack_429_are_counted(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    fal = FalStandin().start()
    try:
        fal.outcome = "policy"
        tuned = make_settings(redis_url, slack.api_url, tmp_path / "media", FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url,
                              DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/")
        bot_fal = BotEndpoint(tuned)
        worker_fal = Worker(tuned)
        slack.fail_next("chat.update", status=429)
        bot_fal.event(mention("A fox in snow\nSound: wind\nx1 4s --model fal:fal-ai/veo3.1", ts="1700300002.000100"))
        wait_for(lambda: worker_fal.pending() >= 1)
        worker_fal.drain()
        samples = scrape(bot_fal)
        bot_fal.stop()
    finally:
        fal.stop()
    assert value(samples, "dailies_takes_total", model="fal:fal-ai/veo3.1", outcome="refused") == 1.0
    assert value(samples, "dailies_provider_errors_total", provider="fal", kind="policy") == 1.0
    assert value(samples, "dailies_slack_api_errors_total", method="chat.update", error="ratelimited") == 1.0


def test_queue_depth_and_the_age_of_its_oldest_job(bot: BotEndpoint, settings) -> None:
    queue = Queue(settings.queue_name, connection=Redis.from_url(settings.redis_url))
    empty = scrape(bot)
    assert value(empty, "dailies_queue_depth", queue=settings.queue_name) == 0.0
    assert value(empty, "dailies_queue_oldest_seconds", queue=settings.queue_name) == 0.0
    queue.enqueue("jobs.pipeline.tasks.recover_stalled")
    queue.enqueue("jobs.pipeline.tasks.recover_stalled")
    wait_for(lambda: (value(scrape(bot), "dailies_queue_oldest_seconds", queue=settings.queue_name) or 0) >= 1.0,
             timeout_s=10)
    assert value(scrape(bot), "dailies_queue_depth", queue=settings.queue_name) == 2.0


def test_label_values_of_an_unexpected_shape_never_become_series(redis_url: str) -> None:
    metrics = RedisMetrics(Redis.from_url(redis_url), "dailies-test")
    metrics.count("slack_api_errors_total", {"method": "chat.postMessage", "error": "a brief's <words>\nhere"})
    assert label_field({"error": "a brief's <words>\nhere"}) == '{"error":"other"}'
    assert list(metrics.counters("slack_api_errors_total")) == [(("error", "other"), ("method", "chat.postMessage"))]


def test_readyz_needs_redis_and_a_live_worker_and_says_which_failed(slack: SlackStandIn, tmp_path: Path) -> None:
    server = RedisServer().start()
    bot = BotEndpoint(make_settings(server.url, slack.api_url, tmp_path / "media"))
    try:
        assert httpx.get(f"{bot.base_url}/healthz").status_code == 200
        no_worker = httpx.get(f"{bot.base_url}/readyz")
        assert no_worker.status_code == 503
        assert no_worker.json()["redis"] == "ok" and no_worker.json()["workers_alive"] == 0
        assert "dailies worker" in no_worker.json()["problem"]

        connection = Redis.from_url(server.url)
        rq_worker = SimpleWorker([Queue("dailies-test", connection=connection)], connection=connection)
        rq_worker.register_birth()
        rq_worker.heartbeat()
        ready = httpx.get(f"{bot.base_url}/readyz")
        assert ready.status_code == 200 and ready.json() == {"ready": True, "redis": "ok", "workers_alive": 1}

        server.kill()
        down = httpx.get(f"{bot.base_url}/readyz", timeout=30)
        assert down.status_code == 503 and down.json()["redis"] == "down"
        assert httpx.get(f"{bot.base_url}/healthz").status_code == 200  # liveness does not depend on Redis
        assert httpx.get(f"{bot.base_url}/metrics", timeout=30).status_code == 503
    finally:
        bot.stop()
        server.stop()
