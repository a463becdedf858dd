"""The second stage on real indexes: sections not chunks, the matching passage, mined vocabulary, the verdict."""
from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from indexer.build import build
from indexer.structure import previous_vectors
from knowledge import bm25
from knowledge.answer import KnowledgeBase
from knowledge.bm25 import BM25_FILE
from knowledge.index import DB_FILE, Index, LiveIndex, current_build
from knowledge.passage import best_passage
from knowledge.rank import FEATURES, WEIGHTS_FILE, Ranker
from knowledge.vocabulary import Vocabulary, mine_acronyms
from tests.conftest import write

FILLER = "\n\n".join(
    f"Paragraph {n} covers routine onboarding logistics: calendar invites, seating, laptops and badges for week {n}."
    for n in range(1, 25)
)

ONBOARDING = f"""---
title: Onboarding handbook
---
# Onboarding handbook

## First weeks

{FILLER}

On day three every new rep shadows a Solutions Architect (SA) on two live discovery calls.

{FILLER}

## Benefits enrolment

Enrol in health insurance within 30 days of your start date through the HR portal.
"""

EVALS = """---
title: Evaluations
---
# Evaluations

## Writing to customers

In customer emails write Proof of Value (POV) and Mutual Action Plan (MAP) in full the first time.
Internally, ramp deals go through a Quarterly Ramp Exception (QRE) before the quote is sent.

## Signing off ramps

Every quarterly ramp exception is signed by the regional vice president within two business days.

## How long a trial lasts

A proof of value lasts 14 days; a paid one can run up to 60 days with a signed order form.

## Swag

Every attendee gets a t-shirt.
"""


@pytest.fixture(scope="module")
def kb(tmp_path_factory, embedder) -> KnowledgeBase:
    source = tmp_path_factory.mktemp("ranking-kb")
    write(source, "onboarding.md", ONBOARDING)
    write(source, "evals.md", EVALS)
    root = tmp_path_factory.mktemp("ranking-index")
    build(source, root, embedder)
    return KnowledgeBase(LiveIndex(root, embedder.name), embedder)


def test_a_long_section_is_one_result_however_many_chunks_it_has(kb):
    hits = kb.ask("what happens during onboarding in the first weeks", k=3).hits
    sections = [(h.chunk.path, h.chunk.anchor) for h in hits]
    assert len(kb.index.get().document_chunks("onboarding.md")) > 3  # "First weeks" is split in several chunks
    assert sections.count(("onboarding.md", "first-weeks")) == 1
    assert len(set(sections)) == len(sections)


def test_the_snippet_is_the_passage_that_answers_not_the_sections_start(kb):
    hit = kb.ask("do new reps shadow a solutions architect on discovery calls", k=1).hits[0]
    assert hit.chunk.anchor == "first-weeks"
    assert "shadows a Solutions Architect" in hit.passage
    assert hit.passage.startswith("…") and hit.passage.index("shadows") < 100  # from the middle of the section
    assert kb.hit_dict(hit)["snippet"] == hit.passage


def test_a_table_row_passage_keeps_the_table_header():
    table = "Intro.\n\n| Discount | Approver |\n|---|---|\n" + "\n".join(f"| {n}% | person {n} |" for n in range(60))
    passage = best_passage(table, {"person": 1.0, "45": 5.0}, 200)
    assert "| Discount | Approver |" in passage and "| 45% | person 45 |" in passage


def test_acronyms_are_mined_from_the_text_in_both_orders():
    mined = mine_acronyms([
        "Run a Proof of Value (POV) first.",
        "Ask your CSM (Customer Success Manager).",
        "The Deal Desk (DD) team",  # initials fit: mined
        "Use the portal (SSO) to log in.",  # 'SSO' does not spell 'the portal': not mined
    ])
    assert mined == {"pov": "proof of value", "csm": "customer success manager", "dd": "deal desk"}


def test_a_question_in_short_forms_is_expanded_with_the_long_ones_and_back():
    vocab = Vocabulary({"pov": "proof of value", "sa": "solutions architect"})
    assert vocab.expansions("how long is a POV") == ["proof of value"]
    assert vocab.expansions("how long is a proof of value") == ["pov"]
    assert vocab.expansions("pov for the proof of value") == []  # both forms there already


def test_an_acronym_that_is_a_common_word_is_expanded_only_in_capitals():
    vocab = Vocabulary({"get": "gitlab environment toolkit", "it": "information technology", "sa": "solutions architect"})
    assert vocab.expansions("how do we get a trial extended") == []
    assert vocab.expansions("is it on the price list") == []
    assert vocab.expansions("can GET deploy a 10k reference architecture") == ["gitlab environment toolkit"]
    assert vocab.expansions("who in IT signs off") == ["information technology"]
    assert vocab.expansions("need an sa on the call") == ["solutions architect"]  # not a common word: any case


