"""Property tests: whatever arrives, the brief parser, Slack text handling and payload models answer with a
result or their own clear error, never another exception; escaping and cutting keep their promises."""

from __future__ import annotations

import html
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.blocks.brief_modal import form_from_state, form_of, place_of
from bot.slack.payloads import (
    BlockActionPayload,
    MessageEvent,
    MessageShortcut,
    ReactionEvent,
    SlashCommand,
    ViewSubmission,
)
from bot.slack.text import cut, decode_event_text, escape, escaped
from jobs.domain.brief import BriefError, parse_brief
from jobs.domain.models import Brief
from jobs.infra.text import strip_invisible

BROKEN_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces a brief is made of, so the generated text reaches deep into the parser, not only its first check.
BRIEF_PIECES = st.sampled_from([
    "Sound:", "SFX:", "Ambience:", "Music:", "Music: none", "Dialogue:", "WOMAN:", '"Not tonight."', "“hi”",
    "x4", "x0", "x25", "x999999", "X3", "×2", "8s", "0s", "61s", "2.5s", "16:9", "9:16", "1:1", "4:3", "720p",
    "1080p", "4k", "--model", "previz", "kling", "fal:", "--seed", "7", "-1", "99999999999", "--no", "--target",
    "social", "broadcast", "--silent", "--bogus", "--", "-", ":", "\n", " ", "\t", "\r\n", "rain", "neon", "&",
    "<", ">", "<@U123>", "<!here>", "…", "\u200b", "🎧", "\x00",
])
BRIEFS = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(BRIEF_PIECES, st.text(max_size=12)), max_size=60).map(" ".join),
    st.lists(st.one_of(BRIEF_PIECES, st.text(max_size=12)), max_size=30).map("\n".join),
    st.text(min_size=2990, max_size=3010, alphabet=st.sampled_from("ab &<>\n")),
)


@FUZZ
@given(text=BRIEFS, refining=st.booleans())
def test_any_text_parses_to_a_brief_or_a_brief_error(text: str, refining: bool) -> None:
    try:
        brief = parse_brief(text, refining=refining)
    except BriefError as error:
        assert error.problem and error.hint and error.reply
        return
    assert isinstance(brief, Brief)
    assert brief.takes is None or 1 <= brief.takes <= 24
    assert brief.duration_s is None or 1 <= brief.duration_s <= 60
    Brief.model_validate(brief.model_dump())  # the result is a valid model, JSON round trip included
    Brief.model_validate_json(brief.model_dump_json())


MARKUP = st.one_of(
    st.from_regex(r"<@[UW][A-Z0-9]{2,10}(\|[a-z .]{0,10})?>", fullmatch=True),
    st.from_regex(r"<#[CG][A-Z0-9]{2,10}(\|[a-z-]{0,10})?>", fullmatch=True),
    st.from_regex(r"<!(here|channel|everyone|subteam\^S[A-Z0-9]{2,8})(\|@[a-z-]{0,10})?>", fullmatch=True),
    st.from_regex(r"<https?://[a-z]{1,10}\.example/[a-z]{0,8}(\|[a-z ]{0,10})?>", fullmatch=True),
    st.text(alphabet=st.characters(blacklist_characters="<>&"), max_size=20),
)


@FUZZ
@given(text=st.text(max_size=300))
def test_decoding_what_slack_sends_gives_back_what_was_typed(text: str) -> None:
    # Slack sends typed text with &, < and > as entities: decoding must return the text exactly.
    # Invisible and bidi characters are dropped on the way in (display spoofing); everything else comes back.
    assert decode_event_text(escape(text)) == strip_invisible(text).strip()
    assert decode_event_text(escape(text), "UDAILIESBOT") == strip_invisible(text).strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(MARKUP, max_size=12))
def test_decoded_markup_never_leaves_live_markup(parts: list[str]) -> None:
    decoded = decode_event_text(" ".join(parts), "UDAILIESBOT")
    assert "<" not in decoded and ">" not in decoded
    assert "<" not in escape(decoded)


