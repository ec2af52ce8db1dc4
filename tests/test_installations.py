"""The Redis InstallationStore and OAuthStateStore, held to what Bolt expects of slack_sdk's own stores
(the behaviour of its File and SQLAlchemy stores and their tests: latest bot per workspace, latest and per-user
installations with the newest bot token merged in, org-wide installs, deletion)."""

from __future__ import annotations

import time

import pytest
from redis import Redis
from slack_sdk.oauth.installation_store import Installation

from bot.slack.installations import RedisInstallationStore, RedisOAuthStateStore
from jobs.domain.store import installed_workspaces


@pytest.fixture()
def store(redis_url: str) -> RedisInstallationStore:
    return RedisInstallationStore(Redis.from_url(redis_url), "dailies-test")


def installation(team: str, user: str, token: str, *, enterprise: str | None = None, org: bool = False,
                 installed_at: float | None = None) -> Installation:
    return Installation(
        app_id="A0DAILIES", enterprise_id=enterprise, team_id=None if org else team, team_name=f"{team} team",
        bot_token=token, bot_id=f"B{team}", bot_user_id=f"U{team}BOT", bot_scopes="chat:write,commands",
        user_id=user, user_token=f"xoxp-{user}", user_scopes="", is_enterprise_install=org,
        installed_at=installed_at or time.time(),
    )


def test_a_saved_installation_gives_its_bot_and_its_installer(store: RedisInstallationStore, redis_url: str):
    store.save(installation("T0ACME", "U1", "xoxb-acme-1"))
    bot = store.find_bot(enterprise_id=None, team_id="T0ACME")
    assert bot is not None and bot.bot_token == "xoxb-acme-1" and bot.bot_user_id == "UT0ACMEBOT"
    latest = store.find_installation(enterprise_id=None, team_id="T0ACME")
    assert latest is not None and latest.user_id == "U1" and latest.user_token == "xoxp-U1"
    by_user = store.find_installation(enterprise_id=None, team_id="T0ACME", user_id="U1")
    assert by_user is not None and by_user.bot_token == "xoxb-acme-1"
    assert store.find_bot(enterprise_id=None, team_id="T0OTHER") is None
    assert store.find_installation(enterprise_id=None, team_id="T0ACME", user_id="U9") is None
    assert installed_workspaces(Redis.from_url(redis_url), "dailies-test") == ["T0ACME"]


def test_the_latest_bot_token_wins_for_every_installer(store: RedisInstallationStore):
    store.save(installation("T0ACME", "U1", "xoxb-acme-old", installed_at=1000.0))
    store.save(installation("T0ACME", "U2", "xoxb-acme-new", installed_at=2000.0))
    assert store.find_bot(enterprise_id=None, team_id="T0ACME").bot_token == "xoxb-acme-new"
    first = store.find_installation(enterprise_id=None, team_id="T0ACME", user_id="U1")
    assert first is not None and first.user_id == "U1" and first.bot_token == "xoxb-acme-new"
    assert store.find_installation(enterprise_id=None, team_id="T0ACME").user_id == "U2"


def test_workspaces_are_kept_apart(store: RedisInstallationStore):
    store.save(installation("T0ACME", "U1", "xoxb-acme"))
    store.save(installation("T0BOLT", "U1", "xoxb-bolt"))
    assert store.find_bot(enterprise_id=None, team_id="T0ACME").bot_token == "xoxb-acme"
    assert store.find_bot(enterprise_id=None, team_id="T0BOLT").bot_token == "xoxb-bolt"


def test_an_org_wide_install_is_found_by_its_enterprise(store: RedisInstallationStore):
    store.save(installation("T0ACME", "U1", "xoxb-org", enterprise="E0GRID", org=True))
    bot = store.find_bot(enterprise_id="E0GRID", team_id="T0ANY", is_enterprise_install=True)
    assert bot is not None and bot.bot_token == "xoxb-org"
    assert store.find_bot(enterprise_id="E0GRID", team_id="T0ANY") is None  # not a workspace install
    found = store.find_installation(enterprise_id="E0GRID", team_id=None, is_enterprise_install=True)
    assert found is not None and found.is_enterprise_install


def test_deleting_one_installer_keeps_the_rest(store: RedisInstallationStore):
    store.save(installation("T0ACME", "U1", "xoxb-1"))
    store.save(installation("T0ACME", "U2", "xoxb-2"))
    store.delete_installation(enterprise_id=None, team_id="T0ACME", user_id="U1")
    assert store.find_installation(enterprise_id=None, team_id="T0ACME", user_id="U1") is None
    assert store.find_installation(enterprise_id=None, team_id="T0ACME", user_id="U2") is not None
    assert store.find_bot(enterprise_id=None, team_id="T0ACME") is not None


def test_delete_all_removes_the_workspace(store: RedisInstallationStore, redis_url: str):
    store.save(installation("T0ACME", "U1", "xoxb-1"))
    store.save(installation("T0BOLT", "U1", "xoxb-b"))
    store.delete_all(enterprise_id=None, team_id="T0ACME")
    assert store.find_bot(enterprise_id=None, team_id="T0ACME") is None
    assert store.find_installation(enterprise_id=None, team_id="T0ACME") is None
    assert store.find_installation(enterprise_id=None, team_id="T0ACME", user_id="U1") is None
    assert store.find_bot(enterprise_id=None, team_id="T0BOLT") is not None
    assert installed_workspaces(Redis.from_url(redis_url), "dailies-test") == ["T0BOLT"]


def test_a_bot_without_a_token_is_not_saved(store: RedisInstallationStore):
    bare = installation("T0ACME", "U1", "x")
    bare.bot_token = None
    store.save_bot(bare.to_bot())
    assert store.find_bot(enterprise_id=None, team_id="T0ACME") is None


def test_oauth_state_is_single_use_and_expires(redis_url: str):
    states = RedisOAuthStateStore(Redis.from_url(redis_url), "dailies-test", expiration_s=1)
    state = states.issue()
    assert len(state) >= 24 and states.issue() != state
    assert states.consume(state) is True
    assert states.consume(state) is False  # a replayed redirect
    assert states.consume("made-up") is False and states.consume("") is False
    stale = states.issue()
    time.sleep(1.2)
    assert states.consume(stale) is False
