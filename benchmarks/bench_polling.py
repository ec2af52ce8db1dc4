"""Benchmark: how many renders one worker can watch, and what each costs in Redis.

    .venv/bin/python benchmarks/bench_polling.py [--takes 300] [--polls 6]

Starts its own redis-server and the fal queue stand-in, records `--takes` takes on
`fal:fal-ai/veo3.1` (each needs `--polls` status checks before it finishes), and runs
the real pipeline (submit → poll re-scheduled through rq's scheduled registry →
fetch, check, post) in ONE rq SimpleWorker. Posting goes to a notifier that only
records, so the figures are the pipeline's own. Reports the time per poll job (the
unit of work a render costs a worker while it renders), how many renders one worker
can therefore watch at Dailies' default 30 s maximum poll interval, and Redis memory
per take.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from rq import Queue  # noqa: E402

from bot.worker import SimpleRuntimeWorker  # noqa: E402
from jobs.domain.brief import parse_brief  # noqa: E402
from jobs.domain.channels import ChannelSettings  # noqa: E402
from jobs.domain.models import Request, Take, TakeState  # noqa: E402
from jobs.domain.requests import build_request, resolve_brief  # noqa: E402
from jobs.domain.store import RedisStore  # noqa: E402
from jobs.infra.settings import Settings  # noqa: E402
from jobs.pipeline.runtime import RqScheduler, Runtime  # noqa: E402
from jobs.pipeline.tasks import TaskJob  # noqa: E402
from tests.harness import RedisServer  # noqa: E402
from tests.standins.fal import FAL_KEY, FalStandin  # noqa: E402


class CountingNotifier:
    def __init__(self) -> None:
        self.posted = 0

    def request_status(self, request: Request, takes: list[Take]) -> str | None:
        return None

    def take_ready(self, request: Request, take: Take) -> Take:
        self.posted += 1
        return take.model_copy(update={"message_ts": f"m{self.posted}", "file_id": f"F{self.posted}"})

    def card_changed(self, take: Take) -> None:
        pass

    def take_failed(self, request: Request, take: Take) -> None:
        pass


class TimedWorker(SimpleRuntimeWorker):
    durations: dict[str, list[float]] = {}

    def perform_job(self, job, queue):  # noqa: ANN001 - rq's signature
        started = time.perf_counter()
        try:
            return super().perform_job(job, queue)
        finally:
            name = job.func_name.rsplit(".", 1)[-1]
            self.durations.setdefault(name, []).append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--takes", type=int, default=300)
    parser.add_argument("--polls", type=int, default=6)
    args = parser.parse_args()

    redis_server = RedisServer().start()
    fal = FalStandin().start()
    fal.finish_after_polls = args.polls
    work = Path(tempfile.mkdtemp(prefix="dailies-bench-"))
    try:
        settings = Settings(**{
            "REDIS_URL": redis_server.url, "DAILIES_MEDIA_DIR": str(work), "FAL_KEY": FAL_KEY,
            "FAL_QUEUE_URL": fal.url, "DAILIES_ALLOWED_MEDIA_URLS": fal.url + "/", "DAILIES_POLL_INITIAL_S": 0.05,
            "DAILIES_POLL_MAX_S": 0.05, "DAILIES_STATUS_EDIT_MIN_S": 3600,
        })
        connection = Redis.from_url(settings.redis_url)
        queue = Queue(settings.queue_name, connection=connection)
        store = RedisStore(connection, settings.key_prefix)
        notifier = CountingNotifier()
        runtime = Runtime(settings=settings, store=store, scheduler=RqScheduler(queue), notifier=notifier)
        before_bytes = connection.info("memory")["used_memory"]
        resolved = resolve_brief(parse_brief("Rain on neon\nSound: rain\nx24 4s --model fal:fal-ai/veo3.1"),
                                 settings, ChannelSettings())
        requests = []
        for index in range((args.takes + 23) // 24):
            request, takes = build_request(resolved, settings=settings, channel="CBENCH", thread_ts=f"{index}.0",
                                           source_ts=f"{index}.0", requester="UBENCH", round_number=1)
            store.record_new_request(request, takes)
            requests.append(request)
            queue.enqueue("jobs.pipeline.tasks.start_request", request.id)
        recorded_bytes = connection.info("memory")["used_memory"] - before_bytes
        total_takes = sum(len(r.take_ids) for r in requests)

        started = time.perf_counter()
        registry = queue.scheduled_job_registry
        while True:
            for job_id in registry.get_jobs_to_schedule(time.time() + 0.001):
                job = queue.fetch_job(job_id)
                registry.remove(job_id)
                if job is not None:
                    queue._enqueue_job(job)
            if queue.count:
                worker = TimedWorker([queue], connection=connection, job_class=TaskJob)
                worker.runtime = runtime
                worker.work(burst=True, logging_level="ERROR")
            elif not registry.count:
                break
            else:
                time.sleep(0.01)
        elapsed = time.perf_counter() - started
        states = [t.state for r in requests for t in store.takes_for(r)]
        assert all(s == TakeState.posted for s in states), {s.value for s in states}

        polls = TimedWorker.durations.get("poll_take", [])
        poll_ms = statistics.median(polls) * 1000
        rows = [
            ("renders (takes), one worker", f"{total_takes}"),
            ("status polls per render", f"{args.polls}"),
            ("all renders posted in", f"{elapsed:.1f} s"),
            ("poll jobs run", f"{len(polls)}"),
            ("poll job, median", f"{poll_ms:.1f} ms"),
            ("poll job, p95", f"{sorted(polls)[int(len(polls) * 0.95)] * 1000:.1f} ms"),
            ("submit job, median", f"{statistics.median(TimedWorker.durations['submit_take']) * 1000:.1f} ms"),
            ("fetch+check+post job, median", f"{statistics.median(TimedWorker.durations['fetch_take']) * 1000:.1f} ms"),
            ("renders one worker can watch at a 30 s poll interval", f"{int(30_000 / poll_ms):,}"),
            ("Redis per recorded take (request + take + indexes)", f"{recorded_bytes / total_takes / 1024:.1f} KiB"),
        ]
        width = max(len(r[0]) for r in rows)
        print(f"{'measure'.ljust(width)}  value")
        print(f"{'-' * width}  -----")
        for name, value in rows:
            print(f"{name.ljust(width)}  {value}")
    finally:
        fal.stop()
        redis_server.stop()


if __name__ == "__main__":
    main()
