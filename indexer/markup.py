"""Site-generator markup in Markdown source, read as what its reader sees.

Handbooks are written for Hugo, Jekyll, GitBook, MkDocs or Docusaurus. Their template tags, admonition
markers, HTML comments and HTML tables are not words a rep types: left in, they fill vectors and snippets
with noise (`{% hint style="info" %}`, `<td rowspan="2">`), and a commented-out draft (last year's prices)
would answer questions. Fenced and indented code is never touched.
"""
from __future__ import annotations

import re

from knowledge.text import unescape_entities

# Admonitions (Docusaurus, VuePress): `:::note Title` ... `:::` (more colons when nested) wrap Markdown; the
# markers are not text, the title is.
_ADMONITION = re.compile(r"^([ \t]*):{3,}[ \t]*[\w-]*[ \t]*", re.M)
# GitHub's alerts: `> [!NOTE]` opens a quote that GitHub renders as a titled box.
_GITHUB_ALERT = re.compile(r"^[ \t]*>[ \t]*\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][ \t]*\n?", re.M | re.I)
# MDX: top-level `import`/`export` statements and `{/* comments */}` are code. Only in .mdx, where they
# cannot be prose ("export controls apply" can open a paragraph of Markdown).
_MDX_CODE = re.compile(r"^(?:(?:import|export)[ \t].*|[ \t]*\{/\*.*\*/\}[ \t]*)$", re.M)
# Template tags that render to markup: Liquid (Jekyll, GitBook's `{% hint %}`), Hugo shortcodes (`{{< youtube >}}`,
# `{{% alert title="Note" %}}`). A line of nothing else is dropped, keeping the title or text it names (Jekyll's
# `{% include note.html content="..." %}`); `{{ var }}` stays.
_TEMPLATE_TAG = r"(?:\{%-?.*?-?%\}|\{\{[<%].*?[%>]\}\})"
_TEMPLATE_LINE = re.compile(rf"^[ \t]*(?:{_TEMPLATE_TAG}[ \t]*)+$", re.M)
_TAG_TITLE = re.compile(r'\b(?:title|summary|caption|heading|header|content|text)="([^"]+)"')
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# What renders to nothing in prose: HTML comments, kramdown's `{::comment}...{:/comment}` and the attribute
# lists it hangs on a link or image (`![shot](a.png){: .shadow}`, `[form](url){:target="_blank"}`).
_HIDDEN = re.compile(_COMMENT.pattern + r"|\{::comment\}.*?\{:/(?:comment)?\}|(?<=[)\]])\{:[^}\n]*\}", re.S)
_CODE_SPAN = re.compile(r"(`+[^`]*`+)")  # what a comment-looking string inside `code` shows is text
# MkDocs (Python-Markdown): admonitions `!!! note "Title"`, collapsibles `??? tip`, content tabs `=== "macOS"`,
# each over a body indented four spaces, which CommonMark would read as a code block.
_MKDOCS_MARKER = re.compile(
    r'^(?:(?:!!!|\?\?\?\+?)[ \t]+[a-z][\w-]*(?:[ \t]+[\w-]+)*(?:[ \t]+"(?P<title>[^"]*)")?|===\+?[ \t]+"(?P<tab>[^"]*)")[ \t]*$'
)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INNER_FENCE = re.compile(r"^[ \t>]*(?:`{3,}|~{3,})")  # a fence in a list item or a quote
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # `< 10 seats` in a cell is text
# A component's visible name is an attribute: `<TabItem label="Annual">`, `<CalloutBox title="Heads up">`.
_NAMED_TAG = re.compile(r'<[A-Za-z][^>]*?\b(?:title|label|summary|header|heading)="([^"<>]+)"[^>]*>')
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_TABLE = re.compile(r"<t[dhr]\b", re.I)
_CELL_END = re.compile(r"</t[dh]\s*>", re.I)
_BR = re.compile(r"<br\s*/?>", re.I)
_ANCHOR = re.compile(r'<a\b[^<>]*?\bhref="(https?://[^"\s<>()]+)"[^<>]*>([^<]*)</a>', re.I)
_LINE_BREAK = re.compile(
    r"</?(?:p|div|tr|li|ul|ol|table|thead|tbody|summary|details|h[1-6]|figcaption|blockquote)\b[^>]*>", re.I
)


