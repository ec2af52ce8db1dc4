"""Thread commands about votes: `@dailies results` posts the ranking of the thread's takes."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks import model_label
from bot.briefs import KEYWORD_HANDLERS, reply
from bot.deps import Deps
from bot.text import cut, escaped
from jobs.models import Take
from jobs.votes import ranking

MAX_LINES = 40


def register(app: App) -> None:
    KEYWORD_HANDLERS["results"] = post_results


def emoji_summary(take: Take) -> str:
    parts = [f":{name}: {count}" for name, count in sorted(take.votes.items(), key=lambda kv: (-kv[1], kv[0]))]
    return " ".join(parts)


def results_message(takes: list[Take]) -> tuple[str, list[dict[str, Any]]]:
    if not takes:
        text = "No takes have been posted in this thread yet, so there is nothing to rank."
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    winner = takes[0]
    voted = any(t.votes or t.score for t in takes)
    lines = []
    for place, take in enumerate(takes[:MAX_LINES], start=1):
        mark = ":trophy:" if place == 1 and voted else f"{place}."
        line = (f"{mark} *Take {escaped(take.label, 20)}* · {escaped(model_label(take.model), 80)} · "
                f"score *{take.score:+d}*")
        summary = emoji_summary(take)
        lines.append(line + (f" · {summary}" if summary else ""))
    if len(takes) > MAX_LINES:
        lines.append(f"…and {len(takes) - MAX_LINES} more with lower scores.")
    if voted:
        headline = (f"*Results:* Take {escaped(winner.label, 20)} wins with {winner.score:+d} "
                    f"({len(takes)} take{'s' if len(takes) != 1 else ''} ranked by score, then earliest)")
        fallback = f"Results: Take {escaped(winner.label, 20)} ({escaped(winner.model, 40)}) wins with {winner.score:+d}"
    else:
        headline = "*Results:* no votes yet. React to a take's card to vote; until then they stand in order:"
        fallback = "Results: no votes yet"
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "text": {"type": "mrkdwn", "text": cut("\n".join(lines), 2900)}},
    ]
    return fallback, blocks


def post_results(deps: Deps, client: WebClient, event: dict[str, Any], thread_ts: str) -> None:
    channel = event["channel"]
    text, blocks = results_message(ranking(deps.store, channel, thread_ts))
    reply(client, channel, thread_ts, text, blocks)
