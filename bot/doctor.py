"""`dailies doctor`: check each setting and service, and say exactly what is missing. Never prints a secret."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import redis
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.media import ffmpeg_exe
from bot.slack.client import make_web_client
from bot.slack.errors import explain_slack_error
from bot.slack.installations import installation_store, unopenable_workspaces
from jobs.domain.providers import (
    PROVIDER_KEYS,
    UnknownModel,
    build_provider,
    has_google_auth,
    known_models,
    normalise_model_key,
)
from jobs.infra.errors import ConfigError
from jobs.infra.faults import redis_problem
from jobs.infra.queue_stats import HEARTBEAT_WINDOW_S, queue_stats, workers_alive
from jobs.infra.redis_client import connect, describe
from jobs.infra.settings import Settings

Echo = Callable[[str], None]

OK, WARN, FAIL, INFO = "ok", "warn", "FAIL", "info"
MARKS = {OK: "✓", WARN: "!", FAIL: "✗", INFO: "·"}

SIGNING_SECRET_RE = re.compile(r"^[0-9a-f]{32}$")


class Doctor:
    def __init__(self, settings: Settings, echo: Echo) -> None:
        self.settings = settings
        self.echo = echo
        self.failures = 0

    def say(self, level: str, name: str, detail: str) -> None:
        if level == FAIL:
            self.failures += 1
        self.echo(f"{MARKS[level]} {name}: {detail}")

    def _value(self, field: str) -> str:
        value = getattr(self.settings, field)
        if isinstance(value, SecretStr):
            return value.get_secret_value().strip()
        return str(value or "").strip()

    # -- Slack -------------------------------------------------------------------------------------
    def slack_tokens(self) -> bool:
        token = self._value("slack_bot_token")
        token_ok = False
        if self.settings.oauth_enabled:
            self.say(OK, "SLACK_CLIENT_ID", "set with SLACK_CLIENT_SECRET: installed per workspace by OAuth at "
                                            "/slack/install (each workspace's bot token is kept in Redis)")
            if not self.settings.public_url:
                self.say(WARN, "DAILIES_PUBLIC_URL", "not set: Slack's OAuth redirect then goes to the URL in the "
                                                     "app's settings; set it to where `dailies serve` is reachable")
        if not token and self.settings.oauth_enabled:
            self.say(INFO, "SLACK_BOT_TOKEN", "not set: not needed when workspaces install by OAuth")
        elif not token:
            self.say(FAIL, "SLACK_BOT_TOKEN", "not set: export SLACK_BOT_TOKEN=xoxb-… (OAuth & Permissions → Bot "
                                              "User OAuth Token)")
        elif not token.startswith("xoxb-"):
            self.say(FAIL, "SLACK_BOT_TOKEN", "set, but it does not start with xoxb-: use the Bot User OAuth "
                                              "Token, not a user or app-level token")
        else:
            self.say(OK, "SLACK_BOT_TOKEN", f"set, a bot token ({len(token)} characters)")
            token_ok = True
        secret = self._value("slack_signing_secret")
        if not secret:
            self.say(FAIL, "SLACK_SIGNING_SECRET", "not set: export SLACK_SIGNING_SECRET=… (Basic Information → "
                                                   "App Credentials); needed by `dailies serve`")
        elif not SIGNING_SECRET_RE.match(secret):
            self.say(WARN, "SLACK_SIGNING_SECRET", f"set, but not the 32 hex characters Slack issues "
                                                   f"({len(secret)} characters): check it was copied whole")
        else:
            self.say(OK, "SLACK_SIGNING_SECRET", "set (32 hex characters)")
        app_token = self._value("slack_app_token")
        if not app_token:
            self.say(INFO, "SLACK_APP_TOKEN", "not set: only `dailies socket` (Socket Mode) needs it")
        elif not app_token.startswith("xapp-"):
            self.say(FAIL, "SLACK_APP_TOKEN", "set, but it does not start with xapp- (an app-level token with "
                                              "connections:write)")
        else:
            self.say(OK, "SLACK_APP_TOKEN", "set, an app-level token")
        return token_ok

    def slack_api(self, token_ok: bool) -> None:
        url = self.settings.slack_api_url
        if not token_ok and self.settings.oauth_enabled:
            self.say(INFO, "SLACK_API_URL", f"{url}: each workspace's token is checked when it installs")
            return
        if not token_ok:
            self.say(FAIL, "SLACK_API_URL", f"{url}: not checked, there is no usable SLACK_BOT_TOKEN")
            return


        client = make_web_client(self.settings, timeout_s=5)
        client.retry_handlers = []
        try:
            response = client.auth_test()
        except SlackApiError as error:
            self.say(FAIL, "SLACK_API_URL", f"{url} answered auth.test with an error. {explain_slack_error(error)}")
            return
        except (SlackClientError, OSError, ValueError) as error:
            self.say(FAIL, "SLACK_API_URL", f"{url} is unreachable ({type(error).__name__}: "
                                            f"{str(error)[:120]}); check the network or SLACK_API_URL")
            return
        self.say(OK, "SLACK_API_URL", f"{url} auth.test ok: bot user {response.get('user_id')} in team "
                                      f"{response.get('team') or response.get('team_id')}")

    # -- state and media -----------------------------------------------------------------------------
    def redis(self) -> None:
        problem = redis_problem(self.settings)
        if problem:
            self.say(FAIL, "REDIS_URL", problem)
            return
        client = connect(self.settings, timeout_s=2)
        try:
            version = client.info("server").get("redis_version", "?")
            persistence = client.info("persistence")
            try:
                saves = str(client.config_get("save").get("save", ""))
            except redis.ResponseError:  # managed Redis often forbids CONFIG: judge from INFO alone
                saves = "unknown"
        finally:
            client.close()
        major_minor = tuple(int(p) for p in re.findall(r"\d+", str(version))[:2]) or (0, 0)
        if major_minor < (6, 2):
            self.say(FAIL, "REDIS_URL", f"{describe(self.settings)} is Redis {version}; Dailies needs "
                                        "6.2 or newer")
            return
        self.say(OK, "REDIS_URL", f"{describe(self.settings)} answers (Redis {version}), key prefix "
                                  f"{self.settings.key_prefix!r}, queue {self.settings.queue_name!r}")
        if not int(persistence.get("aof_enabled", 0)) and not saves.strip():
            self.say(WARN, "REDIS_URL", "Redis keeps nothing on disk (appendonly no, no RDB saves): a restart loses "
                                        "every request, take, vote, ticket and queued job. Turn on "
                                        "`appendonly yes` (or RDB snapshots) before real use.")

    def media_dir(self) -> None:
        folder = Path(self.settings.media_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True) as handle:
                handle.write(b"ok")
                handle.flush()
        except OSError as error:
            self.say(FAIL, "DAILIES_MEDIA_DIR", f"{folder} is not writable ({error.strerror or error}); point "
                                                "DAILIES_MEDIA_DIR at a folder this user can write")
            return
        usage = os.statvfs(folder)
        free_gb = usage.f_bavail * usage.f_frsize / 1e9
        level = WARN if free_gb < 2 else OK
        self.say(level, "DAILIES_MEDIA_DIR", f"{folder.resolve()} is writable ({free_gb:.1f} GB free)")

    def ffmpeg(self) -> None:

        try:
            exe = ffmpeg_exe()
            version = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=20)
            encoders = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError, RuntimeError) as error:
            self.say(FAIL, "ffmpeg", f"does not run ({error}); install it or set IMAGEIO_FFMPEG_EXE")
            return
        if version.returncode != 0:
            self.say(FAIL, "ffmpeg", f"{exe} exited with {version.returncode}")
            return
        missing = [name for name in ("libx264", "aac") if f" {name} " not in encoders.stdout]
        first = (version.stdout.splitlines() or ["ffmpeg"])[0]
        if missing:
            self.say(FAIL, "ffmpeg", f"{first}: lacks the {', '.join(missing)} encoder(s) previz and mastering use")
            return
        self.say(OK, "ffmpeg", first[:100])

    # -- models and money --------------------------------------------------------------------------------
    def providers(self) -> None:

        try:
            default = normalise_model_key(self.settings.model, self.settings)
        except UnknownModel as error:
            self.say(FAIL, "DAILIES_MODEL", f"{error}")
            default = None
        default_family = ("fal" if default and default.startswith("fal:") else default) or ""
        if default:
            try:
                provider = build_provider(default, self.settings)
                self.say(OK, "DAILIES_MODEL", f"{default} ({provider.display_name})")
            except Exception as error:  # a provider that cannot even be built is what doctor is for
                self.say(FAIL, "DAILIES_MODEL", f"{default} cannot be set up: {type(error).__name__}: {error}")
        for family, keys in PROVIDER_KEYS.items():
            present = [env for env, field in keys if self._value(field)]
            missing = [env for env, field in keys if not self._value(field)]
            if family == "veo" and "VEO_ACCESS_TOKEN" in missing and "VEO_PROJECT" in present and has_google_auth():
                missing.remove("VEO_ACCESS_TOKEN")
            if not missing:
                self.say(OK, family, f"{', '.join(present)} set")
            elif family == default_family:
                self.say(FAIL, family, f"is DAILIES_MODEL but {', '.join(missing)} "
                                       f"{'is' if len(missing) == 1 else 'are'} not set: export "
                                       + " ".join(f"{env}=…" for env in missing))
            elif present:
                self.say(FAIL, family, f"half set up: {', '.join(present)} set but {', '.join(missing)} missing")
            else:
                self.say(INFO, family, f"not set up (set {' and '.join(missing)} to use it)")
        self.say(INFO, "models", ", ".join(known_models(self.settings)))
        separation = self.settings.separation_model
        if not separation:
            self.say(INFO, "DAILIES_SEPARATION_MODEL", "not set: turnovers have no dialogue, music and effects stems")
        elif not self._value("fal_key"):
            self.say(FAIL, "DAILIES_SEPARATION_MODEL", f"{separation} needs FAL_KEY: export FAL_KEY=…, or unset it")
        else:
            self.say(OK, "DAILIES_SEPARATION_MODEL", f"{separation} (stems at "
                                                     f"${self.settings.separation_usd_per_s:g}/s a pass)")
        if self.settings.price_overrides:
            self.say(INFO, "DAILIES_PRICES", "overrides for " + ", ".join(sorted(self.settings.price_overrides)))

    def people_and_limits(self) -> None:
        s = self.settings
        if s.leads:
            self.say(OK, "DAILIES_LEADS", f"{len(s.leads)} user(s)/group(s)")
        else:
            self.say(WARN, "DAILIES_LEADS", "nobody: no one can send takes to sound or approve over-budget "
                                            "requests until it is set (user or user-group ids, comma-separated)")
        if s.sound_team:
            self.say(OK, "DAILIES_SOUND_TEAM", f"{len(s.sound_team)} user(s)/group(s)")
        else:
            self.say(WARN, "DAILIES_SOUND_TEAM", "nobody: sound tickets cannot be claimed until it is set")
        if s.sound_channel:
            self.say(OK, "DAILIES_SOUND_CHANNEL", s.sound_channel)
        else:
            self.say(WARN, "DAILIES_SOUND_CHANNEL", "not set: the sound queue has nowhere to post tickets")
        self.say(INFO, "budgets", f"${s.daily_budget_usd:,.2f} a day per channel "
                                  f"(DAILIES_DAILY_BUDGET_USD), {s.hourly_job_limit} takes an hour per person "
                                  "(DAILIES_HOURLY_JOB_LIMIT)")
        self.say(INFO, "DAILIES_CHANNELS", ", ".join(s.channels) if s.channels else "not set: every channel "
                                                                                 "the bot is in may use it")

    def sealed_tokens(self) -> None:
        if not self.settings.oauth_enabled:
            return
        try:
            store = installation_store(self.settings, connect(self.settings, timeout_s=2))
        except ConfigError as error:
            self.say(FAIL, "DAILIES_SECRET_KEYS", str(error).removeprefix("DAILIES_SECRET_KEYS").lstrip(": "))
            return
        try:
            broken = unopenable_workspaces(store)
        except redis.RedisError:
            self.say(INFO, "DAILIES_SECRET_KEYS", "set; the stored installations were not checked (Redis is down)")
            return
        if broken:
            self.say(FAIL, "DAILIES_SECRET_KEYS", f"no key opens the installation of {', '.join(broken[:5])}: add "
                                                  "the key those tokens were sealed with (after the new one)")
            return
        self.say(OK, "DAILIES_SECRET_KEYS", "set; every stored installation opens with it (`dailies rotate-keys` "
                                            "re-seals them with the first key)")

    def workers_and_queues(self) -> None:
        try:
            connection = connect(self.settings, timeout_s=2)
            alive = workers_alive(connection)
            stats = queue_stats(connection, [self.settings.queue_name])
        except redis.RedisError:
            return  # the Redis line already says why
        if alive:
            self.say(OK, "workers", f"{alive} alive (a heartbeat in the last {HEARTBEAT_WINDOW_S:.0f} s)")
        else:
            self.say(WARN, "workers", "none alive: takes wait in the queue until `dailies worker` runs")
        for stat in stats:
            level = WARN if stat.oldest_s > 300 else INFO
            self.say(level, f"queue {stat.queue}", f"{stat.depth} job(s) waiting, the oldest for {stat.oldest_s:.0f} s")

    def run(self) -> bool:
        token_ok = self.slack_tokens()
        self.slack_api(token_ok)
        self.redis()
        self.sealed_tokens()
        self.workers_and_queues()
        self.media_dir()
        self.ffmpeg()
        self.providers()
        self.people_and_limits()
        self.echo("")
        if self.failures:
            self.echo(f"{self.failures} problem(s) to fix before Dailies can run.")
        else:
            self.echo("All required settings and services are in order.")
        return self.failures == 0


def run_doctor(settings: Settings, echo: Echo) -> bool:
    """Check each setting and service; print one line each; True when nothing required is missing."""
    return Doctor(settings, echo).run()
