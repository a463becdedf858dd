"""Slack mrkdwn: escaping what users typed, and turning our Markdown snippets into mrkdwn."""
from __future__ import annotations

import re

from knowledge.text import trim, unescape_entities

SECTION_LIMIT = 3000  # Block Kit: characters in one section's text
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s|>]+)\)")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_BREAK = re.compile(r"<br\s*/?>", re.I)  # a line break inside a table cell


def escape(text: str) -> str:
    """Escape &, < and > so user text can never ping (<!channel>), mention or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# In a link's URL: < > | would end it early (and could smuggle in <!channel>), a space splits it;
# & stays a & for Slack as &amp;, the way Slack itself writes URLs in message text.
_URL_CHARS = str.maketrans({"<": "%3C", ">": "%3E", "|": "%7C", " ": "%20", "&": "&amp;"})


def link(url: str, label: str) -> str:
    """A mrkdwn link when `url` is absolute, else the label alone (Slack cannot open relative paths)."""
    label = escape(label).replace("|", "¦")
    if url.startswith(("https://", "http://")):
        return f"<{url.translate(_URL_CHARS)}|{label}>"
    return label


def from_markdown(text: str, limit: int) -> str:
    """Our Markdown snippet as mrkdwn: escaped, **bold** to *bold*, [t](url) to <url|t>, cut to `limit`.

    HTML entities are read (`&amp;` in the source is the & a reader sees), then everything is escaped. Links are
    found first: `&#91;x&#93;&#40;url&#41;` shows as text, not as a link."""
    text = _BREAK.sub("; ", trim(text, limit)).replace("\x00", "")  # \x00 marks the links below
    links: list[str] = []

    def keep_link(m: re.Match) -> str:
        links.append(link(unescape_entities(m.group(2)), unescape_entities(m.group(1))))
        return f"\x00{len(links) - 1}\x00"

    text = escape(unescape_entities(_LINK.sub(keep_link, text)))
    text = _BOLD.sub(lambda m: f"*{m.group(1) or m.group(2)}*", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], text)


def strip_mentions(text: str) -> str:
    """The question in `@bot how do we …`: mention tokens removed, whitespace folded."""
    return " ".join(_MENTION.sub(" ", text).split())


# What a Slack message's text may carry through when the bot repeats it: Slack already escaped what the
# person typed (&amp; &lt; &gt;), so only its <...> tokens matter. Mentions of people, channel links and
# web/mail links stay; a broadcast (<!here>, <!channel>, <!subteam^S1>) or anything else becomes plain text.
_TOKEN = re.compile(r"<([^<>\s|][^<>|]*(?:\|[^<>]*)?)>")
_KEPT = re.compile(r"(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+)(?:\|[^|<>]*)?|(?:https?://|mailto:)[^\s|<>]+(?:\|[^|<>]*)?")


def relayed(text: str, limit: int = SECTION_LIMIT) -> str:
    """Slack message text (e.g. an expert's reply) safe to post elsewhere: no pings, no forged markup, cut to `limit`."""
    def plain(between: str) -> str:  # entities Slack wrote stay; a stray <, > or & is escaped as Slack would
        return re.sub(r"&(?!amp;|lt;|gt;)", "&amp;", between).replace("<", "&lt;").replace(">", "&gt;")

    out, at = [], 0
    for m in _TOKEN.finditer(text):
        out.append(plain(text[at:m.start()]))
        inner, at = m.group(1), m.end()
        if _KEPT.fullmatch(inner):
            out.append(m.group(0))
        elif "|" in inner:
            out.append(plain(inner.split("|", 1)[1]))  # <!subteam^S1|@sales>, <javascript:x|label>: the label
        else:
            out.append(plain(("@" if inner.startswith("!") else "") + inner.lstrip("!")))
    out.append(plain(text[at:]))
    return trim("".join(out), limit)
