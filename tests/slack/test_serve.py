"""`kb serve --http` as a real process: the entry point, settings from the environment, one answer."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.slack.slack_requests import SIGNING_SECRET, SlackSender

KB = Path(sys.executable).parent / "kb"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path, fake_slack, sample_index):
    port = free_port()
    env = {
        **os.environ, "PORT": str(port), "KB_INDEX_DIR": str(sample_index), "KB_STATE_DB": str(tmp_path / "state.db"),
        "SLACK_BOT_TOKEN": "xoxb-0001-test-token", "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.api_url,
    }
    env.pop("SLACK_APP_TOKEN", None)
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([str(KB), "serve", "--http", "--host", "127.0.0.1"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):  # the model loads first; wait for the health check (bounded)
        if proc.poll() is not None:
            break
        try:
            if urllib.request.urlopen(f"{url}/healthz", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.25)
    yield proc, SlackSender(f"{url}/slack/events", fake_slack.response_url()), tmp_path / "serve.log"
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def test_kb_serve_http_answers_a_mention(served, fake_slack):
    proc, send, log = served
    assert proc.poll() is None, log.read_text()
    assert send.mention("what's the uptime sla").status == 200
    (post,) = fake_slack.wait_for("chat.postMessage", timeout=60)
    assert "security-and-compliance#availability-and-sla" in str(post.body["blocks"])
    assert "waitress" in log.read_text().lower() or "listening on" in log.read_text()
