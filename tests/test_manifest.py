"""manifest.yml installs the app with what the code uses; Procfile starts web and worker."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

from bot.app import BOT_SCOPES, REDIRECT_PATH
from bot.ids import SlackId
from bot.listeners.shortcuts import make_takes

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "reference" / "slack-manifest.schema.json"


def _schema_path() -> Path:
    for candidate in (SCHEMA, ROOT / "../shared/reference/slack-manifest.schema.json",
                      Path("/work/shared/reference/slack-manifest.schema.json")):
        if candidate.is_file():
            return candidate
    raise AssertionError("Slack's manifest schema is missing from ../shared/reference/")


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slack_schema():
    schema = json.loads(_schema_path().read_text())
    jsonschema.validate(manifest(), schema)


def test_manifest_rejects_a_broken_manifest():
    schema = json.loads(_schema_path().read_text())
    broken = manifest()
    broken["settings"]["event_subscriptions"]["bot_events"] = "app_mention"  # must be a list
    try:
        jsonschema.validate(broken, schema)
    except jsonschema.ValidationError:
        return
    raise AssertionError("the schema accepted a manifest with bot_events as a string")


def test_manifest_declares_every_event_the_code_listens_for():
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    used = set(re.findall(r'app\.event\("([a-z_]+)"\)', source))
    needs = {"app_mention": "app_mention", "reaction_added": "reaction_added",
             "reaction_removed": "reaction_removed", "app_home_opened": "app_home_opened"}
    for event in used:
        if event == "message":
            assert {"message.channels", "message.groups", "message.im", "message.mpim"} <= events
        else:
            assert needs.get(event, event) in events, f"{event} is handled but not subscribed in manifest.yml"


def test_manifest_scopes_cover_the_methods_dailies_calls():
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "files:write", "files:read", "reactions:read",
            "usergroups:read", "users:read", "channels:history", "groups:history", "im:history",
            "mpim:history"} <= scopes
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    # a scope the app does not use is one more thing an admin must approve and an attacker could use
    assert ("reactions_add" in source) == ("reactions:write" in scopes)
    if "usergroups_users_list" in source:
        assert "usergroups:read" in scopes


def test_manifest_declares_the_command_and_shortcut_the_code_registers():
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    commands = {c["command"] for c in manifest()["features"]["slash_commands"]}
    assert set(re.findall(r'app\.command\("([^"]+)"\)', source)) == commands == {"/dailies"}
    shortcuts = {s["callback_id"] for s in manifest()["features"]["shortcuts"] if s["type"] == "message"}
    assert shortcuts == {SlackId.MAKE_TAKES.value} and make_takes.CALLBACK_ID == SlackId.MAKE_TAKES
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert "commands" in scopes
    assert ("conversations_open" in source) == ("im:write" in scopes)
    assert sorted(scopes) == sorted(BOT_SCOPES)  # what an OAuth install asks for is what the manifest declares
    assert all(url.endswith(REDIRECT_PATH) for url in manifest()["oauth_config"]["redirect_urls"])
    assert {"app_uninstalled", "tokens_revoked"} <= set(manifest()["settings"]["event_subscriptions"]["bot_events"])


def test_procfile_has_web_and_worker():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ":" in line)
    assert "dailies serve" in lines["web"] and "dailies worker" in lines["worker"]
