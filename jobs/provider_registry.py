"""Registers the network providers (`veo`, `kling`, `seedance`, `fal:<endpoint>`) with `jobs.providers`.

Each factory reads `Settings` and hands the adapter plain configuration, so
`adapters/` never imports from `jobs/`. A provider builds without its keys (its
capabilities and prices are needed to check a brief before anything is queued);
the missing key is reported, naming the variable to set, when the provider is
first asked to do something over the network.
"""

from __future__ import annotations

from pydantic import SecretStr

from adapters.base import Provider
from adapters.download import MediaPolicy
from adapters.fal import MEDIA_HOSTS as FAL_HOSTS
from adapters.fal import FalConfig, FalProvider
from adapters.kling import MEDIA_HOSTS as KLING_HOSTS
from adapters.kling import KlingConfig, KlingProvider
from adapters.seedance import MEDIA_HOSTS as SEEDANCE_HOSTS
from adapters.seedance import SeedanceConfig, SeedanceProvider
from adapters.veo import MEDIA_HOSTS as VEO_HOSTS
from adapters.veo import VeoConfig, VeoProvider
from jobs.providers import register_provider
from jobs.settings import Settings


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


def _finish(provider: Provider, settings: Settings, key: str, family: str) -> Provider:
    """Apply the operator's render deadline for this model key (or its family); prices are overridden for
    every model in `jobs.providers.build_provider`."""
    deadline = settings.render_deadlines_s.get(key) or settings.render_deadlines_s.get(family)
    if deadline:
        provider.render_deadline_s = float(deadline)
    return provider


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
    return _finish(VeoProvider(config, media_policy(settings, VEO_HOSTS, "Veo")), settings, key, "veo")


def build_kling(settings: Settings, key: str) -> Provider:
    config = KlingConfig(
        access_key=_secret(settings.kling_access_key),
        secret_key=_secret(settings.kling_secret_key),
        api_url=settings.kling_api_url,
        model_name=settings.kling_model_name,
        http_timeout_s=settings.provider_timeout_s,
        credentials_hint="set KLING_ACCESS_KEY and KLING_SECRET_KEY",
    )
    hosts = settings.kling_media_hosts or KLING_HOSTS
    return _finish(KlingProvider(config, media_policy(settings, hosts, "Kling")), settings, key, "kling")


def build_seedance(settings: Settings, key: str) -> Provider:
    config = SeedanceConfig(
        api_key=_secret(settings.ark_api_key),
        api_url=settings.seedance_api_url,
        model_name=settings.seedance_model_name,
        http_timeout_s=settings.provider_timeout_s,
        credentials_hint="set ARK_API_KEY",
    )
    hosts = settings.seedance_media_hosts or SEEDANCE_HOSTS
    return _finish(SeedanceProvider(config, media_policy(settings, hosts, "Seedance")), settings, key, "seedance")


def build_fal(settings: Settings, key: str) -> Provider:
    endpoint = key.split(":", 1)[1] if ":" in key else ""
    config = FalConfig(
        api_key=_secret(settings.fal_key),
        queue_url=settings.fal_queue_url,
        endpoint=endpoint,
        http_timeout_s=settings.provider_timeout_s,
        credentials_hint="set FAL_KEY",
    )
    hosts = settings.fal_media_hosts or FAL_HOSTS
    return _finish(FalProvider(config, media_policy(settings, hosts, "fal")), settings, key, "fal")


register_provider("veo", build_veo)
register_provider("kling", build_kling)
register_provider("seedance", build_seedance)
register_provider("fal", build_fal)
