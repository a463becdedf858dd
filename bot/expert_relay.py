"""Bringing an expert's answer back to the rep: at once when it arrives, and from the watcher when that failed.

The answer is stored first (knowledge.experts), so a relay that fails loses nothing: a rate limit, Slack's
own trouble or the network leave it owed, and the next watcher pass (here or in another process) delivers
it; a refusal that will not pass (channel_not_found, is_archived, user_not_found…) is recorded and not
tried again. Whoever relays holds the request's claim, so several bot processes never relay one twice.
"""
from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.expert_views import expert_post_done, relay_blocks, relay_closed_blocks
from bot.slack_errors import may_pass
from knowledge.experts import ExpertRequest, Experts

log = logging.getLogger("bot.experts")
BATCH = 50  # relays a watcher pass claims at most; the rest wait for the next pass


def relay_message(request: ExpertRequest) -> tuple[str, list[dict]]:
    """What goes back to the rep: the expert's reply, or the note that an expert marked the question answered."""
    question = request.question or "your question"  # its text is gone after the retention period
    if request.status == "closed":
        return "An expert marked your question answered", relay_closed_blocks(question, request.answered_by or "")
    return "An expert answered your question", relay_blocks(question, request.answered_by or "", request.answer or "")


def post(client: WebClient, request: ExpertRequest) -> None:
    """Post to the rep where they asked: their thread, their DM, or (a private /ask) a DM to them."""
    target = request.relay_channel
    if target.startswith(("U", "W")):
        target = client.conversations_open(users=target)["channel"]["id"]
    text, blocks = relay_message(request)
    client.chat_postMessage(channel=target, thread_ts=request.relay_thread_ts, text=text, blocks=blocks, unfurl_links=False)


def deliver(client: WebClient, experts: Experts, request: ExpertRequest) -> str:
    """Relay a request whose claim the caller holds, and settle it: "delivered", "owed" (a later pass
    retries it) or "refused" (for good)."""
    try:
        post(client, request)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if may_pass(exc):
            experts.release_relay(request.id)
            log.warning("Could not relay expert request %s to %s (%s); trying again on the next pass",
                        request.id, request.relay_channel, error)
        else:
            experts.relayed(request.id, error=error)
            log.warning("Slack refused the relay of expert request %s to %s: %s; the answer stays on its gap",
                        request.id, request.relay_channel, error)
            return "refused"
        return "owed"
    except (SlackClientError, OSError) as exc:
        experts.release_relay(request.id)
        log.warning("Could not relay expert request %s to %s (%s: %s); trying again on the next pass",
                    request.id, request.relay_channel, type(exc).__name__, exc)
        return "owed"
    except BaseException:
        experts.release_relay(request.id)
        raise
    experts.relayed(request.id)
    return "delivered"


def relay_owed(client: WebClient, experts: Experts, limit: int = BATCH) -> int:
    """Relay the answers still owed to reps (at most `limit` a pass); returns how many reached them."""
    claimed, done, sent = experts.claim_relays(limit), 0, 0
    try:
        for request in claimed:
            if deliver(client, experts, request) == "delivered":
                sent += 1
                mark_delivered(client, request)
            done += 1
    finally:
        for request in claimed[done + 1:]:  # not tried (the one that raised gave itself back): the next pass
            experts.release_relay(request.id)
    return sent


def mark_delivered(client: WebClient, request: ExpertRequest) -> None:
    """The experts' post said the relay would follow: now it says it went. Failing that changes nothing owed."""
    if not request.ts:
        return
    blocks = expert_post_done(request.question or "your question", request.asked_by, request.answered_by or "",
                              request.status == "answered", "delivered")
    try:
        client.chat_update(channel=request.channel, ts=request.ts, text="Answered", blocks=blocks)
    except (SlackClientError, OSError) as exc:  # SlackApiError included
        log.warning("Could not update the experts' post for request %s: %s", request.id, exc)
