"""Security round 2 (#27): the red team's findings, each sent as they sent it, through the real endpoint."""

from __future__ import annotations

import json
import logging
import re
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from bot.slack.installations import RedisInstallationStore
from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore, workspace_prefix
from jobs.infra.sealing import Sealer
from tests.harness import (
    SECRET_KEY,
    BotEndpoint,
    Worker,
    event_envelope,
    free_port,
    make_settings,
    mention,
    wait_for,
)
from tests.standins.fal import FAL_KEY, FalStandin
from tests.standins.slack import SlackStandIn
from tests.test_oauth import CLIENT_ID, CLIENT_SECRET, install, send
from tests.test_reference_frames import attach, brief_with_files, picture
from tests.test_slack_modal import USER, command, interaction, opened, submission

LEAD = "U0LEAD"


@pytest.fixture()
def oauth(redis_url: str, slack: SlackStandIn, tmp_path: Path):
    slack.register_oauth_app(CLIENT_ID, CLIENT_SECRET)
    port = free_port()
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", SLACK_BOT_TOKEN="",
                             SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET,
                             DAILIES_PUBLIC_URL=f"http://127.0.0.1:{port}", DAILIES_SECRET_KEYS=SECRET_KEY)
    bot = BotEndpoint(settings, port=port)
    yield bot, Worker(settings), settings
    bot.stop()


# 1 -------------------------------------------------------------------------------------------------------------
def test_a_frame_posted_in_an_oauth_workspace_is_fetched_with_that_workspaces_token(oauth, slack: SlackStandIn,
                                                                                    tmp_path: Path) -> None:
    bot, worker, settings = oauth
    for team in ("T0ACME", "T0BOLT"):
        assert install(bot, slack, team).status_code == 200
    board = attach(slack, "board.png", picture(tmp_path, "board.png", "testsrc2", "1280x720"))
    slack.files[board["id"]]["team"] = "T0ACME"  # the file lives in Acme's workspace only
    thread = "1700800000.000100"
    event = mention("Kite over dunes\nSound: wind\nx1 2s", channel="C0ACME", ts=thread)
    event.update(files=[board], upload=False)
    assert send(bot, "T0ACME", event, "EvFRAME1").status_code == 200
    store = RedisStore(Redis.from_url(settings.redis_url), workspace_prefix(settings.key_prefix, "T0ACME"))
    wait_for(lambda: store.channel_takes("C0ACME"))
    worker.drain()
    takes = store.channel_takes("C0ACME")
    assert [t.state for t in takes] == [TakeState.posted], [t.error for t in takes]
    assert takes[0].reference_frames == 1
    assert slack.file_refusals == 0  # never asked for with another workspace's token (or none)


# 2, 3 ----------------------------------------------------------------------------------------------------------
def test_the_forms_frame_must_be_one_the_submitter_may_use_there(bot, slack: SlackStandIn, worker: Worker,
                                                                 tmp_path: Path) -> None:
    image = picture(tmp_path, "secret.png", "smptebars", "1280x720")
    secret = attach(slack, "q3-layoffs-plan.png", image, user="U0EXEC", groups=["G0BOARD"])
    slack.channel_members["G0BOARD"] = ["U0EXEC"]
    command(bot)
    view = opened(slack)
    refused = interaction(bot, submission(view, picture="A fox", takes=1, duration_s=2, frames=[secret])).json()
    assert refused["response_action"] == "errors"
    message = json.dumps(refused["errors"])
    assert "not a file you can use here" in message and "q3-layoffs" not in message  # its name stays unsaid
    time.sleep(0.3)
    assert not worker.store.channel_takes("C0ART") and worker.pending() == 0

    slack.channel_members["G0BOARD"].append(USER)  # the submitter is in the conversation it is shared in
    accepted = interaction(bot, submission(view, picture="A fox", takes=1, duration_s=2, frames=[secret]))
    assert accepted.status_code == 200 and not accepted.text
    wait_for(lambda: worker.store.channel_takes("C0ART"))


def test_a_dm_picked_in_the_form_must_be_the_submitters_own(redis_url: str, slack: SlackStandIn, tmp_path: Path,
                                                             worker: Worker) -> None:
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_CHANNELS="C0ART")
    bot = BotEndpoint(settings)
    try:
        slack.channel_members["D0SOMEONE"] = ["U0OTHER", "UDAILIESBOT"]
        slack.channel_members["D0MINE"] = [USER, "UDAILIESBOT"]
        command(bot)
        view = opened(slack)
        refused = interaction(bot, submission(view, picture="A fox", takes=1, duration_s=2,
                                              channel="D0SOMEONE")).json()
        assert refused["response_action"] == "errors" and "not in that conversation" in json.dumps(refused)
        time.sleep(0.3)
        assert not slack.posted(channel="D0SOMEONE") and worker.pending() == 0
        assert interaction(bot, submission(view, picture="A fox", takes=1, duration_s=2,
                                           channel="D0MINE")).status_code == 200
        wait_for(lambda: slack.posted(channel="D0MINE"))
    finally:
        bot.stop()


