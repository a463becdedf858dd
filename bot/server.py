"""Running the bot: HTTP through waitress (a production WSGI server), or Socket Mode."""
from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.payloads import well_formed
from knowledge.config import Settings

EVENTS_PATH = "/slack/events"
MAX_BODY = 1 << 20  # Slack's payloads are a few KB; a modal's state stays far below this
# Acks only store and queue (milliseconds), so these threads turn over fast; a burst beyond them waits
# in waitress's queue for milliseconds, not behind searches (those run in bot.work's pool).
THREADS = 16
# Waitress's own limits, before any of this module runs: its defaults read a 1 GB body to a temporary file
# before the app can refuse it, and hold an idle connection two minutes, so 100 silent sockets (its default
# connection limit) locked everyone out. Slack sends small requests at once; a slower client is cut off.
SERVER_LIMITS = dict(
    max_request_body_size=MAX_BODY + 1,  # waitress refuses this size and up, from Content-Length, before reading it
    max_request_header_size=64 << 10,
    channel_timeout=20,  # seconds a connection may sit idle
    cleanup_interval=5,
    connection_limit=500,
)
SIGNATURE_WINDOW = 5 * 60  # seconds either side of now that SignatureVerifier accepts a timestamp
REMEMBERED = 50_000  # signatures kept at most: Slack's own traffic is far below this in two windows
APPS_PAGE = "https://api.slack.com/apps"
log = logging.getLogger("bot.server")


class SlackConfigError(Exception):
    """A Slack credential is missing or malformed; the message says which and where to get it."""


_TOKENS = {
    "SLACK_BOT_TOKEN": ("slack_bot_token", r"xoxb-[\w-]+", "the Bot User OAuth Token (xoxb-...) on your app's OAuth & Permissions page"),
    "SLACK_SIGNING_SECRET": ("slack_signing_secret", r"[0-9a-f]{16,}", "the Signing Secret on your app's Basic Information page"),
    "SLACK_APP_TOKEN": ("slack_app_token", r"xapp-[\w-]+", "an App-Level Token (xapp-...) with connections:write, under Basic Information > App-Level Tokens"),
}


def check_credentials(settings: Settings, socket_mode: bool) -> None:
    """Fail with one clear line if a credential this mode needs is missing or malformed."""
    needed = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET"]
    for var in needed:
        field, pattern, where = _TOKENS[var]
        value = getattr(settings, field)
        if not value:
            raise SlackConfigError(f"{var} is not set: copy {where} at {APPS_PAGE}")
        if not re.fullmatch(pattern, value):
            raise SlackConfigError(f"{var} does not look right (expected {where}); check it at {APPS_PAGE}")


