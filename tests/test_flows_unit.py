"""The decisions inside the flows, without Slack or Redis: what a `set` line changes, which words ask for a compare,
and what the compare and the reel say. The end-to-end tests drive the same code through the bot."""

from __future__ import annotations

import pytest

from bot.flows.channel_settings import SettingError, heard_at, parse_settings, setting_pairs
from jobs.domain.channels import ChannelSettings, listening_level_lufs
from jobs.domain.models import Take, TakeState
from jobs.domain.notes import looks_like_note, parse_note
from jobs.domain.reel import ReelError, Select, reel_time
from jobs.domain.resound import looks_like_resound
from jobs.domain.review import ReviewError, compare_labels, looks_like_compare
from jobs.infra.settings import Settings
from jobs.pipeline.review import slate_for


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_set_lines_are_key_value_pairs_and_anything_else_is_a_brief() -> None:
    assert setting_pairs('preview-loudness=-16 reel=18:00 sound-bible="warm tape"') == [
        ("preview-loudness", "-16"), ("reel", "18:00"), ("sound-bible", '"warm tape"')]
    assert setting_pairs("in a neon alley at night") is None
    assert setting_pairs("reel=18:00 and some words") is None


@pytest.mark.parametrize(("value", "stored", "said"), [
    ("native", "native", "as rendered"), ("off", "native", "as rendered"), ("-16", -16.0, "at -16 LUFS"),
    ("−18LUFS", -18.0, "at -18 LUFS"), ("target", None, "at the delivery target's loudness"),
])
def test_the_listening_level_a_lead_can_set(settings: Settings, value: str, stored: object, said: str) -> None:
    updated, changed = parse_settings(f"preview-loudness={value}", ChannelSettings(), settings)
    assert updated.preview_loudness == stored and changed == [f"preview-loudness={value}"]
    assert heard_at(updated) == said


@pytest.mark.parametrize("value", ["loud", "-3", "-41", "nan", ""])
def test_a_listening_level_out_of_range_is_refused_with_what_to_write(settings: Settings, value: str) -> None:
    with pytest.raises(SettingError, match=r"`preview-loudness=-16`"):
        parse_settings(f"preview-loudness={value or '='}", ChannelSettings(), settings)


def test_the_level_takes_are_heard_at_follows_the_channel_then_the_target() -> None:
    assert listening_level_lufs(ChannelSettings(), -14.0) == -14.0
    assert listening_level_lufs(ChannelSettings(preview_loudness=-16.0), -14.0) == -16.0
    assert listening_level_lufs(ChannelSettings(preview_loudness="native"), -14.0) is None


def test_reel_times_are_on_the_24_hour_clock(settings: Settings) -> None:
    assert reel_time("7:05") == "07:05" and reel_time("18:00") == "18:00"
    for bad in ("25:00", "18h", "6pm", "18:60"):
        with pytest.raises(ReelError, match="24-hour clock"):
            reel_time(bad)
    assert parse_settings("reel=off", ChannelSettings(reel_at="18:00"), settings)[0].reel_at is None


def test_compare_words_are_labels_and_their_count_is_checked() -> None:
    assert looks_like_compare("1A 2C") and looks_like_compare("1a, 1B·s1")
    assert not looks_like_compare("the two dancers") and not looks_like_compare("")
    assert compare_labels("1a 2c 1A") == ["1A", "2C"]
    with pytest.raises(ReviewError, match="at least 2 different takes"):
        compare_labels("1A 1a")
    with pytest.raises(ReviewError, match=r"at most 4 takes at once \(5 were named\)"):
        compare_labels("1A 1B 1C 1D 1E")


def test_a_reel_slate_says_the_brief_the_take_its_votes_and_its_sound() -> None:
    take = Take(id="t", request_id="r", label="2B", index=1, round=2, channel="C1", thread_ts="1.0", requester="U1",
                model="veo-3.1", seed=1, duration_s=8, aspect="16:9", resolution="720p", target="social",
                state=TakeState.posted, score=3, votes={"+1": 3, "fire": 1})
    card = slate_for(Select(take=take, brief_line="A lighthouse in fog"))
    assert card.title == "A lighthouse in fog" and card.take == "Take 2B · veo-3.1"
    assert card.facts == "score +3 (4 votes) · sound: not measured"
    assert slate_for(Select(take=take, brief_line="")).title == "Round 2"


def test_a_take_label_is_written_the_same_way_in_a_note_a_compare_and_a_resound() -> None:
    for label in ("1B", "12AC", "1B·s1", "1b·S2"):
        assert looks_like_note(f"{label} 0:03 hiss") and looks_like_compare(f"1A {label}")
        assert looks_like_resound(f"{label} Sound: rain")
    assert parse_note("1b·s1 0:03 the hiss")[:2] == ("1B·S1", 3.0)
    for not_a_label in ("the", "B1", "1B·x1", "1234A"):
        assert not looks_like_note(f"{not_a_label} 0:03 x") and not looks_like_resound(f"{not_a_label} Sound: x")
