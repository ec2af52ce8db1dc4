"""`dailies worker`: builds the runtime once (Redis store, rq queue, Slack notifier), resumes takes a dead
worker left, then runs an rq worker with the scheduler that hands that runtime to every task."""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

import redis
from rq import Queue, SimpleWorker, Worker
from rq import scheduler as rq_scheduler
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler
from rq.worker import BaseWorker
from rq.worker_pool import WorkerPool

from bot.slack.client import make_web_client
from bot.slack.installations import TOKEN_REFRESH_BEFORE_MIN, fresh_bot, installation_store
from bot.slack.notifier import SlackNotifier
from bot.slack.ticket_notifier import SlackTicketNotifier
from jobs.domain.store import RedisStore, Store, StoreUnavailable
from jobs.infra.logs import configure_logging, install_secret_scrubber
from jobs.infra.metrics import RedisMetrics
from jobs.infra.redis_client import RedisClient, connect
from jobs.infra.settings import Settings, load_settings
from jobs.pipeline import tasks
from jobs.pipeline.runtime import RqScheduler, Runtime
from jobs.pipeline.tasks import RuntimeWorkerMixin, TaskJob

log = logging.getLogger(__name__)
RESTART_DELAY_S = 2.0


REDIS_DOWN_ERRORS = (redis.ConnectionError, redis.TimeoutError)
SPAWN = multiprocessing.get_context("spawn")
FORK = multiprocessing.get_context("fork")
SCHEDULER_STOP_S = 5.0
# rq's default is ten minutes; a worker killed while it ran the scheduler leaves rq's scheduler lock behind for
# about a minute, and the survivors take the scheduler over at their next maintenance.
MAINTENANCE_INTERVAL_S = 60
KILL_AFTER_S = 5.0  # past the grace: a worker told twice has handed its job back by then unless it is wedged


class ResilientScheduler(RQScheduler):
    """rq's scheduler process, made to outlive a Redis restart: rq's own dies at the first ConnectionError and
    no delayed job (a provider poll, recovery) runs again. This one logs one line, keeps trying, and logs
    one line when Redis is back.

    It is started in a fresh interpreter, not forked: a fork would hold on to its worker's Redis sockets, and
    a worker that dies then leaves its blocking dequeue open on Redis, which hands it the next job anyway."""

    logging_level: str = "INFO"  # set by the worker; carried into the new process with the scheduler

    _settings_connection: RedisClient | None = None

    @property
    def connection(self) -> RedisClient:
        # rq rebuilds a connection from its class and keyword arguments, which a Sentinel-managed one cannot be
        # rebuilt from: connect from the settings, as every other Dailies process does.
        if self._settings_connection is None:
            self._settings_connection = connect(load_settings())
        return self._settings_connection

    def start(self) -> BaseProcess:
        self._status = self.Status.STARTED
        self._settings_connection = None  # a Redis client cannot cross into the new process; it connects there
        self._pool_kwargs = {}  # nor can a Sentinel pool's arguments (the new process connects from settings)
        process = SPAWN.Process(target=rq_scheduler.run, args=(self,), name="Scheduler")
        process.start()
        self._process = process  # type: ignore[assignment]  # rq declares it as None until it starts one
        return process

    def work(self) -> None:
        # A fresh interpreter: set up logging (secrets scrubbed) as `dailies worker` did for its own process.
        settings = load_settings()
        configure_logging(self.logging_level, settings.secret_values(), settings.log_format)
        self._install_signal_handlers()
        lost_since: float | None = None
        registered = False
        while True:
            if self._stop_requested:
                if lost_since is None:  # with Redis gone, releasing the lock would only wait out the retries
                    with contextlib.suppress(*REDIS_DOWN_ERRORS):
                        self.stop()
                break
            try:
                if not registered:
                    self.register_birth()
                    registered = True
                if self.should_reacquire_locks:
                    self.acquire_locks()
                self.heartbeat()
                self.enqueue_scheduled_jobs()
                if lost_since is not None:
                    log.info("scheduler: Redis is back after %.0f s; delayed jobs run again",
                             time.monotonic() - lost_since)
                    lost_since = None
            except REDIS_DOWN_ERRORS as error:
                if lost_since is None:
                    lost_since = time.monotonic()
                    log.warning("scheduler: Redis unreachable (%s); retrying every %s s", error, self.interval)
            time.sleep(self.interval)


