"""When something breaks inside a handler: a short apology in Slack, the traceback in the log, the question kept."""
from __future__ import annotations

import logging
import shutil

import pytest

from knowledge.answer import KnowledgeBase
from knowledge.index import LiveIndex
from tests.slack.conftest import start_bot


@pytest.fixture
def fragile_bot(tmp_path, fake_slack, embedder, sample_index):
    """A bot whose index directory is deleted from under it after it started (a real failure)."""
    root = tmp_path / "index"
    shutil.copytree(sample_index, root, symlinks=True)
    kb = KnowledgeBase(LiveIndex(root, embedder.name), embedder)
    server, running = start_bot(tmp_path, fake_slack, kb)
    shutil.rmtree(root)
    yield running
    server.close()


def test_a_failing_mention_gets_an_apology_and_keeps_the_question(fragile_bot, caplog):
    with caplog.at_level(logging.ERROR):
        fragile_bot.send.mention("who approves a 30% discount")
        (post,) = fragile_bot.slack.wait_for("chat.postMessage")
    assert post.body["text"].startswith("Sorry, something went wrong")
    assert "Traceback" not in str(post.body) and "IndexNotFound" not in str(post.body)
    (kept,) = fragile_bot.state.questions()
    assert (kept.question, kept.status) == ("who approves a 30% discount", "error")
    assert any(r.exc_info for r in caplog.records), "the traceback goes to the server log"


def test_a_failing_ask_apologises_privately(fragile_bot):
    fragile_bot.send.command("/ask", "renewal uplift")
    (reply,) = fragile_bot.slack.wait_for("response_url")
    assert reply.body["response_type"] == "ephemeral" and reply.body["text"].startswith("Sorry")
    assert fragile_bot.state.questions()[0].status == "error"


def test_a_failing_battlecard_apologises(fragile_bot):
    r = fragile_bot.send.command("/battlecard", "acme")
    assert r.status == 200 and "Sorry" in r.body.decode()
