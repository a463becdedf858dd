"""Weekly verification nudges over the local fake Slack: the gap watcher DMs each owner of stale documents once."""
from __future__ import annotations

import os
import subprocess
import time
from datetime import date, datetime, timezone

import pytest
from slack_sdk import WebClient

from bot.blocks import MAX_BLOCKS
from bot.mrkdwn import SECTION_LIMIT
from bot.nudges import nudge_blocks
from bot.watcher import GapWatcher
from indexer.build import build
from knowledge.answer import KnowledgeBase
from knowledge.gaps import Gaps
from knowledge.index import Document, LiveIndex
from knowledge.nudges import Nudge, owed
from tests.conftest import write
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_requests import SIGNING_SECRET
from tests.slack.test_questions import texts
from tests.slack.test_serve import KB, free_port
from tests.slack.test_transport import wait_healthy

TOKEN = "xoxb-0001-test-token"
BASE_URL = "https://kb.example"


def page(title: str, owner_slack: str | None, reviewed: str | None, url: str | None = None) -> str:
    front = [f"title: {title!r}", "type: playbook", "owner: Someone"]
    front += [f"owner_slack: {owner_slack}"] if owner_slack else []
    front += [f"last_reviewed: {reviewed}"] if reviewed else []
    front += [f"url: {url}"] if url else []
    return "---\n" + "\n".join(front) + f"\n---\n# {title}\n\n## Basics\n\nWhat a rep needs to know about {title}.\n"


@pytest.fixture(scope="module")
def owned_index(tmp_path_factory, embedder):
    """A knowledge base where only U0ALICE01 owns stale documents; everyone else must hear nothing."""
    source, root = tmp_path_factory.mktemp("owned-kb"), tmp_path_factory.mktemp("owned-index")
    write(source, "playbooks/pricing.md", page("Pricing & discounts <2026>", "U0ALICE01", "2020-01-15",
                                               "https://enablement.example/pricing?a=1&b=2"))
    write(source, "playbooks/renewals.md", page("Renewals", "U0ALICE01", None))  # never reviewed: stale
    write(source, "playbooks/fresh.md", page("Fresh page", "U0BOB01", date.today().isoformat()))  # owner of nothing stale
    write(source, "battlecards/acme.md", page("Acme battlecard", "S0COMPINTL", "2020-01-01"))  # a group: no DM
    write(source, "playbooks/orphan.md", page("Orphan page", None, "2020-01-01"))  # no Slack owner
    write(source, "playbooks/typo.md", page("Typo page", "carol", "2020-01-01"))  # ignored, with a warning
    report = build(source, root, embedder)
    assert [w.path for w in report.warnings] == ["playbooks/typo.md"]
    return root


@pytest.fixture
def kb(owned_index, embedder):
    return KnowledgeBase(LiveIndex(owned_index, embedder.name), embedder, base_url=BASE_URL)


def watcher(kb, state, slack_url: str, nudges: bool = True, host: str = "web-1") -> GapWatcher:
    client = WebClient(token=TOKEN, base_url=slack_url)
    return GapWatcher(kb, Gaps(state, kb.embedder), state, client, host=host, nudges=nudges, stale_days=180)


def test_a_tick_dms_each_owner_of_stale_documents_once_and_nobody_else(kb, backend, fake_slack):
    state = backend()
    watcher(kb, state, fake_slack.api_url).tick()
    assert [c.body["users"] for c in fake_slack.of("conversations.open")] == ["U0ALICE01"]
    (dm,) = fake_slack.of("chat.postMessage")
    assert dm.body["channel"] == "DU0ALICE01" and dm.body["text"] == "2 knowledge base documents you own need a review"
    shown = texts(dm.body["blocks"])
    assert shown.index("<https://kb.example/playbooks/renewals.md|Renewals> (`playbooks/renewals.md`): never reviewed") < shown.index(
        "<https://enablement.example/pricing?a=1&amp;b=2|Pricing &amp; discounts &lt;2026&gt;> (`playbooks/pricing.md`): "
        "last reviewed 2020-01-15 (")
    assert not any(other in shown for other in ("Fresh page", "Acme", "Orphan", "Typo"))

    watcher(kb, state, fake_slack.api_url).tick()  # the next tick, a minute later
    watcher(kb, backend(), fake_slack.api_url, host="web-2").tick()  # another process on the same database
    assert len(fake_slack.of("conversations.open")) == 1 and len(fake_slack.of("chat.postMessage")) == 1


