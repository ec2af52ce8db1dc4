"""What every listener needs, built once per process and handed to listeners through Bolt's context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rq import Queue
from slack_sdk import WebClient

from bot.slack.client import make_web_client
from bot.slack.notifier import SlackNotifier
from jobs.domain.models import Request, Take
from jobs.domain.store import RedisStore
from jobs.infra.redis_client import connect
from jobs.infra.settings import Settings
from jobs.pipeline.runtime import RqScheduler


@dataclass
class Deps:
    settings: Settings
    store: RedisStore
    scheduler: RqScheduler
    client: WebClient
    notifier: SlackNotifier

    @property
    def queue(self) -> Queue:
        return self.scheduler.queue

    def enqueue(self, task: str, *args: Any) -> None:
        self.scheduler.enqueue(task, *args)

    def enqueue_in(self, delay_s: float, task: str, *args: Any) -> None:
        self.scheduler.enqueue_in(delay_s, task, *args)

    def start_round(self, request: Request, takes: list[Take]) -> None:
        """Post a recorded request's status message, then queue it: in that order, so the worker edits the
        message instead of posting a second one."""
        self.notifier.request_status(request, takes)
        self.enqueue("start_request", request.id)


    def for_team(self, team: str | None, bot_token: str | None) -> Deps:
        """The same for one workspace installed by OAuth: its records, its jobs, its bot token."""
        if not team or not self.settings.oauth_enabled:
            return self
        store = self.store.for_workspace(self.settings.key_prefix, team)
        client = make_web_client(self.settings, shared=self.store.redis, token=bot_token or "", team=team)
        return Deps(settings=self.settings, store=store, scheduler=self.scheduler.for_team(team), client=client,
                    notifier=SlackNotifier(client, store, self.settings))


def build_deps(settings: Settings, client: WebClient) -> Deps:
    connection = connect(settings)
    store = RedisStore.open(settings, client=connection)
    return Deps(
        settings=settings,
        store=store,
        scheduler=RqScheduler(Queue(settings.queue_name, connection=connection)),
        client=client,
        notifier=SlackNotifier(client, store, settings),
    )
