"""The weekly digest in Slack: Block Kit for it, posting it once per week and channel, and the schedule."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks import MAX_BLOCKS, context, section
from bot.mrkdwn import SECTION_LIMIT, escape, link
from knowledge.answer import KnowledgeBase
from knowledge.digest import (
    Digest, change_summary, chart_png, compute, gap_text, last_run, length_label, next_run, percent,
    period_key, period_label,
)
from knowledge.index import LiveIndex
from knowledge.state import StateDB
from knowledge.text import trim

log = logging.getLogger("bot.digest")
LIST_LINES = 10  # per list: a digest is read in a minute, the rest is one `kb digest` away
GAP_ECHO_CHARS = 150
CATCH_UP = timedelta(hours=23)  # a slot missed by a restart or a deploy is still posted, late
RETRY = timedelta(minutes=15)  # after a failed post, within the catch-up window
MAX_SLEEP = 3600.0  # wake hourly to re-read the clock (a suspended host, a changed clock)


class DigestPostError(Exception):
    """Some channels could not be posted to; their claims were released so a later run tries again."""

    def __init__(self, posted: list[str], failed: dict[str, str]):
        self.posted, self.failed = posted, failed
        super().__init__("could not post the digest to " + ", ".join(f"{c} ({why})" for c, why in failed.items()))


def _doc_link(kb: KnowledgeBase | None, path: str, url: str | None, title: str) -> str:
    if not url and kb is not None and kb.base_url:
        url = f"{kb.base_url}/{path}"
    return link(url or path, title)


def list_section(title: str, lines: list[str], empty: str) -> dict:
    """A titled bullet list cut to LIST_LINES and to a section's 3,000 characters, saying how many were left out."""
    if not lines:
        return section(f"{title}\n_{empty}_")
    text = title
    for n, line in enumerate(lines):
        more = f"\n…and {len(lines) - n} more"
        if n == LIST_LINES or len(text) + len(line) + 3 + len(more) > SECTION_LIMIT:
            return section(text + more)
        text += f"\n• {line}"
    return section(text)


def _field(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def digest_blocks(digest: Digest, kb: KnowledgeBase | None = None) -> list[dict]:
    """The digest as Block Kit: figures with their change, top gaps, busiest, stale and changed documents."""
    now = digest.current
    q_change, rate_change = change_summary(digest)
    title = "Weekly knowledge base digest" if digest.length == timedelta(days=7) else f"Knowledge base digest: {length_label(digest)}"
    gaps = [f"{g.count}× {escape(trim(gap_text(g), GAP_ECHO_CHARS))}" for g in digest.top_gaps]
    used = [f"{d.count}× {_doc_link(kb, d.path, d.url, d.title)}" for d in digest.top_documents]
    stale = [
        f"{_doc_link(kb, d.path, d.url, d.title)}: {escape(d.owner or 'no owner')}, "
        + (f"last reviewed {d.last_reviewed} ({digest.reviewed_days_ago(d)} days ago)" if d.last_reviewed else "never reviewed")
        for d in digest.stale
    ]
    changed = [f"{c.change}: {_doc_link(kb, c.path, c.url, c.title)}" for c in digest.changes]
    drafts = [f"{escape(d.title)} (`{escape(d.path)}`)" for d in digest.drafts]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}},
        context(f"{period_label(digest)} · changes compared with the {length_label(digest)} before"),
        {
            "type": "section",
            "fields": [
                _field(f"*Questions asked*\n{now.questions}  ({q_change})"),
                _field(f"*Answer rate*\n{percent(now.answer_rate)}  ({rate_change})"),
                _field(f"*Answered · gaps*\n{now.answered} answered · {now.gaps} gaps"),
                _field(f"*Feedback*\n👍 {now.helpful} helpful · 👎 {now.not_helpful} not helpful"),
                _field(f"*Answered by experts*\n{now.expert_answered}  (vs {digest.previous.expert_answered})"),
                _field(f"*Drafts waiting*\n{len(digest.drafts)}"),
            ],
        },
        {"type": "divider"},
        list_section("*Top open gaps*", gaps, "No open gaps."),
        list_section("*Documents that answered most*", used, "No answered questions in this period."),
        list_section(f"*Stale documents* (not reviewed for {digest.stale_days}+ days)", stale, "None: every document was reviewed recently."),
        list_section("*New and changed documents*", changed, "No document was added or changed."),
        list_section("*Drafts waiting to be published*", drafts, "None: every saved draft is published or discarded."),
    ]
    return blocks[:MAX_BLOCKS]


