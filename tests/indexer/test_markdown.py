"""Parsing and chunking real Markdown: headings, lists, tables, code, front matter, broken files."""
from __future__ import annotations

import textwrap

import pytest

from indexer.chunking import EMBED_CHARS, Chunk, chunk_document, chunk_section
from indexer.markdown import MAX_HEADING, MarkdownError, parse, read

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


def test_a_table_longer_than_a_chunk_splits_between_rows_each_piece_under_its_header():
    """A long table splits between rows, each piece under its header; one that fits moves whole to the next chunk."""
    rows = "\n".join(f"| row {n} | " + "cell " * 20 + "|" for n in range(30))
    text = f"# T\n\n## Table\n\n| a | b |\n|---|---|\n{rows}\n\nAfter the table.\n"
    chunks = chunk_document(parse(text, "t.md"), max_chars=400)
    table_chunks = [c for c in chunks if "| row" in c.text]
    assert len(table_chunks) > 1 and all(len(c.text) <= 400 for c in chunks)
    assert all(c.text.startswith("| a | b |\n|---|---|\n| row") for c in table_chunks)
    for n in range(30):  # every row whole, in exactly one chunk, which points at the row's line
        [chunk] = [c for c in table_chunks if f"| row {n} |" in c.text]
        assert f"| row {n} | " + "cell " * 20 + "|" in chunk.text
    assert [c.line for c in table_chunks][:2] == [3, 7 + table_chunks[0].text.count("| row")]  # the heading, then the row
    small = "| a | b |\n|---|---|\n" + "\n".join(rows.split("\n")[:3])  # 380 characters
    after_text = chunk_document(parse(f"# T\n\n## Table\n\n{'word ' * 60}\n\n{small}\n", "t.md"), max_chars=400)
    assert [small in c.text for c in after_text] == [False, True]


WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet ".split()


