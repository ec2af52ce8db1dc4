"""Model keys (`previz`, `veo`, `kling`, `seedance`, `fal:<endpoint>`) to provider adapters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from adapters.base import Prices, Provider
from adapters.previz import PrevizProvider
from jobs.settings import Settings


class UnknownModel(ValueError):
    pass


def _previz(settings: Settings, key: str) -> Provider:
    return PrevizProvider(Path(settings.media_dir))


# Other adapters register themselves here (see `register_provider`).
FACTORIES: dict[str, Callable[[Settings, str], Provider]] = {"previz": _previz}


def register_provider(key: str, factory: Callable[[Settings, str], Provider]) -> None:
    FACTORIES[key] = factory


def known_models() -> list[str]:
    _load_optional_adapters()
    return [("fal:<endpoint>" if key == "fal" else key) for key in FACTORIES]


def normalise_model_key(key: str) -> str:
    _load_optional_adapters()
    key = key.strip().lower() if not key.lower().startswith("fal:") else "fal:" + key.split(":", 1)[1].strip()
    family = "fal" if key.startswith("fal:") else key
    if family not in FACTORIES or (family == "fal" and len(key) <= 4):
        raise UnknownModel(f"`{key}` is not a model Dailies knows. Known models: {', '.join(known_models())}.")
    return key


def build_provider(key: str, settings: Settings) -> Provider:
    key = normalise_model_key(key)
    family = "fal" if key.startswith("fal:") else key
    return apply_price_overrides(FACTORIES[family](settings, key), settings, key, family)


def apply_price_overrides(provider: Provider, settings: Settings, key: str, family: str) -> Provider:
    """`DAILIES_PRICES` (per model key, else family) replaces the listed per-second prices, for every model."""
    override = settings.price_overrides.get(key) or settings.price_overrides.get(family)
    if override:
        provider.prices = Prices(
            with_audio={**provider.prices.with_audio, **override.get("with_audio", {})},
            silent={**provider.prices.silent, **override.get("silent", {})},
        )
    return provider


_loaded = False


def _load_optional_adapters() -> None:
    """Import the network adapters' registrations once (they live in `jobs.provider_registry`)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import jobs.provider_registry  # noqa: F401  (imported late: it registers into this module)
