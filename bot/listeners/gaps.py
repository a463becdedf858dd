"""/kb-gaps for coordinators: review open gaps, resolve (and tell the reps who asked) or ignore."""
from __future__ import annotations

import json
import logging
from functools import partial

from slack_bolt import App

from bot.app import Deps
from bot.gap_views import SHOWN_GAPS, gaps_blocks, resolve_modal
from bot.notify import send_pending
from bot.payloads import id_value, json_object, on_click, user_id
from bot.work import SWAMPED

log = logging.getLogger("bot.gaps")
NOT_FOR_YOU = (
    "Sorry, reviewing content gaps is for the enablement coordinators. "
    "If you think you should be one, ask the enablement team."
)
STALE_FORM = "This form is out of date. Close it and click Resolve on the gap again."


def register(app: App, deps: Deps) -> None:
    coordinators = deps.coordinators  # membership may ask Slack (a user group): only after the ack

    def current_list() -> list[dict]:
        # The shown few, and counts: a log of thousands must not be read whole for fifteen of them.
        return gaps_blocks(deps.gaps.list("open", limit=SHOWN_GAPS), answerable=deps.gaps.count("answerable"),
                           total=deps.gaps.count("open"))

    def show_gaps(user: str | None, respond) -> None:
        if user not in coordinators:
            respond(response_type="ephemeral", text=NOT_FOR_YOU)
            return
        respond(response_type="ephemeral", text="Open content gaps", blocks=current_list())

    @app.command("/kb-gaps")
    def on_gaps(ack, command, respond):
        ack()
        deps.work.later(partial(show_gaps, command.get("user_id"), respond), busy=partial(respond, response_type="ephemeral", text=SWAMPED))

    def on_gap_button(ack, action, body, respond, job):
        """Ack, read the gap id, and run `job(gap_id, user, ...)` after the ack (coordinators only)."""
        on_click(deps.work, ack, action, body, respond, lambda gap_id, user: job(gap_id, user, body, respond))

    def ignore(gap_id: int, user: str, body: dict, respond) -> None:
        if user not in coordinators:
            respond(replace_original=False, text=NOT_FOR_YOU)
            return
        deps.gaps.ignore(gap_id, by=user)
        respond(replace_original=True, text="Open content gaps", blocks=current_list())

    def open_resolve(gap_id: int, user: str, body: dict, respond) -> None:
        if user not in coordinators:
            respond(replace_original=False, text=NOT_FOR_YOU)
            return
        gap = deps.gaps.get(gap_id)
        if gap is None:
            respond(replace_original=True, text="Open content gaps", blocks=current_list())
            return
        metadata = json.dumps({"gap_id": gap.id, "response_url": body.get("response_url")})
        app.client.views_open(trigger_id=body.get("trigger_id"), view=resolve_modal(gap, deps.kb.index.get().documents(), metadata))

    @app.action("gap_ignore")
    def on_ignore(ack, action, body, respond):
        on_gap_button(ack, action, body, respond, ignore)

    @app.action("gap_resolve")
    def on_resolve(ack, action, body, respond):
        on_gap_button(ack, action, body, respond, open_resolve)

    def resolve(gap_id: int, doc: str, user: str, response_url: str | None) -> None:
        if user not in coordinators:
            log.warning("Gap %s: resolve by %s refused (not a coordinator)", gap_id, user)
            return
        queued = deps.gaps.resolve(gap_id, doc, by=user)
        log.info("Gap %s resolved by %s with %s; %d rep(s) to tell", gap_id, user, doc, queued)
        send_pending(app.client, deps.gaps, deps.kb)
        if response_url:
            from slack_sdk.webhook import WebhookClient

            WebhookClient(response_url).send(replace_original=True, text="Open content gaps", blocks=current_list())

    @app.view("gap_resolve")
    def on_submit(ack, body, view):
        meta = json_object(view.get("private_metadata")) or {}
        gap_id, user, doc = id_value({"value": str(meta.get("gap_id", ""))}), user_id(body), chosen_doc(view)
        error = submit_error(gap_id, user, doc)
        if error:
            ack(response_action="errors", errors={"doc_paste": error})
        elif deps.work.later(partial(resolve, gap_id, doc, user, meta.get("response_url"))):
            ack()
        else:
            ack(response_action="errors", errors={"doc_paste": SWAMPED})

    def submit_error(gap_id: int | None, user: str | None, doc: str | None) -> str | None:
        """What is wrong with a resolve form, as the line shown under its field; None when it is fine."""
        if gap_id is None or user is None:
            return STALE_FORM
        if coordinators.group is None and user not in coordinators.user_ids:
            return NOT_FOR_YOU  # a user group would need a Web API call: that check waits for the job
        if not doc:
            return "Pick a document or paste its path or URL."
        return None


def chosen_doc(view: dict) -> str | None:
    """The document a resolve form names: pasted text wins over the picked option."""
    values = (view.get("state") or {}).get("values") or {}
    picked = ((values.get("doc_pick") or {}).get("value") or {}).get("selected_option") or {}
    pasted = (((values.get("doc_paste") or {}).get("value") or {}).get("value") or "").strip()
    return pasted or picked.get("value")

