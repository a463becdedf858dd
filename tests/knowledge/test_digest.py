"""The digest's figures on a real state DB (SQLite and PostgreSQL) and the real sample index; the schedule's clock arithmetic."""
from __future__ import annotations

import io
import sqlite3
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from indexer.build import build
from knowledge.answer import Answer
from knowledge.digest import (
    Change, Day, DocumentCount, Figures, chart_png, compute, daily_series, figures, iso, last_run, next_run, period_key,
    render_text, weekday,
)
from knowledge.drafts import Drafts, thread_draft
from knowledge.gaps import Gaps
from knowledge.index import Index, current_build
from knowledge.search import Hit
from knowledge.state import StateDB
from knowledge.state_pg import PostgresState
from tests.conftest import write

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
UNTIL = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
SINCE = UNTIL - timedelta(days=7)
PRICING, ACME, HUB = "playbooks/pricing-and-discounting.md", "battlecards/acme.md", "products/integration-hub.md"
RENEWALS, SECURITY = "playbooks/renewals.md", "playbooks/security-review.md"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


# (when, status, top document, feedback, question text): the two periods, and a little on either side.
QUESTIONS = [
    (at(1, 12), "gap", None, None, "do we support HIPAA and sign a BAA"),  # its gap is ignored below
    (at(2, 12), "gap", SECURITY, None, "customer asking for our SOC 2"),
    (at(2, 13), "answered", ACME, "helpful", "acme pricing"),
    # the previous period: 4 questions, 3 answered, 1 gap
    (at(10, 10), "answered", RENEWALS, "helpful", "renewal uplift cap"),
    (at(12, 10), "answered", RENEWALS, None, "churn signals"),
    (at(15, 10), "answered", PRICING, None, "discount approval"),
    (at(16, 8, 59, 59), "gap", None, None, "what is our parental leave policy"),
    # this period: 12 questions, 8 answered, 2 gaps, 1 pending, 1 error; 3 helpful, 2 not
    (SINCE, "answered", PRICING, "helpful", "who approves a 30% discount"),
    (at(17, 10), "answered", PRICING, "helpful", "discount over 20%"),
    (at(17, 15), "answered", PRICING, None, "deal desk approval"),
    (at(18, 23, 30), "answered", PRICING, "not_helpful", "multi-year discount"),  # 00:30 on the 19th in Berlin
    (at(19, 9), "answered", ACME, "helpful", "price objection vs acme"),
    (at(20, 12), "answered", ACME, None, "acme landmines"),
    (at(20, 14), "gap", SECURITY, "not_helpful", "do we have a SOC 2 report"),
    (at(21, 8), "pending", None, None, "still being searched"),
    (at(21, 12), "answered", ACME, None, "why we win vs acme"),
    (at(22, 12), "answered", HUB, None, "snowflake connector"),
    (at(22, 16), "gap", None, None, "where's the SOC2 report"),
    (at(23, 8, 59, 59), "error", None, None, "this one failed"),
    # the period's end is not in it
    (UNTIL, "answered", ACME, "helpful", "acme talk track"),
]


def record(state: StateDB, index: Index, gaps: Gaps, when, status, top, feedback, text) -> int:
    """Store a question as the bot does (question, answer or outcome, feedback, gap), then date it."""
    qid = state.record_question(text, "mention", "U1", "C1")
    if status in ("answered", "gap"):
        hits = [Hit(index.document_chunks(top)[0], 0.61, 0.03)] if top else []
        state.record_answer(qid, Answer(text, status == "answered", hits))
    elif status == "error":
        state.record_outcome(qid, "error", "RuntimeError: injected")
    if feedback:
        state.record_feedback(qid, feedback == "helpful")
    if status == "gap":
        gaps.add(qid)
    state.execute("UPDATE questions SET asked_at = ? WHERE id = ?", (iso(when), qid))
    return qid


