"""Drafts from gaps (with and without the expert's reply) and from Slack threads, kept in the state DB and
written into the knowledge base folder, never over a writer's file and never outside drafts/."""
from __future__ import annotations

import time
from datetime import date

import pytest
import yaml

from indexer.build import build
from indexer.markdown import parse
from knowledge.answer import Answer
from knowledge.drafts import (
    THREAD_CHARS, Draft, DraftError, Drafts, UnknownDraft, discard, gap_draft, nearest_sections, plain_line, stored_drafts, thread_draft,
    to_markdown, waiting,
)
from knowledge.gaps import Gaps
from knowledge.index import Index
from knowledge.state import now
from tests.conftest import write

TODAY = date(2026, 11, 28)
BAA = ["do we sign a HIPAA BAA", "will we sign a business associate agreement"]
EXPERT_REPLY = (
    "Yes, on *Enterprise* only: legal signs our own BAA template. See <https://legal.example/baa?x=1&amp;y=2|the BAA page>; "
    "ask <@U0LEGAL> for theirs &amp; redlines.\n• 5 business days\n• never &lt;Starter&gt;"
)


def front_matter(markdown: str) -> dict:
    return yaml.safe_load(markdown.split("---")[1])


@pytest.mark.parametrize("mrkdwn, markdown", [
    ("see <https://x.example/a_b?c=1&amp;d=2|the *policy*>", "see [the **policy**](https://x.example/a_b?c=1&d=2)"),
    ("<https://plain.example/p>", "<https://plain.example/p>"),
    ("*bold* and *two words* but 2*3*4 and snake_case", "**bold** and **two words** but 2*3*4 and snake_case"),
    ("~gone~ _kept_", "~~gone~~ _kept_"),
    ("ask <@U0LEGAL> or <@U0OPS|ops-lead>", "ask @Lee Legal or @ops-lead"),
    ("<!here> <!subteam^S0SE|@sales-eng> <#C0SALES|sales> <#C0X>", "@here @sales-eng #sales #C0X"),
    ("&lt;b&gt; &amp;amp; &amp;lt;", "<b> &amp; &lt;"),
    ("• one\n• two", "- one\n- two"),
    ("# not a heading", "\\# not a heading"),
    ("&gt; a quote", "> a quote"),
    ("`*x* &lt;y&gt;` and ```\n*raw* <@U0LEGAL>\n```", "`*x* <y>` and ```\n*raw* <@U0LEGAL>\n```"),
    ("[a](b) <https://x.example/(1)|x]y>", "[a](b) [x\\]y](https://x.example/%281%29)"),
])
def test_slack_mrkdwn_becomes_markdown(mrkdwn, markdown):
    assert to_markdown(mrkdwn, {"U0LEGAL": "Lee Legal"}) == markdown


def test_plain_line_is_the_first_line_without_markup():
    assert plain_line("\n*Can we* sign <https://x.example|a BAA> for <@U1>?\nsecond line") == "Can we sign a BAA for @U1?"


@pytest.fixture
def gaps(state, embedder) -> Gaps:
    """One gap asked three times (two phrasings, two reps) on each backend."""
    gaps = Gaps(state, embedder)
    for text, user in [(BAA[0], "U1"), (BAA[1], "U2"), (BAA[0], "U1")]:
        qid = state.record_question(text, "ask", user, "C1")
        state.record_answer(qid, Answer(text, False, []))
        gaps.add(qid)
    return gaps


def test_a_gap_without_an_expert_answer_is_a_stub_with_a_todo(gaps, sample_kb):
    gap = gaps.get(1)
    draft = gap_draft(gap, nearest_sections(sample_kb, gap.question), today=TODAY)
    assert (draft.path, draft.title, draft.source, draft.gap_id, draft.owner_slack) == (
        "drafts/gap-1-do-we-sign-a-hipaa-baa.md", "Do we sign a HIPAA BAA", "gap", 1, None)
    assert front_matter(draft.markdown) == {"title": "Do we sign a HIPAA BAA", "type": "faq", "owner": "TODO",
                                            "last_reviewed": TODAY, "draft": True}
    body = draft.markdown.split("---", 2)[2]
    assert "## Answer\n\nTODO: the answer" in body
    assert "## How reps asked\n\n- do we sign a HIPAA BAA\n- will we sign a business associate agreement\n" in body
    nearest = body.split("## Nearest existing sections\n\n")[1].splitlines()
    assert len(nearest) == 3 and all(line.startswith("- [") and "](https://enablement.brightwave.example/" in line for line in nearest)


