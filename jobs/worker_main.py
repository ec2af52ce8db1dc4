"""`dailies worker`: an rq worker with the scheduler, that first resumes takes a dead worker left."""

from __future__ import annotations

import logging
import os
import socket

from redis import Redis
from rq import Queue, Worker
from rq.scheduler import RQScheduler

from jobs import tasks
from jobs.settings import Settings
from jobs.worker_runtime import build_worker_runtime

log = logging.getLogger(__name__)


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    runtime = build_worker_runtime(settings)
    runtime.store.ping()  # type: ignore[attr-defined]
    tasks.use_runtime(runtime)
    queue = runtime.scheduler.queue  # type: ignore[attr-defined]
    release_dead_scheduler_lock(queue)
    resumed = tasks.recover_stalled(at_start=True)
    if resumed:
        log.info("resumed %d take(s) left unfinished by a stopped worker", resumed)
    # Maintenance every minute (not rq's ten): a worker killed while it ran the scheduler leaves rq's scheduler
    # lock behind for about a minute; the survivors take the scheduler over at their next maintenance.
    worker = Worker([queue], connection=queue.connection, maintenance_interval=60)
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
