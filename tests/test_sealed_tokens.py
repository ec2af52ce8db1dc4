"""Workspace tokens are sealed at rest: nothing in Redis reads as a token, rotation (Slack's and our keys') keeps
it so, and a deployment without a working key refuses to start with one line saying what to do."""

from __future__ import annotations

import contextlib
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from redis import Redis
from slack_sdk.oauth.installation_store import Bot

from bot.cli import main as cli_main
from bot.slack.installations import RedisInstallationStore
from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore, workspace_prefix
from jobs.infra.sealing import SEALED_PREFIX, Sealer
from tests.harness import (
    OLD_SECRET_KEY,
    SECRET_KEY,
    BotEndpoint,
    Worker,
    free_port,
    make_settings,
    mention,
    wait_for,
)
from tests.standins.slack import SlackStandIn
from tests.test_oauth import CLIENT_ID, CLIENT_SECRET, install, send

PREFIX = "dailies-test"


def every_value(connection: Redis) -> Iterator[bytes]:
    """Every byte string Redis holds, whatever the key's type (rq's compressed job payloads unpacked)."""
    for key in connection.scan_iter(count=1000):
        kind = connection.type(key).decode()
        values: list[bytes] = [key]
        if kind == "string":
            values.append(connection.get(key) or b"")
        elif kind == "hash":
            for field, value in connection.hgetall(key).items():
                values += [field, value]
        elif kind == "list":
            values += connection.lrange(key, 0, -1)
        elif kind == "set":
            values += list(connection.smembers(key))
        elif kind == "zset":
            values += connection.zrange(key, 0, -1)
        for value in values:
            yield value
            with contextlib.suppress(zlib.error):
                yield zlib.decompress(value)


@pytest.fixture()
def rotating(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> Iterator[tuple[BotEndpoint, Worker]]:
    slack.register_oauth_app(CLIENT_ID, CLIENT_SECRET)
    slack.rotation_expires_in_s = 3600  # within Bolt's 120-minute window: every use refreshes first
    port = free_port()
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", SLACK_BOT_TOKEN="",
                             SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET,
                             DAILIES_PUBLIC_URL=f"http://127.0.0.1:{port}", DAILIES_SECRET_KEYS=SECRET_KEY)
    bot = BotEndpoint(settings, port=port)
    yield bot, Worker(settings)
    bot.stop()


def test_no_token_is_readable_in_redis_while_rotating_tokens_are_refreshed(rotating, slack: SlackStandIn,
                                                                           redis_url: str) -> None:
    bot, worker = rotating
    assert install(bot, slack, "T0ACME").status_code == 200
    first_token = next(t for t, team in slack.team_tokens.items() if team == "T0ACME")
    thread = "1700400001.000100"
    assert send(bot, "T0ACME", mention("Harbour at dawn\nSound: gulls\nx1 1s", channel="C0ACME", ts=thread),
                "EvSEAL1").status_code == 200
    store = RedisStore(Redis.from_url(redis_url), workspace_prefix(PREFIX, "T0ACME"))
    wait_for(lambda: store.channel_takes("C0ACME"))
    worker.drain()
    assert [t.state for t in store.channel_takes("C0ACME")] == [TakeState.posted]

    assert slack.refreshes >= 1  # Bolt (and the worker) refreshed the expiring token through oauth.v2.access
    sealed = RedisInstallationStore(Redis.from_url(redis_url), PREFIX, Sealer([SECRET_KEY]))
    bot_record = sealed.find_bot(enterprise_id=None, team_id="T0ACME")
    assert bot_record is not None and bot_record.bot_token != first_token and bot_record.bot_refresh_token
    card_calls = [c for c in slack.calls if c.args.get("channel") == "C0ACME"]
    assert card_calls and {c.team for c in card_calls} == {"T0ACME"}

    secrets = [t.encode() for t in slack.team_tokens] + [t.encode() for t in slack.refresh_tokens]
    secrets.append(CLIENT_SECRET.encode())
    assert len(secrets) >= 4
    leaks = [value[:40] for value in every_value(Redis.from_url(redis_url)) for secret in secrets if secret in value]
    assert not leaks, leaks
    raw = json.loads(Redis.from_url(redis_url).get(f"{PREFIX}:slack-install:-:T0ACME:bot"))
    assert raw["bot_token"].startswith(SEALED_PREFIX) and raw["bot_refresh_token"].startswith(SEALED_PREFIX)


