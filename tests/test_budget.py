"""Money and limits through the real endpoint and worker: estimates, a channel's daily budget and a person's
hourly limit enforced atomically in Redis, lead approval, spend charged only for posted takes."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main as cli_main
from bot.ids import SlackId
from jobs.domain import approvals, budget, spend, spend_report
from jobs.domain.channels import ChannelSettings, save_channel_settings
from jobs.domain.models import TakeState
from jobs.domain.store import RedisStore
from jobs.infra.settings import Settings
from tests.harness import BotEndpoint, Worker, block_action, make_settings, mention, reaction_event, wait_for
from tests.hostile import crafted_files, crafted_provider, priced
from tests.standins.slack import SlackStandIn
from tests.vote_helpers import event_id

CHANNEL = "C0ART"
LEAD = "U0LEAD"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return crafted_files(tmp_path_factory.mktemp("crafted"))


def build(redis_url: str, slack: SlackStandIn, tmp_path: Path, **overrides: object) -> tuple[Settings, BotEndpoint,
                                                                                               Worker]:
    settings = make_settings(redis_url, slack.api_url, tmp_path / "media", DAILIES_LEADS=LEAD, **overrides)
    return settings, BotEndpoint(settings), Worker(settings)


@pytest.fixture()
def make_env(redis_url: str, slack: SlackStandIn, tmp_path: Path):
    """Build (settings, bot, worker) with a test's own overrides; the bot is stopped afterwards."""
    bots: list[BotEndpoint] = []

    def make(**overrides: object) -> tuple[Settings, BotEndpoint, Worker]:
        settings, bot, worker = build(redis_url, slack, tmp_path, **overrides)
        bots.append(bot)
        return settings, bot, worker

    yield make
    for bot in bots:
        bot.stop()


def refusals(slack: SlackStandIn, channel: str = CHANNEL) -> list[tuple[str, dict]]:
    """(ts, message) of every refusal carrying an Approve button."""
    return [(ts, m) for (ch, ts), m in list(slack.messages.items())
            if ch == channel and SlackId.APPROVE in json.dumps(m.get("blocks") or [])]


def statuses(slack: SlackStandIn) -> list[dict]:
    return [m for m in slack.posted(channel=CHANNEL) if m.get("text", "").startswith("Round ")]


def day_hash(store: RedisStore, channel: str = CHANNEL) -> dict[str, int]:
    raw = store.redis.hgetall(spend.channel_day_key(store, channel, spend.today()))
    return {k.decode(): int(v) for k, v in raw.items()}


def queued_jobs(worker: Worker) -> list[str]:
    return [job.func_name for job in worker.queue.get_jobs()]


def test_status_message_shows_the_estimate(make_env, slack):
    settings, bot, worker = make_env(**priced({}, "previz", 0.5))
    bot.event(mention("Lighthouse in fog x3 2s\nSound: foghorn", ts="1700100001.000100"))
    status = wait_for(lambda: statuses(slack))[0]
    assert "est. $3.00" in json.dumps(status["blocks"])  # 3 takes × 2 s × $0.50


def test_fifty_requests_at_once_against_a_budget_for_ten_run_exactly_ten(make_env, slack):
    # Each request: 1 take × 2 s × $0.50 = $1.00; the cap fits ten.
    settings, bot, worker = make_env(**priced({"DAILIES_DAILY_BUDGET_USD": 10}, "previz", 0.5))

    def send(i: int) -> int:
        event = mention(f"Paper boat on a puddle, take {i}\nSound: drips", ts=f"17001{i:05d}.000100",
                        user=f"U0PERSON{i:02d}")
        return bot.event(event).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        assert set(pool.map(send, range(50))) == {200}
    wait_for(lambda: len(slack.posted(channel=CHANNEL)) >= 50, timeout_s=60)
    time.sleep(0.3)  # nothing more arrives

    assert len(statuses(slack)) == 10
    refused = refusals(slack)
    assert len(refused) == 40
    for _, message in refused:
        words = json.dumps(message["blocks"])
        assert "daily budget" in words and "$10.00" in words and "est. $1.00" in words
    assert queued_jobs(worker) == ["jobs.pipeline.tasks.start_request"] * 10
    store = worker.store
    assert len(store.redis.keys(f"{settings.key_prefix}:req:*")) == 10  # refused requests are not recorded
    assert len(store.redis.keys(f"{settings.key_prefix}:pending:*")) == 40  # held for a lead instead
    assert day_hash(store) == {"reserved": 10 * spend.MICRO}


def test_a_persons_hourly_limit_holds_under_concurrency(make_env, slack):
    settings, bot, worker = make_env(DAILIES_HOURLY_JOB_LIMIT=10)

    def send(i: int) -> int:
        return bot.event(mention(f"Kite over dunes {i}", ts=f"17002{i:05d}.000100", user="U0BUSY")).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        list(pool.map(send, range(30)))
    wait_for(lambda: len(slack.posted(channel=CHANNEL)) >= 30, timeout_s=60)
    time.sleep(0.3)
    assert len(statuses(slack)) == 10
    refused = refusals(slack)
    assert len(refused) == 20
    assert all("the limit is 10 takes per person per hour" in json.dumps(m["blocks"]) for _, m in refused)
    assert worker.store.redis.zcard(worker.store.key("jobs", "U0BUSY")) == 10
    # Someone else is not held back by U0BUSY.
    bot.event(mention("Kite over dunes, mine", ts="1700299999.000100", user="U0CALM"))
    wait_for(lambda: len(statuses(slack)) == 11)


