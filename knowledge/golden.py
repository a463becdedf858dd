"""Golden questions: questions the knowledge base must keep answering, with the section each must find.

Editors keep them in a YAML file beside their Markdown; `kb check` fails when an edit lost an answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.answer import KnowledgeBase
from knowledge.errors import KnowledgeError

DEFAULT_FILE = "golden_questions.yml"


class GoldenFileError(KnowledgeError):
    """The golden questions file is missing or malformed."""


@dataclass(frozen=True)
class Golden:
    question: str
    expect: str  # "path#anchor", as the section's link ends


@dataclass(frozen=True)
class Checked:
    golden: Golden
    rank: int | None  # 1-based rank of the expected section, None if not in the top k
    found: list[str]  # what came back instead, as "path#anchor"


def load(path: Path) -> list[Golden]:
    """Read `- question: ... / expect: path#anchor` entries; a clear error names what is wrong."""
    try:
        entries = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GoldenFileError(f"no golden questions file at {path}") from None
    except yaml.YAMLError as exc:
        raise GoldenFileError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(entries, list):
        raise GoldenFileError(f"{path}: expected a list of `- question: ...` / `expect: path#anchor` entries")
    goldens = []
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not entry.get("question") or "#" not in str(entry.get("expect", "")):
            raise GoldenFileError(f"{path}: entry {n} needs `question` and `expect: path#anchor`")
        goldens.append(Golden(str(entry["question"]), str(entry["expect"])))
    return goldens


def check(kb: KnowledgeBase, goldens: list[Golden], k: int = 3) -> list[Checked]:
    """Ask every golden question; each result says where (if anywhere) its section ranked."""
    results = []
    for golden in goldens:
        found = [f"{h.chunk.path}#{h.chunk.anchor}" for h in kb.ask(golden.question, k=k).hits]
        rank = found.index(golden.expect) + 1 if golden.expect in found else None
        results.append(Checked(golden, rank, found))
    return results
