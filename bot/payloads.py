"""Reading what a button or a modal carries back, without trusting it: bad values become None."""
from __future__ import annotations

import json
from functools import partial
from typing import Callable

BROKEN_BUTTON = "Sorry, that button no longer works. Please ask your question again."


def id_value(action: dict | None) -> int | None:
    """The positive integer id a button carries (`"42"`), or None for anything else."""
    value = (action or {}).get("value")
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def json_object(text: object) -> dict | None:
    """`text` parsed as a JSON object (a modal's private_metadata), or None."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

# respond(**BROKEN_REPLY): a private line under the broken button, the original message left alone.
BROKEN_REPLY = {"replace_original": False, "response_type": "ephemeral", "text": BROKEN_BUTTON}
# respond(**SWAMPED_REPLY): the work backlog is full; the click itself is not lost where it was stored.
SWAMPED_REPLY = {"replace_original": False, "response_type": "ephemeral",
                 "text": "I'm swamped right now; please click again in a minute."}


def user_id(body: dict) -> str | None:
    """Who clicked or submitted, or None if the payload does not say."""
    user = body.get("user")
    return user.get("id") if isinstance(user, dict) else None


_OBJECTS = ("event", "team", "user", "channel", "view", "container", "message", "enterprise")
_LISTS_OF_OBJECTS = ("actions", "authorizations")


def well_formed(body: object) -> bool:
    """Whether a request body has the shape Bolt reads without checking (else its middleware raises).

    Slack's nested fields, where present, are objects (or null) and lists of objects.
    """
    if not isinstance(body, dict):
        return False
    if any(body.get(key) is not None and not isinstance(body[key], dict) for key in _OBJECTS):
        return False
    return all(isinstance(body[key], list) and all(isinstance(item, dict) for item in body[key])
               for key in _LISTS_OF_OBJECTS if body.get(key) is not None)


def on_click(work, ack, action: dict, body: dict, respond, job: Callable[[int, str], object]) -> None:
    """A button's usual start: ack, read the id it carries and who clicked, and run `job(id, user)` after
    the ack in `work` (a bot.work.Work). A value the bot cannot read gets a polite private line instead."""
    ack()
    value, user = id_value(action), user_id(body)
    if value is None or user is None:
        work.notice(partial(respond, **BROKEN_REPLY))
        return
    work.later(partial(job, value, user), busy=partial(respond, **SWAMPED_REPLY))
