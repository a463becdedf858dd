"""/kb-gaps for coordinators: review open gaps, resolve (and tell the reps who asked) or ignore."""
from __future__ import annotations

import json
import logging

from slack_bolt import App

from bot.app import Deps
from bot.gap_views import gaps_blocks, resolve_modal
from bot.notify import send_pending

log = logging.getLogger("bot.gaps")
NOT_FOR_YOU = (
    "Sorry, reviewing content gaps is for the enablement coordinators. "
    "If you think you should be one, ask the enablement team."
)


def register(app: App, deps: Deps) -> None:
    coordinators = deps.coordinators

    def current_list() -> list[dict]:
        return gaps_blocks(deps.gaps.list("open"), answerable=len(deps.gaps.list("answerable")))

    @app.command("/kb-gaps")
    def on_gaps(ack, command, respond):
        ack()
        if command["user_id"] not in coordinators:
            respond(response_type="ephemeral", text=NOT_FOR_YOU)
            return
        respond(response_type="ephemeral", text="Open content gaps", blocks=current_list())

    @app.action("gap_ignore")
    def on_ignore(ack, action, body, respond):
        ack()
        if body["user"]["id"] not in coordinators:
            respond(replace_original=False, text=NOT_FOR_YOU)
            return
        deps.gaps.ignore(int(action["value"]), by=body["user"]["id"])
        respond(replace_original=True, text="Open content gaps", blocks=current_list())

    @app.action("gap_resolve")
    def on_resolve(ack, action, body, client, respond):
        ack()
        if body["user"]["id"] not in coordinators:
            respond(replace_original=False, text=NOT_FOR_YOU)
            return
        gap = deps.gaps.get(int(action["value"]))
        if gap is None:
            respond(replace_original=True, text="Open content gaps", blocks=current_list())
            return
        metadata = json.dumps({"gap_id": gap.id, "response_url": body.get("response_url")})
        client.views_open(trigger_id=body["trigger_id"], view=resolve_modal(gap, deps.kb.index.get().documents(), metadata))

    @app.view("gap_resolve")
    def on_submit(ack, body, view, client):
        user = body["user"]["id"]
        values = view["state"]["values"]
        picked = (values.get("doc_pick", {}).get("value", {}).get("selected_option") or {}).get("value")
        pasted = (values.get("doc_paste", {}).get("value", {}).get("value") or "").strip()
        doc = pasted or picked
        if user not in coordinators:
            ack(response_action="errors", errors={"doc_paste": NOT_FOR_YOU})
            return
        if not doc:
            ack(response_action="errors", errors={"doc_paste": "Pick a document or paste its path or URL."})
            return
        ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        queued = deps.gaps.resolve(int(meta["gap_id"]), doc, by=user)
        log.info("Gap %s resolved by %s with %s; %d rep(s) to tell", meta["gap_id"], user, doc, queued)
        send_pending(client, deps.gaps, deps.kb)
        if meta.get("response_url"):
            from slack_sdk.webhook import WebhookClient

            WebhookClient(meta["response_url"]).send(replace_original=True, text="Open content gaps", blocks=current_list())