@FUZZ
@given(text=st.text(max_size=300))
def test_decoding_never_raises(text: str) -> None:
    assert isinstance(decode_event_text(text, "U1"), str)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from("&<>ab…é🎧 "), max_size=400), limit=st.integers(1, 450))
def test_cut_never_splits_an_escape_and_keeps_to_the_limit(text: str, limit: int) -> None:
    full = escape(text)
    result = cut(full, limit)
    assert len(result) <= limit
    assert not BROKEN_ENTITY.search(result)
    assert result == escaped(text, limit)
    if len(full) <= limit:
        assert result == full
        return
    assert result.endswith("…")
    assert text.startswith(html.unescape(result[:-1]))  # a prefix of what was written, never something else


@FUZZ
@given(text=st.text(max_size=200))
def test_escape_leaves_no_markup(text: str) -> None:
    out = escape(text)
    assert "<" not in out and ">" not in out and not BROKEN_ENTITY.search(out)
    assert html.unescape(out) == strip_invisible(text)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)


def _near(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid payload with some fields replaced by arbitrary JSON, or dropped."""
    keys = list(valid)
    return st.tuples(st.dictionaries(st.sampled_from(keys), JSON, max_size=len(keys)),
                     st.sets(st.sampled_from(keys))).map(
        lambda change: {k: change[0].get(k, v) for k, v in valid.items() if k not in change[1]})


VALID_ACTION = {
    "type": "block_actions", "user": {"id": "U0LEAD"}, "team": {"id": "T0TEAM"}, "channel": {"id": "C0ART"},
    "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0ART"},
    "message": {"ts": "1700000000.000100", "thread_ts": "1700000000.000001"},
    "actions": [{"action_id": "reroll", "block_id": "b", "type": "button", "value": "abc-0"}],
    "trigger_id": "1.2.3", "response_url": "https://hooks.slack.com/x",
}
VALID_MESSAGE = {"type": "app_mention", "user": "U0CREATIVE", "text": "<@UDAILIESBOT> rain", "ts": "1700000000.1",
                 "channel": "C0ART", "thread_ts": "1700000000.000001", "files": [{"id": "F0MIX", "name": "a.wav"}]}
VALID_REACTION = {"type": "reaction_added", "user": "U0LEAD", "reaction": "+1::skin-tone-2",
                  "item": {"type": "message", "channel": "C0ART", "ts": "1700000000.000100"},
                  "item_user": "UDAILIESBOT", "event_ts": "1700000001.000100"}


VALID_COMMAND = {"command": "/dailies", "text": "rain x2", "user_id": "U0CREATIVE", "channel_id": "C0ART",
                 "team_id": "T0TEAM", "trigger_id": "1.2.3", "response_url": "https://hooks.slack.com/x"}
VALID_SHORTCUT = {"type": "message_action", "callback_id": "make_takes", "trigger_id": "1.2.3",
                  "user": {"id": "U0CREATIVE"}, "channel": {"id": "C0ART"},
                  "message": {"ts": "1700000000.000100", "text": "Rain\nSound: rain", "user": "U0CLIENT"}}
VALID_SUBMISSION = {"type": "view_submission", "user": {"id": "U0CREATIVE"}, "view": {
    "id": "V0", "callback_id": "brief_modal", "private_metadata": "{}", "state": {"values": {
        "picture": {"value": {"type": "plain_text_input", "value": "Rain"}},
        "takes": {"value": {"type": "number_input", "value": "2"}},
        "model": {"brief_model": {"type": "static_select", "selected_option": {"value": "previz"}}}}}}}


def _use(model: Any) -> None:
    """Every property a listener reads works on whatever validated."""
    if isinstance(model, BlockActionPayload):
        for value in (model.user_id, model.channel_id, model.message_ts, model.thread_ts, model.action.chosen):
            assert value is None or isinstance(value, str)
        assert isinstance(model.in_view, bool)
        assert len(model.action.chosen) <= 2000
    elif isinstance(model, ReactionEvent):
        assert isinstance(model.emoji, str) and isinstance(model.added, bool)
    elif isinstance(model, MessageEvent):
        assert isinstance(model.thread, str) and isinstance(model.in_thread, bool) and isinstance(model.in_dm, bool)
    elif isinstance(model, SlashCommand):
        assert isinstance(model.in_dm, bool)
    elif isinstance(model, ViewSubmission):
        raw, channel = form_from_state(model.view.state.values)
        form, errors = form_of(raw)
        assert (form is None) == bool(errors) and (channel is None or isinstance(channel, str))
        place_of(model.view.private_metadata)


@FUZZ
@given(data=st.one_of(JSON, _near(VALID_ACTION), _near(VALID_REACTION), _near(VALID_MESSAGE), _near(VALID_COMMAND),
                      _near(VALID_SHORTCUT), _near(VALID_SUBMISSION)))
def test_payload_models_give_a_model_or_a_validation_error(data: Any) -> None:
    for model in (BlockActionPayload, ReactionEvent, MessageEvent, SlashCommand, MessageShortcut, ViewSubmission):
        try:
            parsed = model.model_validate(data)
        except ValidationError:
            continue
        _use(parsed)


def test_the_valid_examples_are_valid() -> None:
    assert BlockActionPayload.model_validate(VALID_ACTION).action.chosen == "abc-0"
    assert ReactionEvent.model_validate(VALID_REACTION).emoji == "+1"
    assert MessageEvent.model_validate(VALID_MESSAGE).thread == "1700000000.000001"
    assert SlashCommand.model_validate(VALID_COMMAND).text == "rain x2"
    assert MessageShortcut.model_validate(VALID_SHORTCUT).message.text.startswith("Rain")
    raw, _ = form_from_state(ViewSubmission.model_validate(VALID_SUBMISSION).view.state.values)
    form, errors = form_of(raw)
    assert form is not None and not errors and form.takes == 2 and form.picture == "Rain"


DICT = st.dictionaries(st.text(max_size=10), JSON, max_size=5)
# Slack's envelope keeps its shape (Bolt reads `user`, `channel`, `container`… as objects before any code of
# ours runs); everything inside them, and the actions, is arbitrary.
SHAPED_ACTION = st.fixed_dictionaries(
    {"type": st.just("block_actions"), "actions": st.one_of(JSON, st.lists(DICT, max_size=3))},
    optional={"user": st.one_of(DICT, st.just({"id": "U0LEAD"})), "channel": DICT, "container": DICT,
              "message": DICT, "team": st.just({"id": "T0TEAM"}), "trigger_id": st.text(max_size=5)},
)
SHAPED_EVENT = st.fixed_dictionaries({"type": st.sampled_from(["app_mention", "message", "reaction_added",
                                                                "reaction_removed"])}, optional={
    "user": st.one_of(st.text(max_size=12), JSON), "text": st.one_of(st.text(max_size=40), JSON),
    "channel": st.one_of(st.just("C0ART"), JSON), "ts": st.one_of(st.just("1700000000.000100"), JSON),
    "item": st.one_of(DICT, st.just({"type": "message", "channel": "C0ART", "ts": "1700000000.000100"})),
    "reaction": st.one_of(st.text(max_size=12), JSON), "thread_ts": JSON,
})


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(action=SHAPED_ACTION, event=SHAPED_EVENT)
def test_any_payload_through_the_endpoint_is_acknowledged(bot, action: dict[str, Any], event: dict[str, Any]) -> None:
    # Signed and sent as Slack sends it: the bot answers (never a 500 that Slack would retry) and stays up.
    assert bot.action(action).status_code in (200, 404)
    assert bot.event(event).status_code == 200
