"""`dailies qc` and `dailies master`: the sound check and mastering from the terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from adapters.media import MediaError
from jobs.audio.targets import TARGETS, UnknownTarget, get_target

TARGET_HELP = "Delivery target: " + ", ".join(TARGETS) + "."


def _target(name: str) -> str:
    try:
        return get_target(name).key
    except UnknownTarget as error:
        raise click.BadParameter(str(error), param_hint="--target") from None


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", default="social", show_default=True, help=TARGET_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def qc(file: Path, target: str, as_json: bool) -> None:
    """Measure the sound of FILE (a take or a final mix) against a delivery target.

    Exits 1 when the verdict is fail, 0 for pass or warn.
    """
    from jobs.audio.check import check_file, report_text  # numpy: what the other commands do not need

    key = _target(target)
    try:
        report = check_file(file, key)
    except MediaError as error:
        raise click.ClickException(str(error)) from None
    click.echo(report.model_dump_json(indent=2) if as_json else report_text(report))
    sys.exit(1 if report.verdict == "fail" else 0)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", required=True, help=TARGET_HELP)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the delivery copy (.mp4/.m4a/.mov for AAC; .wav or .flac for PCM).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def master(file: Path, target: str, out: Path, as_json: bool) -> None:
    """Make a delivery copy of FILE at a target's loudness, picture copied untouched.

    Prints the measurements before and after (re-measured on the written file). Exits 1 when
    the result misses the target, 2 when the clip cannot be mastered.
    """
    from jobs.audio.check import num
    from jobs.audio.master import MasteringRefused, master_file

    key = _target(target)
    try:
        result = master_file(file, key, out)
    except MasteringRefused as error:
        click.echo(f"Not mastered: {error}", err=True)
        sys.exit(2)
    except MediaError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(result.model_dump_json(indent=2))
        sys.exit(0 if result.ok else 1)
    b, a = result.before, result.after

    def cell(value: float | None, signed: bool = False) -> str:
        return num(value, signed=signed) if value is not None else "—"

    rows = [
        ("", "before", "after", "target"),
        ("Integrated (LUFS)", cell(b.integrated_lufs), cell(a.integrated_lufs),
         f"{num(get_target(key).integrated_lufs, 0)} ±0.5"),
        ("True peak (dBTP)", cell(b.true_peak_dbtp, True), cell(a.true_peak_dbtp, True),
         f"≤ {num(get_target(key).true_peak_dbtp, 0)}"),
        ("Loudness range (LU)", cell(b.loudness_range_lu), cell(a.loudness_range_lu), ""),
        ("Max short-term (LUFS)", cell(b.max_short_term_lufs), cell(a.max_short_term_lufs), ""),
        ("Verdict", b.verdict, a.verdict, ""),
    ]
    for name, before, after, goal in rows:
        click.echo(f"{name:<22}{before:>10}{after:>10}   {goal}")
    click.echo("")
    click.echo(("OK: " if result.ok else "MISSED: ") + "; ".join(result.notes))
    click.echo(f"Wrote {result.out_path}")
    sys.exit(0 if result.ok else 1)
