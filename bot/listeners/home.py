"""The App Home tab, published per person each time they open it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import partial

from slack_bolt import App

from bot.app import Deps
from bot.home_views import coordinator_home, rep_home
from knowledge.digest import compute

DASHBOARD_DAYS = 7


def register(app: App, deps: Deps) -> None:
    def publish(user: str) -> None:
        competitors = deps.kb.competitors()
        if user in deps.coordinators:
            # Periods are half-open at second precision: end just after this second to count it.
            until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
            digest = compute(deps.state, deps.kb.index.get(), until - timedelta(days=DASHBOARD_DAYS), until, deps.settings.stale_days)
            view = coordinator_home(digest, deps.kb, competitors, experts=bool(deps.settings.experts_channel))
        else:
            view = rep_home(competitors, experts=bool(deps.settings.experts_channel))
        app.client.views_publish(user_id=user, view=view)

    @app.event("app_home_opened")
    def on_home(event):
        if event.get("tab", "home") == "home" and event.get("user"):
            deps.work.later(partial(publish, event["user"]))  # a full backlog: the tab shows its last view