# 4 -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {},
    {"X-Slack-Signature": "v0=" + "0" * 64},
    {"X-Slack-Signature": "v0=" + "0" * 64, "X-Slack-Request-Timestamp": "yesterday"},
    {"X-Slack-Request-Timestamp": str(int(time.time()))},
])
def test_requests_without_a_usable_signature_get_401_and_one_line(bot, headers: dict[str, str],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps(event_envelope(mention("hello"), event_id="EvNOSIG"))
    with caplog.at_level(logging.INFO):
        answer = httpx.post(bot.url, content=body, headers={"Content-Type": "application/json", **headers})
    assert answer.status_code == 401
    lines = [r for r in caplog.records if r.name == "bot.server"]
    assert len(lines) == 1 and "refused an unsigned or stale request" in lines[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("event", ["a string", [1, 2], None, 7])
def test_a_signed_envelope_whose_event_is_not_an_object_is_acknowledged(bot, event: Any,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps({**event_envelope(mention("x"), event_id="EvODD"), "event": event})
    assert bot.post(body, "application/json").status_code == 200
    assert not any(r.exc_info for r in caplog.records)


# 5 -------------------------------------------------------------------------------------------------------------
def test_an_uninstall_naming_a_wildcard_team_deletes_nothing_else(oauth, slack: SlackStandIn, redis_url: str) -> None:
    bot, _, _ = oauth
    for team in ("T0ACME", "T0BOLT"):
        assert install(bot, slack, team).status_code == 200
    store = RedisInstallationStore(Redis.from_url(redis_url), "dailies-test", Sealer([SECRET_KEY]))
    for wildcard in ("*", "T0*", "T0ACM?", "[T]0ACME"):
        assert send(bot, wildcard, {"type": "app_uninstalled", "event_ts": f"{time.time():.6f}"},
                    f"EvWILD{wildcard}").status_code in (200, 401)
    time.sleep(1)
    for team in ("T0ACME", "T0BOLT"):
        assert store.find_installation(enterprise_id=None, team_id=team) is not None
        assert store.find_bot(enterprise_id=None, team_id=team) is not None


# 6 -------------------------------------------------------------------------------------------------------------
def test_the_per_take_webhook_token_never_reaches_the_log(redis_url: str, slack: SlackStandIn, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    fal = FalStandin().start()
    try:
        settings = make_settings(redis_url, slack.api_url, tmp_path / "media", FAL_KEY=FAL_KEY, FAL_QUEUE_URL=fal.url,
                                 DAILIES_ALLOWED_MEDIA_URLS=fal.url + "/", DAILIES_PUBLIC_URL="https://dailies.example")
        bot, worker = BotEndpoint(settings), Worker(settings)
        with caplog.at_level(logging.INFO):
            bot.event(mention("Rain\nSound: rain\nx1 4s --model fal:fal-ai/veo3.1", ts="1700800100.000100"))
            wait_for(lambda: worker.pending() >= 1)
            worker.drain()
        bot.stop()
    finally:
        fal.stop()
    hook = fal.calls("POST")[0].query["fal_webhook"][0]
    token = hook.rsplit("/", 1)[1]
    assert len(token) > 16
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "fal_webhook" in logged  # httpx logged the submit URL …
    assert token not in logged and "webhook%2F[redacted]" in logged  # … without the capability in it


# 7 -------------------------------------------------------------------------------------------------------------
HIDDEN = "\U000e0049\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065"  # "Ignore" in Unicode tag characters


def test_invisible_characters_are_stripped_from_briefs_and_the_sound_bible_and_said_so(
        redis_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD)
    bot, worker = BotEndpoint(settings), Worker(settings)
    try:
        bible = f"warm tape{HIDDEN} hiss\u3164\u2800 no trap drums\ufe0f\U000e0100"
        bot.event({**mention(f'set sound-bible="{bible}"', user=LEAD, ts="1700800200.000100")})
        saved = wait_for(lambda: [m for m in slack.posted(channel="C0ART") if "settings saved" in m["text"]])[0]
        assert "10 invisible characters" in saved["text"]
        assert not re.search("[\U000e0000-\U000e01ef\u3164\u2800\ufe00-\ufe0f]", saved["text"])

        thread = "1700800300.000100"
        bot.event(mention(f"A lighthouse{HIDDEN} in fog\nSound: foghorn\u2800\nx1 2s", ts=thread))
        request = wait_for(lambda: worker.store.thread_requests("C0ART", thread))[0]
        worker.drain()
        resolved = request.resolved
        for text in (resolved.brief.picture, " ".join(resolved.brief.sound), resolved.sound_bible or ""):
            assert not re.search("[\U000e0000-\U000e01ef\u3164\u2800\ufe00-\ufe0f]", text), text
        assert resolved.sound_bible == "warm tape hiss no trap drums"
        status = json.dumps(slack.calls_to("chat.update")[-1].args.get("blocks"))
        assert "7 invisible characters (text a person cannot see) removed from the brief" in status
    finally:
        bot.stop()


# 8 -------------------------------------------------------------------------------------------------------------
def test_a_backtick_in_a_file_name_cannot_close_the_code_span(bot, slack: SlackStandIn) -> None:
    hostile = attach(slack, "x`*bold* <!channel> `y.gif", b"GIF89a" + bytes(64), mimetype="image/gif", filetype="gif")
    brief_with_files(bot, "A fox\nSound: wind\nx1 2s", [hostile], ts="1700800400.000100")
    refusal = wait_for(lambda: [m for m in slack.posted(thread_ts="1700800400.000100")
                                if "can't run that brief" in m.get("text", "")])[0]
    shown = json.dumps(refusal["blocks"])
    assert "x\u02cb*bold* &lt;!channel&gt; \u02cby.gif" in json.loads(shown)[0]["text"]["text"]
    assert "<!channel>" not in shown


# 9 -------------------------------------------------------------------------------------------------------------
def png_of_zeros(path: Path, width: int, height: int, bit_depth: int, channels: int) -> bytes:
    """A real PNG (RGBA at `bit_depth`) that is tiny on disk and large once decoded, written row by row."""
    row = b"\x00" + bytes(width * channels * bit_depth // 8)
    packer = zlib.compressobj(9)
    data = b"".join([packer.compress(row) for _ in range(height)] + [packer.flush()])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, 6, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path.read_bytes()


def test_a_frame_that_would_take_too_much_memory_to_decode_is_refused_unread(bot, worker: Worker,
                                                                             slack: SlackStandIn,
                                                                             tmp_path: Path) -> None:
    data = png_of_zeros(tmp_path / "deep.png", 7700, 7700, 16, 4)
    assert len(data) < 600_000
    frame = attach(slack, "deep.png", data, original_w=7700, original_h=7700)
    thread = "1700800500.000100"
    brief_with_files(bot, "A fox in snow\nSound: wind\nx1 2s", [frame], ts=thread)
    wait_for(lambda: worker.store.thread_requests("C0ART", thread))
    worker.drain()
    take = worker.store.channel_takes("C0ART")[0]
    assert take.state == TakeState.failed
    assert "452 MB once decoded, over the 128 MB a frame may take" in (take.error or "")
    assert "8-bit PNG or a JPEG" in (take.error or "")


# 10 ------------------------------------------------------------------------------------------------------------
def test_install_pages_are_bounded_and_take_only_a_well_formed_team(oauth, redis_url: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    bot, _, _ = oauth
    with httpx.Client(base_url=bot.base_url, timeout=10) as browser:
        smuggled = browser.get("/slack/install", params={"team": "T0ACME&redirect_uri=https://evil.example"})
        assert smuggled.status_code == 400 and "workspace id" in smuggled.text
        fine = browser.get("/slack/install", params={"team": "T0ACME"})
        assert fine.status_code == 200 and "team=T0ACME" in fine.text and "evil" not in fine.text
        answers = [browser.get("/slack/install").status_code for _ in range(12)]
    assert answers.count(200) == 9 and answers[-1] == 429  # ten a minute from one address, this one included
    states = Redis.from_url(redis_url).keys("dailies-test:oauth-state:*")
    assert len(states) == 10


def test_an_oauth_code_that_fails_its_exchange_is_not_logged(oauth, slack: SlackStandIn,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    bot, _, _ = oauth
    with httpx.Client(base_url=bot.base_url, timeout=10) as browser:
        page = browser.get("/slack/install")
        state = re.search(r"state=([\w-]+)", page.text).group(1)
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        with caplog.at_level(logging.INFO):
            browser.get("/slack/oauth_redirect", params={"code": "123456.789012.secretcodeabcdef", "state": state},
                        headers={"Cookie": cookie})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "oauth.v2.access" in logged  # Bolt said the exchange failed …
    assert "secretcodeabcdef" not in logged  # … without the code
