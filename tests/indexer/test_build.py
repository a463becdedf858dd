"""Building real indexes (SQLite, FTS5, FAISS, the real model): incremental, atomic, forgiving."""
from __future__ import annotations

import json
import os
import sqlite3
from datetime import date

import pytest

from indexer.build import NothingToIndex, build
from indexer.chunking import EMBED_CHARS, MAX_CHARS
from indexer.sources import SourceFile, Unreadable, read_bytes, scan
from knowledge import late
from knowledge.answer import KnowledgeBase
from knowledge.errors import IndexModelMismatch, IndexNotFound
from knowledge.index import LiveIndex, current_build
from tests.conftest import CountingEmbedder, write
from tests.indexer.stand_in import HashEmbedder

PRICING = """---
title: Pricing playbook
type: playbook
owner: Dana (Deal Desk)
last_reviewed: 2026-10-01
---
# Pricing playbook

## Discount bands

Reps may give up to 10% on their own. 10-20% needs a manager; above 20% goes to the deal desk.

## Multi-year deals

A three-year prepaid deal earns an extra 5% off the list price.
"""

SECURITY = """---
title: Security review
type: playbook
---
# Security review

## SOC 2 report

Share the SOC 2 Type II report only after the prospect signs our mutual NDA.

## Pen test

The annual penetration test summary comes from the trust portal.
"""


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "kb"
    write(folder, "playbooks/pricing.md", PRICING)
    write(folder, "playbooks/security.md", SECURITY)
    return folder


def chunk_rows(root):
    db = sqlite3.connect(current_build(root) / "index.db")
    return db.execute("SELECT path, heading_path FROM chunks ORDER BY id").fetchall()


def test_first_build_embeds_every_chunk_and_writes_all_stores(source, tmp_path, counting):
    root = tmp_path / "index"
    report = build(source, root, counting)
    assert sorted(report.added) == ["playbooks/pricing.md", "playbooks/security.md"]
    assert (report.chunks, report.embedded, report.reused) == (4, 4, 0)
    assert len(counting.texts) == 4 + 4 + 2  # the chunks, their 4 heading paths, the 2 titles (for the ranker)
    assert chunk_rows(root) == [
        ("playbooks/pricing.md", "Discount bands"),
        ("playbooks/pricing.md", "Multi-year deals"),
        ("playbooks/security.md", "SOC 2 report"),
        ("playbooks/security.md", "Pen test"),
    ]
    kb = KnowledgeBase(LiveIndex(root, counting.name), counting)
    assert kb.ask("who approves a 15% discount").hits[0].chunk.heading_path[-1] == "Discount bands"


def test_editing_one_section_re_embeds_only_that_section(source, tmp_path, counting):
    root = tmp_path / "index"
    build(source, root, counting)
    counting.texts.clear()
    edited = PRICING.replace("an extra 5% off", "an extra 7% off")
    write(source, "playbooks/pricing.md", edited)
    report = build(source, root, counting)
    assert report.changed == ["playbooks/pricing.md"] and report.unchanged == 1
    assert (report.embedded, report.reused) == (1, 3)
    assert len(counting.texts) == 1 and "7% off" in counting.texts[0]


def chunk_pieces(root) -> dict[tuple[str, str], tuple[int, str, bytes]]:
    """(path, own heading) -> (chunk id, its text, its word pieces as stored)."""
    index = LiveIndex(root).get()
    pieces = late.Pieces(index.dir)
    return {(c.path, c.heading_path[-1]): (c.id, c.text, pieces.of(c.id).pack())
            for path in sorted(d.path for d in index.documents()) for c in index.document_chunks(path)}


def test_a_rebuild_keeps_the_word_pieces_of_unchanged_chunks_byte_for_byte(source, tmp_path, counting):
    root = tmp_path / "index"
    build(source, root, counting)
    before = chunk_pieces(root)
    counting.texts.clear()
    write(source, "playbooks/pricing.md", PRICING.replace("# Pricing playbook\n\n", "# Pricing playbook\n\n## Who to ask\n\nThe deal desk, in #deal-desk.\n\n"))
    report = build(source, root, counting)
    after = chunk_pieces(root)
    assert (report.embedded, report.reused) == (1, 4)
    assert not any(text in sent for _, text, _ in before.values() for sent in counting.texts)  # no unchanged chunk went to the model
    assert {key: after[key][2] for key in before} == {key: pieces for key, (_, _, pieces) in before.items()}
    assert after["playbooks/security.md", "Pen test"][0] == before["playbooks/security.md", "Pen test"][0] + 1  # kept by content, not row
    assert late.Pieces(current_build(root)).chunks == 5 and len(late.Tokens.unpack(after["playbooks/pricing.md", "Who to ask"][2]).pieces) > 2


