"""What an operator scrapes and probes on `dailies serve`: `/metrics` and `/readyz` (`/healthz` is in server.py).

`/metrics` answers Prometheus's text format with the numbers of the whole deployment, read from Redis at
scrape time (see jobs/infra/metrics.py for why they live there): counters and histograms every process adds
to, the queues and workers from rq's own records, and the sound tickets by state from their indexes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel

from jobs.domain.store import RedisStore, installed_workspaces
from jobs.domain.tickets import TicketState, state_key
from jobs.infra.metrics import HISTOGRAM_BUCKETS, RedisMetrics
from jobs.infra.queue_stats import HEARTBEAT_WINDOW_S, queue_stats, workers_alive
from jobs.infra.redis_client import RedisClient
from jobs.infra.settings import Settings

COUNTERS: dict[str, tuple[str, list[str]]] = {
    "takes_total": ("Takes that ended, by model and outcome (posted, failed, cancelled, refused by the provider).",
                    ["model", "outcome"]),
    "slack_api_errors_total": ("Slack Web API calls that answered an error, 429s included (error=ratelimited).",
                               ["method", "error"]),
    "provider_errors_total": ("Provider calls that failed, by provider and kind (retry, policy, auth, …).",
                              ["provider", "kind"]),
    "spend_usd_total": ("US dollars charged for posted takes, by model.", ["model"]),
}
HISTOGRAMS: dict[str, str] = {
    "take_seconds": "From the provider's render finishing to the take in its Slack thread, by model.",
    "provider_render_seconds": "From a render being submitted to the provider finishing it, by model.",
}
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class DeploymentCollector(Collector):
    def __init__(self, settings: Settings, connection: RedisClient) -> None:
        self.settings = settings
        self.connection = connection
        self.numbers = RedisMetrics(connection, settings.key_prefix)

    def collect(self) -> Iterator[Metric]:
        for name, (text, labels) in COUNTERS.items():
            family = CounterMetricFamily(f"dailies_{name.removesuffix('_total')}", text, labels=labels)
            for series, value in sorted(self.numbers.counters(name).items()):
                found = dict(series)
                family.add_metric([found.get(label, "") for label in labels], value)
            yield family
        for name, text in HISTOGRAMS.items():
            histogram = HistogramMetricFamily(f"dailies_{name}", text, labels=["model"])
            for series, observed in sorted(self.numbers.histograms(name).items()):
                edges = [f"{edge:g}" for edge in HISTOGRAM_BUCKETS[name]] + ["+Inf"]
                histogram.add_metric([dict(series).get("model", "")],
                                     [(edge, observed.buckets[edge]) for edge in edges], sum_value=observed.sum)
            yield histogram
        stats = queue_stats(self.connection, [self.settings.queue_name])
        depth = GaugeMetricFamily("dailies_queue_depth", "Jobs waiting in each rq queue.", labels=["queue"])
        oldest = GaugeMetricFamily("dailies_queue_oldest_seconds", "How long the oldest waiting job has waited.",
                                   labels=["queue"])
        for stat in stats:
            depth.add_metric([stat.queue], stat.depth)
            oldest.add_metric([stat.queue], stat.oldest_s)
        yield depth
        yield oldest
        yield GaugeMetricFamily("dailies_workers", f"rq workers heard from in the last {HEARTBEAT_WINDOW_S:.0f} s.",
                                value=workers_alive(self.connection))
        tickets = GaugeMetricFamily("dailies_sound_tickets", "Sound tickets by state, every workspace.",
                                    labels=["state"])
        for state, count in self.tickets_by_state().items():
            tickets.add_metric([state.value], count)
        yield tickets

    def tickets_by_state(self) -> dict[TicketState, int]:
        teams: list[str | None] = [None, *installed_workspaces(self.connection, self.settings.key_prefix)]
        stores = [RedisStore.open(self.settings, team, self.connection) for team in teams]
        with self.connection.pipeline(transaction=False) as pipe:
            for store in stores:
                for state in TicketState:
                    pipe.zcard(state_key(store, state))
            counts = pipe.execute()
        totals = dict.fromkeys(TicketState, 0)
        for index, count in enumerate(counts):
            totals[list(TicketState)[index % len(TicketState)]] += int(count)
        return totals


def metrics_text(settings: Settings, connection: RedisClient) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeploymentCollector(settings, connection))
    return generate_latest(registry)


class Readiness(BaseModel):
    ready: bool
    redis: str
    workers_alive: int | None = None
    problem: str | None = None

    def body(self) -> bytes:
        return json.dumps(self.model_dump(exclude_none=True)).encode()


def readiness(connection: RedisClient) -> Readiness:
    """Ready when Redis answers and at least one worker has sent a heartbeat within the last minute: a web
    process that can queue work nobody will run should not take traffic."""
    try:
        connection.ping()
    except redis.RedisError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Readiness(ready=False, redis="down", problem=f"Redis does not answer: {reason}")
    try:
        alive = workers_alive(connection)
    except redis.RedisError as error:
        return Readiness(ready=False, redis="down", problem=f"Redis failed while reading workers: {error}")
    if alive == 0:
        return Readiness(ready=False, redis="ok", workers_alive=0,
                         problem=f"no worker has sent a heartbeat in the last {HEARTBEAT_WINDOW_S:.0f} s: "
                                 "start `dailies worker`")
    return Readiness(ready=True, redis="ok", workers_alive=alive)
