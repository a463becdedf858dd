"""Gap watchers on several machines sharing one state DB: each rechecks its own new builds, once, and an expert's
answer whose relay failed reaches the rep once."""
from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

from slack_sdk import WebClient

from bot.watcher import GapWatcher
from knowledge.answer import KnowledgeBase
from knowledge.experts import Experts
from knowledge.gaps import Gaps
from knowledge.index import LiveIndex


class CountingGaps(Gaps):
    rechecks: list[str] = []

    def recheck(self, kb):
        self.rechecks.append(kb.index.get().dir.name)
        return super().recheck(kb)


def machine_index(sample_index, root, name: str) -> LiveIndex:
    """A copy of the sample index under a build name of its own, as another machine's `kb index` makes."""
    shutil.copytree(sample_index, root, symlinks=True)
    build = (root / os.readlink(root / "current")).resolve()
    renamed = build.with_name(f"{build.name}-{name}")
    build.rename(renamed)
    (root / "current").unlink()
    (root / "current").symlink_to(os.path.relpath(renamed, root))
    return LiveIndex(root)


def test_machines_sharing_a_state_db_recheck_only_their_own_new_builds(tmp_path, sample_index, embedder, backend, fake_slack):
    state, client = backend(), WebClient(token="xoxb-0001-test-token", base_url=fake_slack.api_url)
    CountingGaps.rechecks = []
    watchers = [
        GapWatcher(KnowledgeBase(machine_index(sample_index, tmp_path / name, name), embedder), CountingGaps(state, embedder),
                   state, client, host=name)
        for name in ("web-1", "web-2")
    ]
    for _ in range(3):
        for watcher in watchers:
            watcher.tick()
    assert len(CountingGaps.rechecks) == 2 and len(set(CountingGaps.rechecks)) == 2


def owe_relays(state, embedder, count: int) -> list[str]:
    """`count` questions an expert answered whose relay to the rep failed (owed); returns the reps' thread ts."""
    experts, threads = Experts(state, Gaps(state, embedder)), []
    for n in range(count):
        thread = f"1700000700.{n:06d}"
        qid = state.record_question(f"question number {n}", "mention", f"U0REP{n}", "C0SALES", thread)
        request = experts.open(qid, f"U0REP{n}", "C0SALES", thread, "C0EXPERTS")
        experts.posted(request.id, f"1700000800.{n:06d}")
        assert experts.answer(request.id, f"answer {n}", "U0EXPERT")
        experts.release_relay(request.id)  # the listener's relay failed (e.g. rate limited): the watchers owe it
        threads.append(thread)
    return threads


def test_watchers_sharing_a_state_db_relay_each_owed_answer_once(tmp_path, sample_index, embedder, backend, fake_slack):
    threads = owe_relays(backend(), embedder, 5)
    client = WebClient(token="xoxb-0001-test-token", base_url=fake_slack.api_url)
    watchers = [
        GapWatcher(KnowledgeBase(machine_index(sample_index, tmp_path / name, name), embedder), Gaps(state, embedder), state, client, host=name)
        for name, state in ((f"web-{n}", backend()) for n in range(4))
    ]
    start = threading.Barrier(len(watchers))

    def run(watcher):
        start.wait()
        for _ in range(2):
            watcher.tick()

    with ThreadPoolExecutor(len(watchers)) as pool:
        list(pool.map(run, watchers))  # a tick that raised fails the test here
    relayed = [c.body["thread_ts"] for c in fake_slack.of("chat.postMessage")]
    assert sorted(relayed) == threads
