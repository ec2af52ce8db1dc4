"""Provenance records exactly what each provider was sent: `request_body` is what `submit` puts on the wire,
as the provider's stand-in received it (and never the callback URL, which is a capability)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.base import RenderSpec, SpokenLine
from jobs.domain.provenance import sent_prompt
from jobs.domain.providers import build_provider
from tests.standins.config import provider_settings
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.kling import ACCESS_KEY, SECRET_KEY, KlingStandin
from tests.standins.seedance import API_KEY, SeedanceStandin

SPEC = RenderSpec(picture="A lighthouse in fog, slow pan", sound=["foghorn, waves on rocks"], music="low drone",
                  dialogue=[SpokenLine(speaker="KEEPER", line="Lamp's lit.")], duration_s=8, aspect="16:9",
                  resolution="720p", seed=42, render_id="take-1", callback_url="https://dailies.example/secret-hook")

CASES: dict[str, tuple[Any, str, Any]] = {
    "fal": (FalStandin, "fal:fal-ai/veo3.1", lambda s: {"FAL_KEY": FAL_KEY, "FAL_QUEUE_URL": s.url}),
    "kling": (KlingStandin, "kling", lambda s: {"KLING_ACCESS_KEY": ACCESS_KEY, "KLING_SECRET_KEY": SECRET_KEY,
                                                 "KLING_API_URL": s.url}),
    "seedance": (SeedanceStandin, "seedance", lambda s: {"ARK_API_KEY": API_KEY, "SEEDANCE_API_URL": s.api_url}),
}


@pytest.fixture(params=list(CASES))
def case(request, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    standin_class, model, keys = CASES[request.param]
    standin = standin_class().start()
    spec = SPEC if request.param != "seedance" else SPEC.model_copy(update={"duration_s": 5})
    provider = build_provider(model, provider_settings(tmp_path, standin.url, **keys(standin)))
    yield standin, provider, spec
    standin.stop()


def test_what_provenance_records_is_what_the_provider_received(case) -> None:
    standin, provider, spec = case
    provider.submit(spec)
    received = standin.calls("POST")[0]
    body = provider.request_body(spec.model_copy(update={"callback_url": None}))
    wire = {k: v for k, v in received.json.items() if k != "callback_url"}
    assert body == wire
    assert "secret-hook" not in str(body)
    prompt = sent_prompt(body)
    assert prompt and "lighthouse" in prompt.lower() and "foghorn" in prompt.lower()
    assert provider.model_id in ("fal-ai/veo3.1", "kling-v3") or provider.model_id.startswith("dreamina-seedance")
