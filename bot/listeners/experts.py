"""Ask an expert: a question goes to the experts' channel; the first reply there goes back to the rep."""
from __future__ import annotations

from slack_bolt import App

from bot.app import Deps


def register(app: App, deps: Deps) -> None:
    """Nothing yet: the surfaces land with knowledge/experts.py."""
