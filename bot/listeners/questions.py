"""Questions: @mentions in channels (answered in a thread), DMs, and /ask (ephemeral, shareable)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Callable

from slack_bolt import App

from bot.app import Deps
from bot.blocks import APOLOGY, answer_blocks, answer_text
from bot.mrkdwn import strip_mentions
from bot.work import SWAMPED
from knowledge.answer import Answer
from knowledge.state import Question

log = logging.getLogger("bot.questions")
HOW_TO_ASK = "Ask me anything about our playbooks, products or competitors, e.g. `/ask how do we handle the price objection vs acme`."
NOT_SEARCHED = "not searched: the work backlog, or the asker's share of it, was full"


def earlier_question(deps: Deps, qid: int | None, surface: str, user: str | None, channel: str | None,
                     thread_ts: str | None) -> Question | None:
    """What this question may follow up on: the last question in its thread (a mention in the bot's
    thread), or the same rep's last DM within `followup_minutes`. None elsewhere (/ask has no conversation)."""
    if qid is None or not channel:
        return None
    try:
        if surface == "mention" and thread_ts:
            return deps.state.earlier_question(qid, channel, thread_ts=thread_ts)
        if surface == "dm" and user:
            since = datetime.now(timezone.utc) - timedelta(minutes=deps.settings.followup_minutes)
            return deps.state.earlier_question(qid, channel, user_id=user, since=since.isoformat(timespec="seconds"))
    except Exception:  # without the conversation the question is still answered, on its own
        log.exception("Could not read the conversation before question %s", qid)
    return None


def context_of(deps: Deps, earlier: Question | None) -> str | None:
    """The text a follow-up is searched with: the earlier question, itself with its own context if it had one."""
    if earlier is None or not earlier.question:
        return None
    before = deps.state.question(earlier.follows) if earlier.follows else None
    return f"{before.question} {earlier.question}" if before and before.question else earlier.question


def answer(deps: Deps, qid: int | None, question: str, earlier: Question | None = None) -> Answer:
    """Search for a question (in its conversation) and record the result; on failure it is marked as an error.

    `qid` None: the question could not be stored (the state DB is down); it is answered all the same.
    """
    try:
        found = deps.kb.ask(question, earlier=context_of(deps, earlier))
    except Exception as exc:
        if qid is not None:
            deps.state.record_outcome(qid, "error", f"{type(exc).__name__}: {exc}")
        raise
    if qid is None:
        return found
    try:
        deps.state.record_answer(qid, found)
        if found.follows and earlier is not None:
            deps.state.record_follows(qid, earlier.id)
        if not found.answered:
            deps.gaps.add(qid)
    except Exception:  # the rep still gets the answer; the log says what was not recorded
        log.exception("The answer to question %s was not recorded (sending it anyway): %r", qid, question)
    return found


def answer_with(deps: Deps, qid: int | None, question: str, send: Callable[..., object], surface: str,
                asked: tuple[str | None, str | None, str | None] = (None, None, None), **blocks_kw) -> None:
    """The slow part, after the ack: search, then `send` the answer, or an apology if anything failed.

    `asked` is (user, channel, thread ts): where the question was asked, to find what it follows up on.
    """
    try:
        found = answer(deps, qid, question, earlier_question(deps, qid, surface, *asked))
        expert = bool(deps.settings.experts_channel)
        send(text=answer_text(found), blocks=answer_blocks(deps.kb, found, qid, expert=expert, **blocks_kw))
    except Exception:
        log.exception("Answering a %s failed", surface)
        send(text=APOLOGY)


def later(deps: Deps, qid: int | None, question: str, send: Callable[..., object], surface: str, tell_busy: bool = True,
          asker: str | None = None, **blocks_kw) -> bool:
    """Queue the answer; when the backlog (or the asker's share of it) is full, keep the question (marked) and say so politely."""
    busy = partial(send, text=SWAMPED) if tell_busy else None
    job = partial(answer_with, deps, qid, question, send, surface, **blocks_kw)
    if deps.work.later(job, busy, asker=asker):
        return True
    if qid is not None:
        deps.state.record_outcome(qid, "error", NOT_SEARCHED)
    return False


def store(deps: Deps, question: str, surface: str, user: str | None, channel: str | None, thread_ts: str | None = None) -> int | None:
    """Store a question before it is searched; None if the state DB fails: the rep is answered anyway, the log keeps it."""
    try:
        return deps.state.record_question(question, surface, user, channel, thread_ts)
    except Exception:
        log.exception("A question from %s in %s (%s) was not stored (answering it anyway): %r", user, channel, surface, question)
        return None


def first_time(deps: Deps, event_id: str) -> bool:
    """Whether an event is new; if the state DB cannot tell, answer it: a rare second answer beats silence."""
    try:
        return deps.state.first_time(event_id)
    except Exception:
        log.exception("Could not check event %s against earlier ones (answering it)", event_id)
        return True


def register(app: App, deps: Deps) -> None:
    def on_question(client, channel: str, thread_ts: str | None, event: dict, surface: str, body: dict) -> None:
        # Runs before the ack: only cheap work here (the event id, storing the question, queueing).
        post = partial(client.chat_postMessage, channel=channel, thread_ts=thread_ts, unfurl_links=False)
        question = strip_mentions(event.get("text") or "")
        if not first_time(deps, body.get("event_id") or f"{channel}:{event.get('ts')}"):
            return  # Slack retried an event we already answered
        if not question:
            deps.work.notice(partial(post, text=HOW_TO_ASK))
            return
        later(deps, store(deps, question, surface, event.get("user"), channel, thread_ts), question, post, surface,
              asker=event.get("user"), asked=(event.get("user"), channel, event.get("thread_ts")))

    @app.event("app_mention")
    def on_mention(event, client, body):
        if event.get("channel"):
            on_question(client, event["channel"], event.get("thread_ts") or event.get("ts"), event, "mention", body)

    # Only DMs here: messages in channels (the experts' thread replies) belong to bot.listeners.experts.
    @app.event("message", matchers=[lambda event: event.get("channel_type") == "im"])
    def on_message(event, client, body):
        if event.get("subtype") or event.get("bot_id") or not event.get("channel"):
            return  # edits, joins and our own posts are not questions
        on_question(client, event["channel"], event.get("thread_ts"), event, "dm", body)

    @app.command("/ask")
    def on_ask(ack, command, respond):
        question = " ".join((command.get("text") or "").split())
        if not question:
            ack(text=HOW_TO_ASK)
            return
        qid = store(deps, question, "ask", command.get("user_id"), command.get("channel_id"))
        reply = partial(respond, response_type="ephemeral")
        # The swamped notice rides on the ack itself: no Web API call, no queue.
        if later(deps, qid, question, reply, "/ask", tell_busy=False, asker=command.get("user_id"), shareable=True):
            ack()
        else:
            ack(text=SWAMPED)