def test_words_the_knowledge_base_never_uses_are_spelled_out_unless_they_are_real_words():
    vocab = Vocabulary({}, frequent={"customer": 9, "custom": 3, "respond": 4, "leading": 5, "discount": 2, "quarter": 3, "therefore": 3})
    used = {"customer", "custom", "respond", "leading", "discount", "quarter", "want"}
    known = lambda terms: used.intersection(terms)
    model_words = frozenset({"lead", "wants", "please"})
    assert vocab.respell("Cust wants a discout, please respnd", known, model_words) == "customer wants a discount, please respond"
    # 'custom' is used (never respelled); 'lead' is a real word (not short for 'leading'); 'qtr' is three letters.
    assert vocab.respell("custom lead for the qtr", known, model_words) == "custom lead for the qtr"
    # A plural's singular is spelled out too; a stopword's is not ('theres' is not short for 'therefore').
    assert vocab.respell("theres 2 custs", known, model_words) == "theres 2 customer"
    # Only what search reads is respelled: a 40,000-character message costs no more than a short one.
    assert vocab.respell("hi " * 20_000 + "cust", known, model_words).endswith("hi cust")
    assert vocab.spelled_out("quartr") == "quarter" and vocab.spelled_out("quartz") is None  # a letter dropped, not one changed


def test_a_rep_s_short_form_searches_as_the_word_it_shortens(sample_kb):
    short, spelled = sample_kb.ask("cust wants 35% off, who signs"), sample_kb.ask("customer wants 35% off, who signs")
    assert short.query == "cust wants 35% off, who signs"  # the gap log keeps what the rep typed
    assert [h.chunk.anchor for h in short.hits] == [h.chunk.anchor for h in spelled.hits]
    assert short.confidence == pytest.approx(spelled.confidence)


def test_the_knowledge_bases_own_acronyms_find_a_section_that_spells_them_out(kb):
    assert kb.index.get().structure.vocabulary.pairs["qre"] == "quarterly ramp exception"
    # The section that only spells it out is found through the mined vocabulary; the one that writes "QRE"
    # itself competes with it, since whole-section BM25 reads the question as asked (bench/RESULTS.md).
    hits = kb.ask("who signs a QRE", k=2).hits
    assert {h.chunk.anchor for h in hits} == {"signing-off-ramps", "writing-to-customers"}
    assert kb.ask("who signs off a quarterly ramp exception", k=1).hits[0].chunk.anchor == "signing-off-ramps"


def test_the_verdict_is_confident_on_a_clear_answer_and_not_on_an_unrelated_question(sample_kb):
    clear = sample_kb.ask("who approves a 30% discount")
    unrelated = sample_kb.ask("what is the parental leave policy for new parents")
    assert clear.answered and clear.confidence >= sample_kb.ranker.threshold
    assert not unrelated.answered and unrelated.confidence < sample_kb.ranker.threshold
    assert clear.confidence > unrelated.confidence


def test_hits_explain_themselves_with_every_feature(sample_kb):
    hit = sample_kb.ask("who approves a 30% discount", k=1).hits[0]
    assert set(hit.features) == set(FEATURES)
    assert hit.features["coverage"] > 0.5


def test_the_ranker_weights_are_data_in_the_repository_and_must_match_the_features(tmp_path):
    ranker = Ranker.load()
    data = json.loads(WEIGHTS_FILE.read_text())
    assert data["features"] == list(FEATURES) and len(ranker.weights) == len(FEATURES)
    assert data["fitted_on"]["half"] == "fit" and 0 < ranker.threshold < 1
    stale = tmp_path / "ranker.json"
    stale.write_text(json.dumps({**data, "features": data["features"][:-1]}))
    with pytest.raises(ValueError, match="refit"):
        Ranker.load(stale)


def test_a_rebuild_reads_the_previous_heading_vectors_once_not_once_per_section(kb):
    # Reading the .npz array per section kept a whole copy per section alive: 18 GB for a 3,455-section KB.
    build_dir = kb.index.get().dir
    with sqlite3.connect(build_dir / DB_FILE) as db:
        known = previous_vectors(build_dir, db)
        sections = db.execute("SELECT count(*) FROM sections").fetchone()[0]
    assert sections > 3 and len(known) > 3
    assert len({id(v.base) for v in known.values()}) <= 2  # views of one sections array and one titles array


def test_the_verdict_in_the_repository_reads_only_what_fit_ranker_fits_it_on():
    from bench.fit_ranker import VERDICT_INPUTS
    from knowledge.rank import VERDICT_EXTRA

    weights = dict(zip(FEATURES + VERDICT_EXTRA, Ranker.load().verdict_weights))
    assert {name for name, w in weights.items() if w} == set(VERDICT_INPUTS)  # refit ranker.json after changing them
    assert weights["score"] > 0  # a better-ranked best section is more likely an answer


