"""List a corpus's sections as the indexer parses them, and check question-set labels against them.

    PYTHONPATH=. .venv/bin/python -m bench.sections gitlab              # every (path, heading path)
    PYTHONPATH=. .venv/bin/python -m bench.sections gitlab --grep deal  # only paths/headings matching
    PYTHONPATH=. .venv/bin/python -m bench.sections gitlab --check      # labels that name no section
    PYTHONPATH=. .venv/bin/python -m bench.sections gitlab --check --file bench/questions/extra/gitlab.jsonl

A label is {"path", "heading"}: the heading is the section's own (deepest) heading, as printed here.
Parsing only (no model), so it takes a second.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterator

from bench.evaluate import SETS, load, norm
from indexer.build import markdown_files
from indexer.markdown import Document, MarkdownError, read
from knowledge.index import HEADING_SEP


def documents(source: Path) -> Iterator[Document]:
    """Every document of `source` the indexer would parse (broken files left out)."""
    for file in markdown_files(source):
        try:
            yield read(file, file.relative_to(source).as_posix())
        except MarkdownError:
            continue


def sections(source: Path) -> dict[tuple[str, str], str]:
    """(path, normalised deepest heading) -> the heading path, for every section that has text."""
    return {(d.path, norm(s.heading_path[-1])): HEADING_SEP.join(s.heading_path) for d in documents(source) for s in d.sections}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("set", choices=sorted(SETS))
    parser.add_argument("--grep", help="Only sections whose path or heading path contains this (case-insensitive).")
    parser.add_argument("--check", action="store_true", help="Report labels in the question set that match no section.")
    parser.add_argument("--file", type=Path, help="With --check: this question file instead of the set's own.")
    args = parser.parse_args()
    source, qfile = SETS[args.set]
    qfile = args.file or qfile
    found = sections(source)
    if args.check:
        bad = 0
        for n, q in enumerate(load(qfile), 1):
            for r in q["relevant"]:
                if (r["path"], norm(r["heading"])) not in found:
                    bad += 1
                    print(f"{qfile.name}:{n}: no section {r['path']} / {r['heading']!r}  ({q['question']})")
        print(f"{bad} label(s) match no section", file=sys.stderr)
        raise SystemExit(1 if bad else 0)
    needle = (args.grep or "").lower()
    for (path, _), heading_path in sorted(found.items()):
        if needle in path.lower() or needle in heading_path.lower():
            print(json.dumps({"path": path, "heading_path": heading_path}, ensure_ascii=False))


if __name__ == "__main__":
    main()
