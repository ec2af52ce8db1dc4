"""Benchmark: a take's post-processing (sound check, waveform) against one plain ffmpeg decode.

    .venv/bin/python benchmarks/bench_postprocess.py [--reps 5] [--long-s 600] [--keep DIR]

1. Renders an 8 s 1080p previz take (H.264 + AAC), then times, in this one process run,
   a plain full decode of it (`ffmpeg -i take.mp4 -f null -`, picture and sound) and the
   whole post-processing Dailies does per take: probe, sound check (one streaming audio
   decode that also counts the picture's packets), waveform PNG. Each is
   repeated and the median reported; the ratio is post-processing / decode (target < 1.0).
2. Synthesises a 10-minute file with ffmpeg (stereo AAC 48 kHz and a small H.264 picture)
   and runs the same post-processing in a child Python process, reporting its peak resident
   memory and the largest ffmpeg child's (target < 300 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.base import RenderSpec  # noqa: E402
from adapters.media import ffmpeg_exe, probe_media, run_ffmpeg  # noqa: E402
from adapters.previz import render_previz  # noqa: E402
from jobs.audio.check import check_file  # noqa: E402
from jobs.audio.waveform import render_waveform_png  # noqa: E402

BRIEF = RenderSpec(
    picture="Neon alley at night, slow push-in on a woman with a red umbrella.",
    sound=["rain drumming on metal awnings, distant traffic hiss, low room tone"],
    music="sparse melancholic synth pad",
    duration_s=8, aspect="16:9", resolution="1080p", seed=7,
)

CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from jobs.audio.check import check_file
from jobs.audio.waveform import render_waveform_png
path, folder = Path({path!r}), Path({folder!r})
imports_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
report = check_file(path, "social", waveform_png=folder / "long.waveform.png")
checked = time.perf_counter()
render_waveform_png(path, folder / "long.waveform.png")
done = time.perf_counter()
print(json.dumps({{
    "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "imports_mb": imports_mb,
    "check_s": checked - start, "total_s": done - start,
    "integrated_lufs": report.integrated_lufs, "duration_s": report.duration_s,
}}))
"""


def timed(fn: Callable[[], object], reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def plain_decode(path: Path) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
                   check=True, capture_output=True)


def post_process(path: Path, folder: Path) -> dict[str, float]:
    """What a take goes through before it is posted; the waveform comes out of the check's own decode."""
    steps: dict[str, float] = {}
    waveform = folder / "take.waveform.png"
    waveform.unlink(missing_ok=True)
    start = time.perf_counter()
    info = probe_media(path)
    steps["probe"] = time.perf_counter() - start
    start = time.perf_counter()
    check_file(path, "social", waveform_png=waveform, info=info)
    steps["sound check + waveform (one audio decode)"] = time.perf_counter() - start
    start = time.perf_counter()
    render_waveform_png(path, waveform)  # what the bot calls: reuses the picture the check drew
    steps["waveform for the card (reused)"] = time.perf_counter() - start
    return steps


def bench_take(folder: Path, reps: int) -> tuple[list[tuple[str, str]], float]:
    take = folder / "take.mp4"
    render_previz(BRIEF, take)
    post_process(take, folder)  # warm the page cache and imports, as a running worker would have them
    plain_decode(take)
    decode_times: list[float] = []
    step_times: dict[str, list[float]] = {}
    totals: list[float] = []
    for _ in range(reps):  # interleaved, so both see the same machine load
        decode_times += timed(lambda: plain_decode(take), 1)
        steps = post_process(take, folder)
        for name, seconds in steps.items():
            step_times.setdefault(name, []).append(seconds)
        totals.append(sum(steps.values()))
    decode, total = statistics.median(decode_times), statistics.median(totals)
    rows = [("plain ffmpeg decode (picture + sound)", f"{decode:.3f} s")]
    rows += [(name, f"{statistics.median(values):.3f} s") for name, values in step_times.items()]
    alone = folder / "alone.waveform.png"

    def separate_waveform() -> None:
        alone.unlink(missing_ok=True)
        render_waveform_png(take, alone)

    separate = statistics.median(timed(separate_waveform, reps))
    rows += [("post-processing total", f"{total:.3f} s"), ("ratio (target < 1.0)", f"{total / decode:.2f}"),
             ("(for reference) waveform drawn in its own decode", f"{separate:.3f} s")]
    return rows, total / decode


def bench_long(folder: Path, seconds: int) -> tuple[list[tuple[str, str]], float]:
    path = folder / "long.mp4"
    start = time.perf_counter()
    run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=s=640x360:r=25:d={seconds}",
                "-f", "lavfi", "-i", f"anoisesrc=d={seconds}:c=pink:a=0.2:seed=3,"
                "aformat=sample_rates=48000:channel_layouts=stereo",
                "-c:v", "libx264", "-preset", "ultrafast", "-crf", "35", "-c:a", "aac", "-b:a", "160k",
                "-shortest", str(path)], timeout_s=1800)
    made = time.perf_counter() - start
    code = CHILD.format(root=str(ROOT), path=str(path), folder=str(folder))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=1800)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    decoder_mb = ffmpeg_peak_mb(["-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0", "-f", "f32le",
                                 "-acodec", "pcm_f32le", "-", "-map", "0:v:0", "-c", "copy", "-f", "framecrc",
                                 "-y", os.devnull])
    rows = [
        ("file", f"{seconds / 60:g} min, stereo AAC 48 kHz + 640x360 H.264 ({path.stat().st_size / 1e6:.0f} MB, "
                 f"made in {made:.0f} s)"),
        ("sound check + waveform time", f"{data['check_s']:.1f} s"),
        ("check + waveform", f"{data['total_s']:.1f} s"),
        ("peak memory, Python process", f"{data['self_mb']:.0f} MB (of which {data['imports_mb']:.0f} MB "
                                        "is the interpreter with numpy loaded)"),
        ("peak memory, the ffmpeg decoder", f"{decoder_mb:.0f} MB"),
        ("target", "< 300 MB"),
    ]
    return rows, data["self_mb"]


def ffmpeg_peak_mb(args: list[str]) -> float:
    """Peak resident memory of one ffmpeg run, sampled from /proc (VmHWM) until it exits.

    (getrusage's children figure is useless here: it counts the Python parent's pages the child
    shared before exec.)
    """
    peak = 0.0
    with subprocess.Popen([ffmpeg_exe(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
            except (OSError, ValueError, IndexError):
                pass
            time.sleep(0.02)
    return peak


def table(title: str, rows: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join([title, "-" * len(title), *(f"{name:<{width}}  {value}" for name, value in rows), ""])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--long-s", type=int, default=600, help="length of the long file in seconds")
    parser.add_argument("--keep", type=Path, help="keep the generated media in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dailies-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows, ratio = bench_take(folder, args.reps)
        print(table(f"8 s 1080p take, median of {args.reps}", rows))
        long_rows, peak_mb = bench_long(folder, args.long_s)
        print(table("Long file, post-processing in a child process", long_rows))
    ok = ratio < 1.0 and peak_mb < 300
    print("PASS" if ok else "MISS", f"ratio {ratio:.2f} (< 1.0), peak {peak_mb:.0f} MB (< 300)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