def test_whole_section_bm25_reads_the_heading_path_and_body_as_one_text(kb):
    index = kb.index.get()
    sections = list(range(index.structure.sections))
    scores = index.section_bm25("how long does a paid trial last", sections)
    anchors = {int(s): index.structure.first[s] for s in sections}
    best = max(scores, key=scores.get)
    assert index.chunks([int(anchors[best])])[int(anchors[best])].anchor == "how-long-a-trial-lasts"
    assert scores[best] == 1.0 and all(0 < v <= 1.0 for v in scores.values())
    swag = next(s for s in sections if index.chunks([int(anchors[s])])[int(anchors[s])].anchor == "swag")
    assert swag not in scores  # no word of the question in it
    hit = kb.ask("how long does a paid trial last", k=1).hits[0]
    assert hit.features["plain_bm25"] == 1.0


def test_a_build_without_the_section_table_still_answers(tmp_path, embedder):
    write(tmp_path / "kb", "evals.md", EVALS)
    build(tmp_path / "kb", tmp_path / "index", embedder)
    live = LiveIndex(tmp_path / "index", embedder.name)
    db = sqlite3.connect(live.get().dir / DB_FILE)
    db.execute("DROP TABLE sections_fts")  # as a FORMAT 5 build wrote it
    db.commit()
    db.close()
    (live.get().dir / BM25_FILE).unlink()
    stale = LiveIndex(tmp_path / "index", embedder.name)
    assert stale.get().section_bm25("how long does a paid trial last", [0, 1, 2]) == {}
    hits = KnowledgeBase(stale, embedder).ask("how long does a paid trial last", k=2).hits
    assert hits and all(h.features["plain_bm25"] == 0.0 for h in hits)


def test_the_ranker_reads_each_chunk_s_terms_from_the_build_and_an_older_build_from_the_text(sample_index, tmp_path):
    def copy(name: str, change: str) -> Index:
        build_dir = shutil.copytree(current_build(sample_index), tmp_path / name)
        db = sqlite3.connect(build_dir / DB_FILE)
        db.execute(change)
        db.commit()
        db.close()
        return Index(build_dir)

    index = Index(current_build(sample_index))
    s = index.structure
    spans = [range(int(s.first[i]), int(s.last[i]) + 1) for i in range(s.sections)]
    older = copy("format-8", "ALTER TABLE chunks DROP COLUMN terms")  # as a build before FORMAT 9 wrote it
    assert index.sections(spans) == older.sections(spans)  # the same words either way, so the same ranking
    forged = copy("forged", "UPDATE chunks SET terms = 'zebra'")
    assert {frozenset(t.body) for t in forged.sections(spans).values()} == {frozenset({"zebra"})}  # read, not recomputed


def test_full_text_scores_are_computed_in_memory_and_equal_fts5_s_own(sample_index, tmp_path):
    index = Index(current_build(sample_index))
    older = Index(shutil.copytree(current_build(sample_index), tmp_path / "format-9", ignore=shutil.ignore_patterns(BM25_FILE)))
    assert index._postings is not None and older._postings is None  # an older build has no postings: FTS5 answers
    s = index.structure
    sections = list(range(s.sections))
    titles = [d.title for d in index.documents()]
    headings = [" ".join(c.heading_path) for c in index.chunks(list(range(index.size))).values()]
    questions = [*titles, *headings, "how do I handle the pricing objection", "what does SSO cost on enterprise plans?"]

    def no_full_text_query(sql, params=()):
        assert "MATCH" not in sql, "a full-text query went to SQLite"
        return Index._rows(index, sql, params)

    index._rows = no_full_text_query
    for question in questions:
        assert index.lexical(question, 50) == older.lexical(question, 50)  # same rows, order and scores
        assert index.section_bm25(question, sections) == older.section_bm25(question, sections)
    assert any(len(index.lexical(q, 50)) == 50 for q in questions)  # deep enough to test ties and cut-offs


def test_a_word_fts5_reads_as_two_tokens_is_searched_by_fts5_itself(sample_index):
    index = Index(current_build(sample_index))
    split = "pricing\u19b0objection"  # one word to Python, two tokens to FTS5's tokenizer: a phrase
    assert bm25.tokens(split) == ("price", "object")
    found = index.lexical(f"discount {split}", 10)
    direct = index._rows("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts, 4.0, 2.0, 1.0) "
                         "LIMIT 10", (f'"discount" OR "{split}"',))
    assert found and [i for i, _ in found] == [r[0] for r in direct]


def test_a_long_word_is_tokenised_but_not_kept_in_the_word_cache():
    before = bm25._cached_tokens.cache_info().currsize
    assert bm25.tokens("z" * 2000) == ("z" * 2000,)  # a hostile question's one 2,000-character word
    assert bm25._cached_tokens.cache_info().currsize == before
    misses = bm25._cached_tokens.cache_info().misses
    bm25.tokens("quotas")
    bm25.tokens("quotas")
    assert bm25._cached_tokens.cache_info().misses <= misses + 1  # a real word is read once