def digest_text(digest: Digest) -> str:
    """The notification/fallback text of the digest message."""
    return f"Knowledge base digest: {digest.current.questions} questions, {percent(digest.current.answer_rate)} answered"


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc)
    return f"{type(exc).__name__}: {exc}"


def post_digest(client: WebClient, state: StateDB, digest: Digest, channels: list[str] | tuple[str, ...], period: str,
                kb: KnowledgeBase | None = None) -> list[str]:
    """Post `digest` with its chart to each channel that has not had `period`'s; returns the channels posted to.

    A channel is claimed before the post and released if the post fails, so two runs (or two clocks)
    never post the same week twice, and a failure is retried by the next run. Raises DigestPostError
    after trying every channel if any failed.
    """
    blocks, text = digest_blocks(digest, kb), digest_text(digest)
    posted: list[str] = []
    failed: dict[str, str] = {}
    chart: bytes | None = None
    for channel in channels:
        if not state.claim_digest(period, channel):
            continue
        try:
            client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
        except (SlackClientError, OSError) as exc:
            state.release_digest(period, channel)
            failed[channel] = _reason(exc)  # raised below, after the other channels had their turn
            continue
        posted.append(channel)
        chart = chart or chart_png(digest)
        try:
            client.files_upload_v2(channel=channel, content=chart, filename=f"kb-digest-{period}.png",
                                   title=f"Questions and answer rate per day, {period}")
        except (SlackClientError, OSError) as exc:
            # The message is out, so the claim stays: a second digest would be worse than a missing chart.
            log.warning("The %s digest went to %s without its chart (%s; does the app have files:write?)", period, channel, _reason(exc))
    if failed:
        raise DigestPostError(posted, failed)
    return posted


@dataclass
class DigestSchedule:
    """Posts the digest every week at `day` `hour`:00 in `tz`, and applies the retention period."""

    client: WebClient
    state: StateDB
    index: LiveIndex
    channels: tuple[str, ...]
    day: str = "mon"
    hour: int = 9
    tz: tzinfo = timezone.utc
    length: timedelta = timedelta(days=7)
    stale_days: int = 180
    retention_days: int | None = None
    kb: KnowledgeBase | None = None

    def post(self, until: datetime) -> list[str]:
        """The digest of the period ending at `until`, posted where it has not been yet."""
        until = until.astimezone(self.tz)
        digest = compute(self.state, self.index.get(), until - self.length, until, self.stale_days)
        return post_digest(self.client, self.state, digest, self.channels, period_key(until, self.tz), self.kb)

    def tick(self, now: datetime) -> datetime:
        """One pass: retention, then the latest slot's digest if it is owed; returns when to wake next."""
        if self.retention_days:
            self.state.forget_old_questions(self.retention_days)
        wake = next_run(now, self.day, self.hour, self.tz)
        slot = last_run(now, self.day, self.hour, self.tz)
        if now - slot >= CATCH_UP:
            return wake
        try:
            posted = self.post(slot)
        except Exception:  # a daemon must outlive one bad week: logged with its traceback, retried soon
            log.exception("The digest for %s failed; retrying in %s", period_key(slot, self.tz), RETRY)
            return min(wake, now + RETRY)
        if posted:
            log.info("Posted the %s digest to %s", period_key(slot, self.tz), ", ".join(posted))
        return wake

    def run_forever(self, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                    sleep: Callable[[float], None] = time.sleep) -> None:
        """tick(), then sleep until the time it returns; never returns."""
        while True:
            wake = self.tick(clock())
            log.info("Next digest at %s", wake.isoformat())
            while True:  # at least a second a round, so a clock that runs early cannot spin the loop
                left = (wake - clock()).total_seconds()
                sleep(min(max(left, 1.0), MAX_SLEEP))
                if left <= MAX_SLEEP:
                    break
