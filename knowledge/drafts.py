"""Drafts: a gap (with the expert's reply) or a Slack thread written up as Markdown for a writer to finish.

`gap_draft()` and `thread_draft()` are pure: they build a `Draft` (a path under `drafts/`, a title, the
Markdown). `Drafts.save()` keeps it in the state DB (so a draft made on an ephemeral disk is not lost) and
writes the file into the knowledge base folder when no file is there yet; it never overwrites a writer's
file and never writes outside `<source>/drafts/`. The indexer skips files with `draft: true`, so a draft
answers nobody until a writer publishes it.

`waiting()` is what the digest and App Home list: drafts neither published (at their own path, or moved
and published under their title) nor discarded. `discard()` takes one off that list for good; its row and
its file stay.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import yaml

from knowledge.errors import KnowledgeError
from knowledge.index import Chunk, Document
from knowledge.state import StateDB, now
from knowledge.text import trim

DRAFTS_DIR = "drafts"
# Of a thread written into a draft: 2,000 messages of 40,000 characters made an 80 MB file (the indexer skips
# files over KB_MAX_FILE_MB) and 0.5 GB of memory. A writer needs the gist; the rest stays in the thread.
THREAD_CHARS = 200_000
TITLE_CHARS = 80
SLUG_CHARS = 60
NEAREST = 3
TODO_ANSWER = "TODO: the answer, in a few sentences a rep can paste into a reply."

Nearest = Sequence[tuple[str, Chunk]]  # (link, section) of the closest existing sections


class DraftError(KnowledgeError):
    """A draft cannot be saved where it asks to be (e.g. its path leaves the drafts folder)."""


class UnknownDraft(KnowledgeError):
    """No draft in the state DB has that id."""


@dataclass(frozen=True)
class Draft:
    path: str  # relative to the knowledge base folder: drafts/<name>.md
    title: str
    markdown: str
    source: str  # gap | thread
    gap_id: int | None = None
    owner_slack: str | None = None


@dataclass(frozen=True)
class Saved:
    """A draft kept in the state DB, and what happened to its file."""

    draft: Draft
    id: int
    file: Path
    written: bool  # False: a file was already there (left as it is), or it could not be written
    problem: str | None = None  # why the file could not be written (a read-only disk, ...)


@dataclass(frozen=True)
class StoredDraft:
    id: int
    gap_id: int | None
    path: str
    title: str
    source: str
    created_by: str | None
    created_at: str
    discarded_at: str | None = None
    discarded_by: str | None = None


# -- Slack mrkdwn to Markdown ---------------------------------------------------------------------

_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
_ANGLE = re.compile(r"<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*\\])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_URL_CHARS = str.maketrans({"(": "%28", ")": "%29", " ": "%20"})


def unescape(text: str) -> str:
    """Slack's three entities back to characters (&amp; last, so `&amp;lt;` stays the text `&lt;`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _label(text: str) -> str:
    return _BOLD.sub(r"**\1**", unescape(text)).replace("[", "\\[").replace("]", "\\]")


def _angle(inner: str, names: Mapping[str, str]) -> str:
    """One `<…>` token of Slack's message format, as readable Markdown."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # a user: <@U123> or <@U123|jane>
        return "@" + unescape(label or names.get(target[1:], target[1:]))
    if target.startswith("#"):  # a channel: <#C123|sales>
        return "#" + unescape(label or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S123|@sales-eng>, <!date^…|fallback>
        special = target[1:]
        if special.startswith("date^"):
            return unescape(label or special)
        return "@" + unescape(label or special.split("^")[-1]).lstrip("@")
    url = unescape(target).translate(_URL_CHARS)
    return f"[{_label(label)}]({url})" if label else f"<{url}>"


def to_markdown(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as a person typed it, as Markdown.

    `<url|label>` becomes `[label](url)`, `*bold*` becomes `**bold**`, `~strike~` becomes `~~strike~~`,
    mentions become `@name` (from `names`, user id to name, else the id), `•` bullets become `- `, and
    `&lt; &gt; &amp;` become characters again. Code is left as it is; a line starting with `#` is kept
    text, not a heading that would split the draft's sections.
    """
    names = names or {}
    kept: list[str] = []

    def keep(value: str) -> str:
        kept.append(value)
        return f"\x00{len(kept) - 1}\x00"

    text = _CODE.sub(lambda m: keep(unescape(m.group(0))), text or "")
    text = _ANGLE.sub(lambda m: keep(_angle(m.group(1), names)), text)
    text = _BOLD.sub(r"**\1**", text)
    text = _STRIKE.sub(r"~~\1~~", text)
    text = re.sub(r"(?m)^(\s*)[•◦▪]\s*", r"\1- ", text)
    text = re.sub(r"(?m)^(\s*)#", r"\1\\#", unescape(text))
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text).strip()


