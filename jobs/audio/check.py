"""The sound check: measure a take (or a final mix) and judge it against a delivery target.

`check_file` stream-decodes the audio once (see `jobs.audio.measure`), then turns the
numbers into findings: each has a code, a severity (info / warn / fail) and a
plain sentence against the target, e.g. "−19.2 LUFS: 5.2 LU quieter than
social (−14)". The verdict is the worst severity: pass, warn or fail.
"""

from __future__ import annotations

import math
from pathlib import Path

from adapters.media import MediaInfo, probe_media
from jobs.audio.decode import decode_rate
from jobs.audio.layouts import channel_weights
from jobs.audio.measure import Measurements, measure_file
from jobs.audio.report import Severity, SoundFinding, SoundReport, Verdict
from jobs.audio.targets import DeliveryTarget, get_target
from jobs.audio.waveform import draw_png, envelope_for

MIN_MEASURABLE_S = 0.4  # one 400 ms gating block

# Thresholds a sound director would recognise (reference/audio.md, "cheap first-look checks").
DC_OFFSET_LIMIT = 0.001
FOLD_LOSS_WARN_LU = 3.5  # uncorrelated stereo already loses 3 LU in mono; more means phase trouble
FOLD_LOSS_FAIL_LU = 10.0  # it all but cancels in mono
CORRELATION_WARN = -0.3
PHONE_LOSS_WARN_LU = 4.0
CHANNEL_SILENT_DBFS = -60.0
CHANNEL_IMBALANCE_DB = 6.0
SILENCE_GAP_S = 0.3  # mid-clip silence this long reads as sound dropping out
EDGE_SILENCE_S = 0.5  # leading/trailing silence worth a note
SILENT_FRACTION = 0.99
HF_ENERGY_LIMIT_DB = -50.0
EXPECTED_RATE_HZ = 48000

SEVERITY_ORDER = {"fail": 0, "warn": 1, "info": 2}


# -- formatting ------------------------------------------------------------------------------------
def num(value: float, digits: int = 1, *, signed: bool = False) -> str:
    """A number as a sound director reads it: a real minus sign, an explicit + when asked."""
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    if text.lstrip("+-") == f"{0:.{digits}f}":
        text = text.lstrip("+-")
    return text.replace("-", "−")


def _target_text(delivery: DeliveryTarget) -> str:
    return f"{delivery.key} ({num(delivery.integrated_lufs, 0)})"


def _round(value: float | None, digits: int = 2) -> float | None:
    return round(value, digits) if value is not None and math.isfinite(value) else None


def _at(seconds: float) -> str:
    return f"{seconds:.2f} s"


