"""A take's timecoded notes as markers, in the formats editors and DAWs import. No I/O but the bytes returned.

- CMX 3600 EDL: the take (with its head) as one event, a `* LOC:` line per note (ASCII, one line each).
- Final Cut Pro 7 XML (Premiere, Resolve) and OpenTimelineIO: written by `opentimelineio` and its FCP adapter.
- Standard MIDI File: one marker meta-event per note, after an SMPTE offset at the head (Pro Tools imports these).
- CSV: timecode, seconds, author, text.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from fractions import Fraction

import mido
import opentimelineio as otio
from pydantic import BaseModel

from jobs.turnover.timecode import FrameRate, to_frame, to_timecode

HEAD_S = 2
MIDI_TICKS_PER_BEAT = 960
MIDI_TEMPO_US = 500_000  # 120 beats a minute: a tick is 1/1920 s
EDL_COMMENT_MAX = 70  # characters of a note on its LOC line (CMX readers cut long lines)


class Marker(BaseModel):
    frame: int  # from midnight, at the take's rate
    seconds: float  # into the take
    author: str
    text: str


class Timeline(BaseModel):
    """The take on its timecode: the head starts at `head_frame`, the take itself at `start_frame`."""

    title: str
    rate: FrameRate
    start_frame: int
    take_frames: int
    picture_file: str
    audio_file: str | None
    markers: list[Marker]

    @property
    def head_frame(self) -> int:
        return self.start_frame - HEAD_S * self.rate.nominal

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.take_frames

    def tc(self, frame: int) -> str:
        return to_timecode(frame, self.rate)


def timeline_for(title: str, rate: FrameRate, duration_s: float, notes: list[tuple[float, str, str]],
                 picture_file: str, audio_file: str | None) -> Timeline:
    """`notes` as (seconds into the take, author, text); each lands on the frame nearest its time."""
    start = to_frame("01:00:00;00" if rate.drop_frame else "01:00:00:00", rate)
    take_frames = max(1, round(Fraction(duration_s).limit_denominator(1000) * rate.exact))
    markers = [Marker(frame=start + min(take_frames - 1, round(Fraction(at_s).limit_denominator(1000) * rate.exact)),
                      seconds=at_s, author=author, text=text) for at_s, author, text in sorted(notes)]
    return Timeline(title=title, rate=rate, start_frame=start, take_frames=take_frames, picture_file=picture_file,
                    audio_file=audio_file, markers=markers)


def ascii_line(text: str, limit: int) -> str:
    """`text` as printable ASCII on one line: accents folded, anything else dropped, cut to `limit`."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    one_line = " ".join("".join(ch if 32 <= ord(ch) < 127 else " " for ch in folded).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."


def marker_name(marker: Marker) -> str:
    return f"{marker.text} ({marker.author})"


# CMX 3600 ---------------------------------------------------------------------------------------------------
def edl(timeline: Timeline) -> bytes:
    rate = timeline.rate
    head, end = timeline.tc(timeline.head_frame), timeline.tc(timeline.end_frame)
    lines = [f"TITLE: {ascii_line(timeline.title, 60)}",
             f"FCM: {'DROP FRAME' if rate.drop_frame else 'NON-DROP FRAME'}", "",
             f"001  AX       AA/V  C        {head} {end} {head} {end}",
             f"* FROM CLIP NAME: {ascii_line(timeline.picture_file, 60)}"]
    for marker in timeline.markers:
        lines.append(f"* LOC: {timeline.tc(marker.frame)} RED     {ascii_line(marker_name(marker), EDL_COMMENT_MAX)}")
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


# OpenTimelineIO and Final Cut Pro 7 XML ---------------------------------------------------------------------
def otio_timeline(timeline: Timeline) -> otio.schema.Timeline:
    rate = float(timeline.rate.exact)

    def at(frame: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frame, rate)

    span = otio.opentime.TimeRange(at(timeline.head_frame), at(timeline.end_frame - timeline.head_frame))
    result = otio.schema.Timeline(name=timeline.title, global_start_time=at(timeline.head_frame))
    tracks = [(otio.schema.TrackKind.Video, timeline.picture_file)]
    if timeline.audio_file:
        tracks.append((otio.schema.TrackKind.Audio, timeline.audio_file))
    for kind, file_name in tracks:
        track = otio.schema.Track(name="V1" if kind == otio.schema.TrackKind.Video else "A1", kind=kind)
        media = otio.schema.ExternalReference(target_url=file_name, available_range=span)
        clip = otio.schema.Clip(name=timeline.title, media_reference=media, source_range=span)
        if kind == otio.schema.TrackKind.Video:
            for marker in timeline.markers:
                clip.markers.append(otio.schema.Marker(
                    name=marker_name(marker), color=otio.schema.MarkerColor.RED,
                    marked_range=otio.opentime.TimeRange(at(marker.frame), at(0)),
                    metadata={"dailies": {"author": marker.author, "seconds": marker.seconds}}))
        track.append(clip)
        result.tracks.append(track)
    return result


def otio_json(timeline: Timeline) -> bytes:
    return str(otio.adapters.write_to_string(otio_timeline(timeline), adapter_name="otio_json")).encode()


def fcp7_xml(timeline: Timeline) -> bytes:
    return str(otio.adapters.write_to_string(otio_timeline(timeline), adapter_name="fcp_xml")).encode()


# Standard MIDI File -----------------------------------------------------------------------------------------
def midi(timeline: Timeline) -> bytes:
    """Type-0 SMF: the SMPTE offset puts its time zero on the head's first frame; each note a marker event."""
    song = mido.MidiFile(type=0, ticks_per_beat=MIDI_TICKS_PER_BEAT)
    track = mido.MidiTrack()
    song.tracks.append(track)
    hours, minutes, seconds, frames = (int(p) for p in timeline.tc(timeline.head_frame).replace(";", ":").split(":"))
    smpte_rate = {"23.976": 24, "24": 24, "25": 25, "29.97": 29.97, "30": 30}[timeline.rate.name]
    track.append(mido.MetaMessage("smpte_offset", frame_rate=smpte_rate, hours=hours, minutes=minutes,
                                  seconds=seconds, frames=frames, sub_frames=0, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=MIDI_TEMPO_US, time=0))
    track.append(mido.MetaMessage("track_name", name=ascii_line(timeline.title, 60), time=0))
    last_tick = 0
    for marker in timeline.markers:
        seconds_in = Fraction(marker.frame - timeline.head_frame) / timeline.rate.exact
        tick = round(mido.second2tick(float(seconds_in), MIDI_TICKS_PER_BEAT, MIDI_TEMPO_US))
        track.append(mido.MetaMessage("marker", text=ascii_line(marker_name(marker), 120), time=tick - last_tick))
        last_tick = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    out = io.BytesIO()
    song.save(file=out)
    return out.getvalue()


# CSV ----------------------------------------------------------------------------------------------------------
def notes_csv(timeline: Timeline) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["timecode", "seconds", "author", "text"])
    for marker in timeline.markers:
        writer.writerow([timeline.tc(marker.frame), f"{marker.seconds:.3f}", marker.author, marker.text])
    return out.getvalue().encode("utf-8")