def plain_line(text: str, names: Mapping[str, str] | None = None) -> str:
    """The first non-empty line of a Slack message as plain text (a title, a `kb gaps list` line)."""
    markdown = to_markdown(text, names)
    markdown = re.sub(r"\[((?:\\.|[^\]])*)\]\([^)]*\)", r"\1", markdown)  # a link's label
    first = next((line for line in markdown.splitlines() if line.strip()), "")
    first = re.sub(r"^\s*(?:- |\\#+\s*|>\s*)", "", first)
    return " ".join(first.replace("**", "").replace("~~", "").replace("`", "").replace("\\", "").split())


# -- building drafts -----------------------------------------------------------------------------

def slug(text: str, limit: int = SLUG_CHARS) -> str:
    """Lowercase letters and digits joined by hyphens: nothing that could name another folder."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower())[:limit].strip("-")


def _title(text: str | None, fallback: str) -> str:
    title = trim(" ".join((text or "").split()), TITLE_CHARS, ellipsis="…").rstrip(" ?.:!")
    return title[:1].upper() + title[1:] if title else fallback


def _front_matter(title: str, owner_slack: str | None, today: date) -> list[str]:
    meta = {"title": title, "type": "faq", "owner": "TODO"}
    if owner_slack:
        meta["owner_slack"] = owner_slack
    meta.update({"last_reviewed": today, "draft": True})
    # One line a value: folded at 80 columns, a title ending in " ---" put "  ---" on a line of its own.
    return ["---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=math.inf).strip(), "---", ""]


def _nearest_lines(nearest: Nearest) -> list[str]:
    lines = ["## Nearest existing sections", ""]
    return lines + ([f"- [{' › '.join(c.heading_path)}]({url})" for url, c in nearest] or ["- none found"])


def gap_draft(gap, nearest: Nearest = (), today: date | None = None) -> Draft:
    """A gap written up: the expert's reply as the answer (or a TODO), how reps asked, the nearest sections."""
    today = today or date.today()
    title = _title(gap.question or next(iter(gap.examples), None), "Untitled question")
    lines = [*_front_matter(title, gap.expert_by, today), f"# {title}", "",
             f"<!-- Content gap #{gap.id}: asked {gap.count} time(s) by {gap.askers} rep(s), "
             f"{gap.first_seen[:10]} to {gap.last_seen[:10]}. -->", "", "## Answer", ""]
    if gap.expert_answer:
        lines += [to_markdown(gap.expert_answer), "",
                  f"<!-- Answered by @{gap.expert_by or 'an expert'} in the experts' channel"
                  f"{' on ' + gap.expert_at[:10] if gap.expert_at else ''}. -->"]
    else:
        lines.append(TODO_ANSWER)
    lines += ["", "## How reps asked", ""]
    lines += [f"- {' '.join(e.split())}" for e in gap.examples] or ["- (question texts deleted after the retention period)"]
    lines += ["", *_nearest_lines(nearest)]
    path = f"{DRAFTS_DIR}/gap-{gap.id}-{slug(gap.question or 'question') or 'question'}.md"
    return Draft(path, title, "\n".join(lines) + "\n", "gap", gap.id, gap.expert_by)


