"""👍 / 👎 on an answer, and "Share in channel" for a private /ask answer."""
from __future__ import annotations

import logging
from functools import partial

from slack_bolt import App

from bot.app import Deps
from bot.blocks import answer_blocks, answer_text, with_feedback_counts
from bot.payloads import BROKEN_REPLY, SWAMPED_REPLY, id_value, user_id

log = logging.getLogger("bot.feedback")
GONE = "I no longer have that question; please ask it again."
THANKS = "Thanks for the feedback!"
THANKS_NOT_HELPFUL = "Thanks for the feedback! The enablement team will look at this one."


def thanks(helpful: bool) -> str:
    """What only the clicker sees: their click counted."""
    return THANKS if helpful else THANKS_NOT_HELPFUL


def register(app: App, deps: Deps) -> None:
    def rerender(question_id: int, **kwargs):
        stored = deps.state.question(question_id)
        if stored is None or not stored.question:
            return None
        answer = deps.kb.ask(stored.question)
        return answer, answer_blocks(deps.kb, answer, question_id, **kwargs)

    def show_feedback(qid: int, helpful: bool, message: dict | None, respond) -> None:
        respond(replace_original=False, response_type="ephemeral", text=thanks(helpful))
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
        shown = rerender(qid, shared_by=user)
        if shown is None:
            respond(replace_original=False, text=GONE)
            return
        respond(response_type="in_channel", replace_original=False, text=answer_text(shown[0]), blocks=shown[1])
        respond(delete_original=True)

    @app.action("share_answer")
    def share(ack, action, body, respond):
        ack()
        qid, user = id_value(action), user_id(body)
        if qid is None or user is None:
            deps.work.notice(partial(respond, **BROKEN_REPLY))
            return
        deps.work.later(partial(share_answer, qid, user, respond), busy=partial(respond, **SWAMPED_REPLY))