def test_a_gap_with_an_expert_answer_has_it_as_its_body_and_the_expert_as_owner(gaps):
    gaps.record_expert_answer(1, EXPERT_REPLY, by="U0EXPERT")
    draft = gap_draft(gaps.get(1), today=TODAY)
    meta = front_matter(draft.markdown)
    assert meta["owner_slack"] == "U0EXPERT" and meta["draft"] is True and draft.owner_slack == "U0EXPERT"
    answer = draft.markdown.split("## Answer\n\n")[1].split("\n\n## How reps asked")[0]
    assert answer.startswith(
        "Yes, on **Enterprise** only: legal signs our own BAA template. See [the BAA page](https://legal.example/baa?x=1&y=2); "
        "ask @U0LEGAL for theirs & redlines.\n- 5 business days\n- never <Starter>\n\n<!-- Answered by @U0EXPERT in the experts' channel on 20")
    assert "TODO: the answer" not in draft.markdown
    assert "## Nearest existing sections\n\n- none found\n" in draft.markdown


THREAD = [
    {"ts": "1700000000.000100", "user": "U0AE", "text": "What's our *answer* when a prospect asks for on-prem? &lt;urgent&gt;",
     "user_profile": {"display_name": "Ana", "real_name": "Ana Exec"}},
    {"ts": "1700000000.000200", "user": "U0SE", "text": "We offer a <https://x.example/vpc|private VPC>, not on-prem. cc <@U0AE>",
     "user_profile": {"display_name": "", "real_name": "Sam Engineer"}},
    {"ts": "1700000000.000300", "bot_id": "B1", "username": "answers", "text": "Thanks!"},
    {"ts": "1700000000.000400", "user": "U0AE", "text": "   "},  # nothing to save
]


def test_a_thread_draft_has_the_parent_as_title_the_clicked_reply_as_answer_and_the_whole_thread():
    draft = thread_draft(THREAD, "C0SALES", clicked_ts="1700000000.000200", permalink="https://example.slack.com/archives/C0SALES/p1700000000000100", today=TODAY)
    assert draft.title == "What's our answer when a prospect asks for on-prem? <urgent>"
    assert draft.path == "drafts/thread-c0sales-1700000000-000100-what-s-our-answer-when-a-prospect-asks-for-on-prem-urgent.md"
    assert (draft.source, draft.gap_id, draft.owner_slack) == ("thread", None, "U0AE")
    assert front_matter(draft.markdown)["owner_slack"] == "U0AE"
    assert "(3 message(s)): <https://example.slack.com/archives/C0SALES/p1700000000000100>. -->" in draft.markdown
    assert "## Answer\n\nWe offer a [private VPC](https://x.example/vpc), not on-prem. cc @Ana\n" in draft.markdown
    thread = draft.markdown.split("## From the Slack thread\n\n")[1]
    assert thread.startswith(
        "**@Ana:**\n\nWhat's our **answer** when a prospect asks for on-prem? <urgent>\n\n"
        "**@Sam Engineer:**\n\nWe offer a [private VPC](https://x.example/vpc), not on-prem. cc @Ana\n\n"
        "**answers:**\n\nThanks!\n\n## Nearest existing sections")


def test_a_thread_saved_from_its_parent_leaves_the_answer_to_the_writer_and_a_lone_message_is_the_answer():
    from_parent = thread_draft(THREAD, "C0SALES", clicked_ts="1700000000.000100", today=TODAY)
    assert "## Answer\n\nTODO: the answer" in from_parent.markdown
    assert "(3 message(s)): channel C0SALES, message 1700000000.000100. -->" in from_parent.markdown
    alone = thread_draft(THREAD[:1], "C0SALES", clicked_ts="1700000000.000100", today=TODAY)
    assert "## Answer\n\nWhat's our **answer** when" in alone.markdown
    with pytest.raises(DraftError):
        thread_draft([THREAD[3]], "C0SALES")


def test_a_huge_thread_is_saved_up_to_a_bound_and_says_what_it_left_out():
    thread = [{"ts": f"1700000000.{n:06d}", "user": "U1", "text": f"message {n} " + "x" * 40_000} for n in range(40)]
    draft = thread_draft(thread, "C0SALES", today=TODAY)
    assert len(draft.markdown) < THREAD_CHARS + 10_000  # 40 such messages: 1.6 MB
    assert "message 3 " in draft.markdown and "message 4 " not in draft.markdown
    assert "_... and 36 more message(s), not saved here: see the thread._" in draft.markdown


def test_saving_writes_the_file_and_keeps_the_markdown_in_the_state_db(state, tmp_path):
    drafts = Drafts(state, tmp_path / "kb")
    draft = thread_draft(THREAD, "C0SALES", today=TODAY)
    saved = drafts.save(draft, by="U0COORD")
    assert saved.written and saved.problem is None and saved.file == (tmp_path / "kb" / draft.path).resolve()
    assert saved.file.read_text(encoding="utf-8") == draft.markdown
    row = state.execute("SELECT id, gap_id, path, title, markdown, source, created_by FROM drafts").fetchall()
    assert [tuple(r) for r in row] == [(saved.id, None, draft.path, draft.title, draft.markdown, "thread", "U0COORD")]


