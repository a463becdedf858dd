"""Running the bot: HTTP through waitress (a production WSGI server), or Socket Mode."""
from __future__ import annotations

import logging
import re

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from knowledge.config import Settings

EVENTS_PATH = "/slack/events"
APPS_PAGE = "https://api.slack.com/apps"
log = logging.getLogger("bot.server")


class SlackConfigError(Exception):
    """A Slack credential is missing or malformed; the message says which and where to get it."""


_TOKENS = {
    "SLACK_BOT_TOKEN": ("slack_bot_token", r"xoxb-[\w-]+", "the Bot User OAuth Token (xoxb-...) on your app's OAuth & Permissions page"),
    "SLACK_SIGNING_SECRET": ("slack_signing_secret", r"[0-9a-f]{16,}", "the Signing Secret on your app's Basic Information page"),
    "SLACK_APP_TOKEN": ("slack_app_token", r"xapp-[\w-]+", "an App-Level Token (xapp-...) with connections:write, under Basic Information > App-Level Tokens"),
}


def check_credentials(settings: Settings, socket_mode: bool) -> None:
    """Fail with one clear line if a credential this mode needs is missing or malformed."""
    needed = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET"]
    for var in needed:
        field, pattern, where = _TOKENS[var]
        value = getattr(settings, field)
        if not value:
            raise SlackConfigError(f"{var} is not set: copy {where} at {APPS_PAGE}")
        if not re.fullmatch(pattern, value):
            raise SlackConfigError(f"{var} does not look right (expected {where}); check it at {APPS_PAGE}")


def wsgi_app(app: App):
    """Slack's requests at /slack/events, a health check at /healthz, 404 elsewhere."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == EVENTS_PATH:
            return slack(environ, start_response)
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return application


def http_server(app: App, host: str, port: int, threads: int = 8):
    """A waitress server for the app (port 0 picks a free one: see `.effective_port`)."""
    from waitress import create_server

    return create_server(wsgi_app(app), host=host, port=port, threads=threads, ident="kb-answer-bot")


def run_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(app, app_token).start()
