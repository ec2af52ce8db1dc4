"""Build the runtime a worker (or the bot) uses: Redis store, rq queue, Slack notifier."""

from __future__ import annotations

from redis import Redis
from rq import Queue

from jobs.runtime import RqScheduler, Runtime
from jobs.settings import Settings, get_settings
from jobs.store import RedisStore


def redis_connection(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30)


def make_queue(settings: Settings, connection: Redis | None = None) -> Queue:
    return Queue(settings.queue_name, connection=connection or redis_connection(settings))


def build_worker_runtime(settings: Settings | None = None) -> Runtime:
    from bot.poster import SlackNotifier
    from bot.slack_client import make_web_client
    from jobs.logs import install_secret_scrubber

    settings = settings or get_settings()
    install_secret_scrubber(settings.secret_values())
    connection = redis_connection(settings)
    store = RedisStore(connection, settings.key_prefix)
    client = make_web_client(settings)
    return Runtime(
        settings=settings,
        store=store,
        scheduler=RqScheduler(make_queue(settings, connection)),
        notifier=SlackNotifier(client, store, settings),
    )