def _next_text(lines: list[str], start: int) -> str:
    """The first line from `start` on that is not blank ("" if none)."""
    return next((lines[i] for i in range(start, len(lines)) if lines[i].strip()), "")


def unfold_mkdocs(lines: list[str]) -> list[str]:
    """MkDocs markers become their title (or nothing) and their bodies lose four spaces, line for line: token
    line numbers still index the source. Only outside fences, and only a marker over an indented body."""
    out = list(lines)
    fence = ""
    for i, line in enumerate(out):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence) and not line.strip(" `~"):
                fence = ""
            continue
        if opened:
            fence = opened.group(1)
            continue
        marker = _MKDOCS_MARKER.match(line)
        if not (marker and _next_text(out, i + 1).expandtabs(4).startswith("    ")):
            continue
        out[i] = (marker.group("title") or marker.group("tab") or "").strip()
        j = i + 1
        while j < len(out) and (not out[j].strip() or out[j].expandtabs(4).startswith("    ")):
            out[j] = out[j].expandtabs(4)[4:]
            j += 1
    return out


def prose(text: str, mdx: bool = False) -> str:
    """A Markdown block (not code, not HTML) without template-tag lines, comments and admonition markers;
    a fence inside it (in a list item, a quote) is left as written."""
    return "".join(part if code else _prose(part, mdx) for part, code in _fenced_parts(text))


def _fenced_parts(text: str) -> list[tuple[str, bool]]:
    """`text` cut into runs of lines outside and inside fences: (run, is code)."""
    parts: list[tuple[str, bool]] = []
    run: list[str] = []
    fence = ""
    for line in text.splitlines(keepends=True):
        opens = _INNER_FENCE.match(line)
        marker = opens.group().lstrip(" \t>")[:3] if opens else ""
        if not fence and marker:
            parts.append(("".join(run), False))
            run, fence = [], marker
        run.append(line)
        if fence and marker == fence and len(run) > 1:
            parts.append(("".join(run), True))
            run, fence = [], ""
    parts.append(("".join(run), bool(fence)))
    return [(part, code) for part, code in parts if part]


def _prose(text: str, mdx: bool) -> str:
    text = _TEMPLATE_LINE.sub(lambda m: " ".join(_TAG_TITLE.findall(m.group())), text)
    text = _GITHUB_ALERT.sub("", _ADMONITION.sub(r"\1", text))
    if mdx:
        text = _MDX_CODE.sub("", text)
    if "<!--" in text or "{:" in text:
        text = "".join(p if i % 2 else _HIDDEN.sub("", p) for i, p in enumerate(_CODE_SPAN.split(text)))
    return text


def html_text(text: str) -> str:
    """An HTML block's words: tags, comments and scripts gone (a component's title or label kept), a table
    row to a line with cells split by |."""
    text = _SCRIPT.sub("", _COMMENT.sub("", text))
    table = bool(_TABLE.search(text))
    if table:  # a row's cells are spread over lines: a row is one line
        text = " ".join(text.split())
    text = _ANCHOR.sub(lambda m: f"[{m.group(2).strip() or m.group(1)}]({m.group(1)})", text)  # a link the snippet keeps
    text = _BR.sub("; " if table else "\n", text)
    text = _LINE_BREAK.sub("\n", _CELL_END.sub(" | ", text))
    text = unescape_entities(_TAG.sub("", _NAMED_TAG.sub(lambda m: f"\n{m.group(1)}\n", text)))
    lines = (" ".join(line.split()).strip(" |") for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