def test_with_nudges_off_nobody_is_dmed(kb, state, fake_slack):
    watcher(kb, state, fake_slack.api_url, nudges=False).tick()
    assert fake_slack.of("conversations.open") == [] and fake_slack.of("chat.postMessage") == []
    assert [n.user_id for n in owed(state, kb.index.get().documents(), datetime.now(timezone.utc), 180)] == ["U0ALICE01"]


def test_a_nudge_the_network_lost_is_sent_by_the_next_tick(kb, state, fake_slack):
    dead = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there: the DM fails to go out
    watcher(kb, state, dead).tick()
    assert fake_slack.calls == []
    watcher(kb, state, fake_slack.api_url).tick()
    assert [c.body["channel"] for c in fake_slack.of("chat.postMessage")] == ["DU0ALICE01"]


class RefusingSlack(FakeSlack):
    """Refuses to open a DM, with `error`."""

    def __init__(self, error: str):
        super().__init__()
        self.error = error

    def _reply(self, path, raw):
        if path.startswith("/api/conversations.open"):
            return {"ok": False, "error": self.error}
        return super()._reply(path, raw)


@pytest.mark.parametrize("error, retried", [("ratelimited", True), ("user_not_found", False)])
def test_a_refused_nudge_is_retried_only_when_the_refusal_may_pass(kb, state, error, retried):
    with RefusingSlack(error) as refusing:
        watcher(kb, state, refusing.api_url).tick()
        watcher(kb, state, refusing.api_url).tick()
        # Retried on the next tick (refused again), or left until next week: not asked every 30 seconds.
        assert len(refusing.of("conversations.open")) == (2 if retried else 1)
        assert refusing.of("chat.postMessage") == []
    still_owed = owed(state, kb.index.get().documents(), datetime.now(timezone.utc), 180)
    assert [n.user_id for n in still_owed] == (["U0ALICE01"] if retried else [])


def test_a_nudge_for_hundreds_of_documents_keeps_to_block_kit_limits(kb):
    docs = tuple(Document(f"docs/{n:03d}-{'x' * 150}.md", f"Document {n} " + "t" * 250, "playbook", None, date(2020, 1, 1),
                          f"https://kb.example/{n}", None, (), "U0ALICE01") for n in range(600))
    blocks = nudge_blocks(kb, Nudge("U0ALICE01", "2026-W48", docs), 180, date(2026, 11, 25))
    assert len(blocks) == MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    shown = texts(blocks)
    assert "600 knowledge base documents you own" in shown and "Document 0 " in shown and "Document 599 " not in shown
    listed = shown.count("(`docs/")  # every section but the intro and the "more" line is filled
    assert f"…and {600 - listed} more" in shown and listed > (MAX_BLOCKS - 3) * (SECTION_LIMIT // 600)


def test_kb_serve_nudges_once_across_processes_and_not_with_kb_nudges_off(tmp_path, owned_index, fake_slack):
    """Two `kb serve --http` on one state DB (as two web dynos) send one nudge; KB_NUDGES=off sends none."""
    procs = []

    def serve(state_db, **extra):
        port, log = free_port(), tmp_path / f"serve{len(procs)}.log"
        env = {**os.environ, "PORT": str(port), "KB_INDEX_DIR": str(owned_index), "KB_STATE_DB": str(state_db),
               "KB_BASE_URL": BASE_URL, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "SLACK_API_URL": fake_slack.api_url, **extra}
        for var in ("SLACK_APP_TOKEN", "DATABASE_URL", "KB_NUDGES", "KB_STALE_DAYS"):
            if var not in extra:
                env.pop(var, None)
        with open(log, "w") as out:
            proc = subprocess.Popen([str(KB), "serve", "--http", "--host", "127.0.0.1"], env=env, cwd=tmp_path,
                                    stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc, f"http://127.0.0.1:{port}/healthz", log

    try:
        started = [serve(tmp_path / "shared.db"), serve(tmp_path / "shared.db"), serve(tmp_path / "off.db", KB_NUDGES="off")]
        for proc, health, log in started:
            wait_healthy(proc, health, log)
        fake_slack.wait_for("chat.postMessage", timeout=60)
        time.sleep(3)  # a second nudge, from either process, or from the one with nudges off, would be here by now
        assert [c.body["users"] for c in fake_slack.of("conversations.open")] == ["U0ALICE01"]
        assert [c.body["channel"] for c in fake_slack.of("chat.postMessage")] == ["DU0ALICE01"]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