def test_nothing_changed_means_no_new_build(source, tmp_path, counting):
    root = tmp_path / "index"
    first = build(source, root, counting).build_dir
    again = build(source, root, counting)
    assert again.up_to_date and current_build(root) == first


def test_deleting_a_file_removes_its_chunks(source, tmp_path, counting):
    root = tmp_path / "index"
    build(source, root, counting)
    (source / "playbooks/security.md").unlink()
    report = build(source, root, counting)
    assert report.removed == ["playbooks/security.md"]
    assert {path for path, _ in chunk_rows(root)} == {"playbooks/pricing.md"}
    kb = KnowledgeBase(LiveIndex(root, counting.name), counting)
    assert all(h.chunk.path == "playbooks/pricing.md" for h in kb.ask("SOC 2 report NDA").hits)


def test_a_failed_build_leaves_the_previous_index_answering(source, tmp_path, embedder):
    root = tmp_path / "index"
    build(source, root, embedder)
    live = LiveIndex(root, embedder.name)
    before = current_build(root)
    write(source, "playbooks/new.md", "# Renewals\n\n## Uplift\n\nRenewals carry a 5% uplift.\n")
    failing = CountingEmbedder(embedder, fail_after=0)
    with pytest.raises(RuntimeError, match="injected"):
        build(source, root, failing)
    assert current_build(root) == before
    assert not list((root / "builds").glob("*.partial"))
    kb = KnowledgeBase(live, embedder)
    assert kb.ask("when can I send the soc2 report").hits[0].chunk.heading_path[-1] == "SOC 2 report"


def test_a_running_reader_picks_up_a_new_build(source, tmp_path, embedder):
    root = tmp_path / "index"
    build(source, root, embedder)
    kb = KnowledgeBase(LiveIndex(root, embedder.name), embedder)
    assert not any("Uplift" in h.chunk.heading_path for h in kb.ask("renewal price uplift").hits)
    write(source, "playbooks/renewals.md", "# Renewals\n\n## Uplift\n\nRenewals carry a 5% price uplift.\n")
    build(source, root, embedder)
    assert kb.ask("renewal price uplift").hits[0].chunk.heading_path[-1] == "Uplift"


def test_broken_files_are_reported_and_the_rest_indexes(source, tmp_path, counting):
    write(source, "broken/front-matter.md", "---\ntitle: [oops\n---\n# X\n\nText\n")
    (source / "broken/latin1.md").write_bytes("# Caf\xe9\n".encode("latin-1"))
    write(source, "broken/empty.md", "")
    report = build(source, tmp_path / "index", counting)
    problems = sorted(str(p) for p in report.problems)
    assert problems == [
        "broken/empty.md:1: no content to index (empty, or headings without text)",
        "broken/front-matter.md:2: broken front matter: expected ',' or ']', but got '<stream end>'",
        "broken/latin1.md:1: not valid UTF-8 (byte 0xe9)",
    ]
    assert report.chunks == 4


def test_front_matter_of_odd_types_neither_stops_the_build_nor_the_questions(source, tmp_path, embedder):
    write(source, "battlecards/numbers.md", "---\ntype: battlecard\ncompetitor: 1234\nowner: 42\n"
          "last_reviewed: 2024-01-01 10:00:00\n---\n# 1234 battlecard\n\nThey undercut on price.\n")
    write(source, "broken/deep.md", "---\naliases: " + "[" * 5000 + "\n---\nText\n")
    report = build(source, tmp_path / "index", embedder)
    assert [str(p) for p in report.problems] == ["broken/deep.md:1: broken front matter: nested too deep"]
    kb = KnowledgeBase(LiveIndex(tmp_path / "index", embedder.name), embedder)
    [card] = kb.index.get().documents("battlecard")
    assert (card.competitor, card.owner, card.last_reviewed) == ("1234", "42", date(2024, 1, 1))
    assert kb.ask("how do we handle 1234 undercutting on price").hits[0].chunk.path == "battlecards/numbers.md"


