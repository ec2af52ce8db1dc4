"""A round's reference frames made ready for its model: Slack's copy of each image fetched by file id (any
worker on any machine can), its bytes checked as PNG, JPEG or WebP, then scaled and centre-cropped to the take's
picture size as a JPEG. Prepared once per request and size; a second take of the round reuses the file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from adapters.base import FRAME_SIZES_PX, FrameImage
from adapters.media import ImageTooLarge, MediaError, NotMedia, prepare_frame
from jobs.domain.models import ReferenceImage, Request, Take
from jobs.infra.text import quoted
from jobs.pipeline.runtime import FileUnavailable, Runtime


class ReferenceUnusable(Exception):
    """A reference frame that cannot be sent; the message is a sentence for the thread."""


def reference_dir(rt: Runtime, request: Request) -> Path:
    return Path(rt.settings.media_dir) / "references" / request.id


def frames_for(rt: Runtime, request: Request, take: Take) -> tuple[FrameImage | None, FrameImage | None]:
    """(first frame, last frame) for `take`, each None when the round has none."""
    references = request.resolved.references
    if not references:
        return None, None
    width, height = FRAME_SIZES_PX[(take.aspect, take.resolution)]
    frames = [prepared(rt, reference, reference_dir(rt, request), width, height) for reference in references]
    return frames[0], frames[1] if len(frames) > 1 else None


def prepared(rt: Runtime, reference: ReferenceImage, folder: Path, width: int, height: int) -> FrameImage:
    dest = folder / f"{_safe(reference.file_id)}-{width}x{height}.jpg"
    if not (dest.is_file() and dest.stat().st_size):
        try:
            source, _ = rt.notifier.fetch_file(reference.file_id, folder / "originals")
        except FileUnavailable as problem:
            raise ReferenceUnusable(f"The reference frame {quoted(reference.name)} could not be fetched from Slack "
                                    f"({problem}). Reroll once it is back, or refine with `--no-ref`.") from None
        partial = dest.with_name(f"{dest.stem}.{os.getpid()}.part.jpg")
        try:
            prepare_frame(source, partial, width, height)
            os.replace(partial, dest)  # whole or absent: another worker never reads half a frame
        except NotMedia as kind:
            raise ReferenceUnusable(f"The reference frame {quoted(reference.name)} is {kind}, not a PNG, JPEG or WebP "
                                    "image, so the take was not sent (nothing was charged). Attach the frame as "
                                    "an image and write the brief again.") from None
        except ImageTooLarge as problem:
            raise ReferenceUnusable(f"The reference frame {quoted(reference.name)} is too large to prepare: {problem}. "
                                    "The take was not sent (nothing was charged). Export it as an 8-bit PNG or a "
                                    "JPEG — it is scaled to the take's size anyway — and attach that.") from None
        except MediaError:
            raise ReferenceUnusable(f"The reference frame {quoted(reference.name)} could not be read as an image, so "
                                    "the take was not sent (nothing was charged). Export it again as a PNG or "
                                    "JPEG and attach that.") from None
        finally:
            partial.unlink(missing_ok=True)
    return FrameImage(path=dest, width_px=width, height_px=height,
                      sha256=hashlib.sha256(dest.read_bytes()).hexdigest())


def _safe(file_id: str) -> str:
    return "".join(ch for ch in file_id if ch.isalnum())[:40] or "frame"
