"""The job queues and workers as an operator sees them: depth, the oldest waiting job, workers alive.

Read from rq's own records in Redis, so every web process (and `dailies doctor`) sees the whole deployment:
rq keeps each queue as a list of job ids and each worker's last heartbeat.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from rq import Queue, Worker
from rq.job import Job

from jobs.infra.redis_client import RedisClient

HEARTBEAT_WINDOW_S = 60.0  # a worker that has not been heard from in this long does not count as alive


class QueueStat(BaseModel):
    queue: str
    depth: int
    oldest_s: float  # how long the job at the head has waited (0 when the queue is empty)


def queue_stats(connection: RedisClient, names: list[str]) -> list[QueueStat]:
    now = datetime.now(UTC)
    stats: list[QueueStat] = []
    for name in names:
        queue = Queue(name, connection=connection)
        oldest_s = 0.0
        head = connection.lindex(queue.key, 0)
        if head is not None:
            job = Job.fetch(head.decode(), connection=connection) if connection.exists(Job.key_for(head.decode())) \
                else None
            if job is not None and job.enqueued_at is not None:
                enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
                oldest_s = max(0.0, (now - enqueued).total_seconds())
        stats.append(QueueStat(queue=name, depth=queue.count, oldest_s=oldest_s))
    return stats


def workers_alive(connection: RedisClient, within_s: float = HEARTBEAT_WINDOW_S) -> int:
    """rq workers (on any machine) whose last heartbeat is at most `within_s` old."""
    now = datetime.now(UTC)
    alive = 0
    for worker in Worker.all(connection=connection):
        beat = worker.last_heartbeat
        if beat is None:
            continue
        beat = beat if beat.tzinfo else beat.replace(tzinfo=UTC)
        if (now - beat).total_seconds() <= within_s:
            alive += 1
    return alive