def test_nothing_indexable_is_an_error(tmp_path, counting):
    write(tmp_path / "kb", "empty.md", "   \n")
    with pytest.raises(NothingToIndex, match="1 files had problems"):
        build(tmp_path / "kb", tmp_path / "index", counting)
    with pytest.raises(IndexNotFound):
        LiveIndex(tmp_path / "index")


def test_an_index_built_with_another_model_is_refused(source, tmp_path, embedder):
    root = tmp_path / "index"
    build(source, root, embedder)
    with pytest.raises(IndexModelMismatch, match="re-run `kb index`"):
        LiveIndex(root, "some-other-model")


def test_old_builds_are_pruned(source, tmp_path, embedder):
    root = tmp_path / "index"
    for n in range(4):
        write(source, "playbooks/extra.md", f"# Extra\n\nRevision {n} of the extra page.\n")
        build(source, root, embedder)
    assert len(list((root / "builds").iterdir())) == 2


def test_the_index_remembers_which_documents_changed_and_when(source, tmp_path, counting):
    root = tmp_path / "index"
    build(source, root, counting)
    write(source, "playbooks/pricing.md", PRICING.replace("5% off", "6% off"))
    (source / "playbooks/security.md").unlink()
    build(source, root, counting)
    changes = LiveIndex(root).get().changes(since="2000-01-01")
    assert [(p, c) for p, c, _ in changes] == [
        ("playbooks/pricing.md", "added"), ("playbooks/security.md", "added"),
        ("playbooks/pricing.md", "changed"), ("playbooks/security.md", "removed"),
    ]


def test_an_index_from_before_the_change_log_still_rebuilds_incrementally(source, tmp_path, counting):
    root = tmp_path / "index"
    build(source, root, counting)
    db = sqlite3.connect(current_build(root) / "index.db")
    db.execute("DROP TABLE changes")  # as an index built by an earlier version has it
    db.commit()
    db.close()
    write(source, "playbooks/pricing.md", PRICING.replace("5% off", "8% off"))
    report = build(source, root, counting)
    assert report.changed == ["playbooks/pricing.md"] and report.reused == 3


def test_a_long_running_reader_closes_builds_two_swaps_old(source, tmp_path, embedder):
    root = tmp_path / "index"
    build(source, root, embedder)
    live = LiveIndex(root, embedder.name)
    opened = [live.get()]
    for n in range(2):
        write(source, "playbooks/extra.md", f"# Extra\n\nRevision {n}.\n")
        build(source, root, embedder)
        opened.append(live.get())
    with pytest.raises(sqlite3.ProgrammingError):
        opened[0].chunks([0])  # closed: its SQLite handle no longer leaks
    assert opened[1].chunks([0]) and opened[2].chunks([0])  # the previous build still answers


def chunk_texts(root):
    db = sqlite3.connect(current_build(root) / "index.db")
    return [text for (text,) in db.execute("SELECT text FROM chunks")]


def test_files_named_md_markdown_or_mdx_are_read_and_nothing_else(tmp_path):
    for name in ("a.md", "b.markdown", "d.mdx", "notes.txt", "README", "c.md.bak", ".draft.md"):
        write(tmp_path / "kb", name, "# T\n\nText.\n")
    found, skipped = scan(tmp_path / "kb")
    assert ([f.path for f in found], skipped) == (["a.md", "b.markdown", "d.mdx"], [])


def test_a_sites_navigation_files_are_skipped_and_reported(tmp_path):
    for name in ("SUMMARY.md", "docs/_sidebar.md", "summary-of-terms.md", "playbooks/summary.md"):
        write(tmp_path / "kb", name, "# Contents\n\n* [Discount approval](playbooks/discounts.md)\n")
    found, skipped = scan(tmp_path / "kb")
    assert [f.path for f in found] == ["playbooks/summary.md", "summary-of-terms.md"]
    assert [str(s) for s in skipped] == ["SUMMARY.md: the site's navigation, not content",
                                         "docs/_sidebar.md: the site's navigation, not content"]


