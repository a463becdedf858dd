"""Oversized content stays within memory: a 20 MB single paragraph indexes within 1.5 GB peak.

The build runs in a child process so its peak RSS is its own. It goes through the real path (settings from
the environment, with KB_MAX_FILE_MB raised above 20; parse, chunk, write) and the real model's tokenizer,
which is what a huge model input blew up (a 20 MB chunk took the old indexer to 3.3 GB); the vectors come
from a hash stand-in, because embedding ~17,000 chunks with the model would take minutes and is not what
is measured.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys

from tests.conftest import REPO

LIMIT_KB = 1_500 * 1024  # ru_maxrss is in kilobytes on Linux

CHILD = """
import json, os, resource, sys
from knowledge.config import Settings
from indexer.build import build
from tests.indexer.stand_in import HashEmbedder

settings = Settings.from_env()
sentence = "Reps may offer up to ten percent off annual plans without approval from the deal desk. "
text = "# Discounts\\n\\n" + sentence * (20 * 1024 * 1024 // len(sentence)) + "\\n"  # one 20 MB line
settings.source.mkdir()
(settings.source / "discounts.md").write_text(text)
del text
lengths = []
report = build(settings.source, settings.index_dir, HashEmbedder(lengths, tokenize=True), max_file_mb=settings.max_file_mb)
print(json.dumps({"chunks": report.chunks, "skipped": [str(s) for s in report.skipped], "longest_input": max(lengths)}))
"""


def test_a_20_mb_paragraph_indexes_within_1_5_gb(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "KB_MAX_FILE_MB": "25",
           "KB_SOURCE": str(tmp_path / "kb"), "KB_INDEX_DIR": str(tmp_path / "index")}
    child = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr[-2000:]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak < LIMIT_KB, f"peak RSS {peak // 1024} MB"
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["skipped"] == [] and result["chunks"] > 15_000  # indexed, in chunks, not skipped