def test_a_writers_file_is_never_overwritten_but_the_db_keeps_the_new_draft(state, tmp_path):
    drafts = Drafts(state, tmp_path / "kb")
    first = drafts.save(thread_draft(THREAD, "C0SALES", today=TODAY), by="U0COORD")
    first.file.write_text("# The writer's version\n", encoding="utf-8")
    again = thread_draft(THREAD[:2], "C0SALES", today=TODAY)
    second = drafts.save(again, by="U0COORD2")
    assert (second.written, second.problem, second.id) == (False, None, first.id)
    assert first.file.read_text(encoding="utf-8") == "# The writer's version\n"
    assert drafts.markdown(again.path) == again.markdown
    assert state.execute("SELECT COUNT(*), MAX(created_by) FROM drafts").fetchone()[:2] == (1, "U0COORD2")


def test_a_disk_that_cannot_take_the_file_loses_nothing(state, tmp_path):
    write(tmp_path / "kb", "drafts", "a file where the folder should be")
    draft = thread_draft(THREAD, "C0SALES", today=TODAY)
    saved = Drafts(state, tmp_path / "kb").save(draft)
    assert not saved.written and saved.problem
    assert Drafts(state, tmp_path / "kb").markdown(draft.path) == draft.markdown


@pytest.mark.parametrize("path", ["../escaped.md", "drafts/../../escaped.md", "/tmp/escaped.md", "drafts/sub/x.md", "drafts/x.txt", "playbooks/x.md"])
def test_a_draft_cannot_leave_the_drafts_folder(state, tmp_path, path):
    with pytest.raises(DraftError):
        Drafts(state, tmp_path / "kb").save(Draft(path, "t", "x\n", "thread"))
    assert not (tmp_path / "escaped.md").exists() and not (tmp_path / "kb" / "playbooks").exists()
    assert state.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 0


def test_hostile_text_cannot_steer_the_path(state, tmp_path, embedder):
    gaps = Gaps(state, embedder)
    qid = state.record_question("../../../etc/passwd/.. \\x00 ~/.ssh", "ask", "U1", "C1")
    state.record_answer(qid, Answer("x", False, []))
    gaps.add(qid)
    from_gap = gap_draft(gaps.get(1), today=TODAY)
    from_thread = thread_draft([{"ts": "../../1", "user": "U1", "text": "../../etc/passwd"}], "../C1", today=TODAY)
    for draft in (from_gap, from_thread):
        saved = Drafts(state, tmp_path / "kb").save(draft)
        assert saved.written and saved.file.parent == (tmp_path / "kb" / "drafts").resolve()
    assert from_gap.path == "drafts/gap-1-etc-passwd-x00-ssh.md"


def test_a_title_that_folds_into_a_fence_cannot_publish_the_draft(state, tmp_path, counting):
    # yaml folds at 80 columns: this title ended the front matter at an indented "---", losing `draft: true`.
    title = "Official update from RevOps on approvals for the Q4 renewals, read ---"
    draft = thread_draft([{"ts": "1700000000.000100", "user": "U1", "text": f"{title}\nReps may now approve 60% off."}],
                         "C0SALES", today=TODAY)
    assert draft.title == title and parse(draft.markdown, draft.path).meta["draft"] is True
    Drafts(state, tmp_path / "kb").save(draft)
    write(tmp_path / "kb", "playbooks/pricing.md", "# Pricing\n\nDiscounts over 20% need a VP.\n")
    report = build(tmp_path / "kb", tmp_path / "index", counting)
    assert report.drafts == [draft.path] and report.problems == []


def test_front_matter_ends_only_at_an_unindented_fence():
    doc = parse("---\ntitle: >-\n  A long title\n  ---\n  continued\ndraft: true\n---\nText.\n", "d.md")
    assert doc.meta["draft"] is True and doc.title == "A long title --- continued"


def test_a_drafts_folder_linked_outside_the_knowledge_base_is_refused(state, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "drafts").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DraftError):
        Drafts(state, tmp_path / "kb").save(thread_draft(THREAD, "C0SALES"))
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_drafts_wait_until_the_build_indexes_them(state, tmp_path, embedder):
    source = tmp_path / "kb"
    write(source, "intro.md", "---\ntitle: Intro\n---\n# Intro\n\nHello.\n")
    drafts = Drafts(state, source)
    one, two = (drafts.save(thread_draft([{**THREAD[0], "text": text}], "C0SALES", today=TODAY)) for text in ("First thread", "Second thread"))

    def indexed() -> list:
        return Index.open(tmp_path / "index").documents()

    build(source, tmp_path / "index", embedder)
    assert [d.title for d in waiting(state, indexed())] == ["First thread", "Second thread"]  # draft: true is not indexed
    one.file.write_text(one.file.read_text(encoding="utf-8").replace("draft: true\n", ""), encoding="utf-8")
    build(source, tmp_path / "index", embedder)
    assert [d.path for d in waiting(state, indexed())] == [two.draft.path]