def test_symlinks_that_leave_the_source_are_skipped_and_reported(source, tmp_path, counting):
    server = tmp_path / "server"
    write(server, "secrets.md", "# Secrets\n\nSLACK_BOT_TOKEN=xoxb-leaked-token\n")
    write(server, "docs/private.md", "# Private\n\nxoxb-leaked-from-a-folder\n")
    (source / "env.md").symlink_to("/proc/self/environ")
    (source / "passwd.md").symlink_to("/etc/passwd")
    (source / "playbooks/token.md").symlink_to(server / "secrets.md")
    (source / "dangling-out.md").symlink_to(server / "nowhere.md")
    (source / "shared").symlink_to(server / "docs")  # a folder: nothing below it may be walked
    (source / "shared.md").symlink_to(server / "docs")
    (source / ".env").write_text("SLACK_BOT_TOKEN=xoxb-dotenv-token\n")
    (source / "dotenv.md").symlink_to(".env")  # inside the source, but hidden like .git
    (source / "playbooks/pricing-alias.md").symlink_to("pricing.md")  # inside: fine
    report = build(source, tmp_path / "index", counting)
    texts = "\n".join(chunk_texts(tmp_path / "index"))
    assert "xoxb-" not in texts and "root:" not in texts and "PATH=" not in texts
    assert [(s.path, s.reason) for s in report.skipped] == [
        ("dangling-out.md", "symlink to a file outside the source folder"),
        ("dotenv.md", "symlink to a hidden file or folder (.git, .env and the like)"),
        ("env.md", "symlink to a file outside the source folder"),
        ("passwd.md", "symlink to a file outside the source folder"),
        ("playbooks/token.md", "symlink to a file outside the source folder"),
        ("shared", "symlinked folder, not followed (it leads outside the source folder)"),
        ("shared.md", "symlinked folder, not followed (it leads outside the source folder)"),
    ]
    assert sorted(report.added) == ["playbooks/pricing-alias.md", "playbooks/pricing.md", "playbooks/security.md"]


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda kb: os.mkfifo(kb / "pipe.md"), "not a regular file (a FIFO)"),
        (lambda kb: (os.mkfifo(kb / "fifo"), (kb / "pipe.md").symlink_to("fifo")), "not a regular file (a FIFO)"),
        (lambda kb: (kb / "pipe.md").symlink_to("missing.md"), "broken symlink (No such file or directory)"),
        (lambda kb: ((kb / "pipe.md").symlink_to("loop.md"), (kb / "loop.md").symlink_to("pipe.md")), "broken symlink (Too many levels of symbolic links)"),
    ],
    ids=["fifo", "link-to-fifo", "dangling-link", "link-loop"],
)
def test_special_files_named_md_are_reported_without_blocking_the_build(source, tmp_path, counting, make, reason):
    make(source)
    report = build(source, tmp_path / "index", counting)
    assert ("pipe.md", reason) in [(s.path, s.reason) for s in report.skipped]
    assert sorted(report.added) == ["playbooks/pricing.md", "playbooks/security.md"]


def test_a_symlinked_folder_inside_the_source_is_reported_and_not_walked_twice(source, tmp_path, counting):
    (source / "current").symlink_to("playbooks")
    report = build(source, tmp_path / "index", counting)
    assert [(s.path, s.reason) for s in report.skipped] == [
        ("current", "symlinked folder, not followed (it points inside the source)")]
    assert sorted(report.added) == ["playbooks/pricing.md", "playbooks/security.md"]


@pytest.mark.parametrize("swap", ["fifo", "symlink"])
def test_reading_opens_only_the_checked_regular_file(tmp_path, swap):
    """An entry swapped after the scan (a FIFO, or a link out) is refused when opened, not waited on or followed."""
    (tmp_path / "kb").mkdir()
    target = tmp_path / "kb" / "page.md"
    if swap == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/etc/passwd")
    with pytest.raises(Unreadable) as caught:
        read_bytes(SourceFile("page.md", target), max_mb=5)
    assert caught.value.skipped.path == "page.md"
    assert caught.value.skipped.reason in ("not a regular file (a FIFO)", "cannot be read (Too many levels of symbolic links)")


def test_a_file_over_the_size_limit_is_skipped_with_its_size_and_the_rest_indexes(source, tmp_path):
    write(source, "huge.md", "# Huge\n\n" + "A rep may share this deck. " * 50_000)  # 1.3 MB
    root = tmp_path / "index"
    counting = HashEmbedder()  # ~1,100 chunks once raised; which vectors they get does not matter here
    report = build(source, root, counting, max_file_mb=1)
    assert [str(s) for s in report.skipped] == ["huge.md: 1.3 MB is over KB_MAX_FILE_MB=1"]
    assert sorted(report.added) == ["playbooks/pricing.md", "playbooks/security.md"] and report.chunks == 4
    report = build(source, root, counting, max_file_mb=2)  # raised: it indexes, in chunks of MAX_CHARS at most
    assert report.added == ["huge.md"] and not report.skipped
    assert max(len(t) for t in chunk_texts(root)) <= MAX_CHARS


