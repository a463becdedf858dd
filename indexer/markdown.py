"""Markdown to sections: front matter, the heading tree, and blocks that keep their source lines."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from indexer.markup import html_text, prose, unfold_mkdocs
from knowledge.text import github_anchor

_md = MarkdownIt("commonmark", {"html": True}).enable("table")

# Table-of-contents placeholders: kramdown's `- TOC` (with `{:toc}`), GitLab's `[[_TOC_]]`, `[TOC]`, `[[toc]]`.
_TOC_LINE = re.compile(r"^\s*(?:[-*] TOC|\[\[_TOC_\]\]|\[TOC\]|\[\[toc\]\])\s*$")
_ATTRIBUTES_LINE = re.compile(r"^\s*\{:[^}]*\}\s*$")  # kramdown's `{:toc}`, `{:.no_toc}`: render to nothing
_HEADING_ATTR = re.compile(r"\s*\{[:#][^}]*\}\s*$")  # `## Title {#custom-id}` / `{: .class}`
_NEWLINE = re.compile(r"\r\n?")  # markdown-it breaks lines at a lone \r too: so must the line numbers
_LIST_KINDS = ("bullet_list", "ordered_list")
_CODE_KINDS = ("fence", "code_block")
# `owner_slack:` names who owns a document in Slack: a user (U…, or W… on Enterprise Grid) or a user group (S…).
SLACK_OWNER = re.compile(r"[UWS][A-Z0-9]{2,20}")
# A heading is repeated in every chunk row, anchor and embedded heading path of its section: a megabyte
# "heading" (a paragraph someone marked up as one) must not be multiplied by its section's chunk count.
MAX_HEADING = 300
TEXT_KEYS = ("title", "type", "owner", "competitor", "url")  # front-matter values the product reads as text
MAX_ALIASES = 50
MAX_YAML_ALIASES = 16


class MarkdownError(Exception):
    """A file that cannot be indexed (or, in Document.warnings, a value that was ignored), with the line to look at."""

    def __init__(self, path: str, line: int, reason: str):
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


@dataclass
class Block:
    kind: str  # paragraph, bullet_list, table, fence, ...
    text: str
    line: int  # 1-based, in the file
    items: list[str] = field(default_factory=list)  # a list's top-level items: where it may be split


@dataclass
class Section:
    heading_path: tuple[str, ...]
    anchor: str
    line: int
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    path: str
    meta: dict
    title: str
    sections: list[Section]
    warnings: list[MarkdownError] = field(default_factory=list)  # front-matter values ignored; the document still indexes

    @property
    def doc_type(self) -> str:
        return str(self.meta.get("type") or "doc")


def split_front_matter(text: str, path: str, warnings: list[MarkdownError] | None = None) -> tuple[dict, str, int]:
    """(front matter, body, number of lines before the body). Raises MarkdownError if it is broken.

    Front matter is YAML between `---` lines, or TOML between `+++` lines (Hugo's other form). A value that
    is wrong but harmless to leave out (a malformed `owner_slack`) is dropped and reported in `warnings`.
    """
    lines = text.split("\n")
    fence = lines[0].strip() if lines else ""
    if fence not in ("---", "+++"):
        return {}, text, 0
    closers = ("---", "...") if fence == "---" else ("+++",)
    # Only an unindented line closes it: a folded long value may put an indented `---` on a line of its own.
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in closers), None)
    if end is None:
        raise MarkdownError(path, 1, f"front matter opened with '{fence}' is never closed")
    source = "\n".join(lines[1:end])
    try:
        meta = _yaml(source, path) if fence == "---" else _toml(source, path)
    except _UNREADABLE_VALUE as exc:
        raise MarkdownError(path, 1, f"broken front matter: {_reason(exc)}") from None
    if not isinstance(meta, dict):
        raise MarkdownError(path, 2, "front matter must be a mapping of `key: value` lines")
    meta = _clean_meta(meta, path, lines[:end], [] if warnings is None else warnings)
    return meta, "\n".join(lines[end + 1 :]), end + 1


class _FewAliases(yaml.SafeLoader):
    """Safe YAML with at most MAX_YAML_ALIASES aliases: enough for `<<: *defaults`, too few for a few hundred
    bytes of `*a` referring to `&a` lists that expand to billions of items."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases = getattr(self, "aliases", 0) + 1
            if self.aliases > MAX_YAML_ALIASES:
                raise yaml.composer.ComposerError(None, None, f"more than {MAX_YAML_ALIASES} aliases (*name)",
                                                  self.peek_event().start_mark)
        return super().compose_node(parent, index)


# What a value no writer means makes the parsers raise: `last_reviewed: 2024-02-30`, a 5,000-digit number, a
# list nested 5,000 deep. Each is that file's broken front matter, not the build's end.
_UNREADABLE_VALUE = (ValueError, OverflowError, RecursionError)


def _yaml(source: str, path: str):
    try:
        return yaml.load(source, Loader=_FewAliases) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MarkdownError(path, line, f"broken front matter: {problem}") from None


def _toml(source: str, path: str) -> dict:
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"\(at line (\d+)", str(exc))
        problem = re.sub(r"\s*\(at (?:line \d+, column \d+|end of document)\)", "", str(exc))
        raise MarkdownError(path, int(at.group(1)) + 1 if at else 1, f"broken front matter: {problem}") from None


