"""Drafts from Slack: *Draft it* on a gap (with the expert's answer), and the *Save to knowledge base* shortcut.

Both are for coordinators. The draft is kept in the state DB, written under `<KB_SOURCE>/drafts/` when no
file is there, and sent to the coordinator as a Markdown file in a DM, so nothing is lost on an ephemeral disk.
"""
from __future__ import annotations

import logging
from functools import partial
from pathlib import PurePosixPath
from typing import Callable

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app import Deps
from bot.draft_views import BROKEN_SHORTCUT, FAILED, GONE, NO_TEXT, NOT_FOR_YOU, SWAMPED, dm_comment, file_title, saved_text
from bot.listeners.gaps import NOT_FOR_YOU as NOT_FOR_YOU_GAPS
from bot.payloads import on_click, user_id
from knowledge.drafts import DraftError, Drafts, Saved, gap_draft, nearest_sections, plain_line, thread_draft

log = logging.getLogger("bot.drafts")
THREAD_PAGES = 10  # 200 messages a page: a thread longer than 2,000 messages is cut there


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "error")
    return type(exc).__name__


def send_file(client: WebClient, user: str, saved: Saved) -> str | None:
    """DM the draft's Markdown to `user` as a file; returns why it failed, or None when it went out."""
    try:
        channel = client.conversations_open(users=user)["channel"]["id"]
        client.files_upload_v2(channel=channel, content=saved.draft.markdown, filename=PurePosixPath(saved.draft.path).name,
                               title=file_title(saved), initial_comment=dm_comment(saved))
    except (SlackClientError, OSError, KeyError, TypeError) as exc:
        log.warning("Could not DM draft %s to %s: %s (does the app have files:write and im:write?)", saved.draft.path, user, exc)
        return _reason(exc)
    return None


def read_thread(client: WebClient, channel: str, message: dict) -> tuple[list[dict], str | None]:
    """The thread of `message`, parent first, and why only `message` itself was read (or None)."""
    ts, messages, cursor = message.get("thread_ts") or message["ts"], [], None
    try:
        for _ in range(THREAD_PAGES):
            page = client.conversations_replies(channel=channel, ts=ts, cursor=cursor, limit=200)
            messages += [m for m in page.get("messages") or [] if isinstance(m, dict)]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                break
    except (SlackClientError, OSError) as exc:  # not in the channel, no history scope, a deleted thread
        log.warning("Could not read thread %s in %s: %s", ts, channel, exc)
        return [message], _reason(exc)
    return (messages, None) if messages else ([message], "empty thread")


def permalink(client: WebClient, channel: str, ts: str) -> str | None:
    try:
        link = client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except (SlackClientError, OSError):
        return None
    return link if isinstance(link, str) and link.startswith("https://") else None


def register(app: App, deps: Deps) -> None:
    coordinators = deps.coordinators  # membership may ask Slack (a user group): only after the ack
    drafts = Drafts(deps.state, deps.settings.source)

    def guarded(job: Callable[[], None], respond) -> None:
        """Run `job`; a failure is logged with its traceback and the coordinator gets a polite line."""
        try:
            job()
        except Exception:
            log.exception("Saving a draft failed")
            respond(response_type="ephemeral", replace_original=False, text=FAILED)

    def deliver(saved: Saved, user: str, respond, thread_error: str | None = None) -> None:
        dm_error = send_file(app.client, user, saved)
        log.info("Draft %s saved by %s (file %s)", saved.draft.path, user, "written" if saved.written else saved.problem or "already there")
        respond(response_type="ephemeral", replace_original=False, text=saved_text(saved, dm_error, thread_error))

    def draft_gap(gap_id: int, user: str, respond) -> None:
        if user not in coordinators:
            respond(response_type="ephemeral", replace_original=False, text=NOT_FOR_YOU_GAPS)
            return
        gap = deps.gaps.get(gap_id)
        if gap is None:
            respond(response_type="ephemeral", replace_original=False, text=GONE)
            return
        nearest = nearest_sections(deps.kb, gap.question or next(iter(gap.examples), None))
        deliver(drafts.save(gap_draft(gap, nearest), by=user), user, respond)

    @app.action("gap_draft")
    def on_draft(ack, action, body, respond):
        on_click(deps.work, ack, action, body, respond, lambda gap_id, user: guarded(partial(draft_gap, gap_id, user, respond), respond))

    def save_thread(user: str, channel: str, message: dict, respond) -> None:
        if user not in coordinators:
            respond(response_type="ephemeral", text=NOT_FOR_YOU)
            return
        messages, thread_error = read_thread(app.client, channel, message)
        parent = messages[0]
        try:
            draft = thread_draft(messages, channel, clicked_ts=message.get("ts"),
                                 nearest=nearest_sections(deps.kb, plain_line(parent.get("text") or "")),
                                 permalink=permalink(app.client, channel, parent.get("ts") or message["ts"]))
        except DraftError:  # e.g. only files or images, no text
            respond(response_type="ephemeral", text=NO_TEXT)
            return
        deliver(drafts.save(draft, by=user), user, respond, thread_error)

    @app.shortcut("save_to_kb")
    def on_save(ack, body, respond):
        ack()
        user, channel, message = user_id(body), (body.get("channel") or {}).get("id"), body.get("message")
        if not user or not channel or not isinstance(message, dict) or not isinstance(message.get("ts"), str):
            deps.work.notice(partial(respond, response_type="ephemeral", text=BROKEN_SHORTCUT))
            return
        deps.work.later(partial(guarded, partial(save_thread, user, channel, message, respond), respond),
                        busy=partial(respond, response_type="ephemeral", text=SWAMPED))
