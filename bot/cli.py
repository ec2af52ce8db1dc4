"""The `dailies` command: try, serve, socket, worker, export, doctor, qc, master.

Each command imports what it needs inside itself: Bolt, rq, Redis and the provider table cost start-up
time that `dailies qc` (measured against ffmpeg's own meter, see benchmarks/) and `--help` do not need.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli_audio import master, qc
from jobs.infra.errors import ConfigError
from jobs.infra.logs import configure_logging

if TYPE_CHECKING:
    from jobs.infra.settings import Settings

# Commands that read only the file they are given (no Slack, Redis or provider): no settings to load for them,
# which keeps `dailies qc` quick to start (it is measured against a bare ffmpeg decode, see benchmarks/).
FILE_ONLY_COMMANDS = frozenset({"qc", "master"})

SAMPLE_BRIEF = (
    "Neon alley at night, slow push-in on a woman with a red umbrella.\n"
    "Sound: rain drumming on metal awnings, distant traffic hiss, low room tone\n"
    "Music: sparse melancholic synth pad\n"
    'Dialogue: WOMAN: "Not tonight."\n'
    "x3 6s 16:9 --seed 7"
)


def _settings() -> Settings:
    from jobs.infra.settings import load_settings

    try:
        return load_settings()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _require(settings: Settings, *names: str) -> None:
    try:
        settings.require(*names)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _require_slack_token(settings: Settings) -> None:
    """One workspace with SLACK_BOT_TOKEN, or many installed by OAuth (SLACK_CLIENT_ID + SLACK_CLIENT_SECRET)."""
    if settings.oauth_enabled:
        return
    try:
        settings.require("slack_bot_token")
    except ConfigError as error:
        raise click.ClickException(f"{error} Or, to install in several workspaces, set SLACK_CLIENT_ID and "
                                   "SLACK_CLIENT_SECRET.") from None


def _require_redis(settings: Settings) -> None:
    """Stop with one line naming REDIS_URL when Redis cannot be reached (no traceback)."""
    from jobs.infra.faults import redis_problem

    problem = redis_problem(settings)
    if problem:
        raise click.ClickException(problem)


def _require_sealed_tokens(settings: Settings) -> None:
    """Installed by OAuth, tokens are kept sealed: a key is needed, and it must open every stored record."""
    if not settings.oauth_enabled:
        return
    from bot.slack.installations import installation_store, unopenable_workspaces
    from jobs.infra.redis_client import connect

    try:
        store = installation_store(settings, connect(settings))
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    broken = unopenable_workspaces(store)
    if broken:
        raise click.ClickException(
            f"DAILIES_SECRET_KEYS cannot open the installation of {', '.join(broken[:5])}"
            f"{' and others' if len(broken) > 5 else ''}: add the key those tokens were sealed with (after the new "
            "one), or reinstall those workspaces")


@click.group()
@click.version_option(package_name="dailies")
@click.option("--log-level", default="INFO", show_default=True, help="Python logging level.")
def main(log_level: str) -> None:
    """Dailies: briefs in Slack become AI video takes with measured sound."""
    if click.get_current_context().invoked_subcommand in FILE_ONLY_COMMANDS:
        configure_logging(log_level, [], "text")  # no secrets are loaded, so none to keep out of the log
        return
    from jobs.infra.settings import load_settings

    try:
        settings = load_settings()
        secrets, log_format = settings.secret_values(), settings.log_format
    except ConfigError:
        secrets, log_format = [], "text"
    configure_logging(log_level, secrets, log_format)


@main.command("try")
@click.argument("brief", required=False)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("takes"), show_default=True)
@click.option("--frame", "frames", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A reference frame (PNG, JPEG or WebP) to start from; give it twice for first and last.")
def try_command(brief: str | None, out_dir: Path, frames: tuple[Path, ...]) -> None:
    """Render BRIEF (default: a sample brief) on the configured model, with no Slack and no Redis."""
    from jobs.domain.brief import BriefError
    from jobs.pipeline.console import run_try, takes_table

    settings = _settings()
    try:
        takes = run_try(brief or SAMPLE_BRIEF, out_dir, settings, frames=list(frames))
    except BriefError as error:
        raise click.ClickException(error.reply) from None
    click.echo("")
    click.echo(takes_table(takes))
    if any(t.state.value != "posted" for t in takes):
        sys.exit(1)


@main.command()
@click.option("--port", type=int, default=3000, show_default=True)
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes")
def serve(port: int, host: str, workers: int) -> None:
    """Run the Slack app over HTTP (events, actions, commands at /slack/events) under gunicorn."""
    settings = _settings()
    _require_slack_token(settings)
    _require(settings, "slack_signing_secret")
    _require_redis(settings)
    _require_sealed_tokens(settings)
    level = logging.getLevelName(logging.getLogger().level)
    # gevent has to patch before anything imports ssl names: gunicorn runs in a fresh interpreter that does so
    # first (bot/serve_gevent.py), in this same process.
    os.execv(sys.executable, [sys.executable, "-m", "bot.serve_gevent", host, str(port), str(workers), level])


@main.command()
def socket() -> None:
    """Run the Slack app in Socket Mode (no public URL needed)."""
    settings = _settings()
    _require(settings, "slack_bot_token", "slack_app_token")
    _require_redis(settings)
    from bot.app import build_app
    from bot.socket_mode import BoundSocketModeHandler

    app = build_app(settings)
    BoundSocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()  # type: ignore[union-attr]


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--processes", type=click.IntRange(1, 64), default=None,
              help="Worker processes under rq's WorkerPool, one of them running the scheduler "
                   f"[default: the number of CPUs, {os.cpu_count() or 1}].")
def worker(burst: bool, processes: int | None) -> None:
    """Run rq workers (with the scheduler) for the take pipeline: takes are fetched, checked and posted in parallel."""
    processes = processes or os.cpu_count() or 1
    settings = _settings()
    _require_slack_token(settings)
    _require_redis(settings)
    _require_sealed_tokens(settings)
    from bot.worker import run_pool, run_worker

    if processes > 1:
        run_pool(settings, processes, burst=burst)
    else:
        run_worker(settings, burst=burst)


@main.command()
@click.option("--channel", required=True, help="Slack channel id")
@click.option("--thread", "thread_ts", default=None, help="Only this thread (its parent ts)")
@click.option("--json", "as_json", is_flag=True, help="JSON output")
@click.option("--spend", is_flag=True, help="Show the channel's spend (today, 7 and 30 days, by model) instead.")
@click.option("--team", default=None, help="The workspace (T…), when Dailies is installed in several by OAuth.")
def export(channel: str, thread_ts: str | None, as_json: bool, spend: bool, team: str | None) -> None:
    """Print the takes recorded in Redis for a channel (or one thread), or with --spend what it cost."""
    from jobs.domain.export import export_takes
    from jobs.domain.spend_report import spend_summary, summary_json
    from jobs.domain.store import RedisStore

    settings = _settings()
    _require_redis(settings)
    if spend:
        summary = spend_summary(RedisStore.open(settings, team),
                                channel, settings=settings)
        click.echo(summary_json(summary) if as_json else "\n".join([f"Spend in {channel}:", *summary.lines()]))
        return
    rows = export_takes(RedisStore.open(settings, team), channel, thread_ts)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        sound = row.get("sound") or {}
        click.echo(
            f"{row['label']:>4}  {row['model']:<10} {row['status']:<10} score {row['score']:>3}  "
            f"{sound.get('integrated_lufs', '—')} LUFS  {row['thread_ts']}"
        )


@main.command()
def doctor() -> None:
    """Check every setting and service and say exactly what is missing."""
    from bot.doctor import run_doctor

    ok = run_doctor(_settings(), click.echo)
    sys.exit(0 if ok else 1)


@main.command("new-key")
def new_key() -> None:
    """Print a new key for DAILIES_SECRET_KEYS (put it first to rotate, then run `dailies rotate-keys`)."""
    from jobs.infra.sealing import Sealer

    click.echo(Sealer.new_key())


@main.command("rotate-keys")
def rotate_keys() -> None:
    """Re-seal every stored token with the first key of DAILIES_SECRET_KEYS (older keys may then be dropped)."""
    from bot.slack.installations import installation_store
    from jobs.infra.redis_client import connect

    settings = _settings()
    _require_redis(settings)
    try:
        store = installation_store(settings, connect(settings))
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    changed, broken = store.reseal_all()
    click.echo(f"re-sealed {changed} record(s) with the first key of DAILIES_SECRET_KEYS")
    if broken:
        raise click.ClickException(f"{len(broken)} record(s) no key opens (e.g. {broken[0]}): add the key they were "
                                   "sealed with and run rotate-keys again")


main.add_command(qc)
main.add_command(master)


def run() -> None:
    logging.captureWarnings(True)
    main()


if __name__ == "__main__":
    run()
