"""`kb digest` end to end: a filled state DB and the real sample index in, what the fake Slack received out."""
from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from slack_sdk import WebClient

from bot.digest_post import LIST_LINES, DigestSchedule, digest_blocks
from kb.cli import main
from knowledge.digest import compute, period_key
from knowledge.gaps import Gaps
from knowledge.index import Index, LiveIndex
from knowledge.state import StateDB
from knowledge.drafts import Drafts, thread_draft
from tests.knowledge.test_digest import ACME, PRICING, RENEWALS, SECURITY, ask_expert, record

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
TOKEN = "xoxb-0001-test-token"
LEAVE = "what's the <!channel> policy on parental leave & perks?"
DRAFTED = "&lt;!channel&gt; discounts for *non-profits* &amp; NGOs"  # as Slack sends what someone typed

# (hours ago, status, top document, feedback, question)
RECENT = [
    (2, "answered", PRICING, "helpful", "who approves a 30% discount"),
    (3, "gap", None, None, LEAVE),
    (5, "answered", PRICING, None, "discount over 20%"),
    (26, "answered", PRICING, "not_helpful", "multi-year discount"),
    (30, "answered", ACME, "helpful", "price objection vs acme"),
    (50, "answered", ACME, None, "acme landmines"),
    (60, "gap", SECURITY, None, "do we have a SOC 2 report"),
    # the week before: 4 questions, 2 answered
    (200, "answered", RENEWALS, "helpful", "renewal uplift cap"),
    (220, "gap", SECURITY, None, "customer asking for our SOC 2"),
    (250, "answered", RENEWALS, None, "churn signals"),
    (300, "gap", None, None, "do we support HIPAA and sign a BAA"),
]


@pytest.fixture
def state_db(tmp_path, sample_index, embedder):
    path = tmp_path / "state.db"
    state, index = StateDB(path), Index.open(sample_index)
    gaps, now = Gaps(state, embedder), datetime.now(UTC)
    for hours, *row in RECENT:
        record(state, index, gaps, now - timedelta(hours=hours), *row)
    ask_expert(state, LEAVE, "answered", now - timedelta(hours=1))
    ask_expert(state, "do we have a SOC 2 report", "closed", now - timedelta(hours=20))
    ask_expert(state, "customer asking for our SOC 2", "answered", now - timedelta(hours=210))  # the week before
    Drafts(state, tmp_path / "kb").save(thread_draft([{"ts": "1.1", "user": "U1", "text": DRAFTED}], "C1"), by="U0COORD")
    return path


