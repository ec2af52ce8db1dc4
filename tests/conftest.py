from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from jobs.infra.settings import Settings
from tests.harness import BotEndpoint, RedisServer, Worker, make_settings
from tests.standins.slack import SlackStandIn


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture()
def redis_url(redis_server: RedisServer) -> str:
    # This server belongs to the tests, so each test may start from an empty database.
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.start()
    Redis.from_url(redis_server.url).flushall()
    return redis_server.url


@pytest.fixture()
def slack() -> Iterator[SlackStandIn]:
    standin = SlackStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture()
def settings(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> Settings:
    return make_settings(redis_url, slack.api_url, tmp_path / "media")


@pytest.fixture()
def bot(settings: Settings) -> Iterator[BotEndpoint]:
    endpoint = BotEndpoint(settings)
    yield endpoint
    endpoint.stop()


@pytest.fixture()
def worker(settings: Settings) -> Worker:
    return Worker(settings)
