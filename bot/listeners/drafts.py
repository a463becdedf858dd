"""Drafts from Slack: *Draft it* on a gap with an expert's answer, and the *Save to knowledge base* shortcut."""
from __future__ import annotations

from slack_bolt import App

from bot.app import Deps


def register(app: App, deps: Deps) -> None:
    """Nothing yet: the surfaces land with knowledge/drafts.py."""