# (question text, status, answered at): questions sent to the experts' channel, answered whenever.
EXPERT_REQUESTS = [
    ("do we support HIPAA and sign a BAA", "answered", at(12, 10)),  # the previous period
    ("customer asking for our SOC 2", "answered", at(17, 9)),
    ("do we have a SOC 2 report", "closed", at(21, 16)),  # Mark answered, no reply
    ("where's the SOC2 report", "open", None),
    ("what is our parental leave policy", "answered", UNTIL),  # the period's end is not in it
]


def ask_expert(state: StateDB, text: str, status: str, answered: datetime | None) -> None:
    """An expert request as the experts' channel leaves it: open, answered (a reply) or closed (Mark answered)."""
    qid = next(q.id for q in state.questions() if q.question == text)
    state.execute(
        "INSERT INTO expert_requests (question_id, asked_by, relay_channel, channel, ts, status, answer, answered_by, answered_at, created_at) "
        "VALUES (?, 'U1', 'C1', 'C0EXPERTS', ?, ?, ?, ?, ?, ?)",
        (qid, f"1700000000.{qid:06d}", status, "the answer" if status == "answered" else None,
         "U0EXPERT" if answered else None, iso(answered) if answered else None, iso(at(1, 0))),
    )


@pytest.fixture
def index(sample_index) -> Index:
    return Index.open(sample_index)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def filled(request, tmp_path_factory, sample_index, embedder) -> StateDB:
    """The questions above on each backend, filled once a module: the tests only read them."""
    if request.param == "postgres":
        state = PostgresState(request.getfixturevalue("postgres").fresh_url())
    else:
        state = StateDB(tmp_path_factory.mktemp("digest") / "state.db")
    index, gaps = Index.open(sample_index), Gaps(state, embedder)
    for row in QUESTIONS:
        record(state, index, gaps, *row)
    hipaa = state.questions()[0].gap_id
    gaps.ignore(hipaa)
    for request in EXPERT_REQUESTS:
        ask_expert(state, *request)
    yield state
    state.close()


def test_figures_for_the_period_and_the_one_before(filled, index):
    digest = compute(filled, index, SINCE, UNTIL, stale_days=180)
    assert digest.current == Figures(questions=12, answered=8, gaps=2, helpful=3, not_helpful=2, expert_answered=2)
    assert digest.previous == Figures(questions=4, answered=3, gaps=1, helpful=1, not_helpful=0, expert_answered=1)
    assert digest.current.answer_rate == 0.8 and digest.previous.answer_rate == 0.75
    assert digest.question_change == 8 and digest.rate_change == pytest.approx(5.0)


def test_top_gaps_are_the_open_ones_with_their_counts(filled, index):
    digest = compute(filled, index, SINCE, UNTIL)
    assert [(g.question, g.count) for g in digest.top_gaps] == [
        ("customer asking for our SOC 2", 3), ("what is our parental leave policy", 1)]


def test_documents_that_answered_most_count_only_answered_questions_in_the_period(filled, index):
    digest = compute(filled, index, SINCE, UNTIL)
    assert digest.top_documents == [
        DocumentCount(PRICING, "Pricing and discounting playbook", "https://enablement.brightwave.example/playbooks/pricing-and-discounting", 4),
        DocumentCount(ACME, "Acme Corp battlecard", "https://enablement.brightwave.example/battlecards/acme", 3),
        DocumentCount(HUB, "Integration Hub product sheet", "https://enablement.brightwave.example/products/integration-hub", 1),
    ]


@pytest.mark.parametrize("stale_days, expected", [
    (180, [("battlecards/initech.md", 427), ("products/forecasting-analytics.md", 350), ("battlecards/umbrella.md", 312), ("playbooks/expansion.md", 264)]),
    (365, [("battlecards/initech.md", 427)]),
    (500, []),
])
def test_stale_documents_oldest_first_with_owners(filled, index, stale_days, expected):
    digest = compute(filled, index, SINCE, UNTIL, stale_days=stale_days)
    assert [(d.path, digest.reviewed_days_ago(d)) for d in digest.stale] == expected
    if expected:
        assert digest.stale[0].owner == "Priya Raman (Competitive Intel)" and digest.stale[0].last_reviewed == date(2025, 9, 22)


