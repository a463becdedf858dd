"""The app factory: one Bolt App, its listeners, and the error backstop."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient

from bot.coordinators import Coordinators
from bot.work import Work
from knowledge.answer import KnowledgeBase
from knowledge.config import Settings
from knowledge.gaps import Gaps
from knowledge.state import StateDB

log = logging.getLogger("bot")


@dataclass(frozen=True)
class Deps:
    """What every listener may use; built once at start-up."""

    kb: KnowledgeBase
    state: StateDB
    settings: Settings
    gaps: Gaps
    coordinators: Coordinators
    work: Work


def create_app(settings: Settings, kb: KnowledgeBase, state: StateDB, client: WebClient | None = None,
               work: Work | None = None) -> App:
    """A Bolt app answering from `kb`; its Web API calls go to SLACK_API_URL when that is set."""
    from bot.listeners import battlecards, drafts, experts, feedback, gaps, home, questions

    if client is None:
        base_url = (settings.slack_api_url or WebClient.BASE_URL).rstrip("/") + "/"
        client = WebClient(token=settings.slack_bot_token, base_url=base_url)
    # Listeners run in the request thread and only store and ack; the slow part goes to `work`, so an
    # ack never waits for a worker busy with searches or a slow Web API (Bolt's default shares one pool).
    app = App(client=client, signing_secret=settings.slack_signing_secret, process_before_response=True)
    coordinators = Coordinators(settings.coordinators, settings.coordinator_group, app.client)
    deps = Deps(kb, state, settings, Gaps(state, kb.embedder), coordinators, work or Work())
    for module in (questions, battlecards, feedback, gaps, home, experts, drafts):
        module.register(app, deps)

    @app.error
    def backstop(error, body, logger):
        # Listeners reply with their own apology; this only makes sure nothing fails silently.
        logger.exception("Unhandled error in a Slack listener: %s (request type %s)", error, body.get("type"))

    return app
