"""Settings for adapter tests: a provider pointed at its stand-in, the stand-in's media URLs allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobs.infra.settings import Settings


def provider_settings(tmp_path: Path, *allowed_prefixes: str, **env: Any) -> Settings:
    """Settings built from explicit values only (given by environment-variable name)."""
    values: dict[str, Any] = {
        "DAILIES_MEDIA_DIR": str(tmp_path / "media"),
        "DAILIES_ALLOWED_MEDIA_URLS": ",".join(p.rstrip("/") + "/" for p in allowed_prefixes),
        "DAILIES_PROVIDER_TIMEOUT_S": 5.0,
        "DAILIES_DOWNLOAD_TIMEOUT_S": 10.0,
    }
    values.update(env)
    return Settings(**values)
