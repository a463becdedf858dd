"""End to end through Slack's HTTP path: `kb serve` cold start, and /ask latency, against the model floor.

    PYTHONPATH=. .venv/bin/python -m bench.e2e [--questions 40]

Starts a local fake Slack Web API and `kb serve --http` as a real process on the sample index, then:
- cold start: from spawning `kb serve` to the first answer arriving at the fake Slack, against a
  process that only imports sentence-transformers and loads the model (the floor);
- /ask: a signed slash command in, until its answer reaches the fake Slack's response_url, per question
  (p50/p95), against the bare model encode of the same question in-process (the floor).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.timing import header, median, ms, percentile, ratio, secs, table
from indexer.build import build
from knowledge.embedder import SentenceTransformerEmbedder
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_requests import SIGNING_SECRET, SlackSender
from tests.slack.test_serve import free_port

REPO = Path(__file__).resolve().parent.parent
KB = Path(sys.executable).parent / "kb"
MODEL_ONLY = "from knowledge.embedder import SentenceTransformerEmbedder as E; E().embed(['warm up'])"


def start_serve(index: Path, state: Path, slack: FakeSlack) -> tuple[subprocess.Popen, SlackSender]:
    """Spawn `kb serve --http` and return as soon as its health check answers (within two minutes)."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "KB_INDEX_DIR": str(index), "KB_STATE_DB": str(state),
           "SLACK_BOT_TOKEN": "xoxb-0001-bench", "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url}
    env.pop("SLACK_APP_TOKEN", None)
    proc = subprocess.Popen([str(KB), "serve", "--http", "--host", "127.0.0.1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return proc, SlackSender(f"{url}/slack/events", slack.response_url())


def cold_start(index: Path, tmp: Path, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from spawning `kb serve` to the first answer at the fake Slack; and the model-only floor."""
    serve, floor = [], []
    for n in range(runs):
        with FakeSlack() as slack:
            start = time.perf_counter()
            proc, sender = start_serve(index, tmp / f"cold-{n}.db", slack)
            sender.command("/ask", "who approves a 30% discount")
            slack.wait_for("response_url", timeout=120)
            serve.append(time.perf_counter() - start)
            proc.terminate()
            proc.wait()
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", MODEL_ONLY], check=True, cwd=REPO, stderr=subprocess.DEVNULL)
        floor.append(time.perf_counter() - start)
    return serve, floor


def ask_latency(index: Path, tmp: Path, questions: list[str]) -> tuple[list[float], list[float]]:
    """Per question, interleaved so machine noise hits both alike: end-to-end /ask, then the bare encode."""
    embedder = SentenceTransformerEmbedder()
    embedder.embed(["warm up"])
    times, floor = [], []
    with FakeSlack() as slack:
        proc, sender = start_serve(index, tmp / "ask.db", slack)
        try:
            sender.command("/ask", "warm up")
            slack.wait_for("response_url", timeout=120)
            for n, q in enumerate(questions, start=2):
                start = time.perf_counter()
                sender.command("/ask", q)
                slack.wait_for("response_url", count=n, timeout=60)
                times.append(time.perf_counter() - start)
                start = time.perf_counter()
                embedder.embed([q])
                floor.append(time.perf_counter() - start)
        finally:
            proc.terminate()
            proc.wait()
    return times, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in (REPO / "bench/questions/sample.jsonl").read_text().splitlines()][: args.questions]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build(REPO / "knowledge_base", tmp / "index", SentenceTransformerEmbedder())
        serve, model_floor = cold_start(tmp / "index", tmp, args.cold_runs)
        e2e, encode = ask_latency(tmp / "index", tmp, questions)
    print(header("End to end through Slack's HTTP path"))
    print(table(["what", "median", "floor (median)", "ratio"], [
        ["cold start: spawn `kb serve` → first answer at Slack", secs(median(serve)), secs(median(model_floor)) + " (python + model load)", ratio(median(serve), median(model_floor))],
    ]))
    print()
    print(table(["/ask, signed request → answer at response_url", "p50", "p95", "floor p50 (model encode)", "ratio p50"], [
        [f"{len(e2e)} sample questions", ms(percentile(e2e, 50)), ms(percentile(e2e, 95)), ms(percentile(encode, 50)), ratio(percentile(e2e, 50), percentile(encode, 50))],
    ]))



if __name__ == "__main__":
    main()
