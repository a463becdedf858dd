"""End to end through Slack's HTTP path: `kb serve` cold start, and /ask latency, against the model floor.

    PYTHONPATH=. .venv/bin/python -m bench.e2e [--questions 40]

Starts a local fake Slack Web API and `kb serve --http` as a real process on the sample index, then:
- cold start: from spawning `kb serve` to the first answer arriving at the fake Slack, against a
  process that only imports sentence-transformers and loads the model (the floor);
- /ask: a signed slash command in, until its answer reaches the fake Slack's response_url, per question
  (p50/p95), against the bare model encode of the same question in-process (the floor);
- acks under a slow Slack: bursts of /ask at once (20 in flight) while the fake Web API and response_url
  take a second to answer, the seconds until each ack (p50/p95/max, how many past Slack's 3 s deadline),
  against the same bursts with a Slack that answers at once.
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
from concurrent.futures import ThreadPoolExecutor
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


def start_serve(index: Path, state: Path, slack: FakeSlack, **env_extra: str) -> tuple[subprocess.Popen, SlackSender]:
    """Spawn `kb serve --http` and return as soon as its health check answers (within two minutes)."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "KB_INDEX_DIR": str(index), "KB_STATE_DB": str(state),
           "SLACK_BOT_TOKEN": "xoxb-0001-bench", "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
           **env_extra}
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


def burst_acks(index: Path, state: Path, questions: list[str], latency: float, in_flight: int, rounds: int) -> tuple[list[float], int]:
    """Seconds to each ack of `rounds` bursts of `in_flight` /ask at once; and how many answers arrived."""
    def ack(n: int, question: str) -> float:
        start = time.perf_counter()
        sender.command("/ask", question, user=f"U0REP{n:03d}")  # a burst is many reps: one holds at most PER_ASKER jobs
        return time.perf_counter() - start

    acks: list[float] = []
    with FakeSlack(latency=latency) as slack:
        proc, sender = start_serve(index, state, slack)
        try:
            sender.command("/ask", "warm up")
            slack.wait_for("response_url", timeout=120)
            for n in range(rounds):
                burst = [questions[(n * in_flight + i) % len(questions)] for i in range(in_flight)]
                with ThreadPoolExecutor(max_workers=in_flight) as pool:
                    acks.extend(pool.map(ack, range(in_flight), burst))
                slack.wait_for("response_url", count=1 + (n + 1) * in_flight, timeout=120)  # all answered
            return acks, len(slack.of("response_url")) - 1
        finally:
            proc.terminate()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=20, help="/ask sent at once in each burst")
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds the slow fake Slack takes per call")
    parser.add_argument("--only-acks", action="store_true", help="run only the slow-Slack ack bursts")
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in (REPO / "bench/questions/sample.jsonl").read_text().splitlines()][: args.questions]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build(REPO / "knowledge_base", tmp / "index", SentenceTransformerEmbedder())
        if not args.only_acks:
            serve, model_floor = cold_start(tmp / "index", tmp, args.cold_runs)
            e2e, encode = ask_latency(tmp / "index", tmp, questions)
        bursts = {latency: burst_acks(tmp / "index", tmp / f"burst-{latency}.db", questions, latency, args.in_flight, args.bursts)
                  for latency in (0.0, args.latency)}
    print(header("End to end through Slack's HTTP path"))
    if not args.only_acks:
        print(table(["what", "median", "floor (median)", "ratio"], [
            ["cold start: spawn `kb serve` → first answer at Slack", secs(median(serve)), secs(median(model_floor)) + " (python + model load)", ratio(median(serve), median(model_floor))],
        ]))
        print()
        print(table(["/ask, signed request → answer at response_url", "p50", "p95", "floor p50 (model encode)", "ratio p50"], [
            [f"{len(e2e)} sample questions", ms(percentile(e2e, 50)), ms(percentile(e2e, 95)), ms(percentile(encode, 50)), ratio(percentile(e2e, 50), percentile(encode, 50))],
        ]))
        print()
    fast = bursts[0.0][0]
    print(table([f"/ask ack (ms), {args.bursts} bursts of {args.in_flight} at once", "p50", "p95", "max", "over 3 s", "answered", "ratio p95 (vs instant Slack)"], [
        [f"Slack answers in {latency:g} s", ms(percentile(acks, 50)), ms(percentile(acks, 95)), ms(max(acks)),
         f"{sum(a >= 3 for a in acks)} of {len(acks)}", f"{answered} of {len(acks)}", ratio(percentile(acks, 95), percentile(fast, 95))]
        for latency, (acks, answered) in bursts.items()
    ]))


if __name__ == "__main__":
    main()
