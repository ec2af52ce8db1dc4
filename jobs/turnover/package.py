"""One archive a sound designer opens in a DAW or an NLE: `SND-XXXX-turnover.zip` (`-v2`, … when notes are added).

Picture reference and Broadcast WAV on one timecode (the take at 01:00:00:00 at its own frame rate, a 2-second
head with a 2-pop at 00:59:58:00), markers for every timecoded note (EDL, FCP7 XML, OTIO, MIDI, CSV) and a
README saying what is in it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from pydantic import BaseModel

from adapters.media import MediaError, probe_media
from jobs.audio.targets import get_target
from jobs.domain.stems import NO_MODEL
from jobs.turnover import markers
from jobs.turnover.markers import HEAD_S, Timeline, timeline_for
from jobs.turnover.media import broadcast_wav, picture_reference
from jobs.turnover.timecode import SAMPLE_RATE_HZ, frame_rate_of, samples_since_midnight


class TurnoverNote(BaseModel):
    at_s: float
    author: str
    text: str


class TurnoverStem(BaseModel):
    name: str  # dialogue, music, effects
    path: Path  # the separated sound as fetched (no head); the package gives it the head and the timecode


class TurnoverRequest(BaseModel):
    ticket_id: str
    take_label: str
    brief_line: str
    target: str
    model: str
    provenance_lines: list[str]
    notes: list[TurnoverNote]
    version: int = 1
    stems: list[TurnoverStem] = []
    stems_summary: str = NO_MODEL  # the README's word on the stems: how they were made, or why they were not


class Turnover(BaseModel):
    archives: list[Path]  # one, or parts that each fit the upload limit
    files: list[str]  # every file made, in the archives or not
    too_big: list[str] = []  # files over the upload limit on their own: in no archive
    frame_rate: str
    start_timecode: str


ZIP_OVERHEAD_BYTES = 64 * 1024  # headers and directory of one archive, generously


def archive_name(ticket_id: str, version: int, part: int = 1, parts: int = 1) -> str:
    base = f"{ticket_id}-turnover" if version <= 1 else f"{ticket_id}-turnover-v{version}"
    return f"{base}.zip" if parts <= 1 else f"{base}-part{part}of{parts}.zip"


def split_plan(sizes: dict[str, int], max_bytes: int | None, first: list[str]) -> tuple[list[list[str]], list[str]]:
    """Files grouped into as few archives as fit `max_bytes` each (`sizes`: each file's bytes in an archive), the
    `first` (README and markers) in part 1; and the files over the limit on their own."""
    if max_bytes is None or sum(sizes.values()) + ZIP_OVERHEAD_BYTES <= max_bytes:
        return [list(sizes)], []
    room = max_bytes - ZIP_OVERHEAD_BYTES
    too_big = [name for name, size in sizes.items() if size > room]
    parts: list[list[str]] = [[name for name in first if name not in too_big]]
    used = [sum(sizes[name] for name in parts[0])]
    for name in sorted((n for n in sizes if n not in first and n not in too_big), key=lambda n: -sizes[n]):
        fits = next((i for i, total in enumerate(used) if total + sizes[name] <= room), None)
        if fits is None:
            parts.append([name])
            used.append(sizes[name])
        else:
            parts[fits].append(name)
            used[fits] += sizes[name]
    return parts, too_big


def build_turnover(clip: Path, folder: Path, request: TurnoverRequest, *, max_bytes: int | None = None) -> Turnover:
    """Make every file of the package in `folder` and zip them, in parts of at most `max_bytes` when one archive
    would be larger; MediaError when the clip cannot be read."""
    info = probe_media(clip)
    if not info.has_video:
        raise MediaError("the take has no picture")
    rate = frame_rate_of(info.fps)
    stem = f"{request.ticket_id}-{request.take_label}"
    work = folder / f"turnover-v{request.version}"
    work.mkdir(parents=True, exist_ok=True)
    audio_name = f"{stem}-native-bwf.wav" if info.has_audio else None
    timeline = timeline_for(f"{request.ticket_id} take {request.take_label}", rate, info.duration_s or 0.0,
                            [(n.at_s, n.author, n.text) for n in request.notes], f"{stem}-picture.mov", audio_name)
    made: dict[str, Path] = {}
    made[timeline.picture_file] = picture_reference(clip, work / timeline.picture_file, timeline, info,
                                                    f"{request.ticket_id} · {request.take_label}")
    if audio_name:
        description = f"{request.ticket_id} take {request.take_label}: {request.brief_line}"
        made[audio_name] = broadcast_wav(clip, work / audio_name, timeline, info, description, request.ticket_id)
    for part in request.stems if audio_name else []:
        name = f"{stem}-{part.name}-stem-bwf.wav"
        description = f"{request.ticket_id} take {request.take_label} {part.name} stem: {request.brief_line}"
        made[name] = broadcast_wav(part.path, work / name, timeline, probe_media(part.path), description,
                                   request.ticket_id)
    for name, data in ((f"{stem}.edl", markers.edl(timeline)), (f"{stem}.xml", markers.fcp7_xml(timeline)),
                       (f"{stem}.otio", markers.otio_json(timeline)), (f"{stem}-markers.mid", markers.midi(timeline)),
                       ("notes.csv", markers.notes_csv(timeline))):
        (work / name).write_bytes(data)
        made[name] = work / name
    (work / "README.txt").write_text(readme(request, timeline, has_audio=bool(audio_name)))
    made["README.txt"] = work / "README.txt"
    whole = _zip(folder / archive_name(request.ticket_id, request.version), made, list(made))
    archives, too_big = [whole], list[str]()
    if max_bytes is not None and whole.stat().st_size > max_bytes:
        # parts planned at each file's size in the archive that did not fit
        with zipfile.ZipFile(whole) as bundle:
            sizes = {info.filename: info.compress_size for info in bundle.infolist()}
        whole.unlink()
        sizes["README.txt"] += 4096  # it grows by the list of parts
        small = ["README.txt", *(name for name in made if not name.endswith((".mov", ".wav", ".txt")))]
        parts, too_big = split_plan(sizes, max_bytes, small)
        (work / "README.txt").write_text(readme(request, timeline, has_audio=bool(audio_name),
                                                parts=parts if len(parts) > 1 else None, too_big=too_big))
        archives = [_zip(folder / archive_name(request.ticket_id, request.version, number, len(parts)), made, names)
                    for number, names in enumerate(parts, start=1)]
    return Turnover(archives=archives, files=list(made), too_big=too_big, frame_rate=rate.name,
                    start_timecode=timeline.tc(timeline.start_frame))


def _zip(archive: Path, made: dict[str, Path], names: list[str]) -> Path:
    partial = archive.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name in names:
            bundle.write(made[name], arcname=name)
    return partial.replace(archive)


def readme(request: TurnoverRequest, timeline: Timeline, *, has_audio: bool, parts: list[list[str]] | None = None,
           too_big: list[str] | None = None) -> str:
    rate, target = timeline.rate, get_target(request.target)
    stem = f"{request.ticket_id}-{request.take_label}"
    head = timeline.tc(timeline.head_frame)
    rate_line = f"{rate.name} fps" + (" drop-frame (;)" if rate.drop_frame else " non-drop-frame") + (
        "" if rate.read_from_file else " — ASSUMED: the take's frame rate could not be read from the file")
    lines = [
        f"Dailies sound turnover — {request.ticket_id}, take {request.take_label} (version {request.version})",
        f"Brief: {request.brief_line}",
        "",
        f"Frame rate:      {rate_line}",
        f"Start timecode:  {timeline.tc(timeline.start_frame)} (first frame of the take)",
        f"Head:            {HEAD_S} s from {head}: black and silence, with a one-frame white flash and a one-frame "
        "1 kHz tone at -20 dBFS at its first frame (the 2-pop). Line the pop up with the flash to check sync.",
        f"Audio:           {SAMPLE_RATE_HZ} Hz, 24-bit PCM, Broadcast WAV; bext TimeReference "
        f"{samples_since_midnight(timeline.head_frame, rate)} samples (= {head}); bext version 2 loudness "
        "figures measured on each file" if has_audio else
        "Audio:           the take has no native audio, so there is no WAV.",
        f"Delivery target: {target.label}: {target.integrated_lufs:g} LUFS integrated, true peak at most "
        f"{target.true_peak_dbtp:g} dBTP. The WAV is the model's native sound, not mastered to it.",
        "",
        "Files:",
        f"  {stem}-picture.mov     picture reference: H.264 with a burned-in timecode window and the label, the "
        "same timecode in its QuickTime timecode track, PCM sound",
    ]
    if has_audio:
        lines.append(f"  {stem}-native-bwf.wav  the native sound with the head, as Broadcast WAV")
    lines += [
        f"  {stem}.edl             CMX 3600 EDL: the take as one event, a * LOC: line per note",
        f"  {stem}.xml             Final Cut Pro 7 XML (Premiere, Resolve): the clip with a marker per note",
        f"  {stem}.otio            OpenTimelineIO: the timeline, its media and markers",
        f"  {stem}-markers.mid     Standard MIDI File: a marker per note (Pro Tools: Import > MIDI, markers)",
        "  notes.csv               every note: timecode, seconds into the take, author, text",
        "",
        f"Notes ({len(timeline.markers)}):",
        *[f"  {timeline.tc(m.frame)}  {m.seconds:6.2f} s  {m.author}: {m.text}" for m in timeline.markers],
        *([] if timeline.markers else ["  none yet"]),
        "",
        f"Stems: {request.stems_summary}",
        *[f"  {stem}-{part.name}-stem-bwf.wav  the {part.name} stem: same head, pop and timecode as the native WAV"
          for part in (request.stems if has_audio else [])],
        "",
        *(["This package is too large for one Slack upload, so it comes in parts:",
           *[f"  part {n} of {len(parts)}: {', '.join(names)}" for n, names in enumerate(parts, start=1)], ""]
          if parts else []),
        *([f"Not in the package (each over Slack's upload limit on its own; ask the operator): {', '.join(too_big)}",
           ""] if too_big else []),
        "Provenance (AI-generated picture and sound):",
        *[f"  {line}" for line in request.provenance_lines],
        "",
    ]
    return "\n".join(lines)
