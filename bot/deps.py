"""What every listener needs, built once per process and handed to listeners through Bolt's context."""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from rq import Queue
from slack_sdk import WebClient

from bot.poster import SlackNotifier
from jobs.models import Request, Take
from jobs.runtime import RqScheduler, Runtime
from jobs.settings import Settings
from jobs.store import RedisStore


@dataclass
class Deps:
    settings: Settings
    store: RedisStore
    queue: Queue
    client: WebClient

    @property
    def runtime(self) -> Runtime:
        return Runtime(
            settings=self.settings, store=self.store, scheduler=RqScheduler(self.queue),
            notifier=SlackNotifier(self.client, self.store, self.settings),
        )

    def enqueue(self, task: str, *args: object) -> None:
        RqScheduler(self.queue).enqueue(task, *args)

    def enqueue_in(self, delay_s: float, task: str, *args: object) -> None:
        RqScheduler(self.queue).enqueue_in(delay_s, task, *args)

    def start_round(self, request: Request, takes: list[Take]) -> None:
        """Post a recorded request's status message, then queue it: in that order, so the worker edits the
        message instead of posting a second one."""
        self.runtime.notifier.request_status(request, takes)
        self.enqueue("start_request", request.id)


def build_deps(settings: Settings, client: WebClient) -> Deps:
    connection = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=5,
                                health_check_interval=30, retry_on_timeout=False)
    return Deps(
        settings=settings,
        store=RedisStore(connection, settings.key_prefix),
        queue=Queue(settings.queue_name, connection=connection),
        client=client,
    )
