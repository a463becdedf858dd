"""`kb digest`: the weekly digest printed, posted to Slack, or posted every week on a schedule."""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from knowledge.config import Settings
from knowledge.digest import STALE_DAYS, WEEKDAYS, compute, period_key, render_text, weekday
from knowledge.errors import KnowledgeError

TOKEN_HELP = "copy the Bot User OAuth Token (xoxb-...) on your app's OAuth & Permissions page at https://api.slack.com/apps"


class DigestConfigError(ValueError):
    """A digest setting is malformed; the message names the variable."""


@dataclass(frozen=True)
class DigestSettings:
    """The digest's own settings (KB_DIGEST_*), read once at the edge; KB_STALE_DAYS and KB_RETENTION_DAYS are in Settings."""

    channels: tuple[str, ...] = ()
    day: str = "mon"
    hour: int = 9
    tz: ZoneInfo = ZoneInfo("UTC")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "DigestSettings":
        env = {k: v.strip() for k, v in environ.items() if v.strip()}
        values: dict = {}
        if "KB_DIGEST_CHANNELS" in env:
            values["channels"] = tuple(c.strip() for c in env["KB_DIGEST_CHANNELS"].split(",") if c.strip())
        if "KB_DIGEST_DAY" in env:
            try:
                values["day"] = WEEKDAYS[weekday(env["KB_DIGEST_DAY"])]
            except ValueError as exc:
                raise DigestConfigError(f"KB_DIGEST_DAY: {exc}") from None
        if "KB_DIGEST_HOUR" in env:
            values["hour"] = _whole(env, "KB_DIGEST_HOUR", 0, 23)
        if "KB_DIGEST_TZ" in env:
            try:
                values["tz"] = ZoneInfo(env["KB_DIGEST_TZ"])
            except (ZoneInfoNotFoundError, ValueError):
                raise DigestConfigError(f"KB_DIGEST_TZ: unknown time zone {env['KB_DIGEST_TZ']!r} (use an IANA name such as Europe/Berlin)") from None
        return cls(**values)


def _whole(env: Mapping[str, str], var: str, low: int, high: int | None) -> int:
    value = env[var]
    if not re.fullmatch(r"\d+", value) or int(value) < low or (high is not None and int(value) > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise DigestConfigError(f"{var} must be a whole number {bounds}, not {value!r}")
    return int(value)


def parse_length(ctx, param, value: str) -> timedelta:
    """'7d' -> 7 days, '2w' -> 14 days."""
    match = re.fullmatch(r"\s*(\d+)\s*([dw])\s*", value or "", re.IGNORECASE)
    if not match or int(match.group(1)) == 0:
        raise click.BadParameter(f"{value!r} is not a period: use Nd or Nw, e.g. 7d or 2w")
    n, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(days=n * (7 if unit == "w" else 1))


def _client(settings: Settings):
    from slack_sdk import WebClient

    if not settings.slack_bot_token:
        raise click.ClickException(f"SLACK_BOT_TOKEN is not set: {TOKEN_HELP}")
    base_url = (settings.slack_api_url or WebClient.BASE_URL).rstrip("/") + "/"
    return WebClient(token=settings.slack_bot_token, base_url=base_url)


@click.command("digest")
@click.option("--since", "length", default="7d", show_default=True, callback=parse_length, help="The period: the last N days (7d) or weeks (2w).")
@click.option("--post", is_flag=True, help="Post to Slack (with a chart) instead of printing.")
@click.option("--channel", "channels", multiple=True, help="A channel id to post to; repeat for several [env KB_DIGEST_CHANNELS].")
@click.option("--schedule", is_flag=True, help="Run forever, posting every KB_DIGEST_DAY at KB_DIGEST_HOUR in KB_DIGEST_TZ.")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index directory [env KB_INDEX_DIR; default index/].")
@click.option("--state-db", type=click.Path(path_type=Path), help="The SQLite state DB [env KB_STATE_DB; default state.db; DATABASE_URL overrides it].")
@click.option("--base-url", help="Where documents live for people, for links [env KB_BASE_URL].")
@click.option("--stale-days", type=click.IntRange(min=1), help=f"A document not reviewed for this many days is stale [env KB_STALE_DAYS; default {STALE_DAYS}].")
@click.pass_context
def digest_command(ctx, length, post, channels, schedule, index_dir, state_db, base_url, stale_days):
    """Questions, answer rate, feedback, expert answers, top gaps, busiest, stale and changed documents, drafts waiting."""
    from knowledge.answer import KnowledgeBase
    from knowledge.index import LiveIndex
    from knowledge.state import open_state

    root = ctx.find_root().obj
    settings = (root if isinstance(root, Settings) else Settings.from_env()).with_overrides(
        index_dir=index_dir, state_db=state_db, base_url=base_url, stale_days=stale_days)
    try:
        config = DigestSettings.from_env()
    except DigestConfigError as exc:
        raise click.ClickException(str(exc)) from None
    channels = tuple(channels) or config.channels
    if (post or schedule) and not channels:
        raise click.ClickException("no channel to post to: pass --channel C0123ABCD (or set KB_DIGEST_CHANNELS)")
    client = _client(settings) if post or schedule else None
    if not schedule and not settings.database_url and not Path(settings.state_db).exists():
        raise click.ClickException(f"no state DB at {settings.state_db} (point KB_STATE_DB or --state-db at the bot's)")
    try:
        state = open_state(settings)
        index = LiveIndex(settings.index_dir)
        kb = KnowledgeBase(index, embedder=None, base_url=settings.base_url)  # for links only: no model
        if schedule:
            _run_schedule(client, state, kb, config, channels, length, settings.stale_days, settings.retention_days)
            return
        until = datetime.now(config.tz)
        digest = compute(state, index.get(), until - length, until, settings.stale_days)
        if not post:
            click.echo(render_text(digest), nl=False)
            return
        _post(client, state, kb, digest, channels, period_key(until, config.tz))
    except KnowledgeError as exc:
        raise click.ClickException(str(exc)) from None


def _post(client, state, kb, digest, channels, period: str) -> None:
    from bot.digest_post import DigestPostError, post_digest

    try:
        posted = post_digest(client, state, digest, channels, period, kb)
    except DigestPostError as exc:
        if exc.posted:
            click.echo(f"Posted the {period} digest to {', '.join(exc.posted)}.")
        raise click.ClickException(f"{exc}; run again to retry") from None
    if posted:
        click.echo(f"Posted the {period} digest to {', '.join(posted)}.")
    skipped = [c for c in channels if c not in posted]
    if skipped:
        click.echo(f"The {period} digest was already posted to {', '.join(skipped)}: not posted again.")


def _run_schedule(client, state, kb, config: DigestSettings, channels, length, stale_days, retention_days) -> None:
    from bot.digest_post import DigestSchedule

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    schedule = DigestSchedule(
        client, state, kb.index, channels, day=config.day, hour=config.hour, tz=config.tz, length=length,
        stale_days=stale_days, retention_days=retention_days, kb=kb,
    )
    click.echo(f"Digest scheduled every {config.day} at {config.hour:02d}:00 {config.tz.key} for {', '.join(channels)}", err=True)
    schedule.run_forever()