# -- the check -------------------------------------------------------------------------------------
def check_file(path: Path, target: str = "social", *, expect_audio: bool = True,
               waveform_png: Path | None = None, info: MediaInfo | None = None,
               decode_picture: bool = False) -> SoundReport:
    """Measure `path` (audio or video) against a delivery target and return findings with a verdict.

    The audio is decoded once, streamed in chunks; with `waveform_png` the waveform picture is
    drawn from that same pass (and `render_waveform_png` to the same path then reuses it).
    Pass `info` when the file was probed already. With `decode_picture`, the same decode proves every
    frame decodes (UndecodableMedia otherwise; a file without audio is not decoded here at all).
    """
    delivery = get_target(target)
    info = info or probe_media(path)
    base = {"target": delivery.key, "target_integrated_lufs": delivery.integrated_lufs,
            "target_true_peak_dbtp": delivery.true_peak_dbtp}
    if not info.has_audio:
        report = SoundReport(has_audio=False, duration_s=None, video_duration_s=info.duration_s, **base)
        if expect_audio:
            report.findings = [SoundFinding(code="no_audio", severity="fail", short="no audio track",
                                            message="No audio track: the take is silent.")]
            report.verdict = "fail"
        report.summary = summarise(report) if expect_audio else "silent by request"
        return report
    envelope = envelope_for(info, decode_rate(info.sample_rate_hz)) if waveform_png is not None else None
    measured = measure_file(path, info, also=envelope.feed if envelope else None, decode_picture=decode_picture)
    if envelope is not None and waveform_png is not None:
        draw_png(envelope, waveform_png)
    report = SoundReport(
        integrated_lufs=_round(measured.integrated_lufs),
        true_peak_dbtp=_round(measured.true_peak_dbtp),
        loudness_range_lu=_round(measured.loudness_range_lu),
        max_momentary_lufs=_round(measured.max_momentary_lufs),
        max_short_term_lufs=_round(measured.max_short_term_lufs),
        sample_peak_dbfs=_round(measured.sample_peak_dbfs),
        duration_s=round(measured.duration_s, 3),
        video_duration_s=_round(measured.video_duration_s, 3),
        sample_rate_hz=measured.sample_rate_hz,
        channels=measured.channels,
        channel_layout=measured.layout,
        audio_codec=measured.codec,
        channel_lufs={name: _round(value) for name, value, weight in
                      zip(measured.channel_names, measured.channel_lufs, _weights(measured), strict=True) if weight},
        lr_correlation=_round(measured.lr_correlation, 3),
        mono_fold_loss_lu=_round(measured.mono_fold_loss_lu),
        phone_loss_lu=_round(measured.phone_loss_lu),
        dc_offset=round(max(abs(v) for v in measured.dc_offset), 5) if measured.dc_offset else None,
        clipped_runs=measured.clip_runs,
        silence_runs_s=[(round(a, 2), round(b, 2)) for a, b in measured.silence_runs_s],
        hf_energy_db=_round(measured.hf_energy_db, 1),
        **base,
    )
    report.findings = findings_for(measured, delivery, fps=info.fps)
    report.dropouts_s = [(f_start, f_end) for f_start, f_end in _dropouts(measured, _gaps(measured))]
    report.verdict = verdict(report.findings)
    report.summary = summarise(report)
    return report


def _weights(measured: Measurements) -> list[float]:
    return list(channel_weights(measured.layout, measured.channels))


def verdict(findings: list[SoundFinding]) -> Verdict:
    severities = {f.severity for f in findings}
    return "fail" if "fail" in severities else "warn" if "warn" in severities else "pass"


def _gaps(m: Measurements) -> list[tuple[float, float]]:
    """Mid-clip silences long enough to read as the sound dropping out."""
    end = m.duration_s
    return [(a, b) for a, b in m.silence_runs_s if a > 0.005 and b < end - 0.005 and b - a >= SILENCE_GAP_S]


