"""A real H.264/AAC MP4 for stand-ins to serve, rendered once per test process with the previz renderer."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from adapters.base import RenderSpec
from adapters.previz import render_previz


@lru_cache(maxsize=4)
def sample_mp4(audio: bool = True) -> bytes:
    folder = Path(tempfile.mkdtemp(prefix="dailies-standin-media-"))
    atexit.register(shutil.rmtree, folder, True)
    spec = RenderSpec(
        picture="Stand-in clip: neon alley at night", sound=["rain drumming on metal awnings"] if audio else [],
        duration_s=2, aspect="16:9", resolution="720p", seed=3, audio=audio, label="SI",
    )
    out = render_previz(spec, folder / ("with-audio.mp4" if audio else "silent.mp4"))
    return out.read_bytes()