@pytest.fixture
def env(monkeypatch, fake_slack, state_db, sample_index):
    for var in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "KB_BASE_URL", "KB_STALE_DAYS", "KB_RETENTION_DAYS", "KB_STATE_DB", "KB_INDEX_DIR"):
        monkeypatch.delenv(var, raising=False)
    for var in ("KB_DIGEST_CHANNELS", "KB_DIGEST_DAY", "KB_DIGEST_HOUR", "KB_DIGEST_TZ"):
        monkeypatch.delenv(var, raising=False)
    return {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": fake_slack.api_url, "KB_STATE_DB": str(state_db), "KB_INDEX_DIR": str(sample_index)}


def kb_digest(env: dict, *args: str):
    return CliRunner().invoke(main, ["digest", *args], env=env)


def section_texts(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def test_post_sends_the_figures_and_the_chart_once_a_week(env, fake_slack):
    result = kb_digest(env, "--post", "--channel", "C1")
    week = period_key(datetime.now(UTC), "UTC")
    assert result.exit_code == 0, result.output
    assert result.output == f"Posted the {week} digest to C1.\n"

    (post,) = fake_slack.of("chat.postMessage")
    assert post.body["channel"] == "C1" and post.body["text"] == "Knowledge base digest: 7 questions, 71% answered"
    blocks = post.body["blocks"]
    assert blocks[0]["text"]["text"] == "Weekly knowledge base digest"
    assert [f["text"] for f in blocks[2]["fields"]] == [
        "*Questions asked*\n7  (+3 vs 4)",
        "*Answer rate*\n71%  (+21 pts vs 50%)",
        "*Answered · gaps*\n5 answered · 2 gaps",
        "*Feedback*\n👍 2 helpful · 👎 1 not helpful",
        "*Answered by experts*\n2  (vs 1)",
        "*Drafts waiting*\n1",
    ]
    gaps, used, stale, changed, drafts = section_texts(blocks)
    assert gaps == (
        "*Top open gaps*\n• 2× do we have a SOC 2 report\n"
        "• 1× what's the &lt;!channel&gt; policy on parental leave &amp; perks?\n• 1× do we support HIPAA and sign a BAA"
    )
    assert used == (
        "*Documents that answered most*\n"
        "• 3× <https://enablement.brightwave.example/playbooks/pricing-and-discounting|Pricing and discounting playbook>\n"
        "• 2× <https://enablement.brightwave.example/battlecards/acme|Acme Corp battlecard>"
    )
    assert stale.startswith("*Stale documents* (not reviewed for 180+ days)\n• <https://enablement.brightwave.example/battlecards/initech|Initech battlecard>: Priya Raman (Competitive Intel), last reviewed 2025-09-22")
    assert changed.startswith("*New and changed documents*\n• added: <https://enablement.brightwave.example/battlecards/acme|Acme Corp battlecard>\n")
    assert changed.count("\n• added: ") == LIST_LINES and changed.endswith("\n…and 9 more")  # 19 documents were indexed
    assert drafts == ("*Drafts waiting to be published*\n"
                      "• &lt;!channel&gt; discounts for non-profits &amp; NGOs (`drafts/thread-c1-1-1-channel-discounts-for-non-profits-ngos.md`)")
    assert "<!channel>" not in json.dumps(blocks)

    (ask,) = fake_slack.of("files.getUploadURLExternal")
    (upload,) = fake_slack.of("upload")
    (complete,) = fake_slack.of("files.completeUploadExternal")
    assert ask.body["filename"] == f"kb-digest-{week}.png" and int(ask.body["length"]) == len(upload.raw)
    assert upload.raw.startswith(b"\x89PNG\r\n\x1a\n")
    assert complete.body["channel_id"] == "C1"
    assert json.loads(complete.body["files"]) == [{"id": "F0001", "title": f"Questions and answer rate per day, {week}"}]

    again = kb_digest(env, "--post", "--channel", "C1")
    assert again.exit_code == 0 and again.output == f"The {week} digest was already posted to C1: not posted again.\n"
    assert len(fake_slack.of("chat.postMessage")) == 1 and len(fake_slack.of("upload")) == 1


def test_channels_come_from_the_environment_and_each_gets_its_own(env, fake_slack):
    result = kb_digest({**env, "KB_DIGEST_CHANNELS": "C1, C2"}, "--post")
    assert result.exit_code == 0 and "digest to C1, C2." in result.output
    assert [c.body["channel"] for c in fake_slack.of("chat.postMessage")] == ["C1", "C2"]
    assert [c.body["channel_id"] for c in fake_slack.of("files.completeUploadExternal")] == ["C1", "C2"]
    again = kb_digest({**env, "KB_DIGEST_CHANNELS": "C1,C2,C3"}, "--post")  # a channel added mid-week gets it
    assert "to C3." in again.output and "already posted to C1, C2" in again.output
    assert len(fake_slack.of("chat.postMessage")) == 3


def test_a_failed_post_is_released_so_the_next_run_posts(env, fake_slack, state_db):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api/"
    failed = kb_digest({**env, "SLACK_API_URL": dead}, "--post", "--channel", "C1")
    assert failed.exit_code == 1 and failed.output.startswith("Error: could not post the digest to C1 (")
    assert failed.output.rstrip().endswith("run again to retry") and "Traceback" not in failed.output
    assert StateDB(state_db).db.execute("SELECT COUNT(*) FROM digests").fetchone()[0] == 0
    retried = kb_digest(env, "--post", "--channel", "C1")
    assert retried.exit_code == 0 and "Posted the" in retried.output
    assert len(fake_slack.of("chat.postMessage")) == 1


def test_without_post_it_prints_and_sends_nothing(env, fake_slack):
    result = kb_digest(env, "--since", "2w")
    assert result.exit_code == 0
    assert "(changes compared with the 2 weeks before)" in result.output
    assert "Questions asked  11  (+11 vs 0)" in result.output and "Answer rate      64%  (vs n/a): 7 answered, 4 gaps" in result.output
    assert "Expert answers   3  (vs 0)" in result.output
    assert "Drafts waiting to be published\n  <!channel> discounts for non-profits & NGOs  (drafts/thread-c1-1-1-channel-discounts" in result.output
    assert fake_slack.calls == []


@pytest.mark.parametrize("extra, args, says", [
    ({"KB_STALE_DAYS": "100000"}, [], "Stale documents (not reviewed for 100000+ days)\n  none\n"),
    ({"KB_STALE_DAYS": "100000"}, ["--stale-days", "365"], "Stale documents (not reviewed for 365+ days)\n  Initech battlecard"),
])
def test_stale_days_come_from_the_environment_or_the_option(env, extra, args, says):
    assert says in kb_digest({**env, **extra}, *args).output


@pytest.mark.parametrize("args, extra, says", [
    (["--post", "--channel", "C1"], {"SLACK_BOT_TOKEN": ""}, "Error: SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token"),
    (["--post"], {}, "Error: no channel to post to: pass --channel C0123ABCD (or set KB_DIGEST_CHANNELS)"),
    ([], {"KB_DIGEST_HOUR": "25"}, "Error: KB_DIGEST_HOUR must be a whole number from 0 to 23, not '25'"),
    ([], {"KB_DIGEST_DAY": "someday"}, "Error: KB_DIGEST_DAY: not a weekday: 'someday' (use mon, tue, wed, thu, fri, sat or sun)"),
    ([], {"KB_DIGEST_TZ": "Mars/Olympus"}, "Error: KB_DIGEST_TZ: unknown time zone 'Mars/Olympus'"),
    ([], {"KB_STATE_DB": "/nonexistent/state.db"}, "Error: no state DB at /nonexistent/state.db"),
    (["--since", "7x"], {}, "Invalid value for '--since': '7x' is not a period: use Nd or Nw"),
])
def test_setup_mistakes_are_one_clear_line(env, fake_slack, args, extra, says):
    result = kb_digest({**env, **extra}, *args)
    assert result.exit_code in (1, 2) and says in result.output
    assert "Traceback" not in result.output and fake_slack.calls == []


@pytest.fixture
def schedule(fake_slack, state_db, sample_index):
    client = WebClient(token=TOKEN, base_url=fake_slack.api_url)
    return DigestSchedule(client, StateDB(state_db), LiveIndex(sample_index), ("C1", "C2"), day="mon", hour=9, tz=BERLIN, retention_days=30)


def test_the_schedule_posts_each_slot_once_and_applies_retention(schedule, fake_slack):
    old = schedule.state.record_question("an old question", "dm", "U1")
    schedule.state.db.execute("UPDATE questions SET asked_at = ? WHERE id = ?", ((datetime.now(UTC) - timedelta(days=40)).isoformat(), old))
    slot = datetime(2026, 11, 23, 9, tzinfo=BERLIN)
    next_slot = datetime(2026, 11, 30, 9, tzinfo=BERLIN)
    assert schedule.tick(slot + timedelta(minutes=5)) == next_slot
    assert [c.body["channel"] for c in fake_slack.of("chat.postMessage")] == ["C1", "C2"]
    assert schedule.state.question(old).question is None
    assert schedule.tick(slot + timedelta(hours=2)) == next_slot  # a restart the same morning: no second post
    assert schedule.tick(slot + timedelta(days=1)) == next_slot  # too late to catch up
    assert len(fake_slack.of("chat.postMessage")) == 2
    rows = schedule.state.db.execute("SELECT period, channel FROM digests ORDER BY channel").fetchall()
    assert [tuple(r) for r in rows] == [("2026-W48", "C1"), ("2026-W48", "C2")]


def test_run_forever_sleeps_in_short_steps_until_each_slot(schedule, fake_slack):
    class Stop(Exception):
        pass

    now = [datetime(2026, 11, 23, 8, 30, tzinfo=UTC)]  # 09:30 in Berlin, half an hour after a slot
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += timedelta(seconds=seconds)
        if now[0] > datetime(2026, 12, 1, tzinfo=UTC):
            raise Stop

    with pytest.raises(Stop):
        schedule.run_forever(clock=lambda: now[0], sleep=sleep)
    rows = schedule.state.db.execute("SELECT period, channel FROM digests ORDER BY period, channel").fetchall()
    assert [tuple(r) for r in rows] == [("2026-W48", "C1"), ("2026-W48", "C2"), ("2026-W49", "C1"), ("2026-W49", "C2")]
    assert max(naps) <= 3600 and len(fake_slack.of("chat.postMessage")) == 4


def test_blocks_stay_within_slack_limits(tmp_path, sample_index, embedder):
    state, index = StateDB(tmp_path / "state.db"), Index.open(sample_index)
    gaps = Gaps(state, embedder)
    for n in range(8):
        record(state, index, gaps, datetime.now(UTC) - timedelta(hours=n), "gap", None, None, f"{'x' * 900} <!here> {n} " + "word " * n)
    now = datetime.now(UTC)
    blocks = digest_blocks(compute(state, index, now - timedelta(days=7), now, stale_days=1))
    assert len(blocks) <= 50
    assert all(len(t) <= 3000 for t in section_texts(blocks)) and "<!here>" not in json.dumps(blocks)
    assert section_texts(blocks)[2].endswith("…and 9 more")  # every sample document is stale after one day
