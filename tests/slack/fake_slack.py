"""A small local stand-in for Slack's Web API that records every call the app makes.

Slack's servers cannot be reached from here; everything else in the Slack tests is real.
"""
from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

BOT_USER = "UBOT0001"


@dataclass
class Call:
    method: str  # a Web API method ("chat.postMessage"), "response_url", or "upload"
    path: str
    body: dict
    raw: bytes
    headers: dict
    reply: dict | None = None  # what the fake answered (e.g. the ts it gave a post)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a burst of slow calls must not overflow the listen backlog (default 5)

    def handle_error(self, request, client_address):
        # An app stopped while a slow reply was pending hangs up on it: not the test's business.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeSlack:
    """Start with `with FakeSlack() as slack:`; `slack.api_url` goes into SLACK_API_URL.

    `latency` seconds pass before every reply (Web API and response_url), as when Slack is slow.
    """

    def __init__(self, latency: float = 0.0):
        self.latency = latency
        self.calls: list[Call] = []
        # conversations.replies answers from here: (channel, thread ts) -> the thread's messages, parent first
        self.threads: dict[tuple[str, str], list[dict]] = {}
        self.usergroups: dict[str, list[str]] = {}  # usergroups.users.list answers from here: group id -> user ids
        self._refusals: list[dict] = []  # see refuse()
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = fake._refusal(self.path, raw) or (200, fake._reply(self.path, raw))
                fake._record(self.path, raw, dict(self.headers), answer)
                if status == 0:
                    return  # hang up without a word, as a broken network does
                time.sleep(fake.latency)
                reply = json.dumps(answer).encode() if status < 500 else b"<html>Slack is having trouble</html>"
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if status < 500 else "text/html")
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_PUT = do_POST

            def log_message(self, *args):
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.api_url = f"{self.url}/api/"

    def __enter__(self) -> "FakeSlack":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.url}/response/{name}"

    def _record(self, path: str, raw: bytes, headers: dict, reply: dict | None = None) -> None:
        if path.startswith("/api/"):
            method = path[len("/api/") :].split("?")[0]
        elif path.startswith("/response/"):
            method = "response_url"
        else:
            method = "upload"
        body = _parse(raw, headers.get("Content-Type", ""))
        with self._changed:
            self.calls.append(Call(method, path, body, raw, headers, reply))
            self._changed.notify_all()

    def refuse(self, method: str, error: str | int | None, channel: str | None = None, times: int | None = None) -> None:
        """Refuse `method` calls (to `channel`, when given) `times` times (None: until `allow()`), as Slack does:
        `ok: false` with `error`, over HTTP 429 for "ratelimited"; an int is that HTTP status (503: Slack's
        trouble); None hangs up without answering (the network failed)."""
        with self._changed:
            self._refusals.append({"method": method, "error": error, "channel": channel, "times": times})

    def allow(self) -> None:
        """Stop refusing."""
        with self._changed:
            self._refusals.clear()

    def _refusal(self, path: str, raw: bytes) -> tuple[int, dict] | None:
        method, body = path[len("/api/") :].split("?")[0], _parse(raw, "")
        with self._changed:
            for refusal in self._refusals:
                if refusal["method"] == method and refusal["channel"] in (None, body.get("channel")) and refusal["times"] != 0:
                    refusal["times"] = None if refusal["times"] is None else refusal["times"] - 1
                    error = refusal["error"]
                    if error is None:
                        return 0, {"ok": False, "hung_up": True}
                    if isinstance(error, int):
                        return error, {"ok": False, "status": error}
                    return (429 if error == "ratelimited" else 200), {"ok": False, "error": error}
        return None

    def _reply(self, path: str, raw: bytes) -> dict:
        method = path[len("/api/") :].split("?")[0] if path.startswith("/api/") else ""
        body = _parse(raw, "")
        if method == "auth.test":
            return {"ok": True, "url": "https://example.slack.com/", "team": "Example", "user": "answerbot",
                    "team_id": "T0001", "user_id": BOT_USER, "bot_id": "B0001"}
        if method == "chat.postMessage":
            return {"ok": True, "channel": body.get("channel"), "ts": f"1700000000.{next(self._ts):06d}"}
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "conversations.replies":
            thread = self.threads.get((body.get("channel"), body.get("ts")))
            return {"ok": True, "messages": thread, "has_more": False} if thread else {"ok": False, "error": "thread_not_found"}
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.usergroups.get(body.get("usergroup"), [])}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(body.get("users", "U")).split(",")[0]}}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "upload_url": f"{self.url}/upload/F0001", "file_id": "F0001"}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": "F0001", "title": body.get("files", "")}]}
        return {"ok": True}

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 20.0) -> list[Call]:
        """Block until at least `count` calls of `method` arrived (the app answers after its ack)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.of(method)) >= count, timeout=timeout)
            calls = self.of(method)
        assert len(calls) >= count, f"expected {count} {method} call(s), got {len(calls)}: {[c.method for c in self.calls]}"
        return calls


def _parse(raw: bytes, content_type: str) -> dict:
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        form = {k: v[0] for k, v in parse_qs(text).items()}
        for key in ("blocks", "attachments"):
            if key in form:
                form[key] = json.loads(form[key])
        return form
