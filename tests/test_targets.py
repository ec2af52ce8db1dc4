"""Delivery targets are data, and the sound check judges against whichever one is asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.audio.check import check_file
from jobs.audio.targets import TARGETS, UnknownTarget, get_target, target_key
from tests.audio_signals import at_lufs, dual, noise, write_wav


@pytest.mark.parametrize(("key", "integrated", "ceiling"), [
    ("social", -14, -1), ("apple", -16, -1), ("broadcast-eu", -23, -1), ("broadcast-us", -24, -2),
    ("netflix", -27, -2),
])
def test_the_five_targets(key: str, integrated: float, ceiling: float) -> None:
    target = TARGETS[key]
    assert (target.integrated_lufs, target.true_peak_dbtp) == (integrated, ceiling)


def test_r128_short_form_caps_short_term_and_netflix_says_it_is_an_approximation() -> None:
    assert get_target("broadcast-eu").max_short_term_lufs == -18
    assert get_target("broadcast-eu").tolerance_lu == 0.5
    netflix = get_target("netflix")
    assert netflix.approximate and "approximation" in netflix.note and not get_target("social").approximate


@pytest.mark.parametrize(("alias", "key"), [("broadcast", "broadcast-eu"), ("EBU", "broadcast-eu"),
                                            ("atsc", "broadcast-us"), ("streaming-netflix", "netflix"),
                                            ("YouTube", "social"), ("apple", "apple")])
def test_aliases(alias: str, key: str) -> None:
    assert target_key(alias) == key


def test_unknown_target_names_the_known_ones() -> None:
    with pytest.raises(UnknownTarget, match="Known targets: social, apple, broadcast-eu, broadcast-us, netflix"):
        get_target("cinema")


def test_one_mix_judged_against_each_target(tmp_path: Path) -> None:
    mix = write_wav(tmp_path / "mix.wav", at_lufs(dual(noise(-30, 4)), -23.0))
    verdicts = {key: check_file(mix, key) for key in TARGETS}
    offs = {key: any(f.code == "loudness_off_target" for f in report.findings) for key, report in verdicts.items()}
    assert offs == {"social": True, "apple": True, "broadcast-eu": False, "broadcast-us": False, "netflix": True}
    assert any(f.message == "−23.0 LUFS: 9.0 LU quieter than social (−14)." for f in verdicts["social"].findings)
    assert "9.0 LU quiet for social (−14)" in verdicts["social"].summary
    assert verdicts["netflix"].target_integrated_lufs == -27
    assert any("louder than netflix (−27)" in f.message for f in verdicts["netflix"].findings)
