"""Sending the weekly verification nudges: a DM to each owner of stale documents, listing them with links."""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks import MAX_BLOCKS, context, section
from bot.mrkdwn import SECTION_LIMIT, escape, link
from bot.slack_errors import may_pass
from knowledge.answer import KnowledgeBase
from knowledge.index import Document
from knowledge.nudges import Nudge, claim, owed, release
from knowledge.state import StateDB

log = logging.getLogger("bot.nudges")


def _line(kb: KnowledgeBase, doc: Document, today: date) -> str:
    reviewed = f"last reviewed {doc.last_reviewed} ({(today - doc.last_reviewed).days} days ago)" if doc.last_reviewed else "never reviewed"
    line = f"{link(doc.url or kb.document_link(doc.path), doc.title)} (`{escape(doc.path)}`): {reviewed}"
    if len(line) > SECTION_LIMIT - 10:  # a monstrous url: the title and path still fit
        line = f"{escape(doc.title)} (`{escape(doc.path)}`): {reviewed}"
    return line


def _packed(lines: list[str], sections: int) -> list[str]:
    """Bullet lines packed into at most `sections` texts of a section's 3,000 characters; a last one says what is left."""
    texts, current = [], ""
    for n, line in enumerate(lines):
        bullet = f"• {line}"
        if current and len(current) + 1 + len(bullet) > SECTION_LIMIT:
            texts.append(current)
            current = ""
            if len(texts) == sections - 1:
                return texts + [f"…and {len(lines) - n} more"]
        current = f"{current}\n{bullet}" if current else bullet
    return texts + [current] if current else texts


def nudge_blocks(kb: KnowledgeBase, nudge: Nudge, stale_days: int, today: date) -> list[dict]:
    """The DM: which documents the owner should review, each linked, within Block Kit's limits."""
    count = len(nudge.documents)
    intro = section(
        f"*{count} knowledge base document{'s' if count != 1 else ''} you own "
        f"{'have' if count != 1 else 'has'} not been reviewed for {stale_days}+ days.*\n"
        "Reps get answers from them every day: please check each is still right."
    )
    lines = [_line(kb, doc, today) for doc in nudge.documents]
    hint = context("When a document is checked, set `last_reviewed:` in its front matter to today's date. "
                   "You get this reminder once a week while any of your documents is stale.")
    return [intro, *(section(t) for t in _packed(lines, MAX_BLOCKS - 2)), hint]


def nudge_text(nudge: Nudge) -> str:
    """The notification (and fallback) text of the DM."""
    count = len(nudge.documents)
    return f"{count} knowledge base document{'s' if count != 1 else ''} you own need{'s' if count == 1 else ''} a review"


def send_nudges(client: WebClient, state: StateDB, kb: KnowledgeBase, stale_days: int, now: datetime | None = None) -> int:
    """DM each owner of stale documents who has not had this week's nudge; returns how many were sent.

    Each nudge is claimed in the state DB first, so several bot processes send it once between them;
    a DM that failed for a reason that may pass (the network, a rate limit) is released for the next pass.
    """
    now = now or datetime.now(timezone.utc)
    today = now.astimezone(timezone.utc).date()
    sent = 0
    for nudge in owed(state, kb.index.get().documents(), now, stale_days):
        if not claim(state, nudge, now):
            continue  # another process got there first
        try:
            channel = client.conversations_open(users=nudge.user_id)["channel"]["id"]
            client.chat_postMessage(channel=channel, text=nudge_text(nudge), blocks=nudge_blocks(kb, nudge, stale_days, today),
                                    unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if may_pass(exc):  # else it would be refused every 30 s all week: next week's nudge tries again
                release(state, nudge)
            log.warning("Could not nudge %s about %d stale document(s): %s", nudge.user_id, len(nudge.documents), error)
            continue
        except (SlackClientError, OSError) as exc:
            release(state, nudge)
            log.warning("Could not nudge %s (%s: %s); trying again on the next pass", nudge.user_id, type(exc).__name__, exc)
            continue
        except BaseException:
            release(state, nudge)
            raise
        sent += 1
    return sent