class DailiesWorkerMixin(BaseWorker):
    """What every `dailies worker` adds to rq's: a scheduler that survives Redis restarts, maintenance that
    keeps the recovery sweep scheduled, and a bounded stop.

    An orchestrator sends SIGTERM and kills after a grace period. rq's warm shutdown waits for the current job
    however long it takes; here, a job still running `stop_grace_s` after the first signal is stopped (rq's cold
    shutdown): its step is handed back — a take step is resumed by the recovery sweep, other jobs by rq's
    retries — and the worker exits."""

    runtime: Runtime
    pid: int | None
    _stop_timer: threading.Timer | None = None

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.pid is not None and os.getpid() != self.pid:
            # A work horse just forked, before rq gave it its own handlers: the worker that forked it got the
            # same signal and decides for both (it stops, or kills the horse at the grace).
            return
        if self._stop_timer is None:
            grace_s = self.runtime.settings.stop_grace_s
            self._stop_timer = threading.Timer(grace_s, os.kill, (os.getpid(), signal.SIGTERM))
            self._stop_timer.daemon = True
            self._stop_timer.start()
        super().request_stop(signum, frame)

    def stop_scheduler(self) -> None:
        """rq joins its scheduler without a limit: a scheduler stuck on a dead Redis would hold the stop."""
        process = self.scheduler._process if self.scheduler else None
        if process is None or not process.pid or (self.pid is not None and os.getpid() != self.pid):
            return
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGTERM)
        process.join(SCHEDULER_STOP_S)
        if process.is_alive():
            log.warning("scheduler (pid %s) did not stop within %.0f s of SIGTERM; killed", process.pid,
                        SCHEDULER_STOP_S)
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGKILL)
            process.join(SCHEDULER_STOP_S)

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
                         log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        scheduler = ResilientScheduler(
            self.queues, connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format, log_format=log_format, serializer=self.serializer,
        )
        self.scheduler = scheduler
        # A worker started again after losing Redis finds the lock of the scheduler it (or a sibling on this
        # host) ran before: free it when that process is gone, or no delayed job runs until the lock expires.
        for queue in self.queues:
            release_dead_scheduler_lock(queue)
        scheduler.logging_level = logging.getLevelName(logging_level) if isinstance(logging_level, int) \
            else str(logging_level or "INFO")
        scheduler.acquire_locks()
        if scheduler.acquired_locks:
            if burst:
                try:
                    scheduler.register_birth()
                    scheduler.enqueue_scheduled_jobs()
                finally:
                    scheduler.release_locks()
                    scheduler.register_death()
            else:
                # Until the new process registers itself, the lock's record names this worker: a worker that
                # dies before then leaves a lock the next start can tell is dead (see release_dead_scheduler_lock).
                scheduler.register_birth()
                scheduler.start()

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        # A recovery chain lost in a Redis restart is started again here (its own lock makes it one chain).
        if self.runtime.store.try_lock("recovery-scheduled", tasks.RECOVERY_INTERVAL_S - 5):
            self.runtime.scheduler.enqueue("recover_stalled")


class RuntimeWorker(DailiesWorkerMixin, RuntimeWorkerMixin, Worker):
    """rq's forking worker (`dailies worker --processes 1`); each job's work horse gets the runtime built at
    start-up."""