def test_a_record_written_before_sealing_is_read_and_sealed(redis_url: str) -> None:
    connection = Redis.from_url(redis_url)
    RedisInstallationStore(connection, PREFIX).save_bot(
        Bot(team_id="T0OLD", bot_token="xoxb-old-plain-token", bot_id="B1", bot_user_id="U1", installed_at=1.0))
    assert b"xoxb-old-plain-token" in connection.get(f"{PREFIX}:slack-install:-:T0OLD:bot")

    sealed = RedisInstallationStore(connection, PREFIX, Sealer([SECRET_KEY]))
    found = sealed.find_bot(enterprise_id=None, team_id="T0OLD")
    assert found is not None and found.bot_token == "xoxb-old-plain-token"
    raw = connection.get(f"{PREFIX}:slack-install:-:T0OLD:bot")
    assert b"xoxb-old-plain-token" not in raw and json.loads(raw)["bot_token"].startswith(SEALED_PREFIX)


def test_rotate_keys_reseals_every_record_with_the_first_key(redis_url: str) -> None:
    connection = Redis.from_url(redis_url)
    old = RedisInstallationStore(connection, PREFIX, Sealer([OLD_SECRET_KEY]))
    for team in ("T0ONE", "T0TWO"):
        old.save_bot(Bot(team_id=team, bot_token=f"xoxb-{team}-secret", bot_id="B1", bot_user_id="U1",
                         installed_at=1.0))
    env = {"REDIS_URL": redis_url, "DAILIES_KEY_PREFIX": PREFIX, "SLACK_CLIENT_ID": CLIENT_ID,
           "SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_BOT_TOKEN": "",
           "DAILIES_SECRET_KEYS": f"{SECRET_KEY},{OLD_SECRET_KEY}"}
    result = CliRunner().invoke(cli_main, ["rotate-keys"], env=env)
    assert result.exit_code == 0, result.output
    assert "re-sealed 2 record(s)" in result.output

    new_only = RedisInstallationStore(connection, PREFIX, Sealer([SECRET_KEY]))
    assert new_only.find_bot(enterprise_id=None, team_id="T0TWO").bot_token == "xoxb-T0TWO-secret"
    again = CliRunner().invoke(cli_main, ["rotate-keys"], env=env)
    assert "re-sealed 0 record(s)" in again.output  # nothing left under the old key


@pytest.mark.parametrize(("keys", "expected"), [
    (None, "DAILIES_SECRET_KEYS is not set"),
    ("not-a-fernet-key", "key 1 of 1 is not a Fernet key"),
    (f"{SECRET_KEY},short", "key 2 of 2 is not a Fernet key"),
    (OLD_SECRET_KEY, "DAILIES_SECRET_KEYS cannot open the installation of T0SEALED"),
])
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_oauth_processes_refuse_to_start_without_a_key_that_opens_every_record(redis_url: str, command: str,
                                                                               keys: str | None,
                                                                               expected: str) -> None:
    RedisInstallationStore(Redis.from_url(redis_url), PREFIX, Sealer([SECRET_KEY])).save_bot(
        Bot(team_id="T0SEALED", bot_token="xoxb-sealed-one", bot_id="B1", bot_user_id="U1", installed_at=1.0))
    env = {"REDIS_URL": redis_url, "DAILIES_KEY_PREFIX": PREFIX, "SLACK_CLIENT_ID": CLIENT_ID,
           "SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": "s" * 32,
           "DAILIES_SECRET_KEYS": keys or ""}
    result = CliRunner().invoke(cli_main, [command], env=env)
    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    if keys is None:
        assert "dailies new-key" in result.output


def test_a_bot_token_beside_the_oauth_settings_is_refused(redis_url: str) -> None:
    env = {"REDIS_URL": redis_url, "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
           "SLACK_BOT_TOKEN": "xoxb-one-workspace", "DAILIES_SECRET_KEYS": SECRET_KEY, "SLACK_SIGNING_SECRET": "s" * 32}
    for command in ("serve", "worker"):
        result = CliRunner().invoke(cli_main, [command], env=env)
        assert result.exit_code == 1 and "Unset SLACK_BOT_TOKEN" in result.output
        assert "xoxb-one-workspace" not in result.output


def test_new_key_prints_a_key_that_seals() -> None:
    result = CliRunner().invoke(cli_main, ["new-key"])
    sealer = Sealer([result.output.strip()])
    assert sealer.open(sealer.seal("xoxb-1")) == "xoxb-1"