def test_changes_are_those_of_the_period(filled, index):
    assert compute(filled, index, SINCE, UNTIL).changes == []  # the sample index was built after UNTIL
    now = datetime.now(UTC)
    recent = compute(filled, index, now - timedelta(days=7), now + timedelta(seconds=1)).changes
    assert len(recent) == 19 and {c.change for c in recent} == {"added"}
    assert recent[0].path == "battlecards/acme.md" and recent[0].title == "Acme Corp battlecard"


def test_changes_fold_several_builds_into_one_line_per_document(tmp_path, embedder):
    source, root = tmp_path / "kb", tmp_path / "index"
    for name in ("a", "b", "c"):
        write(source, f"{name}.md", f"# Doc {name}\n\nText about {name}.\n")
    build(source, root, embedder)
    time.sleep(1.1)  # change times have one-second resolution
    between = datetime.now(UTC)
    write(source, "b.md", "# Doc b\n\nNew text about b.\n")
    (source / "c.md").unlink()
    write(source, "d.md", "# Doc d\n\nText about d.\n")
    build(source, root, embedder)
    index, state, later = Index.open(root), StateDB(tmp_path / "state.db"), datetime.now(UTC) + timedelta(seconds=1)
    second = compute(state, index, between, later).changes
    assert [(c.path, c.change, c.title) for c in second] == [("d.md", "added", "Doc d"), ("b.md", "changed", "Doc b"), ("c.md", "removed", "c.md")]
    both = compute(state, index, between - timedelta(hours=1), later).changes
    assert [(c.path, c.change) for c in both] == [("a.md", "added"), ("b.md", "added"), ("d.md", "added"), ("c.md", "removed")]
    assert all(isinstance(c, Change) for c in both)


def test_an_index_from_before_changes_were_recorded_has_none(tmp_path, embedder):
    write(tmp_path / "kb", "a.md", "# A\n\nText.\n")
    build(tmp_path / "kb", tmp_path / "index", embedder)
    build_dir = current_build(tmp_path / "index")
    with sqlite3.connect(build_dir / "index.db") as db:
        db.execute("DROP TABLE changes")
    now = datetime.now(UTC)
    assert compute(StateDB(tmp_path / "state.db"), Index(build_dir), now - timedelta(days=7), now).changes == []


def test_daily_series_counts_each_day_in_the_period_time_zone(filled):
    def series(tz):
        return [(d.day.day, d.questions, d.answered, d.gaps) for d in daily_series(filled, SINCE.astimezone(tz), UNTIL.astimezone(tz))]

    assert series(BERLIN) == [(16, 1, 1, 0), (17, 2, 2, 0), (18, 0, 0, 0), (19, 2, 2, 0), (20, 2, 1, 1), (21, 2, 1, 0), (22, 2, 1, 1), (23, 1, 0, 0)]
    assert series(UTC)[2:4] == [(18, 1, 1, 0), (19, 1, 1, 0)]
    assert Day(date(2026, 11, 20), 2, 1, 1).answer_rate == 0.5 and Day(date(2026, 11, 18), 0, 0, 0).answer_rate is None


