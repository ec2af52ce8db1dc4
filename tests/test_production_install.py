"""The operator's path: Dailies installed from its wheel and requirements.lock into a clean virtual environment,
without the dev extras (so nothing pytest brings in can hide a missing runtime dependency), and its three
processes started from there — not from this source tree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Worker

from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore
from tests.harness import event_envelope, free_port, mention, wait_for
from tests.standins.slack import SlackStandIn
from tests.standins.socket_mode import SocketModeStandin
from tests.test_serve import ROOT, settings_env, signed

# Several processes and timed stops: one such module at a time when the suite runs in parallel (scripts/test).
pytestmark = pytest.mark.xdist_group("processes")

APP_TOKEN = "xapp-1-A0DAILIES-1-standinsecret"


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The virtual environment `scripts/test` made with `scripts/install-prod` (or one made here)."""
    given = os.environ.get("DAILIES_PROD_VENV")
    if given:
        return Path(given)
    target = tmp_path_factory.mktemp("prod") / "venv"
    subprocess.run(["bash", str(ROOT / "scripts" / "install-prod"), str(target)], check=True, cwd=ROOT,
                   capture_output=True, timeout=900)
    return target


@pytest.fixture()
def elsewhere(tmp_path: Path) -> Path:
    """A working folder outside the source tree, so `import bot` can only find the installed package."""
    folder = tmp_path / "run"
    folder.mkdir()
    return folder


def start(installed: Path, elsewhere: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    log = (elsewhere / f"{args[0]}.log").open("ab")
    return subprocess.Popen([str(installed / "bin" / "dailies"), *args], cwd=elsewhere, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture()
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        stop(process)


def test_the_installed_package_is_what_runs_and_has_no_dev_tools(installed: Path, elsewhere: Path) -> None:
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import bot, jobs, adapters; print(bot.__file__)"],
                           cwd=elsewhere, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(installed)) and "site-packages" in where
    for dev_only in ("pytest", "pyloudnorm", "scipy", "websockets", "hypothesis"):
        found = subprocess.run([str(installed / "bin" / "python"), "-c", f"import {dev_only}"], cwd=elsewhere,
                               capture_output=True)
        assert found.returncode != 0, f"{dev_only} is in the production install"
    assert subprocess.run([str(installed / "bin" / "python"), "-m", "pip", "check"], capture_output=True).returncode == 0


def test_serve_and_worker_from_the_install_make_a_take_and_report_it(
        installed: Path, elsewhere: Path, settings, slack: SlackStandIn, processes) -> None:
    env = {**settings_env(settings), "PATH": os.environ.get("PATH", "")}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.append(start(installed, elsewhere, env, "serve", "--port", str(port), "--host", "127.0.0.1",
                           "--workers", "2"))
    wait_for(lambda: _answers(url + "/healthz"), timeout_s=60)
    not_ready = httpx.get(url + "/readyz", timeout=10)
    assert not_ready.status_code == 503 and not_ready.json()["workers_alive"] == 0

    processes.append(start(installed, elsewhere, env, "worker", "--processes", "2"))
    connection = Redis.from_url(settings.redis_url)
    wait_for(lambda: len(Worker.all(connection=connection)) == 2, timeout_s=60)
    assert httpx.get(url + "/readyz", timeout=10).status_code == 200

    thread = "1700700000.000100"
    body = json.dumps(event_envelope(mention("Kites over a beach\nSound: wind, surf\nx2 1s", ts=thread),
                                     event_id="EvPROD1"))
    assert httpx.post(url + "/slack/events", content=body, headers=signed(body), timeout=10).status_code == 200
    store = RedisStore.open(settings)
    wait_for(lambda: len(store.channel_takes("C0ART")) == 2 and all(
        t.state == TakeState.posted for t in store.channel_takes("C0ART")), timeout_s=120)
    cards = [m for m in slack.posted(thread_ts=thread) if m.get("text", "").startswith("Take ")]
    assert sorted(c["text"].split(" ")[1] for c in cards) == ["1A", "1B"]

    scraped = httpx.get(url + "/metrics", timeout=10).text
    posted = [s.value for family in text_string_to_metric_families(scraped) for s in family.samples
              if s.name == "dailies_takes_total" and s.labels == {"model": "previz", "outcome": "posted"}]
    assert posted == [2.0]
    worker = processes.pop()
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(timeout=30) == 0


def test_socket_mode_from_the_install_acknowledges_envelopes(installed: Path, elsewhere: Path, settings,
                                                             slack: SlackStandIn, processes) -> None:
    socket_mode = SocketModeStandin().start()
    try:
        slack.app_token = APP_TOKEN
        slack.socket_url = socket_mode.connection_url
        env = {**settings_env(settings), "SLACK_APP_TOKEN": APP_TOKEN, "PATH": os.environ.get("PATH", ""),
               "DAILIES_LOG_FORMAT": "json"}
        processes.append(start(installed, elsewhere, env, "socket"))
        wait_for(lambda: socket_mode.opened == 1, timeout_s=60)
        envelope = socket_mode.send("events_api", event_envelope(
            mention("A heron at dawn\nSound: wings\nx1 1s", ts="1700700100.000100"), event_id="EvPRODSOCK"))
        wait_for(lambda: envelope in socket_mode.acks, timeout_s=20)
        wait_for(lambda: RedisStore.open(settings).thread_requests("C0ART", "1700700100.000100"), timeout_s=20)
        logged = [json.loads(line) for line in wait_for(lambda: [
            line for line in (elsewhere / "socket.log").read_text().splitlines() if "request queued" in line])]
        assert logged[0]["channel"] == "C0ART" and logged[0]["team"] == "T0TEAM"  # bound as over HTTP
    finally:
        socket_mode.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
