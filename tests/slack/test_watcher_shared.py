"""Gap watchers on several machines sharing one state DB: each rechecks its own new builds, once."""
from __future__ import annotations

import os
import shutil

from slack_sdk import WebClient

from bot.watcher import GapWatcher
from knowledge.answer import KnowledgeBase
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