def test_render_text_reads_as_a_report(filled, index):
    text = render_text(compute(filled, index, SINCE, UNTIL, stale_days=365))
    assert text.startswith("Knowledge base digest: Mon 16 Nov 09:00 – Mon 23 Nov 09:00 (UTC)\n(changes compared with the 7 days before)\n")
    for line in [
        "Questions asked  12  (+8 vs 4)",
        "Answer rate      80%  (+5 pts vs 75%): 8 answered, 2 gaps",
        "Feedback         3 helpful, 2 not helpful",
        "Expert answers   2  (vs 1)",
        "    3×  customer asking for our SOC 2",
        "    4×  Pricing and discounting playbook  (playbooks/pricing-and-discounting.md)",
        "  Initech battlecard  (battlecards/initech.md): Priya Raman (Competitive Intel), last reviewed 2025-09-22 (427 days ago)",
        "New and changed documents\n  none",
        "Drafts waiting to be published\n  none\n",
    ]:
        assert line in text


def test_an_empty_period_says_so(state, index):
    digest = compute(state, index, SINCE, UNTIL, stale_days=500)
    assert digest.current == Figures() and digest.rate_change is None
    assert "Answer rate      n/a  (vs n/a): 0 answered, 0 gaps" in render_text(digest)
    assert "Top open gaps\n  none" in render_text(digest)
    assert "Expert answers   0  (vs 0)" in render_text(digest) and digest.drafts == []


def test_questions_experts_answered_count_by_when_they_answered(filled):
    assert figures(filled, at(21, 0), at(22, 0)).expert_answered == 1  # the closed one: Mark answered counts
    assert figures(filled, at(17, 9), at(17, 9, 0, 1)).expert_answered == 1  # a half-open period: its start is in it
    assert figures(filled, UNTIL, UNTIL + timedelta(hours=1)).expert_answered == 1
    assert figures(filled, at(1, 0), UNTIL + timedelta(hours=1)).expert_answered == 4  # never the open one


def test_drafts_waiting_are_those_the_current_build_does_not_index(state, tmp_path, embedder):
    source = tmp_path / "kb"
    write(source, "intro.md", "---\ntitle: Intro\n---\n# Intro\n\nHello.\n")
    published = thread_draft([{"ts": "1.1", "user": "U1", "text": "*On-prem*: we offer a private VPC"}], "C1")
    waiting_one = thread_draft([{"ts": "2.2", "user": "U2", "text": "Discounts for non-profits"}], "C1")
    drafts = Drafts(state, source)
    for draft in (published, waiting_one):
        drafts.save(draft, by="U0COORD")
    build(source, tmp_path / "index", embedder)
    assert [d.title for d in compute(state, Index.open(tmp_path / "index"), SINCE, UNTIL).drafts] == [
        "On-prem: we offer a private VPC", "Discounts for non-profits"]  # draft: true keeps both out of the index
    path = source / published.path
    path.write_text(path.read_text(encoding="utf-8").replace("draft: true\n", ""), encoding="utf-8")  # a writer publishes it
    build(source, tmp_path / "index", embedder)
    digest = compute(state, Index.open(tmp_path / "index"), SINCE, UNTIL)
    assert [(d.title, d.path, d.source, d.created_by) for d in digest.drafts] == [
        ("Discounts for non-profits", waiting_one.path, "thread", "U0COORD")]
    assert f"Drafts waiting to be published\n  Discounts for non-profits  ({waiting_one.path})\n" in render_text(digest)


def test_chart_is_a_small_png(filled, index):
    png = chart_png(compute(filled, index, SINCE.astimezone(BERLIN), UNTIL.astimezone(BERLIN)))
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (700, 300))
    assert len(image.convert("RGB").getcolors(maxcolors=100_000)) > 10  # bars and a line were drawn, not a blank canvas