def _reason(exc: Exception) -> str:
    return "nested too deep" if isinstance(exc, RecursionError) else str(exc).splitlines()[0][:200]


def _key_line(lines: list[str], key: str) -> int:
    """The line that sets `key` (YAML `key:` or TOML `key =`), else the first."""
    return next((n for n, line in enumerate(lines, 1) if re.match(rf"{re.escape(key)}\s*[:=]", line)), 1)


def _text(value) -> str | None:
    """A front-matter value as text: a date or a number reads as written; a list or mapping is not text."""
    if isinstance(value, (list, dict)) or value is None:
        return None
    text = (value.isoformat() if isinstance(value, date) else str(value)).strip()[:MAX_HEADING]
    return text or None


def _clean_meta(meta: dict, path: str, lines: list[str], warnings: list[MarkdownError]) -> dict:
    """Every key the product reads, as the type it reads it as: `competitor: 1234` or `owner: [a, b]` must not
    reach the bot as a number or a list, where every question would fail on it."""
    meta = {str(k): v for k, v in meta.items()}
    for key in TEXT_KEYS:
        value = meta.get(key)
        meta[key] = _text(value)
        if value is not None and meta[key] is None and isinstance(value, (list, dict)):
            warnings.append(MarkdownError(path, _key_line(lines, key), f"{key} is a list or mapping, not text; ignored"))
    aliases = meta.get("aliases") or []
    aliases = aliases if isinstance(aliases, list) else [aliases]
    meta["aliases"] = [a for a in map(_text, aliases[:MAX_ALIASES]) if a]
    reviewed = meta.get("last_reviewed")
    if isinstance(reviewed, datetime):
        reviewed = reviewed.date()
    if isinstance(reviewed, str):
        try:
            reviewed = date.fromisoformat(reviewed.strip())
        except ValueError:
            raise MarkdownError(path, _key_line(lines, "last_reviewed"), f"last_reviewed {reviewed!r} is not a YYYY-MM-DD date") from None
    meta["last_reviewed"] = reviewed.isoformat() if isinstance(reviewed, date) else None
    meta["owner_slack"] = _owner_slack(meta.get("owner_slack"), path, lines, warnings)
    return meta


