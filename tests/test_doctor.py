"""`dailies doctor`: every setting and service checked, each problem named with the variable to fix, no secret
ever printed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main as cli_main
from bot.doctor import run_doctor
from jobs.infra.settings import Settings
from tests.harness import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET, free_port, make_settings
from tests.standins.slack import SlackStandIn

GOOD_SIGNING_SECRET = "0123456789abcdef0123456789abcdef"


def doctor_lines(settings: Settings) -> tuple[bool, list[str]]:
    lines: list[str] = []
    return run_doctor(settings, lines.append), lines


def line_for(lines: list[str], name: str) -> str:
    found = [line for line in lines if line[2:].startswith(name + ":")]
    assert found, (name, lines)
    return found[0]


def test_a_complete_setup_passes(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", SLACK_SIGNING_SECRET=GOOD_SIGNING_SECRET,
                             DAILIES_LEADS="U0LEAD", DAILIES_SOUND_TEAM="S0SOUND", DAILIES_SOUND_CHANNEL="C0SOUND",
                             FAL_KEY="fal-key-abcdef123456", DAILIES_SEPARATION_MODEL="fal:fal-ai/sam-audio/separate")
    ok, lines = doctor_lines(settings)
    assert ok, lines
    assert line_for(lines, "DAILIES_SEPARATION_MODEL").startswith("✓ DAILIES_SEPARATION_MODEL: fal:fal-ai/sam-audio")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "REDIS_URL", "DAILIES_MEDIA_DIR",
                 "ffmpeg", "DAILIES_MODEL", "fal"):
        assert line_for(lines, name).startswith("✓"), line_for(lines, name)
    assert "auth.test ok: bot user UDAILIESBOT" in line_for(lines, "SLACK_API_URL")
    assert "not set up (set KLING_ACCESS_KEY and KLING_SECRET_KEY" in line_for(lines, "kling")
    assert slack.calls_to("auth.test")
    text = "\n".join(lines)
    for secret in (BOT_TOKEN, GOOD_SIGNING_SECRET, "fal-key-abcdef123456"):
        assert secret not in text
    assert lines[-1] == "All required settings and services are in order."


def test_a_deployment_installed_by_oauth_needs_no_bot_token(redis_url: str, slack: SlackStandIn,
                                                             tmp_path: Path) -> None:
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", SLACK_BOT_TOKEN="",
                             SLACK_SIGNING_SECRET=GOOD_SIGNING_SECRET, SLACK_CLIENT_ID="123.456",
                             SLACK_CLIENT_SECRET="client-secret-abcdef", DAILIES_PUBLIC_URL="https://dailies.example",
                             DAILIES_SECRET_KEYS=SECRET_KEY)
    ok, lines = doctor_lines(settings)
    assert ok, lines
    assert line_for(lines, "SLACK_CLIENT_ID").startswith("✓")
    assert line_for(lines, "SLACK_BOT_TOKEN").startswith("·")
    assert "client-secret-abcdef" not in "\n".join(lines)
    assert line_for(lines, "DAILIES_SECRET_KEYS").startswith("✓")
    assert line_for(lines, "workers").startswith("! workers: none alive")
    assert line_for(lines, "queue dailies-test").startswith("· queue dailies-test: 0 job(s) waiting")
    unset = settings.model_copy(update={"slack_client_secret": None})
    ok, lines = doctor_lines(unset)
    assert not ok and line_for(lines, "SLACK_BOT_TOKEN").startswith("✗")  # neither way to reach Slack
    keyless = settings.model_copy(update={"secret_keys": None})
    ok, lines = doctor_lines(keyless)
    assert not ok and "dailies new-key" in line_for(lines, "DAILIES_SECRET_KEYS")


def test_each_missing_or_broken_setting_is_named(slack: SlackStandIn, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = Settings(
        SLACK_API_URL=slack.api_url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        DAILIES_MEDIA_DIR=str(blocker / "media"), DAILIES_MODEL="kling", KLING_ACCESS_KEY="kling-access-1234",
        SLACK_APP_TOKEN="xoxb-not-an-app-token",
    )
    ok, lines = doctor_lines(settings)
    assert not ok
    assert line_for(lines, "SLACK_BOT_TOKEN").startswith("✗ SLACK_BOT_TOKEN: not set: export SLACK_BOT_TOKEN=")
    assert line_for(lines, "SLACK_SIGNING_SECRET").startswith("✗ SLACK_SIGNING_SECRET: not set")
    assert "does not start with xapp-" in line_for(lines, "SLACK_APP_TOKEN")
    assert "not checked, there is no usable SLACK_BOT_TOKEN" in line_for(lines, "SLACK_API_URL")
    assert "Redis is unreachable at REDIS_URL=redis://127.0.0.1:" in line_for(lines, "REDIS_URL")
    assert "is not writable" in line_for(lines, "DAILIES_MEDIA_DIR")
    assert "is DAILIES_MODEL but KLING_SECRET_KEY is not set" in line_for(lines, "kling")
    assert "DAILIES_LEADS: nobody" in "\n".join(lines)
    assert line_for(lines, "DAILIES_SEPARATION_MODEL").startswith("· DAILIES_SEPARATION_MODEL: not set")
    assert lines[-1].endswith("problem(s) to fix before Dailies can run.")
    stems_without_key = settings.model_copy(update={"separation_model": "fal:fal-ai/sam-audio/separate"})
    _, lines = doctor_lines(stems_without_key)
    assert line_for(lines, "DAILIES_SEPARATION_MODEL") == ("✗ DAILIES_SEPARATION_MODEL: fal:fal-ai/sam-audio/separate "
                                                           "needs FAL_KEY: export FAL_KEY=…, or unset it")
    assert "kling-access-1234" not in "\n".join(lines) and "xoxb-not-an-app-token" not in "\n".join(lines)


def test_slack_refusing_the_token_is_explained(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", SLACK_BOT_TOKEN="xoxb-revoked-token")
    ok, lines = doctor_lines(settings)
    assert not ok
    assert "invalid_auth" in line_for(lines, "SLACK_API_URL")
    assert "check SLACK_BOT_TOKEN" in line_for(lines, "SLACK_API_URL")
    assert line_for(lines, "SLACK_SIGNING_SECRET").startswith("!")  # set, but not Slack's 32 hex characters
    assert "xoxb-revoked-token" not in "\n".join(lines)

    dead = settings.model_copy(update={"slack_api_url": f"http://127.0.0.1:{free_port()}/api/"})
    ok, lines = doctor_lines(dead)
    assert not ok and "is unreachable" in line_for(lines, "SLACK_API_URL")


def test_the_command_exits_with_the_verdict(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
           "REDIS_URL": redis_url, "DAILIES_MEDIA_DIR": str(tmp_path / "media")}
    runner = CliRunner()
    good = runner.invoke(cli_main.commands["doctor"], [], env=env)
    assert good.exit_code == 0, good.output
    assert "✓ REDIS_URL" in good.output and BOT_TOKEN not in good.output
    bad = runner.invoke(cli_main.commands["doctor"], [], env={**env, "SLACK_BOT_TOKEN": ""})
    assert bad.exit_code == 1 and "✗ SLACK_BOT_TOKEN: not set" in bad.output


def test_redis_without_persistence_is_warned_about(redis_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    from tests.harness import RedisServer

    settings = make_settings(redis_url, slack.api_url, tmp_path / "media")
    _, lines = doctor_lines(settings)
    warning = [line for line in lines if line.startswith("!") and "REDIS_URL" in line]
    assert warning and "appendonly yes" in warning[0] and "restart loses" in warning[0]

    durable = RedisServer(appendonly=True).start()
    try:
        _, lines = doctor_lines(make_settings(durable.url, slack.api_url, tmp_path / "media2"))
        assert not [line for line in lines if line.startswith("!") and "REDIS_URL" in line]
        assert line_for(lines, "REDIS_URL").startswith("✓")
    finally:
        durable.stop()
