"""Counters and histograms of the whole deployment, kept in Redis.

Workers are many processes on many machines, started and stopped by an orchestrator: numbers kept in a
process's memory (or prometheus-client's multiprocess files, one folder per machine) would be split across
machines and reset by every restart, and Prometheus would have to find every worker. Here every process adds to
the same Redis hashes (HINCRBYFLOAT is atomic), so `dailies serve`'s `/metrics` reads the deployment's totals in
one place, and a restarted process loses nothing. A histogram is a hash of per-bucket counts plus sum and count;
the exposition makes them cumulative.

Label values are bounded by construction — model keys, outcomes, Slack method names and error codes, provider
failure kinds, ticket states — never user text, tokens or ids of people (`bounded` enforces the shape).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import redis

from jobs.infra.redis_client import RedisClient

log = logging.getLogger(__name__)

TAKE_SECONDS_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
RENDER_SECONDS_BUCKETS = (10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
HISTOGRAM_BUCKETS: dict[str, tuple[float, ...]] = {
    "take_seconds": TAKE_SECONDS_BUCKETS,
    "provider_render_seconds": RENDER_SECONDS_BUCKETS,
}
_LABEL_VALUE_RE = re.compile(r"^[A-Za-z0-9_.:/+\-]{1,80}$")


def bounded(value: str) -> str:
    """A label value of a known shape, or "other": a malformed value never becomes a new series."""
    return value if _LABEL_VALUE_RE.match(value) else "other"


def label_field(labels: Mapping[str, str]) -> str:
    return json.dumps({name: bounded(str(value)) for name, value in sorted(labels.items())}, separators=(",", ":"))


class Metrics(Protocol):
    def count(self, name: str, labels: Mapping[str, str], by: float = 1.0) -> None: ...
    def observe(self, name: str, labels: Mapping[str, str], value: float) -> None: ...


@dataclass
class RedisMetrics:
    """Counters and histograms under `<prefix>:metrics:` (the deployment's base prefix, every workspace's)."""

    client: RedisClient
    prefix: str

    def counter_key(self, name: str) -> str:
        return f"{self.prefix}:metrics:counter:{name}"

    def histogram_key(self, name: str) -> str:
        return f"{self.prefix}:metrics:histogram:{name}"

    def count(self, name: str, labels: Mapping[str, str], by: float = 1.0) -> None:
        try:
            self.client.hincrbyfloat(self.counter_key(name), label_field(labels), by)
        except redis.RedisError as error:  # a number lost is better than a step failed
            log.warning("metric %s not counted: %s", name, error)

    def observe(self, name: str, labels: Mapping[str, str], value: float) -> None:
        buckets = HISTOGRAM_BUCKETS[name]
        series = label_field(labels)
        bucket = next((f"{edge:g}" for edge in buckets if value <= edge), "+Inf")
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hincrby(self.histogram_key(name), f"{series}|{bucket}", 1)
                pipe.hincrbyfloat(self.histogram_key(name), f"{series}|sum", value)
                pipe.hincrby(self.histogram_key(name), f"{series}|count", 1)
                pipe.execute()
        except redis.RedisError as error:
            log.warning("metric %s not observed: %s", name, error)

    def counters(self, name: str) -> dict[tuple[tuple[str, str], ...], float]:
        raw = self.client.hgetall(self.counter_key(name))
        return {tuple(sorted(json.loads(series).items())): float(value) for series, value in raw.items()}

    def histograms(self, name: str) -> dict[tuple[tuple[str, str], ...], HistogramValue]:
        """Each series' cumulative buckets (every edge, then +Inf), sum and count."""
        edges = [f"{edge:g}" for edge in HISTOGRAM_BUCKETS[name]] + ["+Inf"]
        found: dict[tuple[tuple[str, str], ...], HistogramValue] = {}
        for raw_field, raw_value in self.client.hgetall(self.histogram_key(name)).items():
            series, _, part = raw_field.decode().rpartition("|")
            labels = tuple(sorted(json.loads(series).items()))
            value = found.setdefault(labels, HistogramValue(buckets=dict.fromkeys(edges, 0.0)))
            if part == "sum":
                value.sum = float(raw_value)
            elif part == "count":
                value.count = float(raw_value)
            elif part in value.buckets:
                value.buckets[part] = float(raw_value)
        for value in found.values():
            running = 0.0
            for edge in edges:
                running += value.buckets[edge]
                value.buckets[edge] = running
        return found


@dataclass
class HistogramValue:
    buckets: dict[str, float]
    sum: float = 0.0
    count: float = 0.0


@dataclass
class MemoryMetrics:
    """The same numbers in memory, for `dailies try` (no Redis)."""

    counted: dict[tuple[str, str], float] = field(default_factory=dict)
    observed: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def count(self, name: str, labels: Mapping[str, str], by: float = 1.0) -> None:
        key = (name, label_field(labels))
        self.counted[key] = self.counted.get(key, 0.0) + by

    def observe(self, name: str, labels: Mapping[str, str], value: float) -> None:
        self.observed.setdefault((name, label_field(labels)), []).append(value)
