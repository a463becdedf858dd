"""Questions: @mentions in channels (answered in a thread), DMs, and /ask (ephemeral, shareable)."""
from __future__ import annotations

import logging

from slack_bolt import App

from bot.app import Deps
from bot.blocks import APOLOGY, answer_blocks, answer_text
from bot.mrkdwn import strip_mentions
from knowledge.answer import Answer

log = logging.getLogger("bot.questions")
HOW_TO_ASK = "Ask me anything about our playbooks, products or competitors, e.g. `/ask how do we handle the price objection vs acme`."


def ask(deps: Deps, question: str, surface: str, user: str | None, channel: str | None, thread_ts: str | None = None) -> tuple[int, Answer]:
    """Store the question first, then answer it; on failure the stored question is marked as an error."""
    qid = deps.state.record_question(question, surface, user, channel, thread_ts)
    try:
        answer = deps.kb.ask(question)
    except Exception as exc:
        deps.state.record_outcome(qid, "error", f"{type(exc).__name__}: {exc}")
        raise
    deps.state.record_answer(qid, answer)
    if not answer.answered:
        deps.gaps.add(qid)
    return qid, answer


def register(app: App, deps: Deps) -> None:
    def reply_in(client, channel: str, thread_ts: str | None, event: dict, surface: str, body: dict) -> None:
        if not deps.state.first_time(body.get("event_id") or f"{channel}:{event.get('ts')}"):
            return  # Slack retried an event we already answered
        question = strip_mentions(event.get("text") or "")
        if not question:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=HOW_TO_ASK)
            return
        try:
            qid, answer = ask(deps, question, surface, event.get("user"), channel, thread_ts)
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=answer_text(answer), blocks=answer_blocks(deps.kb, answer, qid), unfurl_links=False)
        except Exception:
            log.exception("Answering a %s failed", surface)
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=APOLOGY)

    @app.event("app_mention")
    def on_mention(event, client, body):
        reply_in(client, event["channel"], event.get("thread_ts") or event["ts"], event, "mention", body)

    @app.event("message")
    def on_message(event, client, body):
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return  # edits, joins and our own posts are not questions
        reply_in(client, event["channel"], event.get("thread_ts"), event, "dm", body)

    @app.command("/ask")
    def on_ask(ack, command, respond):
        question = " ".join((command.get("text") or "").split())
        if not question:
            ack(text=HOW_TO_ASK)
            return
        ack()  # within Slack's 3 seconds; the search and the reply follow through response_url
        try:
            qid, answer = ask(deps, question, "ask", command.get("user_id"), command.get("channel_id"))
            respond(response_type="ephemeral", text=answer_text(answer), blocks=answer_blocks(deps.kb, answer, qid, shareable=True))
        except Exception:
            log.exception("Answering /ask failed")
            respond(response_type="ephemeral", text=APOLOGY)
