"""Ask an expert: a question goes to the experts' channel; the first reply there goes back to the rep.

The post's thread is the conversation: the first reply in it (from a person) is kept on the question's gap
and relayed to the rep, in their thread or DM (bot.expert_relay: a relay that fails stays owed, and the
watcher delivers it). *Mark answered* closes the request without a reply.
The bot hears thread replies through `message.channels` (`message.groups` for a private channel), so
every channel message reaches this module; all but replies in the experts' threads are ignored.
"""
from __future__ import annotations

import logging
from functools import partial

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.app import Deps
from bot.expert_relay import deliver
from bot.expert_views import expert_post, expert_post_done
from bot.listeners.questions import context_of, first_time
from bot.payloads import on_click
from knowledge.experts import Experts

log = logging.getLogger("bot.experts")
GONE = "I no longer have that question; please ask it again."
NOT_SET_UP = "Asking an expert is not set up in this workspace yet; the enablement team can turn it on."
REPLIES = (None, "thread_broadcast", "file_share")  # message subtypes that are a person's reply


def private(respond, text: str) -> None:
    respond(replace_original=False, response_type="ephemeral", text=text)


def register(app: App, deps: Deps) -> None:
    experts = Experts(deps.state, deps.gaps)
    channel = deps.settings.experts_channel

    def send_to_experts(qid: int, user: str, respond) -> None:
        if not channel:  # a button from before KB_EXPERTS_CHANNEL was unset
            private(respond, NOT_SET_UP)
            return
        stored = deps.state.question(qid)
        if stored is None or not stored.question:
            private(respond, GONE)
            return
        if stored.surface == "mention" and stored.channel_id:
            where = (stored.channel_id, stored.thread_ts)  # back into the thread everyone saw
        elif stored.surface == "dm" and stored.channel_id:
            where = (stored.channel_id, None)
        else:
            where = (user, None)  # a private /ask answer: a DM to whoever asked for the expert
        earlier = deps.state.question(stored.follows) if stored.follows else None
        closest = deps.kb.ask(stored.question, earlier=context_of(deps, earlier))  # before the request: a failure here opens none
        request = experts.open(qid, user, *where, channel)
        if request is None:
            done = experts.for_question(qid)
            status = "an expert has answered it" if done and done.status != "open" else "the experts have it"
            private(respond, f"This question was already sent to the experts ({status}).")
            return
        try:
            posted = app.client.chat_postMessage(
                channel=channel, text=f"A question for the experts from <@{user}>",
                blocks=expert_post(deps.kb, request.id, user, closest, request.gap_id), unfurl_links=False,
            )
        except Exception as exc:  # Slack refused it, or never answered (the network): either way nothing was posted
            experts.withdraw(request.id)  # so the rep may try again, instead of hearing "the experts have it"
            reason = exc.response.get("error") if isinstance(exc, SlackApiError) else f"{type(exc).__name__}: {exc}"
            log.warning("Could not post question %s to the experts' channel %s: %s", qid, channel, reason)
            private(respond, "Sorry, I couldn't reach the experts' channel. Please try again, or tell the enablement team.")
            return
        experts.posted(request.id, posted["ts"])
        private(respond, f"I've asked the experts in <#{channel}>. I'll bring the first answer back to you here.")

    @app.action("ask_expert")
    def on_ask_expert(ack, action, body, respond):
        on_click(deps.work, ack, action, body, respond, partial(send_to_experts, respond=respond))

    def take_reply(event: dict) -> None:
        request = experts.at(event["channel"], event["thread_ts"])
        if request is None or request.status != "open":
            return  # a thread that is not ours, or a later reply: the first one counts
        if not experts.answer(request.id, event.get("text") or "", event["user"]):
            return  # another process took the first reply
        relay = deliver(app.client, experts, experts.get(request.id))  # stored first: a failed relay stays owed
        app.client.chat_update(channel=request.channel, ts=request.ts, text="Answered",
                               blocks=expert_post_done(request.question or "your question", request.asked_by, event["user"], True, relay))

    # Registered after bot.listeners.questions, whose DM listener matches first: every other message is here.
    @app.event("message")
    def on_channel_message(event, body):
        thread = event.get("thread_ts")
        if (not channel or event.get("channel") != channel or not thread or thread == event.get("ts")
                or event.get("subtype") not in REPLIES or event.get("bot_id") or not event.get("user")
                or not (event.get("text") or "").strip()):  # a screenshot without a word is not the answer to relay
            return
        if first_time(deps, body.get("event_id") or f"{channel}:{event.get('ts')}"):
            deps.work.later(partial(take_reply, event))

    def mark_answered(request_id: int, user: str, respond) -> None:
        if not experts.close(request_id, user):
            private(respond, "That question was already answered.")
            return
        request = experts.get(request_id)
        relay = deliver(app.client, experts, request)  # first: whatever becomes of the reply below
        respond(replace_original=True, text="Answered",
                blocks=expert_post_done(request.question or "your question", request.asked_by, user, False, relay))

    @app.action("expert_mark_answered")
    def on_mark_answered(ack, action, body, respond):
        on_click(deps.work, ack, action, body, respond, partial(mark_answered, respond=respond))