def thread_names(messages: Iterable[dict]) -> dict[str, str]:
    """User id to a readable name, from the profiles Slack sends with thread messages."""
    names = {}
    for m in messages:
        profile = m.get("user_profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or profile.get("name")
        if m.get("user") and name:
            names[m["user"]] = name
    return names


def _author(message: dict, names: Mapping[str, str]) -> str:
    user = message.get("user")
    if user:
        return "@" + names.get(user, user)
    return (message.get("username") or "a bot") if message.get("bot_id") else "someone"


def thread_draft(messages: Sequence[dict], channel: str, clicked_ts: str | None = None,
                 nearest: Nearest = (), permalink: str | None = None, today: date | None = None) -> Draft:
    """A Slack message and its thread written up; `messages` is the thread, parent first.

    The title is the parent's first line and its author the owner; the answer is the message the
    shortcut was used on when that is a reply (or a parent with no replies), and the whole thread follows.
    """
    messages = [m for m in messages if isinstance(m, dict) and (m.get("text") or "").strip()]
    if not messages:
        raise DraftError("the message has no text to save")
    today, names, parent = today or date.today(), thread_names(messages), messages[0]
    title = _title(plain_line(parent["text"], names), "Saved Slack thread")
    clicked = next((m for m in messages if m.get("ts") == clicked_ts), parent)
    answer = clicked if clicked is not parent or len(messages) == 1 else None
    where = f"<{permalink}>" if permalink else f"channel {channel}, message {parent.get('ts', '?')}"
    lines = [*_front_matter(title, parent.get("user"), today), f"# {title}", "",
             f"<!-- Saved from a Slack thread ({len(messages)} message(s)): {where}. -->", "", "## Answer", "",
             to_markdown(answer["text"], names) if answer else TODO_ANSWER + " The thread is below.", "",
             "## From the Slack thread", ""]
    kept = 0
    for n, m in enumerate(messages):
        text = to_markdown(m["text"], names)
        if kept + len(text) > THREAD_CHARS:
            lines += [f"_... and {len(messages) - n} more message(s), not saved here: see the thread._", ""]
            break
        kept += len(text)
        lines += [f"**{_author(m, names)}:**", "", text, ""]
    lines += _nearest_lines(nearest)
    stamp = slug(f"{channel}-{parent.get('ts') or clicked_ts or ''}", 40)
    path = f"{DRAFTS_DIR}/thread-{stamp}-{slug(title) or 'thread'}.md"
    return Draft(path, title, "\n".join(lines) + "\n", "thread", None, parent.get("user"))


def nearest_sections(kb, text: str | None, k: int = NEAREST) -> list[tuple[str, Chunk]]:
    """(link, section) of the sections closest to `text`; none when there is no text or no index."""
    if not text or not text.strip():
        return []
    try:
        return [(kb.link(h.chunk), h.chunk) for h in kb.ask(text, k=k).hits]
    except KnowledgeError:
        return []


# -- keeping drafts ------------------------------------------------------------------------------

class Drafts:
    """Drafts in the state DB and in `<source>/drafts/`."""

    def __init__(self, state: StateDB, source: Path | str):
        self.state = state
        self.source = Path(source)

    def target(self, draft: Draft) -> Path:
        """Where `draft` goes on disk; DraftError if that is not a file directly in `<source>/drafts/`."""
        root = self.source.resolve()
        folder = (root / DRAFTS_DIR).resolve()  # a drafts/ symlinked elsewhere is refused below
        target = (self.source / draft.path).resolve()
        if target.parent != folder or not folder.is_relative_to(root) or target.suffix != ".md":
            raise DraftError(f"a draft must be a .md file in {DRAFTS_DIR}/ of the knowledge base, not {draft.path!r}")
        return target

    def save(self, draft: Draft, by: str | None = None) -> Saved:
        """Keep `draft` in the state DB (the latest for its path) and write its file unless one is there."""
        target = self.target(draft)
        draft_id = int(self.state.execute(
            "INSERT INTO drafts (gap_id, path, title, markdown, source, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (path) DO UPDATE SET title = excluded.title, markdown = excluded.markdown, "
            "created_by = excluded.created_by, created_at = excluded.created_at, "
            "discarded_at = NULL, discarded_by = NULL RETURNING id",  # drafted again: wanted again
            (draft.gap_id, draft.path, draft.title, draft.markdown, draft.source, by, now()),
        ).fetchone()[0])
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "x", encoding="utf-8") as out:  # "x": a writer's file is never replaced
                out.write(draft.markdown)
        except OSError as exc:
            there = isinstance(exc, FileExistsError) and target.is_file()
            return Saved(draft, draft_id, target, written=False, problem=None if there else (exc.strerror or str(exc)))
        return Saved(draft, draft_id, target, written=True)

    def markdown(self, path: str) -> str | None:
        """The Markdown last saved for `path` (the file on disk may have been edited, or lost)."""
        row = self.state.execute("SELECT markdown FROM drafts WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None


STORED_COLUMNS = "id, gap_id, path, title, source, created_by, created_at, discarded_at, discarded_by"


def stored_drafts(state: StateDB) -> list[StoredDraft]:
    """Every draft in the state DB, oldest first."""
    rows = state.execute(f"SELECT {STORED_COLUMNS} FROM drafts ORDER BY created_at, id")
    return [StoredDraft(*r) for r in rows.fetchall()]


def discard(state: StateDB, draft_id: int, by: str | None) -> tuple[StoredDraft, bool]:
    """Take a draft off the waiting list; its row and its file stay. UnknownDraft when there is none.

    Returns the draft and whether this call discarded it: discarding it again changes nothing (who
    discarded it first, and when, is kept).
    """
    done = state.execute("UPDATE drafts SET discarded_at = ?, discarded_by = ? WHERE id = ? AND discarded_at IS NULL",
                         (now(), by, draft_id)).rowcount
    row = state.execute(f"SELECT {STORED_COLUMNS} FROM drafts WHERE id = ?", (draft_id,)).fetchone()
    if row is None:
        raise UnknownDraft(f"no draft {draft_id}")
    return StoredDraft(*row), done == 1


def _title_key(title: str) -> str:
    return " ".join(title.casefold().split())


def publications(drafts: Iterable[StoredDraft], documents: Iterable[Document],
                 history: Iterable[tuple[str, str, str]] = ()) -> dict[int, str]:
    """Draft id to the document of the build that publishes it: the draft's own path, or a document a
    writer moved it to, outside drafts/, with the draft's title, that entered the index after the draft
    was saved (`history` is the index's change log, (path, change, when)). An older document that only
    shares the title does not count (it cannot be this draft), nor one indexed in the second it was saved.
    """
    documents = list(documents)
    indexed = {d.path for d in documents}
    entered: dict[str, str] = {}  # path -> when it last entered the index
    for path, change, when in history:
        if change == "added":
            entered[path] = max(when, entered.get(path, ""))
    titled: dict[str, list[str]] = {}
    for doc in documents:
        if doc.path in entered and not doc.path.startswith(f"{DRAFTS_DIR}/"):
            titled.setdefault(_title_key(doc.title), []).append(doc.path)
    found = {}
    for draft in drafts:
        moved = [p for p in titled.get(_title_key(draft.title), []) if entered[p] > draft.created_at]
        if draft.path in indexed or moved:
            found[draft.id] = draft.path if draft.path in indexed else moved[0]
    return found


def status(draft: StoredDraft, published: Mapping[int, str]) -> str:
    """waiting, discarded, or published (with the path, when a writer moved it)."""
    if draft.id in published:
        where = published[draft.id]
        return "published" if where == draft.path else f"published as {where}"
    return "discarded" if draft.discarded_at else "waiting"


def reviewed(state: StateDB, documents: Iterable[Document],
             history: Iterable[tuple[str, str, str]] = ()) -> list[tuple[StoredDraft, str]]:
    """Every draft in the state DB, oldest first, with its status() against a build's documents and change log."""
    drafts = stored_drafts(state)
    published = publications(drafts, documents, history)
    return [(d, status(d, published)) for d in drafts]


def waiting(state: StateDB, documents: Iterable[Document], history: Iterable[tuple[str, str, str]] = ()) -> list[StoredDraft]:
    """Drafts still to publish: not discarded, and no document of the current build publishes them."""
    return [d for d, state_of in reviewed(state, documents, history) if state_of == "waiting"]
