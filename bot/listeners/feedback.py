"""👍 / 👎 on an answer, and "Share in channel" for a private /ask answer."""
from __future__ import annotations

import logging
from functools import partial

from slack_bolt import App

from bot.app import Deps
from bot.blocks import answer_blocks, answer_text
from bot.payloads import BROKEN_REPLY, SWAMPED_REPLY, id_value, user_id

log = logging.getLogger("bot.feedback")
GONE = "I no longer have that question; please ask it again."
THANKS = "Thanks for the feedback!"


def register(app: App, deps: Deps) -> None:
    def rerender(question_id: int, **kwargs):
        stored = deps.state.question(question_id)
        if stored is None or not stored.question:
            return None
        answer = deps.kb.ask(stored.question)
        return answer, answer_blocks(deps.kb, answer, question_id, **kwargs)

    def show_feedback(qid: int, helpful: bool, respond) -> None:
        if not helpful:
            deps.gaps.add(qid)  # an answer a rep found useless is a gap like no answer at all
        shown = rerender(qid, feedback="helpful" if helpful else "not_helpful")
        if shown:
            respond(replace_original=True, text=answer_text(shown[0]), blocks=shown[1])
        else:  # the question text is past retention: still say the click counted
            respond(replace_original=False, response_type="ephemeral", text=THANKS)

    def on_feedback(ack, action, respond, helpful: bool):
        ack()
        qid = id_value(action)
        if qid is None:
            deps.work.notice(partial(respond, **BROKEN_REPLY))
            return
        deps.state.record_feedback(qid, helpful)  # stored before any slow work, so a click is never lost
        deps.work.later(partial(show_feedback, qid, helpful, respond),
                        busy=partial(respond, replace_original=False, response_type="ephemeral", text=THANKS))

    @app.action("feedback_helpful")
    def helpful(ack, action, respond):
        on_feedback(ack, action, respond, helpful=True)

    @app.action("feedback_not_helpful")
    def not_helpful(ack, action, respond):
        on_feedback(ack, action, respond, helpful=False)

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
