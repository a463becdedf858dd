"""The state in PostgreSQL against SQLite: /ask end to end, and a second machine's fresh `kb index`.

    PYTHONPATH=. .venv/bin/python -m bench.state_backends [--questions 40] [--corpus DIR]

Starts a throwaway PostgreSQL (tests/postgres.py: initdb + pg_ctl), a local fake Slack, and two `kb serve
--http` processes on the sample index, one on a SQLite state file and one on DATABASE_URL; /ask questions
alternate between them (so machine noise hits both alike), each timed from the signed command until its
answer reaches the fake Slack's response_url. Then `kb index` of a corpus twice into fresh folders with
DATABASE_URL: a cold build (an empty vector cache), and a second machine's (every vector cached).
Bars: /ask p95 with PostgreSQL <= 1.3x SQLite's; the second machine's index <= 0.1x the cold build.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.e2e import start_serve
from bench.timing import median, ms, percentile, secs
from tests.postgres import PostgresServer
from tests.slack.fake_slack import FakeSlack

REPO = Path(__file__).resolve().parent.parent
KB = Path(sys.executable).parent / "kb"
CORPUS = REPO.parent / "shared/corpora/sourcegraph-handbook-sales/docs"


def ask_latency(index: Path, tmp: Path, url: str, questions: list[str]) -> dict[str, list[float]]:
    """Seconds per /ask, end to end, on each backend; questions alternate between the two bots."""
    times: dict[str, list[float]] = {"SQLite": [], "PostgreSQL": []}
    with FakeSlack() as slack:
        bots = {"SQLite": start_serve(index, tmp / "state.db", slack, DATABASE_URL=""),
                "PostgreSQL": start_serve(index, tmp / "unused.db", slack, DATABASE_URL=url)}
        try:
            answered = 0
            for name, (_, sender) in bots.items():  # warm up: first search, first connection
                sender.command("/ask", "warm up")
                answered += 1
                slack.wait_for("response_url", count=answered, timeout=120)
            for q in questions:
                for name, (_, sender) in bots.items():
                    start = time.perf_counter()
                    sender.command("/ask", q)
                    answered += 1
                    slack.wait_for("response_url", count=answered, timeout=60)
                    times[name].append(time.perf_counter() - start)
        finally:
            for proc, _ in bots.values():
                proc.terminate()
                proc.wait()
    return times


def index_once(corpus: Path, index: Path, url: str) -> tuple[float, str]:
    """Seconds for `kb index` into a fresh folder with DATABASE_URL (its vector cache), and its chunk line."""
    start = time.perf_counter()
    done = subprocess.run([str(KB), "index", "--source", str(corpus), "--index", str(index)], env={**os.environ, "DATABASE_URL": url},
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    return seconds, next((line.strip() for line in done.stdout.splitlines() if "embedded" in line), done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the Markdown indexed twice (default: the sourcegraph handbook)")
    parser.add_argument("--skip-ask", action="store_true")
    parser.add_argument("--skip-index", action="store_true")
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in (REPO / "bench/questions/sample.jsonl").read_text().splitlines()][: args.questions]
    postgres = PostgresServer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            if not args.skip_ask:
                subprocess.run([str(KB), "index", "--source", str(REPO / "knowledge_base"), "--index", str(tmp / "index")],
                               check=True, capture_output=True, env={**os.environ, "DATABASE_URL": ""})
                times = ask_latency(tmp / "index", tmp, postgres.fresh_url(), questions)
                print(f"/ask end to end, {len(questions)} questions each, alternating (ms):")
                print(f"  {'backend':<12} {'p50':>8} {'p95':>8}")
                for name, values in times.items():
                    print(f"  {name:<12} {ms(median(values)):>8} {ms(percentile(values, 95)):>8}")
                ratio = percentile(times["PostgreSQL"], 95) / percentile(times["SQLite"], 95)
                print(f"  p95 PostgreSQL / SQLite: {ratio:.2f}x (bar: <= 1.3x)")
            if not args.skip_index:
                url = postgres.fresh_url()
                cold, cold_line = index_once(args.corpus, tmp / "machine-1", url)
                warm, warm_line = index_once(args.corpus, tmp / "machine-2", url)
                print(f"kb index of {args.corpus} with DATABASE_URL, into fresh folders:")
                print(f"  cold (empty cache):        {secs(cold):>8} s  {cold_line}")
                print(f"  second machine (cached):   {secs(warm):>8} s  {warm_line}")
                print(f"  second / cold: {warm / cold:.2f}x (bar: <= 0.1x)")
                if not re.search(r"\b0 embedded\b", warm_line):
                    print("  the second machine embedded something: the cache missed")
    finally:
        postgres.close()


if __name__ == "__main__":
    main()