def wsgi_app(app: App, signing_secret: str):
    """Slack's requests at /slack/events (verified before Bolt sees them), a health check at /healthz, 404 elsewhere."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    verifier, seen = SignatureVerifier(signing_secret), SeenSignatures()

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == EVENTS_PATH:
            refusal = refuse(environ, verifier, seen)
            if refusal:
                return plain(start_response, *refusal)
            return slack(environ, start_response)
        if path == "/healthz":
            return plain(start_response, "200 OK", "ok")
        return plain(start_response, "404 Not Found", "not found")

    return application


def refuse(environ: dict, verifier: SignatureVerifier, seen: "SeenSignatures") -> tuple[str, str] | None:
    """Why a request must not reach Bolt (status, reason), or None; the body is put back for Bolt to read.

    Bolt parses a body before it checks the signature, so an unsigned `{"x` cost a 500 and a traceback.
    Here the order is: size (413), signature and timestamp (401), a repeat (200, nothing done), then
    shape (400). One log line each.
    """
    body = read_body(environ)
    if body is None:
        return log_refusal(environ, "413 Payload Too Large", f"body over {MAX_BODY} bytes")
    if not signed(body, environ, verifier):
        return log_refusal(environ, "401 Unauthorized", "missing, wrong or stale signature")
    if not seen.first(environ["HTTP_X_SLACK_SIGNATURE"], int(environ["HTTP_X_SLACK_REQUEST_TIMESTAMP"])):
        # A 200, so that Slack itself never retries it; the first of these was served.
        log.warning("Ignored a repeat of a signed request from %s (same signature)", environ.get("REMOTE_ADDR", "?"))
        return "200 OK", ""
    text, content_type = body.decode("utf-8"), environ.get("CONTENT_TYPE") or ""
    if not well_formed(parsed(text, content_type)):
        return log_refusal(environ, "400 Bad Request", "signed, but not a Slack payload")
    if "payload" in text and not is_json(text, content_type) and "payload" not in dict(parse_qsl(text)):
        body = respell_payload(body, environ, verifier)
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
    return None


def respell_payload(body: bytes, environ: dict, verifier: SignatureVerifier) -> bytes:
    """A form without a `payload` field whose text says "payload", spelt so that Bolt still reads it.

    Bolt takes any form body containing the word for an interaction and finds nothing in it, so
    `/ask what is the webhook payload limit` was dropped unstored (404). `%70` is the same `p` once the
    form is decoded; the body is re-signed with its original (already verified) timestamp for Bolt's check.
    """
    body = body.replace(b"payload", b"%70ayload")
    timestamp = environ["HTTP_X_SLACK_REQUEST_TIMESTAMP"]
    environ["HTTP_X_SLACK_SIGNATURE"] = verifier.generate_signature(timestamp=timestamp, body=body)
    return body


class SeenSignatures:
    """The signatures of the requests let through in the last window, so that a request sent again is not.

    A signature is good for five minutes: anyone who captured a request (a TLS proxy's log, a debugging
    dump) could send it again, and a `/ask` would be answered twice or a share button posted twice.
    Slack never sends the same signature twice: a retry of an event is signed anew, and events are also
    de-duplicated by id (StateDB.first_time). Bounded: entries leave once their timestamp is out of
    the window, and past REMEMBERED, oldest first.
    """

    def __init__(self, window: int = SIGNATURE_WINDOW, limit: int = REMEMBERED):
        self.window, self.limit = window, limit
        self._seen: OrderedDict[str, int] = OrderedDict()  # signature -> its request's timestamp, in order of arrival
        self._lock = threading.Lock()

    def first(self, signature: str, timestamp: int, now: float | None = None) -> bool:
        """Remember `signature`; False if it was already seen in the window."""
        expired = (time.time() if now is None else now) - self.window
        with self._lock:
            if signature in self._seen:
                return False
            # Arrival order is timestamp order give or take the window: forget from the front while expired.
            while self._seen and (len(self._seen) >= self.limit or next(iter(self._seen.values())) < expired):
                self._seen.popitem(last=False)  # a plain dict's first item gets slower to find after many deletes
            self._seen[signature] = timestamp
            return True


def read_body(environ: dict) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return None
    return environ["wsgi.input"].read(length) if length > 0 else b""


def signed(body: bytes, environ: dict, verifier: SignatureVerifier) -> bool:
    """Slack's v0 signature over this body, made in the last five minutes (SignatureVerifier's window)."""
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
    signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) < 16 and signature):
        return False
    try:
        return verifier.is_valid(body=body.decode("utf-8"), timestamp=timestamp, signature=signature)
    except UnicodeDecodeError:  # Slack sends UTF-8; anything else is not something it signed
        return False


def parsed(text: str, content_type: str) -> dict | None:
    """The body as Bolt will read it (JSON, a form, or a form's `payload` JSON), if that is an object."""
    try:
        if is_json(text, content_type):
            value = json.loads(text)
        else:
            form = dict(parse_qsl(text, keep_blank_values=True))
            value = json.loads(form["payload"]) if "payload" in form else form
    except (ValueError, KeyError):
        return None
    return value if isinstance(value, dict) else None


def is_json(text: str, content_type: str) -> bool:
    """Whether Bolt reads this body as JSON (else as a form)."""
    return content_type.startswith("application/json") or text.startswith("{")


def log_refusal(environ: dict, status: str, reason: str) -> tuple[str, str]:
    log.warning("Refused %s from %s: %s", status.split()[0], environ.get("REMOTE_ADDR", "?"), reason)
    return status, reason


def plain(start_response, status: str, text: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain")])
    return [text.encode()]


class _OncePerMinute(logging.Filter):
    """Waitress warns "Task queue depth" on every queued request: keep the first, then one a minute."""

    def __init__(self, every: float = 60.0):
        super().__init__()
        self.every, self.last, self.dropped = every, None, 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if self.last is not None and now - self.last < self.every:
            self.dropped += 1
            return False
        if self.dropped:
            record.msg = f"{record.msg} ({self.dropped} more such warnings in the last minute)"
        self.last, self.dropped = now, 0
        return True


def http_server(app: App, signing_secret: str, host: str, port: int, threads: int = THREADS):
    """A waitress server for the app (port 0 picks a free one: see `.effective_port`)."""
    from waitress import create_server

    queue_log = logging.getLogger("waitress.queue")
    if not any(isinstance(f, _OncePerMinute) for f in queue_log.filters):
        queue_log.addFilter(_OncePerMinute())
    return create_server(wsgi_app(app, signing_secret), host=host, port=port, threads=threads, ident="kb-answer-bot",
                         **SERVER_LIMITS)


def socket_mode_handler(app: App, app_token: str):
    """Slack's Socket Mode client for the app; an envelope Bolt cannot handle is acked and logged in one line.

    Socket Mode has no signature (the app-token websocket is the authentication). Left to slack_sdk and
    Bolt, an unreadable envelope is logged with a traceback, or not at all, and left unacked, so Slack
    sends it again; acking it ends that.
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
    from slack_sdk.socket_mode.response import SocketModeResponse

    class GuardedHandler(SocketModeHandler):
        def handle(self, client, req) -> None:
            start = time.time()
            try:
                if not well_formed(req.payload):
                    raise ValueError("not a Slack payload")
                response = run_bolt_app(self.app, req)
            except Exception as exc:
                log.warning("Socket Mode: dropped a malformed %s envelope (%s: %s)", req.type, type(exc).__name__, exc)
                response = None
            if response is None or response.status != 200:
                client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
                return
            send_response(client, req, response, start)

    return GuardedHandler(app, app_token)


def run_socket_mode(app: App, app_token: str) -> None:
    """Connect to Slack over a websocket and serve until the process ends."""
    socket_mode_handler(app, app_token).start()
