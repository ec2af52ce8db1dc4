"""`dailies try`: the README demo, checked by decoding what it writes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.base import FailureKind, ProviderError
from adapters.media import ffmpeg_exe, probe_media
from adapters.previz import PrevizProvider
from bot.cli import main


def _run(args: list[str], tmp_path: Path):
    return CliRunner().invoke(main, args, env={"DAILIES_MEDIA_DIR": str(tmp_path / "media")})


def test_try_writes_decodable_takes_with_sound_reports(tmp_path):
    out = tmp_path / "takes"
    result = _run(["try", "Fishing boat at dawn\nSound: gulls, rigging creaks\nMusic: warm accordion\nx2 3s 9:16",
                   "--out", str(out)], tmp_path)
    assert result.exit_code == 0, result.output
    assert "1A" in result.output and "1B" in result.output and "LUFS" in result.output
    for label in ("1A", "1B"):
        info = probe_media(out / f"{label}.mp4")
        assert (info.width, info.height) == (720, 1280)
        assert info.video_codec == "h264" and info.pix_fmt == "yuv420p"
        assert info.audio_codec == "aac" and info.sample_rate_hz == 48000 and info.channels == 2
        assert abs((info.duration_s or 0) - 3.0) < 0.1
        report = json.loads((out / f"{label}.json").read_text())
        assert -40 < report["integrated_lufs"] < -5 and report["true_peak_dbtp"] < 0
        decoded = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(out / f"{label}.mp4"), "-f", "null", "-"],
                                 capture_output=True)
        assert decoded.returncode == 0 and not decoded.stderr
    # moov atom before mdat: fast start, so Slack plays it inline
    head = (out / "1A.mp4").read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))


def test_same_brief_and_seed_give_the_same_file(tmp_path):
    brief = "Snowy street\nSound: wind\nx1 2s --seed 42"
    a, b = tmp_path / "a", tmp_path / "b"
    assert _run(["try", brief, "--out", str(a)], tmp_path).exit_code == 0
    assert _run(["try", brief, "--out", str(b)], tmp_path / "other").exit_code == 0
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(a / "1A.mp4") == digest(b / "1A.mp4")
    c = tmp_path / "c"
    assert _run(["try", brief.replace("42", "43"), "--out", str(c)], tmp_path).exit_code == 0
    assert digest(c / "1A.mp4") != digest(a / "1A.mp4")


def test_silent_brief_has_no_audio_track(tmp_path):
    out = tmp_path / "takes"
    result = _run(["try", "Empty office x1 1s 1:1 --silent", "--out", str(out)], tmp_path)
    assert result.exit_code == 0, result.output
    info = probe_media(out / "1A.mp4")
    assert info.has_video and not info.has_audio and (info.width, info.height) == (720, 720)


def test_try_refuses_a_bad_brief_with_the_reason(tmp_path):
    result = _run(["try", "A cat x99", "--out", str(tmp_path / "t")], tmp_path)
    assert result.exit_code != 0
    assert "1 to 24" in result.output
    assert not (tmp_path / "t").exists()


def test_missing_required_setting_is_one_line_naming_the_variable(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve"], capture_output=True, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode != 0
    assert "SLACK_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_setting_value_is_one_line_naming_the_variable(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DAILIES_DEFAULT_TAKES": "99"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "try", "--out", str(tmp_path)], capture_output=True,
                            text=True, env=env, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode != 0
    assert "DAILIES_DEFAULT_TAKES" in result.stderr and "Traceback" not in result.stderr


def test_try_starts_from_local_reference_frames_and_writes_a_contact_sheet(tmp_path):
    portrait = tmp_path / "portrait.png"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=720x1280", "-frames:v", "1",
                    str(portrait)], check=True)
    out = tmp_path / "takes"
    result = _run(["try", "A dancer turns\nSound: footsteps on wood\nx2 2s", "--frame", str(portrait),
                   "--out", str(out)], tmp_path)
    assert result.exit_code == 0, result.output
    info = probe_media(out / "1A.mp4")
    assert (info.width, info.height) == (720, 1280)  # no shape asked: the frame's own
    assert (out / "contact-sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    playlist = tmp_path / "frame.png"
    playlist.write_text("#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n")
    refused = _run(["try", "A dancer turns x1 2s", "--frame", str(playlist), "--out", str(tmp_path / "no")],
                   tmp_path)
    assert refused.exit_code != 0 and "is an HLS playlist, not a PNG, JPEG or WebP image" in refused.output
    assert not (tmp_path / "no").exists()


def test_previz_says_so_when_its_render_is_not_on_this_machine(tmp_path):
    provider = PrevizProvider(tmp_path / "media")
    with pytest.raises(ProviderError) as refused:
        provider.fetch("pv-0123456789abcdef0123", "", tmp_path / "take.mp4")
    assert refused.value.kind == FailureKind.expired and "reroll" in refused.value.message
    assert not (tmp_path / "take.mp4").exists()
