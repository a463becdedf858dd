"""/battlecard: one competitor's key sections; no argument or no match: the list, one click away."""
from __future__ import annotations

import logging
import re
from functools import partial

from slack_bolt import App

from bot.app import Deps
from bot.blocks import APOLOGY, battlecard_blocks, battlecard_text, competitor_blocks
from bot.payloads import SWAMPED_REPLY, user_id

log = logging.getLogger("bot.battlecards")
GONE = "That battlecard is no longer in the knowledge base."


def register(app: App, deps: Deps) -> None:
    @app.command("/battlecard")
    def on_battlecard(ack, command):
        # The card rides on the ack: matching a name against the loaded index takes milliseconds and
        # needs no Web API call. Only the gap's grouping (an embedding) waits for a worker.
        asked = " ".join((command.get("text") or "").split())[:200]
        try:
            card = deps.kb.battlecard(asked) if asked else None
            if card:
                ack(response_type="ephemeral", text=battlecard_text(card), blocks=battlecard_blocks(deps.kb, card))
                return
            if asked:  # a competitor we have no card for is a content gap
                qid = deps.state.record_question(f"battlecard: {asked}", "battlecard", command.get("user_id"), command.get("channel_id"))
                deps.state.record_outcome(qid, "gap")
                deps.work.later(partial(deps.gaps.add, qid))
            ack(response_type="ephemeral", text="Battlecards", blocks=competitor_blocks(deps.kb.competitors(), asked))
        except Exception:
            log.exception("/battlecard failed")
            ack(response_type="ephemeral", text=APOLOGY)

    def show_pick(path: str, respond) -> None:
        card = deps.kb.battlecard_at(path)
        if card is None:
            respond(replace_original=True, text=GONE, blocks=competitor_blocks(deps.kb.competitors()))
            return
        respond(replace_original=True, text=battlecard_text(card), blocks=battlecard_blocks(deps.kb, card))

    @app.action(re.compile(r"^battlecard_pick_\d+$"))
    def on_pick(ack, action, respond):
        ack()
        deps.work.later(partial(show_pick, str(action.get("value") or ""), respond), busy=partial(respond, **SWAMPED_REPLY))

    def share_card(path: str, user: str | None, respond) -> None:
        card = deps.kb.battlecard_at(path)
        if card is None:
            respond(replace_original=False, text=GONE)
            return
        blocks = battlecard_blocks(deps.kb, card, shareable=False, shared_by=user)
        respond(response_type="in_channel", replace_original=False, text=battlecard_text(card), blocks=blocks)
        respond(delete_original=True)

    @app.action("share_battlecard")
    def on_share(ack, action, body, respond):
        ack()
        deps.work.later(partial(share_card, str(action.get("value") or ""), user_id(body), respond), busy=partial(respond, **SWAMPED_REPLY))
