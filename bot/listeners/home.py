"""The App Home tab, published per person each time they open it, and *Discard* on its drafts waiting."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from functools import partial

from slack_bolt import App

from bot.app import Deps
from bot.home_views import BROKEN_DISCARD, FAILED_DISCARD, GONE_DRAFT, NOT_FOR_YOU, coordinator_home, discarded, rep_home
from bot.payloads import id_value, user_id
from knowledge.digest import compute
from knowledge.drafts import UnknownDraft, discard

log = logging.getLogger("bot.home")
DASHBOARD_DAYS = 7


def register(app: App, deps: Deps) -> None:
    def publish(user: str, notice: str | None = None) -> None:
        competitors, experts = deps.kb.competitors(), bool(deps.settings.experts_channel)
        if user in deps.coordinators:
            # Periods are half-open at second precision: end just after this second to count it.
            until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
            digest = compute(deps.state, deps.kb.index.get(), until - timedelta(days=DASHBOARD_DAYS), until, deps.settings.stale_days)
            view = coordinator_home(digest, deps.kb, competitors, experts=experts, notice=notice)
        else:
            view = rep_home(competitors, experts=experts, notice=notice)
        app.client.views_publish(user_id=user, view=view)

    @app.event("app_home_opened")
    def on_home(event):
        if event.get("tab", "home") == "home" and event.get("user"):
            deps.work.later(partial(publish, event["user"]))  # a full backlog: the tab shows its last view

    def discard_draft(draft_id: int | None, user: str) -> None:
        """Discard for a coordinator; anyone else (a stale dashboard, a forged click) is told no, and nothing changes."""
        if user not in deps.coordinators:
            notice = NOT_FOR_YOU
        elif draft_id is None:
            notice = BROKEN_DISCARD
        else:
            try:
                draft, _ = discard(deps.state, draft_id, by=user)
                notice = discarded(draft)
                log.info("Draft %s (%s) discarded by %s", draft.id, draft.path, user)
            except UnknownDraft:
                notice = GONE_DRAFT
            except Exception:
                log.exception("Discarding draft %s failed", draft_id)
                notice = FAILED_DISCARD
        publish(user, notice)

    @app.action("draft_discard")
    def on_discard(ack, action, body):
        ack()  # from the Home tab: no response_url, so every answer is the view published again
        user = user_id(body)
        if user is None:
            log.warning("A Discard click without a user: ignored")
            return
        deps.work.later(partial(discard_draft, id_value(action), user))  # a full backlog: the tab keeps its view
