"""Files that are not media but that ffmpeg's DASH, HLS and concat demuxers would happily follow to another
file on the worker (the "victim"), and an image named like a video."""

from __future__ import annotations

import subprocess
from pathlib import Path

from adapters.media import ffmpeg_exe

VICTIM_TONE_HZ = 1234
VICTIM_SECONDS = 3.7


def make_victim(path: Path) -> Path:
    """A real take-shaped MP4 (picture and a 1234 Hz tone) that no one should ever see posted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error",
                    "-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={VICTIM_SECONDS}",
                    "-f", "lavfi", "-i", f"sine=frequency={VICTIM_TONE_HZ}:sample_rate=48000:d={VICTIM_SECONDS}",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
                   check=True, capture_output=True, timeout=60)
    return path


def hostile_files(victim: Path, folder: Path) -> dict[str, bytes]:
    """Each hostile kind by name: its bytes, pointing at `victim` by absolute path."""
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / "frame.png"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-v", "error", "-f", "lavfi", "-i",
                    "color=c=red:s=64x64:d=1", "-frames:v", "1", str(png)], check=True, capture_output=True, timeout=30)
    return {
        "dash": (f'<?xml version="1.0" encoding="utf-8"?>\n'
                 f'<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" '
                 f'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static" '
                 f'mediaPresentationDuration="PT{VICTIM_SECONDS}S" minBufferTime="PT1S">\n'
                 f' <Period>\n  <AdaptationSet mimeType="video/mp4">\n'
                 f'   <Representation id="v" bandwidth="100000" codecs="avc1.64000d">\n'
                 f'    <BaseURL>{victim}</BaseURL>\n   </Representation>\n  </AdaptationSet>\n </Period>\n'
                 f'</MPD>\n').encode(),
        "hls": (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXTINF:{VICTIM_SECONDS},\n{victim}\n"
                "#EXT-X-ENDLIST\n").encode(),
        "concat": f"ffconcat version 1.0\nfile '{victim}'\n".encode(),
        "png": png.read_bytes(),
    }