@pytest.mark.parametrize(
    "body, cut_at",
    [
        (" ".join(f"Sentence {n} says {WORDS[n % 10]} and {WORDS[(n + 3) % 10]} to the rep." for n in range(400)), "sentence"),
        (" ".join(WORDS[n % 10] for n in range(3000)), "space"),
        ("x" * 5000, "anywhere"),
    ],
)
def test_a_paragraph_longer_than_a_chunk_is_cut_at_sentences_then_spaces_then_anywhere(body, cut_at):
    chunks = chunk_document(parse(f"# T\n\n{body}\n", "t.md"), max_chars=500)
    assert len(chunks) > 1 and all(len(c.text) <= 500 for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == body.replace(" ", "")  # nothing lost
    if cut_at == "sentence":
        assert all(c.text.endswith("to the rep.") for c in chunks)
    elif cut_at == "space":
        assert all(set(c.text.split()) <= set(WORDS) for c in chunks)  # no word cut in two


def test_a_code_fence_longer_than_a_chunk_is_cut_at_line_ends_with_their_lines():
    code = "\n".join(f"step_{n} = run('{n}')  # " + "x" * 40 for n in range(60))
    chunks = chunk_document(parse(f"# T\n\n## Code\n\n```python\n{code}\n```\n", "t.md"), max_chars=600)
    assert len(chunks) > 1 and all(len(c.text) <= 600 for c in chunks)
    lines = f"# T\n\n## Code\n\n```python\n{code}\n```\n".split("\n")
    assert all(line in lines for c in chunks for line in c.text.split("\n"))  # whole lines only
    for c in chunks[1:]:  # a section's first chunk points at its heading; the others at their first line
        assert lines[c.line - 1] == c.text.split("\n")[0]


def test_a_list_item_longer_than_a_chunk_is_cut_and_the_short_items_stay_whole():
    long_item = "- the long one: " + " ".join(WORDS * 30)
    text = "# T\n\n" + "\n".join(["- short item one", long_item, "- short item two"]) + "\n"
    chunks = chunk_document(parse(text, "t.md"), max_chars=400)
    assert all(len(c.text) <= 400 for c in chunks)
    assert sum("- short item one" in c.text for c in chunks) == 1 and sum("- short item two" in c.text for c in chunks) == 1
    assert sum(c.text.count("juliet") for c in chunks) == 30


def test_the_model_is_given_at_most_embed_chars_and_the_hash_covers_exactly_that():
    head = Chunk("t.md", ("T", "Section"), "section", "word " * 2000, 1)
    tail_differs = Chunk("t.md", ("T", "Section"), "section", "word " * 2000 + "different ending", 1)
    start_differs = Chunk("t.md", ("T", "Section"), "section", "other " + "word " * 2000, 1)
    assert len(head.embed_text()) == EMBED_CHARS
    assert head.embed_text() == tail_differs.embed_text() and head.content_hash("m") == tail_differs.content_hash("m")
    assert head.content_hash("m") != start_differs.content_hash("m")


def test_a_megabyte_heading_is_cut_to_a_heading():
    doc = parse("# Title\n\n## " + "Pricing " * 100_000 + "\n\nText under it.\n", "t.md")
    assert len(doc.sections[0].heading_path[-1]) <= MAX_HEADING and len(doc.sections[0].anchor) <= MAX_HEADING


def test_kramdown_markup_and_heading_ids_are_handled():
    text = "---\ntitle: Deal desk\n---\n## On this page\n{:.no_toc}\n\n- TOC\n{:toc}\n\n## Quote approvals {#approvals}\n\nVP approves above 20%.\n"
    doc = parse(text, "handbook/index.html.md")
    assert [(s.heading_path[-1], s.anchor) for s in doc.sections] == [("Quote approvals", "quote-approvals")]
    assert "{:" not in doc.sections[0].blocks[0].text


def test_a_heading_over_a_table_of_contents_parents_nothing():
    # The GitLab handbook's shape: every topic sits under "## On this page", whose body is the TOC.
    text = ("---\ntitle: Order processing\n---\n## On this page\n{:.no_toc .hidden-md}\n\n- TOC\n{:toc}\n\n"
            "Welcome: this page covers quotes.\n\n### Quote approvals\n\nVP approves above 20%.\n\n"
            "#### Rush approvals\n\nAsk in #deal-desk.\n\n## Guide\n[[_TOC_]]\n\nSee the guide.\n\n### On this page\n\nNot a TOC.\n")
    doc = parse(text, "handbook/order-processing/index.html.md")
    assert [(s.heading_path, s.anchor) for s in doc.sections] == [
        (("Order processing",), ""),
        (("Order processing", "Quote approvals"), "quote-approvals"),
        (("Order processing", "Quote approvals", "Rush approvals"), "rush-approvals"),
        (("Order processing", "On this page"), "on-this-page-1"),  # the first one still took the plain anchor
    ]
    intro = doc.sections[0]
    assert [b.text for b in intro.blocks] == ["Welcome: this page covers quotes.", "See the guide."]
    assert not any(mark in b.text for mark in ("- TOC", "[[_TOC_]]", "{:") for s in doc.sections for b in s.blocks)


def test_toml_front_matter_between_plus_lines_is_read_like_yaml():
    text = textwrap.dedent(
        """\
        +++
        title = "Acme Corp battlecard"
        type = "battlecard"
        aliases = ["Acme", "ACME Cloud"]
        last_reviewed = 2026-09-14
        url = "https://enablement.example/battlecards/acme"
        +++
        ## Objection handling

        Reframe on total cost of ownership.
        """
    )
    doc = parse(text, "battlecards/acme.md")
    assert (doc.title, doc.doc_type, doc.meta["aliases"]) == ("Acme Corp battlecard", "battlecard", ["Acme", "ACME Cloud"])
    assert (doc.meta["last_reviewed"], doc.meta["url"]) == ("2026-09-14", "https://enablement.example/battlecards/acme")
    [section] = doc.sections
    assert section.heading_path == ("Acme Corp battlecard", "Objection handling")
    assert (section.line, section.blocks[0].line) == (8, 10)  # lines in the file, front matter included


MDX = textwrap.dedent(
    """\
    import Tabs from '@theme/Tabs';
    import TabItem from '@theme/TabItem';

    # Pricing

    :::note Discounts
    Up to 20% with approval.
    :::

    <Tabs>
    <TabItem value="annual" label="Annual">

    Annual plans are billed upfront.

    </TabItem>
    </Tabs>

    {/* pricing owner: revops */}

    ```js
    import { quote } from './quote';
    ```

    export const reviewed = '2026-09-14';
    """
)


def test_mdx_code_jsx_tags_and_admonition_markers_are_not_indexed_as_text_but_labels_are():
    [section] = parse(MDX, "docs/pricing.mdx").sections
    assert [(b.kind, b.text, b.line) for b in section.blocks] == [
        ("paragraph", "Discounts\nUp to 20% with approval.", 6),
        ("html_block", "Annual", 10),  # a tab's label is what its reader sees; its value is not
        ("paragraph", "Annual plans are billed upfront.", 13),
        ("fence", "```js\nimport { quote } from './quote';\n```", 20),  # code stays code
    ]


def test_only_mdx_files_lose_lines_that_open_with_import_or_export():
    doc = parse("# Exports\n\nexport controls apply to EU customers.\n\n:::tip\nAsk legal.\n:::\n", "playbooks/exports.md")
    assert [b.text for b in doc.sections[0].blocks] == ["export controls apply to EU customers.", "Ask legal."]


def blocks(text: str, path: str = "handbook/pricing.md") -> list[tuple[str, str]]:
    return [(b.kind, b.text) for s in parse(text, path).sections for b in s.blocks]


def test_html_comments_are_not_text_even_with_a_tag_inside():
    text = textwrap.dedent(
        """\
        # Pricing

        <!-- Old price list, needs updating so commented out:
        <table><tr><td>Premium</td><td>$19</td></tr></table>

        ## 2019 prices -> retired
        -->

        Premium is $29 a user<!-- was $19 --> a month. Write `<!-- note -->` to hide a line.
        """
    )
    doc = parse(text, "handbook/pricing.md")
    assert [s.heading_path for s in doc.sections] == [("Pricing",)]  # no heading from inside the comment
    assert blocks(text) == [("paragraph", "Premium is $29 a user a month. Write `<!-- note -->` to hide a line.")]


def test_kramdown_comments_and_attribute_lists_in_prose_are_not_text():
    text = ("# Onboarding\n\n| Step | Owner |\n|---|---|\n| Security pitch {::comment} ask Ashish {:/comment} | tbd |\n\n"
            "See the [form](https://forms.example/x){:target=\"_blank\"} and ![shot](a.png){: .shadow}. Ruby: `{:a => 1}`.\n")
    assert blocks(text) == [
        ("table", "| Step | Owner |\n|---|---|\n| Security pitch  | tbd |"),
        ("paragraph", "See the [form](https://forms.example/x) and ![shot](a.png). Ruby: `{:a => 1}`."),
    ]


def test_template_tag_lines_are_dropped_keeping_the_title_they_name():
    text = textwrap.dedent(
        """\
        # Discounts

        {% hint style="info" %}
        Ask deal desk first.
        {% endhint %}

        {{% alert title="Approval needed" color="warning" %}}
        Over 20% needs the VP.
        {{% /alert %}}

        {{< youtube id="x1" >}}

        Price is {{ site.price }} a seat.

        ```liquid
        {% include pricing.html %}
        ```
        """
    )
    assert blocks(text) == [
        ("paragraph", "Ask deal desk first."),
        ("paragraph", "Approval needed\nOver 20% needs the VP."),
        ("paragraph", "Price is {{ site.price }} a seat."),  # a variable is not a tag line: a reader sees its value
        ("fence", "```liquid\n{% include pricing.html %}\n```"),  # code stays code
    ]


def test_mkdocs_admonitions_and_tabs_are_prose_not_code():
    text = textwrap.dedent(
        """\
        # Trials

        !!! warning "Trial limits"
            Trials last 30 days.

            Extensions need a manager.

        === "Annual"

            Billed upfront.

        !!! Important: this line is prose, not a marker.

            indented code after it stays code
        """
    )
    assert blocks(text) == [
        ("paragraph", "Trial limits\nTrials last 30 days."),
        ("paragraph", "Extensions need a manager."),
        ("paragraph", "Annual"),
        ("paragraph", "Billed upfront."),
        ("paragraph", "!!! Important: this line is prose, not a marker."),
        ("code_block", "    indented code after it stays code"),
    ]
    # MkDocs types are lower case: a shouted line over code in a plain .md file is left alone.
    assert blocks("# Runbook\n\n!!! PAGER ALERT\n\n    curl https://status.example\n") == [
        ("paragraph", "!!! PAGER ALERT"), ("code_block", "    curl https://status.example")]


def test_an_html_table_reads_as_rows_of_cells():
    text = textwrap.dedent(
        """\
        # Competencies

        <table>
          <tr><th>Level</th><th>Expectation</th></tr>
          <tr>
            <td rowspan="2">Senior</td>
            <td>Leads discovery &amp; scoping<br>Owns the <a href="https://kb.example/pov">POV</a></td>
          </tr>
          <tr><td>< 10 seats</td><td><a href="https://crm.example/r?id=7&region=emea">the report</a></td></tr>
        </table>
        <script>track("competencies")</script>
        """
    )
    assert blocks(text) == [
        ("html_block", "Level | Expectation\nSenior | Leads discovery & scoping; Owns the [POV](https://kb.example/pov)\n"
                       "< 10 seats | [the report](https://crm.example/r?id=7&region=emea)"),  # not ®ion
    ]


def test_template_lines_inside_a_list_items_fence_stay_code():
    text = "# Banners\n\n- Gold tier:\n\n  ```liquid\n  {% if gold %}\n  Gold banner\n  {% endif %}\n  ```\n- {% include note.html content=\"Ask RevOps first.\" %}\n"
    [(kind, listed)] = blocks(text)
    assert kind == "bullet_list" and "  {% if gold %}\n  Gold banner\n  {% endif %}" in listed
    assert listed.endswith("- {% include note.html content=\"Ask RevOps first.\" %}")  # not a line of tags alone
    assert blocks('# Notes\n\n{% include note.html content="Ask RevOps first." %}\n') == [("paragraph", "Ask RevOps first.")]


def test_a_lone_carriage_return_is_a_line_break_and_loses_nothing():
    doc = parse("# Plans\r\rIntro.\r\r## Pricing\r\r$29 a month.\r\n\r\n## Support\n\nEmail us.\n", "plans.md")
    assert [(s.heading_path[-1], [b.text for b in s.blocks], s.line) for s in doc.sections] == [
        ("Plans", ["Intro."], 1),
        ("Pricing", ["$29 a month."], 5),
        ("Support", ["Email us."], 9),
    ]


def test_nested_admonitions_and_github_alerts_lose_every_marker():
    assert blocks("# Notes\n\n::::info Heads up\n:::tip\nBook early.\n:::\n::::\n") == [("paragraph", "Heads up\nBook early.")]
    assert blocks("# Notes\n\n> [!WARNING]\n> Quotes expire after 30 days.\n") == [("blockquote", "> Quotes expire after 30 days.")]


def test_title_falls_back_to_h1_then_folder_name():
    assert parse("# Renewals guide\n\nText.\n", "playbooks/renewals.md").title == "Renewals guide"
    assert parse("Just text.\n", "handbook/deal-desk/index.html.md").title == "Deal desk"
    assert parse("Just text.\n", "playbooks/renewal-calls.markdown").title == "Renewal calls"


@pytest.mark.parametrize(
    "text, line, reason",
    [
        ("---\ntitle: Broken\nowner: [unclosed\n---\n# Body\n\nText\n", 3, "broken front matter"),
        ("---\ntitle: never closed\n\n# Body\n", 1, "never closed"),
        ("---\n- a list\n---\n# Body\n\nText\n", 2, "must be a mapping"),
        ("---\ntitle: t\n---\n\n   \n", 4, "no content"),
        ("# Only a heading\n\n## And another\n", 1, "no content"),
        ("---\ntitle: t\nlast_reviewed: last spring\n---\nText\n", 3, "not a YYYY-MM-DD date"),
        ('+++\ntitle = "Broken"\nowner = [unclosed\n+++\n# Body\n\nText\n', 3, "broken front matter"),
        ('+++\ntitle = "never closed"\n\n# Body\n', 1, "opened with '+++' is never closed"),
        ('+++\ntitle = "t"\nlast_reviewed = "last spring"\n+++\nText\n', 3, "not a YYYY-MM-DD date"),
        # Values the parsers raise on (not YAML or TOML errors): each is this file's problem, not the build's end.
        ("---\nlast_reviewed: 2024-02-30\n---\nText\n", 1, "day is out of range"),
        ('+++\nlast_reviewed = 2024-02-30\n+++\nText\n', 2, "broken front matter"),
        ("---\nowner: " + "9" * 5000 + "\n---\nText\n", 1, "broken front matter"),
        ('+++\nowner = ' + "9" * 5000 + '\n+++\nText\n', 1, "broken front matter"),
        ("---\naliases: " + "[" * 5000 + "\n---\nText\n", 1, "nested too deep"),
        ("+++\naliases = " + "[" * 5000 + "\n+++\nText\n", 1, "nested too deep"),
        # A few hundred bytes of aliases expand to a billion items ("billion laughs").
        ("---\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\naliases: *c\n---\nText\n", 4, "more than 16 aliases"),
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


@pytest.mark.parametrize("owner", ["U012AB3CD", "W0123ABCDEF", "S0SALESENG", "  U0PRIYA  "])
def test_owner_slack_takes_a_user_or_user_group_id(owner):
    doc = parse(f"---\ntitle: T\nowner_slack: {owner}\n---\nText.\n", "t.md")
    assert (doc.meta["owner_slack"], doc.warnings) == (owner.strip(), [])


@pytest.mark.parametrize("owner", ["priya", "'@priya'", "<@U012AB3CD>", "u012ab3cd", "C0CHANNEL", "12345", "[U012AB3CD]", "U0 12"])
def test_a_bad_owner_slack_is_reported_with_its_line_and_the_document_still_parses(owner):
    doc = parse(f"---\ntitle: T\nowner: Priya\nowner_slack: {owner}\nlast_reviewed: 2026-01-02\n---\n# T\n\nText.\n", "docs/t.md")
    assert doc.meta["owner_slack"] is None and doc.meta["last_reviewed"] == "2026-01-02"
    assert [s.blocks[0].text for s in doc.sections] == ["Text."]
    (warning,) = doc.warnings
    assert (warning.path, warning.line) == ("docs/t.md", 4)
    assert str(warning).startswith("docs/t.md:4: owner_slack ") and "not a Slack user id" in warning.reason


@pytest.mark.parametrize("front", ["title: T\n", "title: T\nowner_slack:\n", "title: T\nowner_slack: ''\n"])
def test_no_owner_slack_is_no_owner_and_no_warning(front):
    doc = parse(f"---\n{front}---\nText.\n", "t.md")
    assert (doc.meta["owner_slack"], doc.warnings) == (None, [])


def test_a_few_yaml_aliases_are_read():
    doc = parse("---\nowner: &team Revenue Ops\nreviewer: *team\ntitle: Renewals\n---\nText\n", "renewals.md")
    assert (doc.meta["owner"], doc.meta["reviewer"], doc.title) == ("Revenue Ops", "Revenue Ops", "Renewals")


def test_front_matter_values_reach_the_product_as_the_types_it_reads():
    doc = parse(textwrap.dedent(
        """\
        ---
        title: "   "
        competitor: 1234
        owner: [Priya, Sam]
        url: 7
        type: true
        aliases: [Acme, 42, [nested], {a: b}, 2026-01-02]
        last_reviewed: 2026-09-14 10:30:00
        ---
        # Acme battlecard

        Text.
        """
    ), "battlecards/acme.md")
    assert doc.title == "Acme battlecard"  # a blank title falls back to the H1
    meta = {k: doc.meta[k] for k in ("title", "competitor", "owner", "url", "type", "aliases", "last_reviewed")}
    assert meta == {"title": None, "competitor": "1234", "owner": None, "url": "7", "type": "True",
                    "aliases": ["Acme", "42", "2026-01-02"], "last_reviewed": "2026-09-14"}
    assert [str(w) for w in doc.warnings] == ["battlecards/acme.md:4: owner is a list or mapping, not text; ignored"]
