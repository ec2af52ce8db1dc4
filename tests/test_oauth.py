"""One deployment installed in several workspaces (OAuth v2), through the real endpoint and the Slack stand-in.

The install goes as a person's browser takes it: `/slack/install` (Bolt's page, the `state` cookie), Slack's
redirect back to `/slack/oauth_redirect` with a code, `oauth.v2.access` at the stand-in. Then events from each
workspace are answered with that workspace's own token, its takes are kept under its own records, and an
uninstall or a revoked token removes that workspace's installation.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from redis import Redis

from bot.cli import main as cli_main
from bot.slack.installations import RedisInstallationStore
from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore, installed_workspaces, workspace_prefix
from jobs.infra.sealing import Sealer
from tests.harness import (
    SECRET_KEY,
    BotEndpoint,
    Worker,
    event_envelope,
    free_port,
    make_settings,
    mention,
    wait_for,
)
from tests.standins.slack import SlackStandIn

CLIENT_ID = "1234567890.0987654321"
CLIENT_SECRET = "standin-client-secret-0123456789"
WORKSPACES = {"T0ACME": ("Acme Films", "C0ACME"), "T0BOLT": ("Bolt Studio", "C0BOLT"), "T0CRUX": ("Crux", "C0CRUX")}


@pytest.fixture()
def deployment(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> Iterator[tuple[BotEndpoint, Worker]]:
    slack.register_oauth_app(CLIENT_ID, CLIENT_SECRET)
    port = free_port()
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", SLACK_BOT_TOKEN="",
                             SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET,
                             DAILIES_PUBLIC_URL=f"http://127.0.0.1:{port}", DAILIES_SECRET_KEYS=SECRET_KEY)
    assert settings.oauth_enabled
    bot = BotEndpoint(settings, port=port)
    yield bot, Worker(settings)
    bot.stop()


def install(bot: BotEndpoint, slack: SlackStandIn, team: str) -> httpx.Response:
    """A person in `team` presses Add to Slack and approves."""
    with httpx.Client(base_url=bot.base_url, timeout=10) as browser:
        page = browser.get("/slack/install")
        assert page.status_code == 200
        link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page.text)
        assert link, page.text[:500]
        query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
        assert query["client_id"] == [CLIENT_ID]
        assert "commands" in query["scope"][0].split(",")
        # Bolt's state cookie is `Secure`: a browser sends it back over HTTPS; this test speaks plain HTTP.
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        code = slack.approve_install(team, WORKSPACES[team][0])
        return browser.get("/slack/oauth_redirect", params={"code": code, "state": query["state"][0]},
                           headers={"Cookie": cookie})


def send(bot: BotEndpoint, team: str, event: dict[str, Any], event_id: str) -> httpx.Response:
    envelope = event_envelope(event, event_id=event_id, team=team, bot_user=f"UB{team[1:]}")
    return bot.post(json.dumps(envelope), "application/json")


def test_three_workspaces_install_and_never_share_takes_tokens_or_records(deployment, slack: SlackStandIn,
                                                                           redis_url: str):
    bot, worker = deployment
    for team in WORKSPACES:
        answer = install(bot, slack, team)
        assert answer.status_code == 200, answer.text[:300]
    store = RedisInstallationStore(Redis.from_url(redis_url), "dailies-test", Sealer([SECRET_KEY]))
    tokens = {team: store.find_bot(enterprise_id=None, team_id=team).bot_token for team in WORKSPACES}
    assert len(set(tokens.values())) == 3 and all(slack.team_tokens[t] == team for team, t in tokens.items())
    assert installed_workspaces(Redis.from_url(redis_url), "dailies-test") == sorted(WORKSPACES)

    for index, (team, (_, channel)) in enumerate(WORKSPACES.items()):
        thread = f"170008000{index}.000100"
        event = mention(f"Harbour at dawn for {team}\nSound: gulls, ropes creaking\nx1 1s", channel=channel,
                        ts=thread)
        assert send(bot, team, event, f"EvOAUTH{index}").status_code == 200
    connection = Redis.from_url(redis_url)
    team_stores = {team: RedisStore(connection, workspace_prefix("dailies-test", team)) for team in WORKSPACES}
    wait_for(lambda: all(team_stores[t].channel_takes(WORKSPACES[t][1]) for t in WORKSPACES))
    worker.drain()

    for team, (_, channel) in WORKSPACES.items():
        takes = team_stores[team].channel_takes(channel)
        assert [t.state for t in takes] == [TakeState.posted]
        for other, (_, other_channel) in WORKSPACES.items():
            if other != team:
                assert not team_stores[team].channel_takes(other_channel)  # nothing of another workspace
        calls = [c for c in slack.calls if c.args.get("channel") == channel]
        assert calls and {c.team for c in calls} == {team}, (team, {c.team for c in calls})
    assert not RedisStore(connection, "dailies-test").channel_takes("C0ACME")  # nothing in the shared space
    env = {"REDIS_URL": redis_url, "DAILIES_KEY_PREFIX": "dailies-test"}
    exported = CliRunner().invoke(cli_main, ["export", "--team", "T0ACME", "--channel", "C0ACME", "--json"], env=env)
    assert exported.exit_code == 0 and [row["label"] for row in json.loads(exported.output)] == ["1A"]
    elsewhere = CliRunner().invoke(cli_main, ["export", "--team", "T0BOLT", "--channel", "C0ACME", "--json"], env=env)
    assert json.loads(elsewhere.output) == []
    assert not [c for c in slack.calls if c.team == "T0TEAM"]  # the single-workspace token was never used


def test_uninstall_and_revoked_tokens_remove_that_workspace_only(deployment, slack: SlackStandIn, redis_url: str):
    bot, _ = deployment
    for team in ("T0ACME", "T0BOLT"):
        assert install(bot, slack, team).status_code == 200
    store = RedisInstallationStore(Redis.from_url(redis_url), "dailies-test", Sealer([SECRET_KEY]))

    assert send(bot, "T0ACME", {"type": "app_uninstalled", "event_ts": f"{time.time():.6f}"},
                "EvUNINSTALL").status_code == 200
    wait_for(lambda: store.find_bot(enterprise_id=None, team_id="T0ACME") is None)
    assert store.find_installation(enterprise_id=None, team_id="T0ACME") is None
    assert store.find_bot(enterprise_id=None, team_id="T0BOLT") is not None

    bolt = store.find_installation(enterprise_id=None, team_id="T0BOLT")
    assert send(bot, "T0BOLT", {"type": "tokens_revoked", "tokens": {"oauth": [bolt.user_id], "bot": [bolt.bot_user_id]},
                                "event_ts": f"{time.time():.6f}"}, "EvREVOKED").status_code == 200
    wait_for(lambda: store.find_bot(enterprise_id=None, team_id="T0BOLT") is None)

    # An event from the uninstalled workspace is acknowledged and does nothing.
    before = len(slack.calls)
    answer = send(bot, "T0ACME", mention("Anything\nx1 1s", channel="C0ACME", ts="1700081000.000100"), "EvAFTER")
    assert answer.status_code in (200, 401)
    time.sleep(0.5)
    assert not [c for c in slack.calls[before:] if c.method == "chat.postMessage"]


def test_a_forged_or_replayed_oauth_redirect_installs_nothing(deployment, slack: SlackStandIn, redis_url: str):
    bot, _ = deployment
    code = slack.approve_install("T0ACME", "Acme Films")
    with httpx.Client(base_url=bot.base_url, timeout=10) as browser:
        forged = browser.get("/slack/oauth_redirect", params={"code": code, "state": "not-ours"})
    assert forged.status_code >= 400
    store = RedisInstallationStore(Redis.from_url(redis_url), "dailies-test", Sealer([SECRET_KEY]))
    assert store.find_bot(enterprise_id=None, team_id="T0ACME") is None
    assert not slack.calls_to("oauth.v2.access")  # the code was never even exchanged
