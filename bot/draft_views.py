"""What a coordinator reads after *Draft it* or *Save to knowledge base*: pure text builders, escaped."""
from __future__ import annotations

from bot.mrkdwn import escape
from knowledge.drafts import Saved

NOT_FOR_YOU = (
    "Sorry, saving messages to the knowledge base is for the enablement coordinators. "
    "If you think something here belongs in it, tell the enablement team."
)
FAILED = (
    "Sorry, I could not save that draft: something went wrong on my side. "
    "Please try again in a minute; if it keeps failing, tell the enablement team."
)
BROKEN_SHORTCUT = "Sorry, Slack did not tell me which message to save. Please try the shortcut again."
NO_TEXT = "That message and its thread have no text I can save (only files or images?)."
GONE = "That gap no longer exists, so there is nothing to draft. Run `/kb-gaps` for the current list."
SWAMPED = "I'm swamped right now; please try again in a minute."


def saved_text(saved: Saved, dm_error: str | None, thread_error: str | None = None) -> str:
    """The private reply: where the draft is, whether its file was written, whether the DM went out."""
    title, path = escape(saved.draft.title), escape(saved.draft.path)
    if saved.written:
        text = (f"Saved the draft *{title}* as `{path}` in the knowledge base. It stays out of answers until a "
                "writer finishes it, removes `draft: true` and re-indexes.")
    elif saved.problem:
        text = f"I could not write `{path}` ({escape(saved.problem)}); the draft *{title}* is kept in my database."
    else:
        text = f"`{path}` is already in the knowledge base, so I left it as it is; the new draft *{title}* is kept in my database."
    if thread_error:
        text += f"\nI could only save this message: I could not read its thread ({escape(thread_error)}). Is the bot in that channel?"
    if dm_error:
        return text + f"\nI could not send you the Markdown in a DM ({escape(dm_error)})."
    return text + "\nI've sent you its Markdown in a DM."


def file_title(saved: Saved) -> str:
    """The DM'd file's title: plain text, so without the angle brackets a mention or a link would need."""
    return saved.draft.title.replace("<", "").replace(">", "")


def dm_comment(saved: Saved) -> str:
    """The message with the Markdown file in the coordinator's DM."""
    return (f"The draft *{escape(saved.draft.title)}* (`{escape(saved.draft.path)}`), for a writer to finish "
            "and add to the knowledge base.")
