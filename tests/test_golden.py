"""`kb check`: the golden questions the sample knowledge base ships, and an edit that loses an answer."""
from __future__ import annotations

import shutil

from click.testing import CliRunner

from indexer.build import build
from kb.cli import main
from knowledge.golden import GoldenFileError, load
from tests.conftest import SAMPLE_KB, write

import pytest


def test_the_shipped_golden_questions_all_pass(sample_index):
    result = CliRunner().invoke(main, ["check", "--source", str(SAMPLE_KB), "--index", str(sample_index)])
    assert result.exit_code == 0, result.output
    assert f"{len(load(SAMPLE_KB / 'golden_questions.yml'))} of " in result.output
    assert "✗" not in result.output


def test_an_edit_that_loses_an_answer_fails_with_a_readable_list(tmp_path, embedder):
    source = tmp_path / "kb"
    shutil.copytree(SAMPLE_KB, source)
    card = source / "battlecards/acme.md"
    # An editor renames a section: its anchor (and every link to it) changes.
    card.write_text(card.read_text().replace('### "Acme is cheaper"', '### Cost'))
    build(source, tmp_path / "index", embedder)
    result = CliRunner().invoke(main, ["check", "--source", str(source), "--index", str(tmp_path / "index")])
    assert result.exit_code == 1
    assert "✗ how do we handle the price objection vs acme" in result.output
    assert "expected battlecards/acme.md#acme-is-cheaper" in result.output
    assert "battlecards/acme.md#cost" in result.output  # what it finds now, so the fix is obvious


@pytest.mark.parametrize("text", ["{}", "- question: q\n  expect: no-anchor\n", "- [unclosed"])
def test_a_malformed_golden_file_is_a_clear_error(tmp_path, text):
    path = write(tmp_path, "golden.yml", text)
    with pytest.raises(GoldenFileError, match="golden.yml"):
        load(path)
