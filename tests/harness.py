"""Test harness: our own redis-server, the Slack stand-in, the bot's real HTTP endpoint, an rq worker."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis import Redis
from rq import Queue

from bot.server import DailiesWSGI
from bot.slack.client import make_web_client
from bot.slack.notifier import SlackNotifier
from bot.slack.ticket_notifier import SlackTicketNotifier
from bot.worker import make_worker
from jobs.domain.store import RedisStore
from jobs.infra.metrics import RedisMetrics
from jobs.infra.settings import Settings
from jobs.pipeline.runtime import RqScheduler, Runtime
from tests.standins.slack import SlackStandIn

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
SECRET_KEY = "Clcws08H4EgcxqHGWZF9BNFoSTiMbf7q2nPxMaJ_w7Q="  # a Fernet key for DAILIES_SECRET_KEYS in tests
OLD_SECRET_KEY = "A_eBASZslCS2PnVdaBY62Qmeg4S3KVVHLM7cOIKEnZI="
BOT_TOKEN = "xoxb-test-token"


# Ports for processes we start ourselves (gunicorn, redis-server) come from below the kernel's ephemeral
# range, one block per xdist process: a port asked of the kernel with bind(0) and handed on is free only
# until some other test binds port 0 or opens a connection, and the kernel may give it out again before
# the child process binds it (seen in CI: gunicorn lost its port to another test's in-process bot).
_PORT_BLOCK = 1_500
_PORT_FLOOR = 17_000
_next_port = itertools.count(random.randrange(_PORT_BLOCK))


def _xdist_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0) % 10


def free_port() -> int:
    base = _PORT_FLOOR + _xdist_index() * _PORT_BLOCK
    for _ in range(_PORT_BLOCK):
        port = base + next(_next_port) % _PORT_BLOCK
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {base}..{base + _PORT_BLOCK}")


def wait_for(condition: Callable[[], Any], timeout_s: float = 20.0, interval_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


class RedisServer:
    """A redis-server of the tests' own on a free port: they may flush it freely."""

    def __init__(self, *, appendonly: bool = False, replica_of: int | None = None) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="dailies-redis-"))
        self.appendonly = appendonly
        self.replica_of = replica_of
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always", "--dir", str(self.dir),
             *(["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = Redis(port=self.port)
        wait_for(lambda: _pings(client), timeout_s=10)
        return self

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def kill(self) -> None:
        """Stop Redis the hard way (a crash, a failover): no shutdown save, clients cut off."""
        if self.process:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class SentinelGroup:
    """A primary, a replica and three sentinels on loopback, as an operator runs Redis with failover
    (`redis-server --sentinel`, Debian's redis-sentinel is the same program)."""

    MASTER = "dailies"

    def __init__(self) -> None:
        self.primary = RedisServer(appendonly=True)
        self.replica: RedisServer | None = None
        self.sentinels: list[subprocess.Popen[bytes]] = []
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.dir = Path(tempfile.mkdtemp(prefix="dailies-sentinel-"))

    @property
    def addresses(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def start(self) -> SentinelGroup:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (apt-get install redis-server)"
        self.primary.start()
        self.replica = RedisServer(appendonly=True, replica_of=self.primary.port).start()
        wait_for(lambda: Redis(port=self.replica.port).info("replication").get("master_link_status") == "up",
                 timeout_s=20)
        for port in self.sentinel_ports:
            conf = self.dir / f"sentinel-{port}.conf"
            conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
                            f"sentinel monitor {self.MASTER} 127.0.0.1 {self.primary.port} 2\n"
                            f"sentinel down-after-milliseconds {self.MASTER} 1000\n"
                            f"sentinel failover-timeout {self.MASTER} 4000\n"
                            f"sentinel parallel-syncs {self.MASTER} 1\n")
            self.sentinels.append(subprocess.Popen([binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL))
        for port in self.sentinel_ports:  # each sentinel knows the replica and the other sentinels
            client = Redis(port=port)
            wait_for(lambda c=client: _pings(c) and len(c.sentinel_slaves(self.MASTER)) == 1
                     and len(c.sentinel_sentinels(self.MASTER)) == 2, timeout_s=30, interval_s=0.2)
        return self

    def master_port(self) -> int:
        return int(Redis(port=self.sentinel_ports[0]).sentinel_get_master_addr_by_name(self.MASTER)[1])

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.kill()
            sentinel.wait(timeout=10)
        for server in (self.primary, self.replica):
            if server is not None:
                server.kill()


def _pings(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def make_settings(redis_url: str, slack_api_url: str, media_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "REDIS_URL": redis_url,
        "DAILIES_MEDIA_DIR": str(media_dir),
        "DAILIES_KEY_PREFIX": "dailies-test",
        "DAILIES_QUEUE": "dailies-test",
        "DAILIES_POLL_INITIAL_S": 0.05,
        "DAILIES_POLL_MAX_S": 0.2,
        "DAILIES_STATUS_EDIT_MIN_S": 0,
        "DAILIES_DEFAULT_DURATION_S": 2,
        "DAILIES_DEFAULT_TAKES": 1,
    }
    values.update(overrides)
    return Settings(**values)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of concurrent events (the listen backlog default of 5 resets them)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class BotEndpoint:
    """The bot's real WSGI app served over HTTP on localhost, and signed requests to it."""

    def __init__(self, settings: Settings, port: int = 0) -> None:
        self.settings = settings
        self.wsgi = DailiesWSGI(settings)
        self.app = self.wsgi.events.app
        self.server = make_server("127.0.0.1", port, self.wsgi, server_class=_ThreadingWSGIServer,
                                  handler_class=_QuietHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.http = httpx.Client(timeout=10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/slack/events"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.http.close()

    def post(self, body: str, content_type: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET,
             signature: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or f"v0={digest}",
            **(headers or {}),
        }
        return self.http.post(self.url, content=body.encode(), headers=all_headers)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None,
              **kwargs: Any) -> httpx.Response:
        envelope = event_envelope(event, event_id=event_id or f"Ev{uuid.uuid4().hex[:10].upper()}")
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(envelope), "application/json", headers=headers, **kwargs)

    def action(self, payload: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kwargs)


def event_envelope(event: dict[str, Any], *, event_id: str, team: str = "T0TEAM",
                   bot_user: str = "UDAILIESBOT") -> dict[str, Any]:
    """An Events API `event_callback` envelope as Slack sends it (over HTTP, or inside a Socket Mode envelope)."""
    return {
        "token": "legacy", "team_id": team, "api_app_id": "A0DAILIES", "type": "event_callback",
        "event_id": event_id, "event_time": int(time.time()), "event": event,
        "authorizations": [{"team_id": team, "user_id": bot_user, "is_bot": True, "enterprise_id": None,
                            "is_enterprise_install": False}],
    }


def mention(text: str, *, channel: str = "C0ART", user: str = "U0CREATIVE", ts: str | None = None,
            thread_ts: str | None = None) -> dict[str, Any]:
    event = {"type": "app_mention", "user": user, "text": f"<@UDAILIESBOT> {text}",
             "ts": ts or f"{time.time():.6f}", "channel": channel, "event_ts": ts or f"{time.time():.6f}"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def reaction_event(name: str, *, user: str, ts: str, channel: str = "C0ART", added: bool = True) -> dict[str, Any]:
    """A `reaction_added` / `reaction_removed` event as Slack documents it (the Events API `event` object)."""
    return {"type": "reaction_added" if added else "reaction_removed", "user": user, "reaction": name,
            "item": {"type": "message", "channel": channel, "ts": ts}, "item_user": "UDAILIESBOT",
            "event_ts": f"{time.time():.6f}"}


def react(bot: BotEndpoint, slack: SlackStandIn, name: str, *, user: str, ts: str, channel: str = "C0ART",
          added: bool = True, event_id: str | None = None) -> None:
    """A person reacts: Slack records it (what `reactions.get` answers), then sends the event — none when
    nothing changed, as Slack sends none then."""
    event = slack.react(user, channel, ts, name, added=added)
    if event is not None:
        assert bot.event(event, event_id=event_id).status_code == 200


def block_action(action_id: str, value: str, *, user: str, channel: str, message_ts: str,
                 thread_ts: str | None = None, selected: str | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "type": "button", "value": value,
                              "action_ts": f"{time.time():.6f}"}
    if selected is not None:
        action = {"action_id": action_id, "block_id": "b", "type": "static_select",
                  "selected_option": {"text": {"type": "plain_text", "text": selected}, "value": selected},
                  "action_ts": f"{time.time():.6f}"}
    return {
        "type": "block_actions", "team": {"id": "T0TEAM"}, "user": {"id": user, "name": user.lower()},
        "api_app_id": "A0DAILIES", "token": "legacy", "trigger_id": "1.2.3",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel}, "message": {"ts": message_ts, "thread_ts": thread_ts or message_ts},
        "actions": [action], "response_url": "http://127.0.0.1:9/unused",
    }


class Worker:
    """An rq SimpleWorker in this process, driving the real pipeline until nothing is left to do."""

    def __init__(self, settings: Settings, notifier_factory: Callable[[RedisStore], Any] | None = None) -> None:
        self.settings = settings
        self.connection = Redis.from_url(settings.redis_url)
        self.queue = Queue(settings.queue_name, connection=self.connection)
        self.store = RedisStore(self.connection, settings.key_prefix)
        client = make_web_client(settings, shared=self.connection)
        notifier = notifier_factory(self.store) if notifier_factory else SlackNotifier(client, self.store, settings)
        self.runtime = Runtime(settings=settings, store=self.store, scheduler=RqScheduler(self.queue),
                               notifier=notifier, ticket_notifier=SlackTicketNotifier(client),
                               metrics=RedisMetrics(self.connection, settings.key_prefix))

    def pending(self) -> int:
        return self.queue.count + self.queue.scheduled_job_registry.count

    def drain(self, timeout_s: float = 60.0, wait_for_work_s: float = 2.0) -> None:
        """Run every job until none is queued or scheduled. The bot enqueues just after it posts a status
        message, so a drain that starts on seeing that message first gives the job a moment to arrive."""
        settle = time.monotonic() + wait_for_work_s
        while not self.pending() and time.monotonic() < settle:
            time.sleep(0.02)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._enqueue_due()
            if self.queue.count:
                self._worker().work(burst=True, logging_level="WARNING")
                continue
            if not self.queue.scheduled_job_registry.count:
                return
            time.sleep(0.02)
        raise AssertionError("the worker did not finish within the time limit")

    def drain_until(self, condition: Callable[[], Any], timeout_s: float = 30.0) -> None:
        """Run jobs one at a time until `condition()` holds, leaving the rest queued or scheduled."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met while draining")
            self._enqueue_due()
            if self.queue.count:
                self._worker().work(burst=True, max_jobs=1, logging_level="WARNING")
            else:
                time.sleep(0.02)

    def _worker(self):  # noqa: ANN202 - an rq worker of bot.worker's classes
        """rq's in-process worker, handed this harness's runtime as `dailies worker` hands its own."""
        return make_worker(self.runtime, self.queue, simple=True)

    def _enqueue_due(self) -> None:
        registry = self.queue.scheduled_job_registry
        for job_id in registry.get_jobs_to_schedule(time.time() + 0.001):
            job = self.queue.fetch_job(job_id)
            registry.remove(job_id)
            if job is not None:
                self.queue._enqueue_job(job)


class TlsRedisServer(RedisServer):
    """A redis-server that speaks only TLS, with a certificate from a CA made here (as a managed Redis does)."""

    def __init__(self) -> None:
        super().__init__()
        self.ca_file, self.cert_file, self.key_file = (self.dir / "ca.pem", self.dir / "redis.pem",
                                                       self.dir / "redis.key")

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"

    def start(self) -> TlsRedisServer:
        write_test_certificates(self.ca_file, self.cert_file, self.key_file)
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (apt-get install redis-server)"
        self.process = subprocess.Popen(
            [binary, "--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--tls-cert-file", str(self.cert_file),
             "--tls-key-file", str(self.key_file), "--tls-ca-cert-file", str(self.ca_file),
             "--tls-auth-clients", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = Redis(host="127.0.0.1", port=self.port, ssl=True, ssl_ca_certs=str(self.ca_file))
        wait_for(lambda: _pings(client), timeout_s=10)
        return self


def write_test_certificates(ca_file: Path, cert_file: Path, key_file: Path) -> None:
    """A CA and a server certificate for 127.0.0.1 signed by it (PEM files)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Dailies test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                          x509.DNSName("localhost")]),
                             critical=False).sign(ca_key, hashes.SHA256()))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
