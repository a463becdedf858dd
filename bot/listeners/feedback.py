"""The buttons under an answer: 👍 / 👎, More, and "Share in channel" for a private /ask answer."""
from __future__ import annotations

import logging
from functools import partial

from slack_bolt import App

from bot.app import Deps
from bot.blocks import MORE, actions, answer_blocks, answer_text, button, section, with_feedback_counts
from bot.listeners.questions import context_of
from bot.payloads import BROKEN_REPLY, id_value, on_click, user_id

log = logging.getLogger("bot.feedback")
GONE = "I no longer have that question; please ask it again."
NOT_YOURS = "Only the person who asked can share that answer."
THANKS = "Thanks for the feedback!"
THANKS_NOT_HELPFUL = "Thanks for the feedback! The enablement team will look at this one."


def thanks(helpful: bool) -> str:
    """What only the clicker sees: their click counted."""
    return THANKS if helpful else THANKS_NOT_HELPFUL


def register(app: App, deps: Deps) -> None:
    expert = bool(deps.settings.experts_channel)

    def rerender(question_id: int, k: int = 3, **kwargs):
        """The answer searched again as it was first (with its conversation), and its blocks."""
        stored = deps.state.question(question_id)
        if stored is None or not stored.question:
            return None
        earlier = deps.state.question(stored.follows) if stored.follows else None
        answer = deps.kb.ask(stored.question, k=k, earlier=context_of(deps, earlier))
        return answer, answer_blocks(deps.kb, answer, question_id, expert=expert, **kwargs)

    def show_feedback(qid: int, helpful: bool, message: dict | None, respond) -> None:
        if helpful or not expert:
            respond(replace_original=False, response_type="ephemeral", text=thanks(helpful))
        else:  # a 👎 may still want a person's answer
            respond(replace_original=False, response_type="ephemeral", text=thanks(helpful), blocks=[
                section(f"{thanks(helpful)} Want a person to answer it?"),
                actions(button("Ask an expert", "ask_expert", str(qid))),
            ])
        if not helpful:
            deps.gaps.add(qid)  # an answer a rep found useless is a gap like no answer at all
        if isinstance(message, dict) and isinstance(message.get("blocks"), list):
            # A thread or DM answer others may rate too: its buttons stay, now with the counts.
            # (A private /ask answer comes without `message`: only its asker sees it, thanked above.)
            blocks = with_feedback_counts(message["blocks"], qid, deps.state.feedback_counts(qid))
            respond(replace_original=True, text=message.get("text") or "", blocks=blocks)

    def on_feedback(ack, action, body, respond, helpful: bool):
        ack()
        qid, user = id_value(action), user_id(body)
        if qid is None or user is None:
            deps.work.notice(partial(respond, **BROKEN_REPLY))
            return
        # The clicker's own rating (anyone in the channel may click), stored before any slow work.
        deps.state.record_feedback(qid, helpful, user_id=user)
        deps.work.later(partial(show_feedback, qid, helpful, body.get("message"), respond),
                        busy=partial(respond, replace_original=False, response_type="ephemeral", text=thanks(helpful)))

    @app.action("feedback_helpful")
    def helpful(ack, action, body, respond):
        on_feedback(ack, action, body, respond, helpful=True)

    @app.action("feedback_not_helpful")
    def not_helpful(ack, action, body, respond):
        on_feedback(ack, action, body, respond, helpful=False)

    def share_answer(qid: int, user: str, respond) -> None:
        stored = deps.state.question(qid)
        if stored is not None and stored.user_id and stored.user_id != user:
            # Only its asker sees a private answer's Share button: another id in the click is not theirs to post.
            respond(replace_original=False, response_type="ephemeral", text=NOT_YOURS)
            return
        shown = rerender(qid, shared_by=user)
        if shown is None:
            respond(replace_original=False, text=GONE)
            return
        respond(response_type="in_channel", replace_original=False, text=answer_text(shown[0]), blocks=shown[1])
        respond(delete_original=True)

    @app.action("share_answer")
    def share(ack, action, body, respond):
        on_click(deps.work, ack, action, body, respond, partial(share_answer, respond=respond))

    def show_more(qid: int, body: dict, respond) -> None:
        """The next sections, in place: the same message, now with up to 3 + MORE sections and no More button."""
        message = body.get("message") if isinstance(body.get("message"), dict) else None
        private_answer = message is None  # a /ask answer only its asker sees keeps its Share button
        shown = rerender(qid, k=3 + MORE, shown=3 + MORE, shareable=private_answer)
        if shown is None:
            respond(replace_original=False, response_type="ephemeral", text=GONE)
            return
        answer, blocks = shown
        if len(answer.hits) <= 3:
            respond(replace_original=False, response_type="ephemeral", text="That's everything I found on this.")
            return
        if message and isinstance(message.get("blocks"), list) and message["blocks"]:
            blocks = [message["blocks"][0], *blocks[1:]]  # keep the intro as posted (e.g. "shared by")
        respond(replace_original=True, text=answer_text(answer), blocks=with_feedback_counts(blocks, qid, deps.state.feedback_counts(qid)))

    @app.action("answer_more")
    def more(ack, action, body, respond):
        on_click(deps.work, ack, action, body, respond, lambda qid, _user: show_more(qid, body, respond))
