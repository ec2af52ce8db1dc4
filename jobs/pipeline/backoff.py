"""When to try a step again: the one back-off policy of the pipeline.

- A status check waits longer each time (×1.5 from `DAILIES_POLL_INITIAL_S` up to `DAILIES_POLL_MAX_S`).
- A provider's transient fault waits what the provider asked (`Retry-After`), else as a status check would.
- Posting a finished take to the chat doubles its wait from the first poll interval, up to five minutes.
- Jobs that only talk to the chat (contact sheets, tickets, note mirrors) use rq's own retries (`RQ_RETRIES`).
"""

from __future__ import annotations

from jobs.infra.settings import Settings

POLL_GROWTH = 1.5
MAX_RETRY_AFTER_S = 600.0  # a provider asking for longer is waited on no more than this per try
MAX_DELIVERY_WAIT_S = 300.0
MIN_DELIVERY_WAIT_S = 0.05
PROVIDER_RETRIES = 8  # transient faults of one submit or fetch before the take fails (status checks: 20×)
DELIVERY_TRIES = 6
RQ_RETRY_INTERVAL_S = 5
RQ_RETRIES = {"post_contact_sheet": 2, "post_ticket": 2, "sync_ticket": 2, "check_ticket_mix": 2, "note_added": 2,
              "make_compare": 1, "make_reel": 1, "daily_reel": 1}


def poll_delay_s(settings: Settings, polls: int) -> float:
    """The wait before status check number `polls` (1 = the first)."""
    return min(settings.poll_initial_s * (POLL_GROWTH ** max(0, polls - 1)), settings.poll_max_s)


def provider_retry_delay_s(settings: Settings, tries: int, retry_after_s: float | None) -> float:
    """The wait before trying a provider call again after its `tries`-th transient fault."""
    delay = retry_after_s if retry_after_s is not None else poll_delay_s(settings, tries)
    return min(max(delay, 0.0), MAX_RETRY_AFTER_S)


def delivery_delay_s(settings: Settings, tries: int) -> float:
    """The wait before posting a finished take again after the chat refused it `tries` times."""
    return min(max(settings.poll_initial_s, MIN_DELIVERY_WAIT_S) * 2.0 ** tries, MAX_DELIVERY_WAIT_S)
