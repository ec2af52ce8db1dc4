"""Reference frames: a brief posted with one image renders from that frame (image-to-video), with two from the
first to the last. What Slack says about each file (`files.info`, never the event payload) is checked here:
the kind, the size and the shape; the bytes are checked again when a worker prepares the frame.
"""

from __future__ import annotations

from typing import Any

from adapters.base import Aspect
from jobs.domain.brief import BriefError
from jobs.domain.models import ReferenceImage
from jobs.infra.text import quoted

IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/webp": "WebP"}
IMAGE_FILETYPES = {"png", "jpg", "jpeg", "webp"}
MAX_REFERENCE_BYTES = 20 * 1024 * 1024
MIN_SIDE_PX = 300  # Kling's and Seedance's floor; smaller frames come out soft on every model
MAX_SIDE_RATIO = 2.5  # wider or taller than 5:2 is not a frame any model makes
MAX_REFERENCES = 2
ASPECT_RATIOS: dict[str, float] = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}
HOW = ("Attach one PNG, JPEG or WebP still to start the takes from it, or two for the first and the last frame "
       "(each under 20 MB, at least 300 px on its short side).")


def reference_from_file(info: dict[str, Any]) -> ReferenceImage:
    """A reference frame from Slack's `files.info` record of a file; BriefError when it cannot be one."""
    name = str(info.get("name") or info.get("title") or info.get("id") or "the file")[:200]
    mimetype = str(info.get("mimetype") or "").lower()
    filetype = str(info.get("filetype") or "").lower()
    if mimetype not in IMAGE_TYPES or (filetype and filetype not in IMAGE_FILETYPES):
        kind = f"a {filetype.upper()} file" if filetype else (quoted(mimetype, 60) if mimetype else "not an image")
        raise BriefError(f"{quoted(name)} is {kind}, not a PNG, JPEG or WebP image, so it cannot be a reference "
                         "frame. Nothing was queued.", hint=HOW)
    size = info.get("size")
    if not isinstance(size, int) or size <= 0:
        raise BriefError(f"Slack gave no size for {quoted(name)}, so it was not used. Nothing was queued.", hint=HOW)
    if size > MAX_REFERENCE_BYTES:
        raise BriefError(f"{quoted(name)} is {size / 1048576:.1f} MB; a reference frame must be under "
                         f"{MAX_REFERENCE_BYTES // 1048576} MB. Nothing was queued.",
                         hint="Export the frame as a JPEG (a few MB at most) and attach that.")
    width, height = info.get("original_w"), info.get("original_h")
    width = width if isinstance(width, int) and width > 0 else None
    height = height if isinstance(height, int) and height > 0 else None
    if width and height:
        if min(width, height) < MIN_SIDE_PX:
            raise BriefError(f"{quoted(name)} is {width}×{height} px; a reference frame needs at least "
                             f"{MIN_SIDE_PX} px on its short side. Nothing was queued.", hint=HOW)
        if max(width, height) / min(width, height) > MAX_SIDE_RATIO:
            raise BriefError(f"{quoted(name)} is {width}×{height} px, a strip rather than a frame (wider or taller "
                             "than 5:2). Nothing was queued.", hint="Crop it to 16:9, 9:16 or 1:1 and attach that.")
    return ReferenceImage(file_id=str(info["id"]), name=name, mimetype=mimetype, size_bytes=size, width_px=width,
                          height_px=height)


def references_from_files(infos: list[dict[str, Any]]) -> list[ReferenceImage]:
    """The brief's reference frames in the order attached: the first frame, then the last."""
    if len(infos) > MAX_REFERENCES:
        raise BriefError(f"{len(infos)} files are attached; a brief takes one reference frame, or two (the first "
                         "and the last). Nothing was queued.", hint=HOW)
    references = [reference_from_file(info) for info in infos]
    return [ref.model_copy(update={"role": "first_frame" if i == 0 else "last_frame"})
            for i, ref in enumerate(references)]


def nearest_aspect(reference: ReferenceImage, aspects: list[Aspect]) -> Aspect | None:
    """The shape among `aspects` nearest the frame's own; None when Slack gave no size."""
    if not reference.width_px or not reference.height_px:
        return None
    ratio = reference.width_px / reference.height_px
    return min(aspects, key=lambda aspect: abs(ASPECT_RATIOS[aspect] / ratio - 1))


def crop_note(reference: ReferenceImage, aspect: str) -> str | None:
    """"cropped to 16:9" when the frame's shape differs from the take's by more than a few per cent."""
    if not reference.width_px or not reference.height_px:
        return None
    ratio = reference.width_px / reference.height_px
    return f"cropped to {aspect}" if abs(ASPECT_RATIOS[aspect] / ratio - 1) > 0.03 else None


def frames_phrase(references: list[ReferenceImage]) -> str:
    """How a card and a status say where the picture starts."""
    if len(references) >= 2:
        return "from reference frames (first and last)"
    return "from reference frame" if references else ""
