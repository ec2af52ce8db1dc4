"""Configuration, read once from the environment into one pydantic settings object."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from jobs.infra.errors import ConfigError

CommaList = Annotated[list[str], NoDecode]


# Renders in flight per provider key unless DAILIES_PROVIDER_CONCURRENCY says otherwise. fal counts only running
# requests against an account's concurrency (2 for a new account, up to 40) and queues the rest without refusing
# them; Kling refuses past its resource pack's concurrency (code 1303); Seedance and Veo answer rate limits.
DEFAULT_PROVIDER_CONCURRENCY = {"fal": 10, "kling": 4, "seedance": 10, "veo": 10}


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    # Set both to install one deployment in many workspaces (OAuth v2; each workspace's bot token in Redis).
    slack_client_id: str | None = Field(default=None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, alias="SLACK_CLIENT_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", alias="REDIS_URL")
    # Redis behind Sentinel: every process asks these sentinels for the current primary and follows a failover.
    redis_sentinels: CommaList = Field(default_factory=list, alias="REDIS_SENTINELS")
    redis_sentinel_master: str | None = Field(default=None, alias="REDIS_SENTINEL_MASTER")
    redis_sentinel_password: SecretStr | None = Field(default=None, alias="REDIS_SENTINEL_PASSWORD")
    redis_password: SecretStr | None = Field(default=None, alias="REDIS_PASSWORD")
    redis_tls_ca: Path | None = Field(default=None, alias="REDIS_TLS_CA")
    # Writes that must outlive a failover wait for this many replicas to have them (Redis WAIT), when connected.
    redis_wait_replicas: int | None = Field(default=None, ge=0, le=10, alias="REDIS_WAIT_REPLICAS")
    redis_wait_timeout_ms: int = Field(default=500, ge=1, le=10_000, alias="REDIS_WAIT_TIMEOUT_MS")
    key_prefix: str = Field(default="dailies", alias="DAILIES_KEY_PREFIX")
    queue_name: str = Field(default="dailies", alias="DAILIES_QUEUE")
    media_dir: Path = Field(default=Path("media"), alias="DAILIES_MEDIA_DIR")
    model: str = Field(default="previz", alias="DAILIES_MODEL")
    leads: CommaList = Field(default_factory=list, alias="DAILIES_LEADS")
    sound_team: CommaList = Field(default_factory=list, alias="DAILIES_SOUND_TEAM")
    sound_channel: str | None = Field(default=None, alias="DAILIES_SOUND_CHANNEL")
    channels: CommaList = Field(default_factory=list, alias="DAILIES_CHANNELS")

    default_takes: int = Field(default=2, ge=1, le=24, alias="DAILIES_DEFAULT_TAKES")
    # Re-sound: the video-to-audio model a take gets its new sound from (a previz take re-sounds on previz, free).
    resound_model: str = Field(default="fal:fal-ai/mmaudio-v2", alias="DAILIES_RESOUND_MODEL")
    # Stems for the sound turnover: fal's text-prompted separation (`fal:fal-ai/sam-audio/separate`); empty = none.
    separation_model: str = Field(default="", alias="DAILIES_SEPARATION_MODEL")
    # What one separation pass is counted at, in USD per second of audio (two passes make three stems).
    separation_usd_per_s: float = Field(default=0.01, gt=0, alias="DAILIES_SEPARATION_USD_PER_S")
    default_duration_s: int = Field(default=6, ge=1, le=60, alias="DAILIES_DEFAULT_DURATION_S")
    default_aspect: str = Field(default="16:9", alias="DAILIES_DEFAULT_ASPECT")
    default_resolution: str = Field(default="720p", alias="DAILIES_DEFAULT_RESOLUTION")
    default_target: str = Field(default="social", alias="DAILIES_DEFAULT_TARGET")

    daily_budget_usd: float = Field(default=50.0, ge=0, alias="DAILIES_DAILY_BUDGET_USD")
    # Every DM with the bot draws on this one budget (default: one channel's budget, shared by all DMs).
    dm_daily_budget_usd: float | None = Field(default=None, ge=0, alias="DAILIES_DM_DAILY_BUDGET_USD")
    dm_briefs: bool = Field(default=True, alias="DAILIES_DM_BRIEFS")
    hourly_job_limit: int = Field(default=60, ge=1, alias="DAILIES_HOURLY_JOB_LIMIT")
    ticket_sla_hours: float = Field(default=48.0, gt=0, alias="DAILIES_TICKET_SLA_HOURS")

    # Where providers can reach `dailies serve` (https://dailies.example.com): renders then call back when done.
    public_url: str | None = Field(default=None, alias="DAILIES_PUBLIC_URL")
    poll_initial_s: float = Field(default=5.0, gt=0, alias="DAILIES_POLL_INITIAL_S")
    poll_max_s: float = Field(default=30.0, gt=0, alias="DAILIES_POLL_MAX_S")
    status_edit_min_s: float = Field(default=3.0, ge=0, alias="DAILIES_STATUS_EDIT_MIN_S")
    render_deadline_s: float = Field(default=1800.0, gt=0, alias="DAILIES_RENDER_DEADLINE_S")
    step_lease_s: float = Field(default=120.0, gt=0, alias="DAILIES_STEP_LEASE_S")

    # Fernet keys that seal OAuth tokens at rest: the first seals, every one opens (rotate by putting a new one first).
    secret_keys: SecretStr | None = Field(default=None, alias="DAILIES_SECRET_KEYS")
    log_format: str = Field(default="text", pattern=r"^(text|json)$", alias="DAILIES_LOG_FORMAT")
    # What a worker gets to finish its current step after SIGTERM before it hands the step back and exits.
    stop_grace_s: float = Field(default=15.0, ge=1, le=600, alias="DAILIES_STOP_GRACE_S")

    allowed_media_urls: CommaList = Field(default_factory=list, alias="DAILIES_ALLOWED_MEDIA_URLS")
    # Slack takes files up to 1 GB; an archive over this is not posted (the ticket thread says so).
    slack_upload_max_bytes: int = Field(default=1024 * 1024 * 1024, gt=0, alias="DAILIES_SLACK_UPLOAD_MAX_BYTES")
    max_download_bytes: int = Field(default=500 * 1024 * 1024, gt=0, alias="DAILIES_MAX_DOWNLOAD_BYTES")
    download_timeout_s: float = Field(default=120.0, gt=0, alias="DAILIES_DOWNLOAD_TIMEOUT_S")
    max_clip_s: float = Field(default=120.0, gt=0, alias="DAILIES_MAX_CLIP_S")
    media_keep_h: float = Field(default=72.0, gt=0, alias="DAILIES_MEDIA_KEEP_H")

    fal_key: SecretStr | None = Field(default=None, alias="FAL_KEY")
    fal_queue_url: str = Field(default="https://queue.fal.run", alias="FAL_QUEUE_URL")
    kling_access_key: SecretStr | None = Field(default=None, alias="KLING_ACCESS_KEY")
    kling_secret_key: SecretStr | None = Field(default=None, alias="KLING_SECRET_KEY")
    kling_api_url: str = Field(default="https://api-singapore.klingai.com", alias="KLING_API_URL")
    kling_model_name: str = Field(default="kling-v3", alias="KLING_MODEL_NAME")
    ark_api_key: SecretStr | None = Field(default=None, alias="ARK_API_KEY")
    seedance_api_url: str = Field(
        default="https://ark.ap-southeast.bytepluses.com/api/v3", alias="SEEDANCE_API_URL"
    )
    seedance_model_name: str = Field(default="dreamina-seedance-2-0-260128", alias="SEEDANCE_MODEL_NAME")
    veo_project: str | None = Field(default=None, alias="VEO_PROJECT")
    veo_location: str = Field(default="us-central1", alias="VEO_LOCATION")
    veo_model_name: str = Field(default="veo-3.1-generate-001", alias="VEO_MODEL_NAME")
    veo_api_url: str | None = Field(default=None, alias="VEO_API_URL")
    veo_access_token: SecretStr | None = Field(default=None, alias="VEO_ACCESS_TOKEN")
    veo_storage_uri: str | None = Field(default=None, alias="VEO_STORAGE_URI")
    veo_storage_api_url: str = Field(default="https://storage.googleapis.com", alias="VEO_STORAGE_API_URL")
    veo_person_generation: str = Field(default="allow_adult", alias="VEO_PERSON_GENERATION")
    veo_1080p_durations_s: CommaList = Field(default_factory=lambda: ["8"], alias="VEO_1080P_DURATIONS_S")
    # Provider adapters: price overrides by model key, JSON like
    # {"kling": {"with_audio": {"720p": 0.126}, "silent": {"720p": 0.084}}, "fal:fal-ai/veo3.1": {...}}
    price_overrides: dict[str, dict[str, dict[str, float]]] = Field(default_factory=dict, alias="DAILIES_PRICES")
    # Give up on a render after this many seconds, by model family: {"veo": 1200, "kling": 3600, "fal": 1800}
    render_deadlines_s: dict[str, float] = Field(default_factory=dict, alias="DAILIES_RENDER_DEADLINES")
    # Each provider's terms of use, for the provenance a sound ticket carries: {"kling": "https://…", "fal": …}
    terms_urls: dict[str, str] = Field(default_factory=dict, alias="DAILIES_TERMS_URLS")
    # Result-file hosts per provider (comma list; replaces the built-in list when set)
    kling_media_hosts: CommaList = Field(default_factory=list, alias="KLING_MEDIA_HOSTS")
    seedance_media_hosts: CommaList = Field(default_factory=list, alias="SEEDANCE_MEDIA_HOSTS")
    fal_media_hosts: CommaList = Field(default_factory=list, alias="FAL_MEDIA_HOSTS")
    fal_endpoints: CommaList = Field(default_factory=list, alias="DAILIES_FAL_ENDPOINTS")
    # Renders in flight per provider key across the deployment: {"fal": 8, "kling": 4}; the rest keep their default.
    provider_concurrency: dict[str, int] = Field(default_factory=dict, alias="DAILIES_PROVIDER_CONCURRENCY")
    # Takes one workspace may have rendering at once; past it, its next takes wait their turn (never refused).
    workspace_max_in_flight: int = Field(default=200, ge=1, alias="DAILIES_WORKSPACE_MAX_IN_FLIGHT")
    # A render slot whose holder stopped checking (a dead worker) comes back after this long.
    slot_lease_s: float = Field(default=60.0, gt=0, le=3600, alias="DAILIES_SLOT_LEASE_S")
    provider_timeout_s: float = Field(default=30.0, gt=0, alias="DAILIES_PROVIDER_TIMEOUT_S")

    @field_validator("leads", "sound_team", "channels", "allowed_media_urls", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("provider_concurrency")
    @classmethod
    def _slot_counts(cls, value: dict[str, int]) -> dict[str, int]:
        for provider, count in value.items():
            if provider not in DEFAULT_PROVIDER_CONCURRENCY:
                raise ValueError(f"{provider!r} is not a provider with render slots; give counts for "
                                 f"{', '.join(DEFAULT_PROVIDER_CONCURRENCY)}, e.g. {{\"fal\": 8, \"kling\": 4}}")
            if count < 1:
                raise ValueError(f"{provider} has {count} render slots; give 1 or more (a whole number)")
        return value

    @field_validator("separation_model")
    @classmethod
    def _separation_endpoint(cls, value: str) -> str:
        value = value.strip()
        if value and not re.match(r"^fal:[A-Za-z0-9][\w.-]*/[\w.-]+(?:/[\w.-]+)*$", value):
            raise ValueError(f"{value[:60]!r} is not a fal separation endpoint; write "
                             "DAILIES_SEPARATION_MODEL=fal:fal-ai/sam-audio/separate, or leave it empty for no stems")
        return value

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _sentinel_addresses(cls, value: object) -> object:
        value = _split_commas(value)
        if isinstance(value, list):
            for address in value:
                host, _, port = str(address).rpartition(":")
                if not host or not port.isdigit() or not 0 < int(port) < 65536:
                    raise ValueError(f"{str(address)[:60]!r} is not host:port; write REDIS_SENTINELS="
                                     "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not re.match(r"^(redis|rediss|unix)://", value.strip()):
            raise ValueError("give a redis://, rediss:// (TLS) or unix:// URL, e.g. redis://127.0.0.1:6379/0")
        return value.strip()

    @field_validator("kling_media_hosts", "seedance_media_hosts", "fal_media_hosts", "fal_endpoints",
                     mode="before")
    @classmethod
    def _comma_list_hosts(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("veo_1080p_durations_s", mode="before")
    @classmethod
    def _comma_list_seconds(cls, value: object) -> object:
        value = _split_commas(value)
        if isinstance(value, list) and not all(str(v).strip().isdigit() for v in value):
            raise ValueError("give whole seconds separated by commas, e.g. 8 or 6,8")
        return [str(v).strip() for v in value] if isinstance(value, list) else value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("public_url")
    @classmethod
    def _public_base(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", value):
            raise ValueError("give the public base URL of `dailies serve`, e.g. https://dailies.example.com")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.redis_sentinels and not (self.redis_sentinel_master or "").strip():
            raise ValueError("REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER is not: name the primary the "
                             "sentinels monitor (the name in their `sentinel monitor NAME …` line)")
        if self.oauth_enabled and self.slack_bot_token is not None and self.slack_bot_token.get_secret_value():
            # Installed by OAuth, every workspace has its own token; one more token could only ever be used for the
            # wrong workspace's files and messages.
            raise ValueError("SLACK_BOT_TOKEN is set together with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: with "
                             "OAuth installs each workspace's token comes from its installation. Unset "
                             "SLACK_BOT_TOKEN (or the OAuth settings, for one workspace)")
        return self

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [(host.strip("[]"), int(port)) for host, _, port in (a.rpartition(":") for a in self.redis_sentinels)]

    @property
    def replicas_to_wait_for(self) -> int:
        """How many replicas a durable write waits for: REDIS_WAIT_REPLICAS, else one behind Sentinel."""
        if self.redis_wait_replicas is not None:
            return self.redis_wait_replicas
        return 1 if self.redis_sentinels else 0

    def render_slots(self, provider: str) -> int:
        return self.provider_concurrency.get(provider, DEFAULT_PROVIDER_CONCURRENCY.get(provider, 10))

    @property
    def oauth_enabled(self) -> bool:
        """Many workspaces (OAuth installs) rather than the one `SLACK_BOT_TOKEN`."""
        return bool(self.slack_client_id and self.slack_client_secret
                    and self.slack_client_secret.get_secret_value())

    def takes_briefs_in(self, channel: str) -> bool:
        """Whether a brief may start a round in `channel`: any channel without DAILIES_CHANNELS, else only those
        (a DM always; DAILIES_DM_BRIEFS decides whether DMs take briefs at all)."""
        return not self.channels or channel in self.channels or channel.startswith("D")

    def listens_in(self, channel: str) -> bool:
        """Whether Dailies acts on anything from `channel`: where briefs run, and the sound-queue channel."""
        return self.takes_briefs_in(channel) or channel == self.sound_channel

    def require(self, *names: str) -> None:
        """Raise ConfigError naming the first missing environment variable among `names` (field names)."""
        for name in names:
            value = getattr(self, name)
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
                alias = type(self).model_fields[name].alias or name.upper()
                raise ConfigError(f"{alias} is not set: export {alias}=… (see README, Configuration)")

    def secret_values(self) -> list[str]:
        """Every secret's plain value, so logs and messages can be checked or scrubbed for them."""
        found: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
        return found


def load_settings() -> Settings:
    try:
        return Settings()
    except Exception as error:  # pydantic ValidationError: turn into one line naming the variable
        errors = getattr(error, "errors", None)
        if callable(errors):
            first = errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            message = str(first.get("msg")).removeprefix("Value error, ")
            raise ConfigError(f"{where}: {message}" if where else message) from None
        unparsed = re.search(r'error parsing value for field "(\w+)"', str(error))
        if unparsed and unparsed.group(1) in Settings.model_fields:
            alias = Settings.model_fields[unparsed.group(1)].alias or unparsed.group(1).upper()
            raise ConfigError(f"{alias} is not valid JSON: write it as a JSON object, e.g. "
                              f"{alias}='{{\"fal\": 8}}' (see README, Configuration)") from None
        raise ConfigError(str(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