def test_a_channels_own_budget_overrides_the_default(make_env, slack):
    settings, bot, worker = make_env(**priced({"DAILIES_DAILY_BUDGET_USD": 100}, "previz", 0.5))
    save_channel_settings(worker.store, CHANNEL, ChannelSettings(daily_budget_usd=3))
    for i in range(4):
        bot.event(mention(f"Balloon {i}", ts=f"17003{i:05d}.000100"))
        wait_for(lambda i=i: len(slack.posted(channel=CHANNEL)) > i)
    assert len(statuses(slack)) == 3
    (_, message), = refusals(slack)
    assert "daily cap: $3.00" in json.dumps(message["blocks"])
    assert "Spent today: $0.00 + $3.00 rendering" in json.dumps(message["blocks"])


def test_over_budget_is_held_and_only_a_lead_can_approve_it(redis_url, slack, tmp_path, files):
    overrides = priced({"DAILIES_DAILY_BUDGET_USD": 1}, "crafted", 1.0)
    settings, bot, worker = build(redis_url, slack, tmp_path, **overrides)
    thread = "1700400001.000100"
    try:
        with crafted_provider({"*": files["good"]}):
            bot.event(mention("Neon koi pond --model crafted", ts=thread))
            (refusal_ts, message), = wait_for(lambda: refusals(slack))
            words = json.dumps(message["blocks"])
            assert "est. $2.00" in words and "daily cap: $1.00" in words and "Spent today: $0.00" in words
            assert worker.pending() == 0 and not worker.store.redis.keys(f"{settings.key_prefix}:req:*")
            pending_id = next(iter(approvals.get_pending(worker.store, k.decode().rsplit(":", 1)[1]).request.id
                                   for k in worker.store.redis.keys(f"{settings.key_prefix}:pending:*")))

            def press(user: str, *, value: str = pending_id, channel: str = CHANNEL) -> None:
                payload = block_action(SlackId.APPROVE, value, user=user, channel=channel,
                                       message_ts=refusal_ts, thread_ts=thread)
                assert bot.action(payload).status_code == 200

            def ephemerals(user: str) -> list[str]:
                return [c.args["text"] for c in slack.calls_to("chat.postEphemeral") if c.args["user"] == user]

            press("U0CREATIVE")  # the requester is not a lead
            assert "Only leads" in wait_for(lambda: ephemerals("U0CREATIVE"))[0]
            press(LEAD, value="0123456789abcdef")  # a forged id
            press(LEAD, channel="C0ELSEWHERE")  # the right id pressed from another channel
            wait_for(lambda: len(ephemerals(LEAD)) == 2)
            assert all("no longer waiting" in text for text in ephemerals(LEAD))
            assert worker.pending() == 0 and approvals.get_pending(worker.store, pending_id)

            press(LEAD)
            wait_for(lambda: statuses(slack))
            wait_for(lambda: worker.pending() == 1)
            assert approvals.get_pending(worker.store, pending_id) is None
            updated = wait_for(lambda: [c.args for c in slack.calls_to("chat.update") if c.args["ts"] == refusal_ts])
            assert f"Approved by <@{LEAD}>" in updated[0]["text"] and updated[0]["parse"] == "none"
            assert day_hash(worker.store) == {"reserved": 2 * spend.MICRO}  # past the cap, on a lead's word

            press(LEAD)  # a second press (or a second lead) approves nothing more
            wait_for(lambda: len(ephemerals(LEAD)) == 3)
            assert worker.pending() == 1

            worker.drain()
            take, = worker.store.channel_takes(CHANNEL)
            assert take.state == TakeState.posted and take.cost_usd == 2.0
            hashed = day_hash(worker.store)
            assert hashed["spent"] == 2 * spend.MICRO and hashed["reserved"] == 0
    finally:
        bot.stop()