def _owner_slack(value, path: str, lines: list[str], warnings: list[MarkdownError]) -> str | None:
    """A valid Slack user or group id, else None; a value that is not one is reported, not fatal."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    owner = str(value).strip()
    if SLACK_OWNER.fullmatch(owner):
        return owner
    warnings.append(MarkdownError(
        path, _key_line(lines, "owner_slack"),
        f"owner_slack {owner!r} is not a Slack user id (U…, W…) or user group id (S…); ignored",
    ))
    return None


def _inline_text(token: Token) -> str:
    parts = [c.content for c in token.children or [] if c.type in ("text", "code_inline")]
    return _HEADING_ATTR.sub("", "".join(parts)).strip()[:MAX_HEADING]


def _block_text(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start:end]).strip("\n")


def _fallback_title(path: str) -> str:
    p = Path(path)
    stem = p.name.split(".")[0]
    if stem == "index" and p.parent.name:
        stem = p.parent.name
    return stem.replace("-", " ").replace("_", " ").strip().capitalize() or path


def parse(text: str, path: str) -> Document:
    """Parse one Markdown file's text into a Document of heading-scoped sections."""
    warnings: list[MarkdownError] = []
    meta, body, offset = split_front_matter(_NEWLINE.sub("\n", text), path, warnings)
    raw = body.split("\n")
    lines = unfold_mkdocs([("" if _TOC_LINE.match(l) or _ATTRIBUTES_LINE.match(l) else l) for l in raw])
    tokens = _md.parse("\n".join(lines))
    first_h1 = next(
        (_inline_text(tokens[i + 1]) for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1"),
        None,
    )
    title = (meta["title"] if meta.get("title") else first_h1 or _fallback_title(path)).strip()[:MAX_HEADING]
    seen: dict[str, int] = {}
    sections = [Section((title,), "", offset + 1)]
    stack: list[tuple[int, Section]] = []  # the open headings: level, and the section each began
    current = sections[0]
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            level, heading = int(tok.tag[1]), _inline_text(tokens[i + 1])
            anchor = github_anchor(heading, seen)  # counted even when skipped: the page's later anchors count it
            while stack and stack[-1][0] >= level:
                stack.pop()
            if _navigation(raw, tok.map[1]):
                # "## On this page" over a TOC is navigation, not a topic: in 198 of 233 GitLab handbook pages
                # it parents every section, and its words would sit in every heading path. What follows it
                # belongs to the heading above it.
                current = stack[-1][1] if stack else sections[0]
            else:
                chain = tuple(s.heading_path[-1] for _, s in stack) + (heading,)
                if chain[0].lower() != title.lower():
                    chain = (title, *chain)
                current = Section(chain, anchor, offset + tok.map[0] + 1)
                sections.append(current)
                stack.append((level, current))
            i += 3
            continue
        end = _block_end(tokens, i)
        block = _block(tokens[i:end], lines, offset, mdx=path.endswith(".mdx"))
        if block is not None:
            current.blocks.append(block)
        i = end
    sections = [s for s in sections if s.blocks]
    if not sections:
        raise MarkdownError(path, offset + 1, "no content to index (empty, or headings without text)")
    return Document(path, meta, title, sections, warnings)


def _navigation(lines: list[str], after: int) -> bool:
    """Whether the first thing under a heading (past blank and attribute lines) is a TOC placeholder."""
    following = (lines[i] for i in range(after, len(lines)) if lines[i].strip() and not _ATTRIBUTES_LINE.match(lines[i]))
    return bool(_TOC_LINE.match(next(following, "")))


def _block_end(tokens: list[Token], i: int) -> int:
    """Index just past the top-level block that starts at tokens[i]."""
    if tokens[i].nesting != 1:
        return i + 1
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j + 1
    return len(tokens)


def _block(tokens: list[Token], lines: list[str], offset: int, mdx: bool = False) -> Block | None:
    head = tokens[0]
    if head.map is None:
        return None
    kind = head.type.removesuffix("_open")
    text = _block_text(lines, *head.map)
    if kind == "html_block":
        text = html_text(text)  # an iframe or figure wrapper reads as nothing
    elif kind not in _CODE_KINDS:
        text = prose(text, mdx)
    if kind == "paragraph":
        text = "\n".join(line for line in text.split("\n") if line.strip())
    if not text.strip():
        return None
    items = []
    if kind in _LIST_KINDS:
        items = [prose(_block_text(lines, *t.map), mdx) for t in tokens if t.type == "list_item_open" and t.level == head.level + 1]
    return Block(kind, text, offset + head.map[0] + 1, items)


def read(file: Path, path: str) -> Document:
    """Read and parse one file (for tools; the build reads through indexer.sources)."""
    return parse_bytes(file.read_bytes(), path)


def parse_bytes(raw: bytes, path: str) -> Document:
    """Decode and parse one file's bytes; invalid UTF-8 is a MarkdownError at the line it occurs on."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise MarkdownError(path, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})") from None
    return parse(text.removeprefix("\ufeff"), path)
