"""The brief parser and Slack markup decoding."""

from __future__ import annotations

import pytest

from bot.slack.text import decode_event_text
from jobs.domain.brief import BriefError, merge_briefs, parse_brief

DESIGN_BRIEF = """Neon alley at night, slow push-in on a woman with a red umbrella.
Sound: rain drumming on metal awnings, distant traffic hiss, low room tone
Music: sparse melancholic synth pad
Dialogue: WOMAN: "Not tonight."
x4 8s 16:9 --model kling --seed 7 --no text, logos"""


def test_design_example_parses_into_every_field():
    brief = parse_brief(DESIGN_BRIEF)
    assert brief.picture == "Neon alley at night, slow push-in on a woman with a red umbrella."
    assert brief.sound == ["rain drumming on metal awnings, distant traffic hiss, low room tone"]
    assert brief.music == "sparse melancholic synth pad" and not brief.music_off
    assert [(d.speaker, d.line) for d in brief.dialogue] == [("WOMAN", "Not tonight.")]
    assert (brief.takes, brief.duration_s, brief.aspect, brief.model, brief.seed) == (4, 8, "16:9", "kling", 7)
    assert brief.negative == "text, logos"


def test_labels_are_case_insensitive_and_sfx_ambience_add_sound():
    brief = parse_brief("A forest\nSFX: twig snap\nambience: birdsong\nMUSIC: none\n1080p 9:16 --target broadcast-eu")
    assert brief.sound == ["twig snap", "birdsong"]
    assert brief.music is None and brief.music_off
    assert brief.resolution == "1080p" and brief.aspect == "9:16" and brief.target == "broadcast-eu"


def test_quoted_speech_in_free_text_becomes_dialogue():
    brief = parse_brief('A man at a bus stop says "Is this the last one?" and sighs')
    assert [d.line for d in brief.dialogue] == ["Is this the last one?"]
    assert "bus stop" in brief.picture


def test_flags_on_the_same_line_as_the_picture():
    brief = parse_brief("Close-up of a ticking watch x3 5s 1:1 --silent")
    assert brief.picture == "Close-up of a ticking watch"
    assert (brief.takes, brief.duration_s, brief.aspect, brief.silent) == (3, 5, "1:1", True)


def test_words_that_look_like_flags_mid_sentence_stay_words():
    brief = parse_brief("Shot on 35mm in the 1990s with x2 zoom at dusk")
    assert brief.picture == "Shot on 35mm in the 1990s with x2 zoom at dusk"
    assert brief.takes is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   \n  ", "empty"),
        ("x4 8s", "empty"),
        ("A cat --loud", "Unknown flag `--loud`"),
        ("A cat x0", "1 to 24"),
        ("A cat x25", "1 to 24"),
        ("A cat 0s", "1 to 60"),
        ("A cat 2.5s", "whole seconds"),
        ("A cat 16:9 9:16", "Conflicting aspect"),
        ("A cat 720p 1080p", "Conflicting resolution"),
        ("A cat --seed", "needs a value"),
        ("A cat --seed -3", "not a seed"),
        ("A cat --seed 99999999999", "not a seed"),
        ("A cat --silent --target social", "--silent"),
        ('A cat --silent\nDialogue: "hi"', "--silent"),
        ("A cat " * 700, "limit is 3,000"),
    ],
)
def test_invalid_briefs_say_what_is_wrong(text, fragment):
    with pytest.raises(BriefError) as caught:
        parse_brief(text)
    assert fragment in caught.value.problem
    assert caught.value.hint


def test_refinement_merges_labelled_lines_free_text_and_flags():
    first = parse_brief(DESIGN_BRIEF)
    second = parse_brief("Make her look up at the sky\nSound: thunder rolling\nMusic: none\nx2 --seed 9")
    merged, changes = merge_briefs(first, second)
    assert merged.picture == first.picture and merged.revisions == ["Make her look up at the sky"]
    assert merged.sound == ["thunder rolling"]
    assert merged.music is None and merged.music_off
    assert merged.dialogue == first.dialogue
    assert (merged.takes, merged.seed, merged.duration_s, merged.model) == (2, 9, 8, "kling")
    assert any("music: none" in c for c in changes) and any("seed: 9" in c for c in changes)


def test_slack_markup_is_decoded():
    text = decode_event_text(
        "<@UDAILIESBOT> Poster for <https://example.com/brief|the brief> &amp; <@U123|maya> in <#C999|general> "
        "&lt;b&gt; <!here> <!subteam^S1|@sound>",
        "UDAILIESBOT",
    )
    assert text == "Poster for the brief & @maya in #general <b> @here @sound"


def test_decoded_angle_brackets_never_become_markup_again():
    assert decode_event_text("&lt;!channel&gt;") == "<!channel>"