def test_only_posted_takes_are_charged(redis_url, slack, tmp_path, files):
    overrides = priced({"DAILIES_DAILY_BUDGET_USD": 50}, "crafted", 0.25)
    settings, bot, worker = build(redis_url, slack, tmp_path, **overrides)
    store = worker.store
    try:
        with crafted_provider({"1A": files["good"], "1B": files["empty"], "*": files["good"]}):
            # 1A posts, 1B is an unusable file: only 1A is charged.
            bot.event(mention("Glass marbles on a drum x2 2s --model crafted", ts="1700500001.000100"))
            wait_for(lambda: worker.pending() == 1)
            assert day_hash(store)["reserved"] == 1 * spend.MICRO  # 2 × 2 s × $0.25
            worker.drain()
            # A round cancelled before it renders is never charged either.
            bot.event(mention("Glass marbles, again x2 2s --model crafted", ts="1700500002.000100"))
            status = wait_for(lambda: [r for r in store.thread_requests(CHANNEL, "1700500002.000100")
                                       if r.status_ts])[0]
            bot.event(reaction_event("x", user="U0CREATIVE", ts=status.status_ts), event_id=event_id())
            wait_for(lambda: store.get_request(status.id).state.value == "cancelled")
            worker.drain()
        states = sorted((t.label, t.state.value, t.cost_usd) for t in store.channel_takes(CHANNEL))
        assert states == [("1A", "cancelled", 0.0), ("1A", "posted", 0.5), ("1B", "cancelled", 0.0),
                          ("1B", "failed", 0.0)]
        assert day_hash(store) == {"spent": 500_000, "reserved": 0, "model:crafted": 500_000, "takes:crafted": 1}

        summary = spend_report.spend_summary(store, CHANNEL, settings=settings)
        assert (summary.today_usd, summary.reserved_usd, summary.cap_usd) == (0.5, 0.0, 50.0)
        assert summary.by_model == {"crafted": 0.5} and summary.takes_by_model == {"crafted": 1}
        assert summary.last_30_days_usd == 0.5
        mine = spend_report.spend_summary(store, "U0CREATIVE")
        assert mine.kind == "user" and mine.today_usd == 0.5
        assert "Today: $0.50 spent of a $50.00 daily budget" in summary.lines()

        # Settling twice (a retried job) charges once.
        posted = next(t for t in store.channel_takes(CHANNEL) if t.state == TakeState.posted)
        assert budget.settle_take(store, posted) is False
        assert day_hash(store)["spent"] == 500_000

        env = {"REDIS_URL": settings.redis_url, "DAILIES_KEY_PREFIX": settings.key_prefix,
               "DAILIES_DAILY_BUDGET_USD": "50"}
        runner = CliRunner()
        export = cli_main.commands["export"]
        spend_out = runner.invoke(export, ["--channel", CHANNEL, "--spend", "--json"], env=env)
        assert spend_out.exit_code == 0, spend_out.output
        assert json.loads(spend_out.output)["today_usd"] == 0.5
        rows = runner.invoke(export, ["--channel", CHANNEL, "--json"], env=env)
        assert rows.exit_code == 0, rows.output
        table = json.loads(rows.output)
        assert isinstance(table, list) and sorted(r["cost_usd"] for r in table) == [0.0, 0.0, 0.0, 0.5]
        text = runner.invoke(export, ["--channel", CHANNEL, "--spend"], env=env)
        assert "Today: $0.50 spent" in text.output
    finally:
        bot.stop()


def dm(text: str, user: str, channel: str, ts: str) -> dict:
    """A DM to the bot as Slack sends it (message.im): no mention, channel_type im."""
    return {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts,
            "channel_type": "im"}


def test_fifty_dms_share_one_dm_budget_even_with_a_channel_allowlist(make_env, slack):
    settings, bot, worker = make_env(DAILIES_DAILY_BUDGET_USD=100, DAILIES_DM_DAILY_BUDGET_USD=10,
                                     DAILIES_CHANNELS=CHANNEL, **priced({}, "previz", 0.5))

    def send(index: int) -> int:
        ts = f"1700700{index:03d}.000100"
        return bot.event(dm("Kite over dunes\nSound: wind\nx1 2s", f"U0DM{index:03d}", f"D0DM{index:03d}", ts),
                         event_id=f"EvDM{index:04d}").status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        assert set(pool.map(send, range(50))) == {200}
    wait_for(lambda: sum(len(slack.posted(channel=f"D0DM{i:03d}")) for i in range(50)) >= 50, timeout_s=60)
    time.sleep(0.3)
    queued = [i for i in range(50) for m in slack.posted(channel=f"D0DM{i:03d}") if m["text"].startswith("Round ")]
    refused = [i for i in range(50) for m in slack.posted(channel=f"D0DM{i:03d}")
               if "daily budget" in json.dumps(m.get("blocks") or [])]
    assert len(queued) == 10 and len(refused) == 40  # $10 shared by every DM, $1 a brief
    assert queued_jobs(worker) == ["jobs.pipeline.tasks.start_request"] * 10
    shared = worker.store.redis.hgetall(spend.channel_day_key(worker.store, "D0DM000", spend.today()))
    assert shared == worker.store.redis.hgetall(spend.channel_day_key(worker.store, "D0DM049", spend.today()))


def test_dm_briefs_can_be_turned_off(make_env, slack):
    settings, bot, worker = make_env(DAILIES_DM_BRIEFS="false")
    bot.event(dm("Kite over dunes\nSound: wind\nx1 2s", "U0DMOFF", "D0DMOFF", "1700700999.000100"))
    said = wait_for(lambda: slack.posted(channel="D0DMOFF"))
    assert "turned off" in said[0]["text"] and "@dailies" in said[0]["text"]
    assert worker.pending() == 0 and not worker.store.channel_takes("D0DMOFF")