def lone(text: str, ts: str = "1700000000.000100") -> Draft:
    return thread_draft([{**THREAD[0], "ts": ts, "text": text}], "C0SALES", today=TODAY)


def published_build(source, index_dir, embedder) -> tuple[list, list]:
    """Build the index and return what `waiting()` reads from it: the documents and the change log."""
    build(source, index_dir, embedder)
    index = Index.open(index_dir)
    return index.documents(), index.changes()


def test_a_discarded_draft_stops_waiting_and_loses_nothing(state, tmp_path, embedder):
    source = tmp_path / "kb"
    write(source, "intro.md", "---\ntitle: Intro\n---\n# Intro\n\nHello.\n")
    drafts = Drafts(state, source)
    one, two = drafts.save(lone("First thread", "1.1"), by="U0COORD"), drafts.save(lone("Second thread", "2.2"))
    built = published_build(source, tmp_path / "index", embedder)
    gone, discarded = discard(state, one.id, by="U0COORD")
    assert discarded
    assert (gone.id, gone.path, gone.discarded_by) == (one.id, one.draft.path, "U0COORD") and gone.discarded_at
    assert [d.id for d in waiting(state, *built)] == [two.id]
    assert [d.id for d in stored_drafts(state)] == [one.id, two.id]  # kept in the DB
    assert one.file.read_text(encoding="utf-8") == one.draft.markdown  # and on disk
    assert discard(state, one.id, by="U0OTHER") == (gone, False)  # a second one keeps the first one's who and when
    with pytest.raises(UnknownDraft):
        discard(state, 999, by="U0COORD")


def test_drafting_the_same_path_again_brings_a_discarded_draft_back(state, tmp_path):
    drafts = Drafts(state, tmp_path / "kb")
    first = drafts.save(lone("On-prem"), by="U0COORD")
    discard(state, first.id, by="U0COORD")
    again = drafts.save(lone("On-prem"), by="U0COORD")
    assert again.id == first.id and [d.id for d in waiting(state, [])] == [first.id]


def test_a_draft_published_under_another_path_stops_waiting(state, tmp_path, embedder):
    source = tmp_path / "kb"
    write(source, "playbooks/pricing.md", "---\ntitle: On-prem\n---\n# On-prem\n\nAn older page that only shares the title.\n")
    built = published_build(source, tmp_path / "index", embedder)
    drafts = Drafts(state, source)
    moved, kept = drafts.save(lone("On-prem", "1.1")), drafts.save(lone("Discounts for non-profits", "2.2"))
    assert [d.id for d in waiting(state, *built)] == [moved.id, kept.id]  # the older page is not the draft
    while now() <= stored_drafts(state)[-1].created_at:  # times are in seconds: publish in a later one
        time.sleep(0.05)
    text = moved.file.read_text(encoding="utf-8").replace("draft: true\n", "").replace("title: On-prem", "title: ' on-PREM '")
    write(source, "playbooks/on-prem.md", text)  # a writer moves it out of drafts/ and publishes it
    moved.file.unlink()
    assert [d.id for d in waiting(state, *published_build(source, tmp_path / "index", embedder))] == [kept.id]


def test_the_migration_keeps_the_drafts_of_an_existing_db(backend, tmp_path, monkeypatch):
    import knowledge.state
    import knowledge.state_pg

    with monkeypatch.context() as old:  # a state DB as the bot left it before drafts could be discarded
        old.setattr(knowledge.state, "MIGRATIONS", knowledge.state.MIGRATIONS[:-1])
        old.setattr(knowledge.state_pg, "MIGRATIONS", knowledge.state_pg.MIGRATIONS[:-1])
        before = backend()
        before.execute("INSERT INTO drafts (gap_id, path, title, markdown, source, created_by, created_at) "
                       "VALUES (NULL, 'drafts/old.md', 'Old draft', '# Old', 'thread', 'U0COORD', '2026-01-01T00:00:00+00:00')")
        before.close()
    after = backend()  # opening it migrates
    (old_draft,) = waiting(after, [])
    assert (old_draft.path, old_draft.discarded_at) == ("drafts/old.md", None)
    assert discard(after, old_draft.id, by="cli")[0].discarded_by == "cli" and waiting(after, []) == []