def _dropouts(m: Measurements, gaps: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Digital-zero runs inside the clip (not at its edges, not inside a silence already reported)."""
    end = m.duration_s
    inner = [(round(a, 4), round(b, 4)) for a, b in m.zero_runs_s if a > 0 and b < end]
    return [(a, b) for a, b in inner if not any(ga - 0.01 <= a and b <= gb + 0.01 for ga, gb in gaps)]


def findings_for(m: Measurements, delivery: DeliveryTarget, *, fps: float | None = None) -> list[SoundFinding]:
    """Every problem in `m`, each a plain sentence against `delivery`; worst first."""
    found: list[SoundFinding] = []

    def add(code: str, severity: Severity, message: str, short: str, value: float | None = None,
            limit: float | None = None) -> None:
        found.append(SoundFinding(code=code, severity=severity, message=message, short=short,
                                  value=_round(value, 3), limit=limit))

    target = _target_text(delivery)
    silent_s = sum(b - a for a, b in m.silence_runs_s)
    if m.duration_s < MIN_MEASURABLE_S:
        add("too_short", "fail", f"Only {m.duration_s:.2f} s of audio: too short to measure loudness "
            f"(it takes {MIN_MEASURABLE_S} s).", "too short to measure", m.duration_s, MIN_MEASURABLE_S)
    elif not math.isfinite(m.integrated_lufs) or silent_s >= SILENT_FRACTION * m.duration_s:
        add("silent", "fail", "No sound: the audio track is silent (nothing above −50 dBFS).", "silent track")
    else:
        _loudness(add, m, delivery, target)
        _channels(add, m)
        _silences(add, m)
    if math.isfinite(m.true_peak_dbtp) and m.true_peak_dbtp > delivery.true_peak_dbtp:
        over = m.true_peak_dbtp - delivery.true_peak_dbtp
        add("true_peak_over", "warn",
            f"True peak {num(m.true_peak_dbtp, signed=True)} dBTP: {num(over)} dB over the "
            f"{num(delivery.true_peak_dbtp, 0)} dBTP ceiling for {delivery.key}.",
            f"peaks {num(over)} dB over {num(delivery.true_peak_dbtp, 0)} dBTP", m.true_peak_dbtp,
            delivery.true_peak_dbtp)
    if m.clip_runs:
        first = f" (first at {_at(m.clip_positions_s[0])})" if m.clip_positions_s else ""
        add("clipping", "warn",
            f"Clipped: {m.clip_runs} run{'s' if m.clip_runs != 1 else ''} of {3}+ samples at full scale{first}. "
            "Mastering cannot undo clipping.", f"clipped ×{m.clip_runs}", m.clip_runs, 0)
    worst_dc = max(m.dc_offset, key=abs) if m.dc_offset else 0.0
    if abs(worst_dc) > DC_OFFSET_LIMIT:
        name = m.channel_names[m.dc_offset.index(worst_dc)]
        add("dc_offset", "warn", f"DC offset {num(worst_dc, 4, signed=True)} on {name} (limit ±{DC_OFFSET_LIMIT}): "
            "it wastes headroom and clicks at edits; high-pass it.", "DC offset", worst_dc, DC_OFFSET_LIMIT)
    _picture_and_format(add, m, fps)
    if delivery.approximate:
        add("target_approximate", "info", f"{delivery.label}: {delivery.note}.", "approximate target")
    found.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    return found


def _loudness(add, m: Measurements, delivery: DeliveryTarget, target: str) -> None:  # type: ignore[no-untyped-def]
    offset = m.integrated_lufs - delivery.integrated_lufs
    if abs(offset) > delivery.tolerance_lu:
        louder = offset > 0
        add("loudness_off_target", "warn",
            f"{num(m.integrated_lufs)} LUFS: {num(abs(offset))} LU {'louder' if louder else 'quieter'} than {target}.",
            f"{num(abs(offset))} LU {'loud' if louder else 'quiet'} for {target}", m.integrated_lufs,
            delivery.integrated_lufs)
    cap = delivery.max_short_term_lufs
    if cap is not None and m.max_short_term_lufs is not None and m.max_short_term_lufs > cap:
        add("short_term_over", "warn",
            f"Max short-term {num(m.max_short_term_lufs)} LUFS is over the {num(cap, 0)} LUFS cap for "
            f"{delivery.key} short-form.", f"short-term over {num(cap, 0)} LUFS", m.max_short_term_lufs, cap)
    if m.phone_loss_lu is not None and m.phone_loss_lu > PHONE_LOSS_WARN_LU:
        add("phone_loss", "warn",
            f"Through a phone speaker (nothing below {180} Hz) it loses {num(m.phone_loss_lu)} LU: "
            "it relies on bass a phone cannot play.", f"−{num(m.phone_loss_lu)} LU on phones", m.phone_loss_lu,
            PHONE_LOSS_WARN_LU)


def _channels(add, m: Measurements) -> None:  # type: ignore[no-untyped-def]
    if m.channels < 2:
        return
    left, right = m.channel_names[0], m.channel_names[1]
    peaks = m.channel_peak_dbfs[:2]
    quiet = [i for i in (0, 1) if peaks[i] < CHANNEL_SILENT_DBFS]
    if len(quiet) == 1:
        dead, alive = (right, left) if quiet[0] == 1 else (left, right)
        add("silent_channel", "fail", f"The {dead} channel is silent while {alive} carries the sound.",
            f"{dead} channel silent", peaks[quiet[0]], CHANNEL_SILENT_DBFS)
        return
    level_l, level_r = m.channel_lufs[0], m.channel_lufs[1]
    if math.isfinite(level_l) and math.isfinite(level_r) and abs(level_l - level_r) > CHANNEL_IMBALANCE_DB:
        quieter, louder = (right, left) if level_r < level_l else (left, right)
        gap = abs(level_l - level_r)
        add("channel_imbalance", "warn", f"{quieter} is {num(gap)} dB quieter than {louder} "
            f"(limit {CHANNEL_IMBALANCE_DB:g} dB): the image leans {'left' if quieter == right else 'right'}.",
            f"{quieter} {num(gap)} dB low", gap, CHANNEL_IMBALANCE_DB)
    loss = m.mono_fold_loss_lu
    if loss is not None and loss > FOLD_LOSS_WARN_LU:
        severity = "fail" if loss > FOLD_LOSS_FAIL_LU else "warn"
        add("mono_fold_loss", severity,
            f"Folded to mono, {left}+{right} lose {num(loss)} LU (limit {FOLD_LOSS_WARN_LU:g}): "
            "it will sound thin or vanish on mono speakers and phones.", f"−{num(loss)} LU in mono", loss,
            FOLD_LOSS_WARN_LU)
    corr = m.lr_correlation
    if corr is not None and corr < CORRELATION_WARN:
        add("out_of_phase", "warn", f"{left}/{right} correlation {num(corr, 2)}: the channels are largely out of "
            "phase with each other.", f"{left}/{right} out of phase", corr, CORRELATION_WARN)


def _silences(add, m: Measurements) -> None:  # type: ignore[no-untyped-def]
    end = m.duration_s
    for a, b in m.silence_runs_s:
        if a <= 0.005 and b - a > EDGE_SILENCE_S:
            add("leading_silence", "info", f"Starts with {b - a:.2f} s of silence.", f"{b - a:.1f} s silent start",
                b - a, EDGE_SILENCE_S)
        elif b >= end - 0.005 and b - a > EDGE_SILENCE_S:
            add("trailing_silence", "info", f"Ends with {b - a:.2f} s of silence.", f"{b - a:.1f} s silent end",
                b - a, EDGE_SILENCE_S)
    gaps = _gaps(m)
    if gaps:
        a, b = gaps[0]
        more = f" ({len(gaps)} gaps in all)" if len(gaps) > 1 else ""
        add("silence_gap", "warn", f"The sound drops to silence for {b - a:.2f} s at {_at(a)}{more}.",
            f"drops out at {a:.1f} s", b - a, SILENCE_GAP_S)
    dropouts = _dropouts(m, gaps)
    if dropouts:
        a, b = dropouts[0]
        more = f" ({len(dropouts)} in all)" if len(dropouts) > 1 else ""
        add("dropout", "warn", f"Digital dropout: {1000 * (b - a):.0f} ms of exact zeros at {_at(a)}{more}.",
            f"dropout at {a:.2f} s", b - a, 0.005)


def _picture_and_format(add, m: Measurements, fps: float | None) -> None:  # type: ignore[no-untyped-def]
    if m.video_duration_s is not None:
        allowed = 1024 / (m.sample_rate_hz or EXPECTED_RATE_HZ) + (1 / fps if fps else 1 / 24) + 0.005
        diff = m.duration_s - m.video_duration_s
        if abs(diff) > allowed:
            add("av_length_mismatch", "warn",
                f"Audio runs {m.duration_s:.2f} s but the picture {m.video_duration_s:.2f} s: "
                f"{abs(diff):.2f} s {'longer' if diff > 0 else 'shorter'} (allowed {allowed:.3f} s).",
                f"audio {abs(diff):.2f} s {'long' if diff > 0 else 'short'}", diff, allowed)
    if m.sample_rate_hz != EXPECTED_RATE_HZ:
        add("sample_rate", "warn", f"{m.sample_rate_hz / 1000:g} kHz audio: video delivery expects 48 kHz.",
            f"{m.sample_rate_hz / 1000:g} kHz", m.sample_rate_hz, EXPECTED_RATE_HZ)
    if m.channels == 1:
        add("mono", "info", "Mono audio: one channel, measured as one channel (BS.1770).", "mono")
    if m.hf_energy_db is not None and m.hf_energy_db < HF_ENERGY_LIMIT_DB and math.isfinite(m.integrated_lufs):
        add("band_limited", "info",
            f"Almost nothing above 10 kHz ({num(m.hf_energy_db, 0)} dB of the energy): it may be upsampled "
            "from a low rate and will sound dull.", "dull top end", m.hf_energy_db, HF_ENERGY_LIMIT_DB)


# -- words -----------------------------------------------------------------------------------------
def summarise(report: SoundReport) -> str:
    """One line for the take card: "−15.8 LUFS · −5.7 dBTP — 1.8 LU quiet for social (−14)"."""
    if not report.has_audio:
        return report.findings[0].message if report.findings else "no audio"
    if report.integrated_lufs is None or report.true_peak_dbtp is None:
        numbers = "unmeasurable"
    else:
        numbers = f"{num(report.integrated_lufs)} LUFS · {num(report.true_peak_dbtp)} dBTP"
    problems = [f.short or f.message for f in report.findings if f.severity != "info"]
    if not problems:
        delivery = get_target(report.target)
        return f"{numbers} — on target for {_target_text(delivery)}"
    shown = problems[:3]
    more = f" · +{len(problems) - 3} more" if len(problems) > 3 else ""
    return f"{numbers} — " + " · ".join(shown) + more


def report_text(report: SoundReport) -> str:
    """The full report as a readable table (for `dailies qc` and the hero ticket)."""
    delivery = get_target(report.target)

    def show(value: float | None, unit: str, digits: int = 1, signed: bool = False) -> str:
        return f"{num(value, digits, signed=signed)} {unit}".strip() if value is not None else "—"

    rows = [
        ("Verdict", f"{report.verdict.upper()}  {report.summary}"),
        ("Target", f"{delivery.label}: {num(delivery.integrated_lufs, 0)} LUFS ±{delivery.tolerance_lu:g}, "
                   f"ceiling {num(delivery.true_peak_dbtp, 0)} dBTP"),
    ]
    if report.has_audio:
        rows += [
            ("Integrated", show(report.integrated_lufs, "LUFS")),
            ("True peak", show(report.true_peak_dbtp, "dBTP", signed=True)),
            ("Sample peak", show(report.sample_peak_dbfs, "dBFS", signed=True)),
            ("Loudness range", show(report.loudness_range_lu, "LU") + ("  (not judged on short clips)"
                                                                      if (report.duration_s or 0) < 30 else "")),
            ("Max momentary", show(report.max_momentary_lufs, "LUFS")),
            ("Max short-term", show(report.max_short_term_lufs, "LUFS")),
            ("Channels", f"{report.channels} ({report.channel_layout})"
                         + ("  " + "  ".join(f"{k} {show(v, 'LUFS')}" for k, v in report.channel_lufs.items())
                            if report.channel_lufs else "")),
            ("Sample rate", f"{report.sample_rate_hz} Hz" + (f", {report.audio_codec}" if report.audio_codec else "")),
            ("L/R correlation", show(report.lr_correlation, "", 2)),
            ("Mono fold-down", show(report.mono_fold_loss_lu, "LU lost")),
            ("Phone speaker", show(report.phone_loss_lu, "LU lost")),
            ("DC offset", show(report.dc_offset, "", 4)),
            ("Clipped runs", str(report.clipped_runs)),
        ]
    rows.append(("Audio length", f"{report.duration_s:.3f} s" if report.duration_s is not None else "—"))
    rows.append(("Picture length", f"{report.video_duration_s:.3f} s" if report.video_duration_s is not None
                 else "—"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    if report.findings:
        lines.append("")
        lines.append("Findings")
        lines += [f"  {f.severity.upper():<4}  {f.code:<20} {f.message}" for f in report.findings]
    return "\n".join(lines)
