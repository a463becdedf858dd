"""Sending the DMs owed to reps whose gap was answered (the outbox lives in the state DB)."""
from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.gap_views import answered_dm_blocks
from bot.slack_errors import may_pass
from knowledge.answer import KnowledgeBase
from knowledge.gaps import Gaps

log = logging.getLogger("bot.notify")


def send_pending(client: WebClient, gaps: Gaps, kb: KnowledgeBase) -> int:
    """DM every rep who is owed one; a refusal that will not pass is recorded, a rate limit, Slack's own
    trouble or a network error retried next time.

    Each DM is claimed first, so several bot processes sharing the state never send one twice.
    """
    sent, settled = 0, set()
    claimed = gaps.claim()
    try:
        for note in claimed:
            try:
                answer = kb.ask(note.question) if note.question else None
                channel = client.conversations_open(users=note.user_id)["channel"]["id"]
                client.chat_postMessage(
                    channel=channel, text="The knowledge base can now answer a question you asked",
                    blocks=answered_dm_blocks(kb, note, answer), unfurl_links=False,
                )
            except SlackApiError as exc:
                error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
                if may_pass(exc):  # a rate limit or Slack's own trouble: released below, the next pass retries
                    log.warning("Could not DM %s about gap %s (%s); trying again on the next pass", note.user_id, note.gap_id, error)
                    continue
                log.warning("Could not DM %s about gap %s: %s", note.user_id, note.gap_id, error)
                gaps.mark_sent(note.id, error=error)
                settled.add(note.id)
                continue
            gaps.mark_sent(note.id)
            settled.add(note.id)
            sent += 1
    finally:
        for note in claimed:  # not sent (e.g. the network failed): the next pass, here or elsewhere, retries
            if note.id not in settled:
                gaps.release(note.id)
    return sent
