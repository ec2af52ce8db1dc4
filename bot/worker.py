"""`dailies worker`: builds the runtime once (Redis store, rq queue, Slack notifier), resumes takes a dead
worker left, then runs an rq worker with the scheduler that hands that runtime to every task."""

from __future__ import annotations

import logging
import os
import socket

from redis import Redis
from rq import Queue, SimpleWorker, Worker
from rq.scheduler import RQScheduler

from bot.slack.client import make_web_client
from bot.slack.notifier import SlackNotifier
from jobs.infra.logs import install_secret_scrubber
from jobs.infra.redis_client import connect
from jobs.infra.settings import Settings
from jobs.infra.store import RedisStore
from jobs.pipeline import tasks
from jobs.pipeline.runtime import RqScheduler, Runtime
from jobs.pipeline.tasks import RuntimeWorkerMixin, TaskJob

log = logging.getLogger(__name__)


class RuntimeWorker(RuntimeWorkerMixin, Worker):
    """rq's forking worker; each job's work horse gets the runtime built at start-up."""


class SimpleRuntimeWorker(RuntimeWorkerMixin, SimpleWorker):
    """rq's in-process worker (tests, benchmarks) with the same hand-over."""


def make_worker(runtime: Runtime, queue: Queue, *, simple: bool = False, **options: object) -> Worker:
    worker_class = SimpleRuntimeWorker if simple else RuntimeWorker
    worker = worker_class([queue], connection=queue.connection, job_class=TaskJob, **options)
    worker.runtime = runtime
    return worker


def build_worker_runtime(settings: Settings) -> Runtime:
    install_secret_scrubber(settings.secret_values())
    connection = connect(settings.redis_url)
    store = RedisStore(connection, settings.key_prefix)
    return Runtime(
        settings=settings,
        store=store,
        scheduler=RqScheduler(Queue(settings.queue_name, connection=connection)),
        notifier=SlackNotifier(make_web_client(settings), store, settings),
    )


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    runtime = build_worker_runtime(settings)
    store = runtime.store
    assert isinstance(store, RedisStore) and isinstance(runtime.scheduler, RqScheduler)
    store.ping()
    queue = runtime.scheduler.queue
    release_dead_scheduler_lock(queue)
    resumed = tasks.recover_stalled(runtime, at_start=True)
    if resumed:
        log.info("resumed %d take(s) left unfinished by a stopped worker", resumed)
    # Maintenance every minute (not rq's ten): a worker killed while it ran the scheduler leaves rq's scheduler
    # lock behind for about a minute; the survivors take the scheduler over at their next maintenance.
    worker = make_worker(runtime, queue, maintenance_interval=60)
    worker.work(with_scheduler=True, burst=burst, logging_level=logging.getLevelName(logging.getLogger().level))


def release_dead_scheduler_lock(queue: Queue) -> bool:
    """Free the queue's scheduler lock when its holder was a process on this host that no longer exists.

    rq's lock outlives a SIGKILLed scheduler by about a minute; until then no
    delayed job (a provider poll) would run. A holder on another host is left
    alone: its lock expires by itself and another worker takes over.
    """
    connection: Redis = queue.connection
    lock_key = RQScheduler.get_locking_key(queue.name)
    holder = connection.get(lock_key)
    if holder is None:
        return False
    info = connection.hgetall(f"rq:scheduler:{holder.decode()}") or {}
    hostname = (info.get(b"hostname") or b"").decode()
    pid = int(info.get(b"pid") or 0)
    if info and (hostname != socket.gethostname() or pid <= 0 or _alive(pid)):
        return False
    # Compare-and-delete so a lock a live scheduler just took is never removed.
    script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
    released = bool(connection.eval(script, 1, lock_key, holder))
    if released:
        log.info("released the scheduler lock of a stopped worker (%s, pid %s)", hostname or "?", pid or "?")
    return released


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
