"""A managed Redis with TLS (`rediss://` and a CA file): every Redis user — the store, rq's worker and its
scheduler — speaks TLS to it, and a certificate it cannot trust is one clear line, not a traceback."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from rq import Queue
from rq.job import Job, JobStatus

from jobs.domain.store import RedisStore
from jobs.infra.faults import redis_problem
from tests.harness import TlsRedisServer, make_settings, write_test_certificates
from tests.test_serve import ROOT, dailies, settings_env


class Note(BaseModel):
    text: str


@pytest.fixture()
def tls_redis() -> Iterator[TlsRedisServer]:
    server = TlsRedisServer().start()
    yield server
    server.stop()


def test_store_and_worker_reach_a_tls_redis_with_its_ca(tls_redis: TlsRedisServer, tmp_path: Path) -> None:
    settings = make_settings(tls_redis.url, "http://127.0.0.1:9/api/", tmp_path / "media",
                             REDIS_TLS_CA=str(tls_redis.ca_file))
    assert redis_problem(settings) is None
    store = RedisStore.open(settings)
    store.write_record(store.key("note", "1"), Note(text="over TLS"))
    assert store.read_record(store.key("note", "1"), Note).text == "over TLS"

    job = Queue(settings.queue_name, connection=store.redis).enqueue("jobs.pipeline.tasks.recover_stalled")
    worker = subprocess.run(dailies("worker", "--burst", "--processes", "1"), cwd=ROOT, env=settings_env(settings),
                            capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr[-2000:]
    assert Job.fetch(job.id, connection=store.redis).get_status() == JobStatus.FINISHED


def test_a_certificate_from_another_ca_is_one_line_naming_the_setting(tls_redis: TlsRedisServer,
                                                                      tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    write_test_certificates(other / "ca.pem", other / "cert.pem", other / "key.pem")
    settings = make_settings(tls_redis.url, "http://127.0.0.1:9/api/", tmp_path / "media",
                             REDIS_TLS_CA=str(other / "ca.pem"))
    problem = redis_problem(settings)
    assert problem and problem.startswith("Redis is unreachable at REDIS_URL=rediss://127.0.0.1:")
    assert "certificate" in problem.lower() and "\n" not in problem
