"""Model keys (`previz`, `veo`, `kling`, `seedance`, `fal:<endpoint>`) to provider adapters.

`FACTORIES` is one literal table, complete at import: no registration step, so
every thread of a freshly started process sees every model. Each factory reads
`Settings` and hands the adapter plain configuration (`adapters/` never imports
`jobs/`). A provider builds without its keys, since its capabilities and prices
are needed to check a brief before anything is queued; the missing key is
reported, naming the variable, when the provider is first asked to do network work.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from adapters.base import Prices, Provider
from adapters.download import MediaPolicy
from adapters.fal import ENDPOINT_RE, PROFILES, FalConfig, FalProvider
from adapters.fal import MEDIA_HOSTS as FAL_HOSTS
from adapters.fal_separation import FalSeparator
from adapters.kling import MEDIA_HOSTS as KLING_HOSTS
from adapters.kling import KlingConfig, KlingProvider
from adapters.previz import PrevizProvider
from adapters.seedance import MEDIA_HOSTS as SEEDANCE_HOSTS
from adapters.seedance import SeedanceConfig, SeedanceProvider
from adapters.veo import MEDIA_HOSTS as VEO_HOSTS
from adapters.veo import VeoConfig, VeoProvider
from jobs.infra.settings import Settings
from jobs.infra.text import quoted


class UnknownModel(ValueError):
    pass


def _secret(value: SecretStr | None) -> str | None:
    plain = value.get_secret_value().strip() if value is not None else ""
    return plain or None


def media_policy(settings: Settings, hosts: tuple[str, ...] | list[str], name: str) -> MediaPolicy:
    return MediaPolicy(
        hosts=tuple(hosts),
        allowed_prefixes=tuple(settings.allowed_media_urls),
        max_bytes=settings.max_download_bytes,
        timeout_s=settings.download_timeout_s,
        name=name,
    )


def build_previz(settings: Settings, key: str) -> Provider:
    return PrevizProvider(Path(settings.media_dir))


def build_veo(settings: Settings, key: str) -> Provider:
    config = VeoConfig(
        project=settings.veo_project or None,
        location=settings.veo_location,
        model_name=settings.veo_model_name,
        api_url=settings.veo_api_url or None,
        access_token=_secret(settings.veo_access_token),
        storage_uri=settings.veo_storage_uri or None,
        storage_api_url=settings.veo_storage_api_url,
        person_generation=settings.veo_person_generation or None,
        full_hd_durations_s=[int(seconds) for seconds in settings.veo_1080p_durations_s],
        http_timeout_s=settings.provider_timeout_s,
        credentials_hint=(
            "set VEO_PROJECT and VEO_ACCESS_TOKEN (or install the `google` extra and sign in with "
            "`gcloud auth application-default login`)"
        ),
    )
    return VeoProvider(config, media_policy(settings, VEO_HOSTS, "Veo"))


def build_kling(settings: Settings, key: str) -> Provider:
    config = KlingConfig(
        access_key=_secret(settings.kling_access_key),
        secret_key=_secret(settings.kling_secret_key),
        api_url=settings.kling_api_url,
        model_name=settings.kling_model_name,
        http_timeout_s=settings.provider_timeout_s,
        credentials_hint="set KLING_ACCESS_KEY and KLING_SECRET_KEY",
    )
    return KlingProvider(config, media_policy(settings, settings.kling_media_hosts or KLING_HOSTS, "Kling"))


def build_seedance(settings: Settings, key: str) -> Provider:
    config = SeedanceConfig(
        api_key=_secret(settings.ark_api_key),
        api_url=settings.seedance_api_url,
        model_name=settings.seedance_model_name,
        http_timeout_s=settings.provider_timeout_s,
        credentials_hint="set ARK_API_KEY",
    )
    hosts = settings.seedance_media_hosts or SEEDANCE_HOSTS
    return SeedanceProvider(config, media_policy(settings, hosts, "Seedance"))


def _fal_config(settings: Settings, key: str) -> FalConfig:
    return FalConfig(
        api_key=_secret(settings.fal_key),
        queue_url=settings.fal_queue_url,
        endpoint=key.split(":", 1)[1] if ":" in key else "",
        http_timeout_s=settings.provider_timeout_s,
        credentials_hint="set FAL_KEY",
    )


def build_fal(settings: Settings, key: str) -> Provider:
    return FalProvider(_fal_config(settings, key), media_policy(settings, settings.fal_media_hosts or FAL_HOSTS, "fal"))


def build_separator(settings: Settings) -> FalSeparator | None:
    """The stems model of the sound turnover (`DAILIES_SEPARATION_MODEL`), or None when none is configured."""
    if not settings.separation_model:
        return None
    return FalSeparator(_fal_config(settings, settings.separation_model),
                        media_policy(settings, settings.fal_media_hosts or FAL_HOSTS, "fal"))


FACTORIES: dict[str, Callable[[Settings, str], Provider]] = {
    "previz": build_previz,
    "veo": build_veo,
    "kling": build_kling,
    "seedance": build_seedance,
    "fal": build_fal,
}


def family_of(key: str) -> str:
    return "fal" if key.startswith("fal:") else key


# What each provider family needs, as (environment variable, settings field) pairs; all must be set.
PROVIDER_KEYS: dict[str, list[tuple[str, str]]] = {
    "veo": [("VEO_PROJECT", "veo_project"), ("VEO_ACCESS_TOKEN", "veo_access_token")],
    "kling": [("KLING_ACCESS_KEY", "kling_access_key"), ("KLING_SECRET_KEY", "kling_secret_key")],
    "seedance": [("ARK_API_KEY", "ark_api_key")],
    "fal": [("FAL_KEY", "fal_key")],
}


def _is_set(value: object) -> bool:
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    return bool(plain and str(plain).strip())


def has_google_auth() -> bool:
    """Whether Veo can find application-default credentials instead of VEO_ACCESS_TOKEN (`.[google]`)."""
    return importlib.util.find_spec("google.auth") is not None


def missing_keys(key: str, settings: Settings) -> list[str]:
    """The environment variables a model still needs in this deployment (empty when it can run)."""
    missing = [env for env, field in PROVIDER_KEYS.get(family_of(key), []) if not _is_set(getattr(settings, field))]
    if "VEO_ACCESS_TOKEN" in missing and "VEO_PROJECT" not in missing and has_google_auth():
        missing.remove("VEO_ACCESS_TOKEN")
    return missing


def fal_endpoints(settings: Settings) -> list[str]:
    """The fal endpoints Dailies will call: those it has a profile for, plus the operator's allowlist."""
    return list(dict.fromkeys([*PROFILES, *settings.fal_endpoints]))