@pytest.mark.parametrize("now, day, hour, tz, expected", [
    # the same Monday, a second before the slot; at the slot itself the next one is a week on
    (datetime(2026, 11, 30, 8, 59, 59, tzinfo=UTC), "mon", 9, "UTC", datetime(2026, 11, 30, 9, tzinfo=UTC)),
    (datetime(2026, 11, 30, 9, tzinfo=UTC), "mon", 9, "UTC", datetime(2026, 12, 7, 9, tzinfo=UTC)),
    (datetime(2026, 11, 29, 23, 59, tzinfo=UTC), "mon", 9, "UTC", datetime(2026, 11, 30, 9, tzinfo=UTC)),
    (datetime(2026, 11, 27, 2, tzinfo=UTC), "fri", 0, "UTC", datetime(2026, 12, 4, 0, tzinfo=UTC)),
    # Monday 23:30 UTC is already Tuesday in Tokyo: next Monday; Monday 16:30 UTC is 08:30 in Los Angeles: today
    (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "mon", 9, "Asia/Tokyo", datetime(2026, 12, 7, 0, tzinfo=UTC)),
    (datetime(2026, 11, 30, 16, 30, tzinfo=UTC), "mon", 9, "America/Los_Angeles", datetime(2026, 11, 30, 17, tzinfo=UTC)),
    # across a DST change the wall time stays 09:00: 7 days + 1 hour in October, 7 days - 1 hour in March
    (datetime(2026, 10, 19, 7, 30, tzinfo=UTC), "mon", 9, "Europe/Berlin", datetime(2026, 10, 26, 8, tzinfo=UTC)),
    (datetime(2026, 3, 23, 8, 30, tzinfo=UTC), "mon", 9, "Europe/Berlin", datetime(2026, 3, 30, 7, tzinfo=UTC)),
    # 02:00 does not exist on 8 March 2026 in New York: the slot is the moment the clock jumps to 03:00 EDT
    (datetime(2026, 3, 7, 12, tzinfo=UTC), "sun", 2, "America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),
    # 01:00 happens twice on 1 November: the first one, and not the repeat an hour later
    (datetime(2026, 10, 31, 12, tzinfo=UTC), "sun", 1, "America/New_York", datetime(2026, 11, 1, 5, tzinfo=UTC)),
    (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "sun", 1, "America/New_York", datetime(2026, 11, 8, 6, tzinfo=UTC)),
])
def test_next_run(now, day, hour, tz, expected):
    found = next_run(now, day, hour, tz)
    # compared in UTC: an ambiguous local time never equals a time in another zone (PEP 495)
    assert found.astimezone(UTC) == expected and found.tzinfo == ZoneInfo(tz)
    assert last_run(found, day, hour, tz) == found and last_run(found - timedelta(seconds=1), day, hour, tz) < found


def test_next_run_keeps_the_wall_clock_hour_all_year():
    now, tz = datetime(2026, 1, 1, tzinfo=UTC), ZoneInfo("Europe/Berlin")
    for _ in range(60):
        now = next_run(now, "monday", 9, tz)
        assert (now.weekday(), now.hour, now.minute) == (0, 9, 0)
    assert now == datetime(2027, 2, 22, 9, tzinfo=tz)


@pytest.mark.parametrize("until, tz, key", [
    (datetime(2026, 11, 23, 9, tzinfo=UTC), "UTC", "2026-W48"),
    (datetime(2026, 11, 29, 23, 30, tzinfo=UTC), "UTC", "2026-W48"),
    (datetime(2026, 11, 29, 23, 30, tzinfo=UTC), "Europe/Berlin", "2026-W49"),  # already Monday there
    (datetime(2027, 1, 1, 12, tzinfo=UTC), "UTC", "2026-W53"),
    (datetime(2027, 1, 4, 9, tzinfo=UTC), "UTC", "2027-W01"),
])
def test_period_key_is_the_iso_week_of_the_end(until, tz, key):
    assert period_key(until, tz) == key


@pytest.mark.parametrize("name, n", [("mon", 0), ("Sunday", 6), (" FRI ", 4)])
def test_weekday_names(name, n):
    assert weekday(name) == n


@pytest.mark.parametrize("name", ["mo", "monday-ish", "8", ""])
def test_weekday_rejects_other_names(name):
    with pytest.raises(ValueError, match="not a weekday"):
        weekday(name)