def test_the_model_never_sees_more_than_embed_chars(tmp_path):
    """However big a chunk, heading or title, the tokenizer is given EMBED_CHARS at most."""
    seen = []
    embedder = HashEmbedder(seen)
    write(tmp_path / "kb", "big.md", "---\ntitle: " + "Long title " * 2000 + "\n---\n## " + "Heading " * 2000 + "\n\n" + "Body text. " * 20_000)
    report = build(tmp_path / "kb", tmp_path / "index", embedder, max_chars=10**6)  # one 220 kB chunk
    assert report.chunks == 1 and len(chunk_texts(tmp_path / "index")[0]) > 200_000  # stored and searchable whole
    assert seen and max(seen) <= EMBED_CHARS


OWNED = PRICING.replace("owner: Dana (Deal Desk)\n", "owner: Dana (Deal Desk)\nowner_slack: U0DANA01\n")


def test_owner_slack_reaches_documents_and_chunks_and_a_bad_one_is_reported(source, tmp_path):
    write(source, "playbooks/pricing.md", OWNED)
    write(source, "playbooks/security.md", SECURITY.replace("type: playbook\n", "type: playbook\nowner_slack: hannah\n"))
    write(source, "playbooks/legal.md", "---\ntitle: Legal\nowner_slack: S0LEGAL01\n---\n# Legal\n\n## Redlines\n\nLegal reviews redlines.\n")
    report = build(source, tmp_path / "index", HashEmbedder())
    assert [str(w) for w in report.warnings] == [
        "playbooks/security.md:4: owner_slack 'hannah' is not a Slack user id (U…, W…) or user group id (S…); ignored"]
    assert not report.problems and sorted(report.added) == ["playbooks/legal.md", "playbooks/pricing.md", "playbooks/security.md"]
    index = LiveIndex(tmp_path / "index").get()
    assert {d.path: d.owner_slack for d in index.documents()} == {
        "playbooks/legal.md": "S0LEGAL01", "playbooks/pricing.md": "U0DANA01", "playbooks/security.md": None}
    assert {c.owner_slack for c in index.document_chunks("playbooks/pricing.md")} == {"U0DANA01"}
    assert {c.owner_slack for c in index.document_chunks("playbooks/security.md")} == {None}


def test_an_index_from_before_owner_slack_is_read_and_the_next_build_redoes_it(source, tmp_path):
    write(source, "playbooks/pricing.md", OWNED)
    root, embedder = tmp_path / "index", HashEmbedder()
    build(source, root, embedder)
    old = current_build(root)
    db = sqlite3.connect(old / "index.db")
    db.execute("ALTER TABLE documents DROP COLUMN owner_slack")  # as a FORMAT 4 build wrote it
    db.commit()
    db.close()
    for name in late.FILES:
        (old / name).unlink()  # nor did it keep word pieces
    manifest = json.loads((old / "manifest.json").read_text())
    (old / "manifest.json").write_text(json.dumps({**manifest, "format": 4}))
    index = LiveIndex(root).get()
    assert {d.owner_slack for d in index.documents()} == {None}
    assert {c.owner_slack for c in index.document_chunks("playbooks/pricing.md")} == {None}
    report = build(source, root, embedder)  # no file changed, but the format did
    assert not report.up_to_date and report.embedded == report.chunks  # for the word pieces the old build lacks
    assert {d.path: d.owner_slack for d in LiveIndex(root).get().documents()}["playbooks/pricing.md"] == "U0DANA01"


def test_kb_index_prints_an_ignored_owner_slack_with_path_and_line(source, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kb.cli import main

    monkeypatch.delenv("DATABASE_URL", raising=False)
    write(source, "playbooks/security.md", SECURITY.replace("type: playbook\n", "type: playbook\nowner_slack: '@hannah'\n"))
    result = CliRunner().invoke(main, ["index", "--source", str(source), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    assert f"{source}/playbooks/security.md:4: owner_slack '@hannah' is not a Slack user id" in result.stderr
    assert "2 added, 0 changed, 0 removed, 0 unchanged, 0 skipped" in result.stdout
