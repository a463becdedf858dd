"""The real Bolt app served over HTTP by waitress on loopback, talking to a local fake Slack."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from bot.app import create_app
from bot.server import http_server
from knowledge.config import Settings
from knowledge.state import StateDB
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_requests import SIGNING_SECRET, SlackSender


@dataclass
class RunningBot:
    send: SlackSender
    slack: FakeSlack
    state: StateDB
    url: str


@pytest.fixture
def fake_slack():
    with FakeSlack() as slack:
        yield slack


def serve(server):
    """Run a waitress server on a thread until its `close()`, which stops the loop before closing the
    sockets: closed under a running loop, they raised "Bad file descriptor" in the loop's thread."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    close = server.close

    def stop_then_close() -> None:
        stop.set()
        thread.join(timeout=5)
        close()

    server.close = stop_then_close
    return server


def start_bot(tmp_path, slack: FakeSlack, kb, **settings_overrides):
    settings = Settings(
        slack_bot_token="xoxb-0001-test-token", slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url, state_db=tmp_path / "state.db", **settings_overrides,
    )
    state = StateDB(settings.state_db)
    server = serve(http_server(create_app(settings, kb, state), SIGNING_SECRET, "127.0.0.1", 0))
    url = f"http://127.0.0.1:{server.effective_port}"
    return server, RunningBot(SlackSender(f"{url}/slack/events", slack.response_url()), slack, state, url)


@pytest.fixture
def bot(tmp_path, fake_slack, sample_kb):
    server, running = start_bot(tmp_path, fake_slack, sample_kb)
    yield running
    server.close()
