"""Parsing and chunking real Markdown: headings, lists, tables, code, front matter, broken files."""
from __future__ import annotations

import textwrap

import pytest

from indexer.chunking import chunk_document, chunk_section
from indexer.markdown import MarkdownError, parse, read

DOC = textwrap.dedent(
    """\
    ---
    title: Acme Corp battlecard
    type: battlecard
    competitor: Acme Corp
    aliases: [Acme, ACME Cloud]
    owner: Priya
    last_reviewed: 2026-09-14
    url: https://enablement.example/battlecards/acme
    ---
    # Acme Corp battlecard

    Acme sells to mid-market finance teams.

    ## Objection handling

    ### "Acme is cheaper"

    Reframe on total cost of ownership.

    - Implementation is included
      - even for the Starter tier
    - Support is 24/7

    ### Price & packaging (2026)

    | Tier | Acme | Us |
    |------|------|----|
    | Entry | $20 | $25 |

    ## Talk track

    ```
    ## not a heading inside a fence
    ```

    ## Talk track
    Second section with the same heading.
    """
)


@pytest.fixture
def doc():
    return parse(DOC, "battlecards/acme.md")


def test_front_matter_is_read(doc):
    assert doc.title == "Acme Corp battlecard"
    assert doc.doc_type == "battlecard"
    assert doc.meta["aliases"] == ["Acme", "ACME Cloud"]
    assert doc.meta["last_reviewed"] == "2026-09-14"
    assert doc.meta["url"] == "https://enablement.example/battlecards/acme"


def test_sections_know_their_heading_path_and_github_anchor(doc):
    got = [(s.heading_path, s.anchor) for s in doc.sections]
    assert got == [
        (("Acme Corp battlecard",), "acme-corp-battlecard"),
        (("Acme Corp battlecard", "Objection handling", '"Acme is cheaper"'), "acme-is-cheaper"),
        (("Acme Corp battlecard", "Objection handling", "Price & packaging (2026)"), "price--packaging-2026"),
        (("Acme Corp battlecard", "Talk track"), "talk-track"),
        (("Acme Corp battlecard", "Talk track"), "talk-track-1"),
    ]


def test_blocks_keep_source_lines_and_kinds(doc):
    cheaper = doc.sections[1]
    assert [b.kind for b in cheaper.blocks] == ["paragraph", "bullet_list"]
    assert cheaper.blocks[0].line == 18  # line in the file, front matter included
    assert cheaper.blocks[1].items == ["- Implementation is included\n  - even for the Starter tier", "- Support is 24/7"]
    assert doc.sections[2].blocks[0].kind == "table"
    fence = doc.sections[3].blocks[0]
    assert fence.kind == "fence" and "## not a heading" in fence.text


def test_long_sections_split_between_items_never_inside(doc):
    items = [f"- item {n}: " + "word " * 30 + f"\n  - nested detail {n}" for n in range(12)]
    text = "---\ntitle: T\n---\n# T\n\n## Long\n\n" + "\n".join(items) + "\n"
    long = parse(text, "t.md").sections[0]
    chunks = chunk_section("t.md", long, max_chars=500)
    assert len(chunks) > 1
    assert all(len(c.text) <= 500 for c in chunks)
    joined = "\n".join(c.text for c in chunks)
    for n in range(12):  # every item whole, with its nested child, in exactly one chunk
        assert sum(f"- item {n}:" in c.text and f"nested detail {n}" in c.text for c in chunks) == 1
    assert joined.count("- item") == 12


def test_a_table_is_never_split():
    rows = "\n".join(f"| row {n} | " + "cell " * 20 + "|" for n in range(30))
    text = f"# T\n\n## Table\n\n| a | b |\n|---|---|\n{rows}\n\nAfter the table.\n"
    chunks = chunk_document(parse(text, "t.md"), max_chars=400)
    table_chunks = [c for c in chunks if "| row" in c.text]
    assert len(table_chunks) == 1 and table_chunks[0].text.count("| row") == 30


def test_kramdown_markup_and_heading_ids_are_handled():
    text = "---\ntitle: Deal desk\n---\n## On this page\n{:.no_toc}\n\n- TOC\n{:toc}\n\n## Quote approvals {#approvals}\n\nVP approves above 20%.\n"
    doc = parse(text, "handbook/index.html.md")
    assert [(s.heading_path[-1], s.anchor) for s in doc.sections] == [("Quote approvals", "quote-approvals")]
    assert "{:" not in doc.sections[0].blocks[0].text


def test_title_falls_back_to_h1_then_folder_name():
    assert parse("# Renewals guide\n\nText.\n", "playbooks/renewals.md").title == "Renewals guide"
    assert parse("Just text.\n", "handbook/deal-desk/index.html.md").title == "Deal desk"


@pytest.mark.parametrize(
    "text, line, reason",
    [
        ("---\ntitle: Broken\nowner: [unclosed\n---\n# Body\n\nText\n", 3, "broken front matter"),
        ("---\ntitle: never closed\n\n# Body\n", 1, "never closed"),
        ("---\n- a list\n---\n# Body\n\nText\n", 2, "must be a mapping"),
        ("---\ntitle: t\n---\n\n   \n", 4, "no content"),
        ("# Only a heading\n\n## And another\n", 1, "no content"),
        ("---\ntitle: t\nlast_reviewed: last spring\n---\nText\n", 3, "not a YYYY-MM-DD date"),
    ],
)
def test_broken_files_name_the_line(text, line, reason):
    with pytest.raises(MarkdownError) as caught:
        parse(text, "bad.md")
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"bad.md:{line}: ")


def test_invalid_utf8_names_its_line(tmp_path):
    file = tmp_path / "latin1.md"
    file.write_bytes("# Title\n\nFine line\nCaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(MarkdownError) as caught:
        read(file, "latin1.md")
    assert (caught.value.line, caught.value.path) == (4, "latin1.md")
    assert "UTF-8" in caught.value.reason
