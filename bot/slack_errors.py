"""Which Slack Web API failures may pass: the same call is worth making again on the next pass."""
from __future__ import annotations

from slack_sdk.errors import SlackApiError

# Refusals that may pass. Any other (user_not_found, channel_not_found, is_archived, cannot_dm_bot,
# missing_scope…) would be refused again on every pass.
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


def may_pass(exc: SlackApiError) -> bool:
    """A rate limit or Slack's own trouble (an error it names, or HTTP 429 or 5xx): asking again later may work."""
    status = getattr(exc.response, "status_code", 200)
    return exc.response.get("error") in TRANSIENT or status == 429 or status >= 500