def known_models(settings: Settings) -> list[str]:
    return [key for key in FACTORIES if key != "fal"] + [f"fal:{endpoint}" for endpoint in fal_endpoints(settings)]


def picture_models(settings: Settings) -> list[str]:
    """The models a brief can ask for: every known model but the video-to-audio ones (those re-sound a take)."""
    return [key for key in known_models(settings) if build_provider(key, settings).capabilities.makes_picture]


def normalise_model_key(key: str, settings: Settings) -> str:
    """The model key as Dailies stores it; UnknownModel (a sentence naming the known ones) otherwise. A fal
    endpoint must be one Dailies knows or one the operator allowed (`DAILIES_FAL_ENDPOINTS`): fal hosts any
    app of any owner, and whoever controls an app controls the file Dailies downloads."""
    key = key.strip().lower() if not key.lower().startswith("fal:") else "fal:" + key.split(":", 1)[1].strip()
    family = family_of(key)
    if family == "fal":
        endpoint = key[4:]
        if endpoint not in fal_endpoints(settings):
            shown = endpoint if ENDPOINT_RE.match(endpoint) and len(endpoint) <= 80 else "that endpoint"
            raise UnknownModel(
                f"{quoted(shown)} is not a fal endpoint Dailies is set up for. Known: "
                f"{', '.join('fal:' + e for e in fal_endpoints(settings))}. An operator can allow another with "
                "DAILIES_FAL_ENDPOINTS.")
        return key
    if family not in FACTORIES:
        raise UnknownModel(f"{quoted(key)} is not a model Dailies knows. Known models: "
                           f"{', '.join(known_models(settings))}.")
    return key


def build_provider(key: str, settings: Settings) -> Provider:
    key = normalise_model_key(key, settings)
    family = family_of(key)
    provider = FACTORIES[family](settings, key)
    deadline = settings.render_deadlines_s.get(key) or settings.render_deadlines_s.get(family)
    if deadline:
        provider.render_deadline_s = float(deadline)
    return apply_price_overrides(provider, settings, key, family)


def apply_price_overrides(provider: Provider, settings: Settings, key: str, family: str) -> Provider:
    """`DAILIES_PRICES` (per model key, else family) replaces the listed per-second prices, for every model."""
    override = settings.price_overrides.get(key) or settings.price_overrides.get(family)
    if override:
        provider.prices = Prices(
            with_audio={**provider.prices.with_audio, **override.get("with_audio", {})},
            silent={**provider.prices.silent, **override.get("silent", {})},
        )
    return provider