class PoolWorker(DailiesWorkerMixin, RuntimeWorkerMixin, SimpleWorker):
    """One worker of `dailies worker --processes N`. rq's `WorkerPool` creates it inside its own process, so it
    builds its runtime there, once, from the same environment. It runs jobs in its own process, not in a fork
    per job: a take's status check is a few milliseconds of work, and forking for each one cost more than the
    work (the pool restarts a worker that dies, which is the isolation a fork per job gave)."""

    def __init__(self, *args: Any, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runtime = runtime
        self.team_runtime = team_runtimes(runtime.settings)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        # The pool starts a new worker for one that exits: a worker that finds Redis gone waits for it (one
        # log line), and one that loses it exits with one line, instead of a traceback a second.
        wait_for_redis(self.runtime.store)
        try:
            return super().work(*args, **kwargs)
        except REDIS_DOWN_ERRORS as error:
            log.warning("worker lost Redis (%s); the pool starts another when it is back", error)
            return False


class SimpleRuntimeWorker(RuntimeWorkerMixin, SimpleWorker):
    """rq's in-process worker (tests, benchmarks) with the same hand-over."""


def make_worker(runtime: Runtime, queue: Queue, *, simple: bool = False,
                **options: Any) -> SimpleRuntimeWorker | RuntimeWorker:
    worker_class = SimpleRuntimeWorker if simple else RuntimeWorker
    worker = worker_class([queue], connection=queue.connection, job_class=TaskJob, **options)
    worker.runtime = runtime
    worker.team_runtime = team_runtimes(runtime.settings)
    return worker


def team_runtimes(settings: Settings) -> Callable[[str], Runtime] | None:
    """How a worker builds a workspace's runtime for jobs stamped with it (OAuth installs only)."""
    if not settings.oauth_enabled:
        return None
    return functools.partial(build_worker_runtime, settings)


def build_worker_runtime(settings: Settings, team: str | None = None) -> Runtime:
    """The runtime for the single-token deployment, or (`team`) for one workspace installed by OAuth: its
    records and its own bot token from the installation store."""
    install_secret_scrubber(settings.secret_values())
    connection = connect(settings)
    store = RedisStore.open(settings, team, connection)
    token, valid_until = None, None
    if team:
        bot = fresh_bot(installation_store(settings, connection), settings, team)
        if bot is None or not bot.bot_token:
            log.error("workspace %s has no installation (uninstalled?): its jobs cannot reach Slack", team)
        token = bot.bot_token if bot and bot.bot_token else ""  # never another workspace's token
        if bot is not None and bot.bot_token_expires_at:  # a rotating token: build again before it runs out
            valid_until = bot.bot_token_expires_at - TOKEN_REFRESH_BEFORE_MIN * 60 / 2
    client = make_web_client(settings, shared=connection, token=token, team=team)
    return Runtime(
        settings=settings,
        store=store,
        scheduler=RqScheduler(Queue(settings.queue_name, connection=connection), team=team),
        notifier=SlackNotifier(client, store, settings),
        ticket_notifier=SlackTicketNotifier(client),
        team=team,
        metrics=RedisMetrics(connection, settings.key_prefix),
        valid_until=valid_until,
    )


def prepare(settings: Settings) -> tuple[Runtime, Store, Queue]:
    """What every start does first: wait for Redis, free a dead local scheduler's lock, resume stalled takes."""
    runtime = build_worker_runtime(settings)
    store = runtime.store
    queue = Queue(settings.queue_name, connection=store.redis)
    wait_for_redis(store)
    release_dead_scheduler_lock(queue)
    resumed = tasks.recover_stalled(runtime, at_start=True)
    if resumed:
        log.info("resumed %d take(s) left unfinished by a stopped worker", resumed)
    return runtime, store, queue


class DailiesWorkerPool(WorkerPool):
    """rq's WorkerPool, with two changes for an orchestrator's SIGTERM and for Redis behind Sentinel:

    - each worker process connects from the settings (`run_pool_worker`), not from the connection arguments rq
      copies, which a Sentinel-managed connection cannot be rebuilt from;
    - a stop is bounded: at `stop_grace_s` after SIGTERM a worker still busy is told again (rq's cold stop: its
      job is handed back), and one still alive `KILL_AFTER_S` later is killed. A busy worker does not always run
      its signal handler while it waits on a socket, so the pool, not the worker, keeps the time."""

    def __init__(self, *args: Any, stop_grace_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop_grace_s = stop_grace_s
        self.cold_at: float | None = None
        self.kill_at: float | None = None

    def get_worker_process(self, name: str, burst: bool, _sleep: float = 0,
                           logging_level: str = "INFO") -> BaseProcess:
        return FORK.Process(target=run_pool_worker, args=(name, self._queue_names, burst, logging_level),
                            name=f"Worker {name} (WorkerPool {self.name})")

    def request_stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if self.cold_at is None:
            self.cold_at = time.monotonic() + self.stop_grace_s
            self.kill_at = self.cold_at + KILL_AFTER_S
        super().request_stop(signum, frame)

    def all_workers_have_stopped(self) -> bool:
        stopped = super().all_workers_have_stopped()
        now = time.monotonic()
        if stopped or self.cold_at is None or self.kill_at is None or now < self.cold_at:
            return stopped
        cold = now < self.kill_at
        for data in list(self.worker_dict.values()):
            log.warning("worker %s (pid %s) still busy %.0f s after SIGTERM: %s", data.name, data.pid,
                        self.stop_grace_s, "handing its job back" if cold else "killed")
            self.stop_worker(data, signal.SIGTERM if cold else signal.SIGKILL)
        if cold:
            self.cold_at = self.kill_at  # told once; the kill comes at kill_at
        else:
            self.kill_at = now + KILL_AFTER_S
        return stopped


def run_pool_worker(name: str, queue_names: list[str], burst: bool, logging_level: str) -> None:
    """One worker process of the pool (forked from it)."""
    # The fork inherits the pool's own signal handlers; until rq installs the worker's, a stop ends the process.
    signal.signal(signal.SIGTERM, _exit_at_once)
    signal.signal(signal.SIGINT, _exit_at_once)
    settings = load_settings()
    runtime = build_worker_runtime(settings)
    assert isinstance(runtime.scheduler, RqScheduler)
    queues = [Queue(queue_name, connection=runtime.scheduler.queue.connection) for queue_name in queue_names]
    worker = PoolWorker(queues, name=name, connection=runtime.scheduler.queue.connection, job_class=TaskJob,
                        runtime=runtime, maintenance_interval=MAINTENANCE_INTERVAL_S)
    worker.work(burst=burst, with_scheduler=True, logging_level=logging_level)


def _exit_at_once(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def run_pool(settings: Settings, processes: int, *, burst: bool = False) -> None:
    """N workers under rq's WorkerPool: one of them runs the scheduler, a dead one is started again, and
    SIGTERM/SIGINT lets each finish its current job (within DAILIES_STOP_GRACE_S) before the pool exits."""
    _, _, queue = prepare(settings)
    pool = DailiesWorkerPool([queue], connection=queue.connection, num_workers=processes, worker_class=PoolWorker,
                             job_class=TaskJob, stop_grace_s=settings.stop_grace_s)
    pool.start(burst=burst, logging_level=logging.getLevelName(logging.getLogger().level))


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    runtime, store, queue = prepare(settings)
    level = logging.getLevelName(logging.getLogger().level)
    while True:
        worker = make_worker(runtime, queue, maintenance_interval=MAINTENANCE_INTERVAL_S)
        try:
            worker.work(with_scheduler=True, burst=burst, logging_level=level)
        except REDIS_DOWN_ERRORS as error:  # Redis gone while rq registered or tore down the worker
            log.warning("worker lost Redis (%s); starting again when it is back", error)
            wait_for_redis(store)
            continue
        if burst or worker._shutdown_requested_date is not None:  # SIGTERM/SIGINT: a requested stop
            return
        # rq's loop ends on an error it does not handle (Redis gone mid-heartbeat): start it again.
        log.warning("worker loop ended unexpectedly; starting it again in %s s", RESTART_DELAY_S)
        time.sleep(RESTART_DELAY_S)


def wait_for_redis(store: Store) -> None:
    """Return once Redis answers; while it does not (a restart, a failover), say so once and keep trying."""
    delay = 0.5
    while True:
        try:
            store.ping()
            return
        except StoreUnavailable as error:
            if delay == 0.5:
                log.warning("Redis unreachable (%s); waiting for it", error)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def release_dead_scheduler_lock(queue: Queue) -> bool:
    """Free the queue's scheduler lock when its holder was a process on this host that no longer exists.

    rq's lock outlives a SIGKILLed scheduler by about a minute; until then no
    delayed job (a provider poll) would run. A holder on another host is left
    alone: its lock expires by itself and another worker takes over.
    """
    connection: RedisClient = queue.connection
    lock_key = RQScheduler.get_locking_key(queue.name)
    holder = connection.get(lock_key)
    if holder is None:
        return False
    info = connection.hgetall(f"rq:scheduler:{holder.decode()}") or {}
    hostname = (info.get(b"hostname") or b"").decode()
    pid = int(info.get(b"pid") or 0)
    # No record behind the lock: its scheduler is still starting (a dead one's record lasts as long as its lock).
    # A record naming this very process is a scheduler it started before and has stopped (a worker starting again
    # after losing Redis: its scheduler had not yet registered its own pid when Redis went).
    if not info or hostname != socket.gethostname() or pid <= 0 or (pid != os.getpid() and _alive(pid)):
        return False
    # Compare-and-delete so a lock a live scheduler just took is never removed.
    script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
    released = bool(connection.eval(script, 1, lock_key, holder))
    if released:
        log.info("released the scheduler lock of a stopped worker (%s, pid %s)", hostname or "?", pid or "?")
    return released


def _alive(pid: int) -> bool:
    """Whether `pid` is a running process. A killed scheduler whose worker died with it is re-parented and
    may stay a zombie until its new parent reaps it: that is dead too."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: trust the signal
    return state not in ("Z", "X")
