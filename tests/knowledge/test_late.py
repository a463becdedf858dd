"""Late interaction (knowledge.late): word pieces kept in int8 and matched piece by piece, on a real build."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from indexer.build import build
from knowledge import late
from knowledge.embedder import BUNDLED_MODEL, model_path
from knowledge.index import Index, current_build
from knowledge.late import DIM, Pieces, Tokens, basis, compress, maxsim, piece_weights
from tests.conftest import write

DOCS = {
    "renewals.md": "# Renewals\n\n## Warning signs\n\nA customer who stops logging in for a month is likely to cancel at renewal.\n",
    "onboarding.md": "# Onboarding\n\n## Equipment\n\nNew hires collect their laptop and badge from IT on day one.\n",
    "pricing.md": "# Pricing\n\n## Discounts\n\nA discount above ten percent needs the approval of your manager.\n",
    "security.md": "# Security\n\n## Questionnaires\n\nSecurity questionnaires from prospects go to the trust team, who reply within a week.\n",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory, embedder):
    source = tmp_path_factory.mktemp("late-kb")
    for name, text in DOCS.items():
        write(source, name, text)
    root = tmp_path_factory.mktemp("late-index")
    build(source, root, embedder)
    return root


def spans(index: Index) -> dict[str, range]:
    """Each one-chunk document's chunk, as the span a section is scored over."""
    ids = {path: [c.id for c in index.document_chunks(path)] for path in DOCS}
    assert all(len(i) == 1 for i in ids.values())
    return {path: range(i[0], i[0] + 1) for path, i in ids.items()}


def unit_rows(rng, n: int, width: int) -> np.ndarray:
    rows = rng.standard_normal((n, width)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_tokens_pack_and_unpack_exactly(embedder):
    _, tokens = embedder.embed_tokens(["Uplift is capped at 7%.", "Share the SOC 2 Type II report only after the prospect signs our NDA."])
    for t in tokens:
        back = Tokens.unpack(t.pack())
        assert [(a.dtype, a.tobytes()) for a in (back.pieces, back.codes, back.scales)] == \
               [(a.dtype, a.tobytes()) for a in (t.pieces, t.codes, t.scales)]
        assert back.codes.shape == (len(t.pieces), DIM)


def test_compress_keeps_unit_vectors_and_their_cosines_in_int8():
    rng = np.random.default_rng(1)
    projection = basis(rng.standard_normal((1000, 384)))
    vectors = unit_rows(rng, 50, 384)
    t = compress(np.arange(50), vectors, projection)
    assert (t.pieces.dtype, t.codes.dtype, t.codes.shape) == (np.int32, np.int8, (50, DIM))
    assert np.abs(t.codes).max(axis=1).tolist() == [127] * 50  # each piece uses the whole int8 range
    assert np.allclose(np.linalg.norm(t.vectors(), axis=1), 1, atol=0.01)
    exact = vectors @ projection
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    assert np.abs(t.vectors() @ t.vectors().T - exact @ exact.T).max() < 0.02


def test_the_basis_is_deterministic_orthonormal_and_ordered_by_variance():
    rng = np.random.default_rng(2)
    spread = np.linspace(1, 4, 32)
    spread[5] = 10  # the one direction that varies most
    table = rng.standard_normal((3000, 32)) * spread
    b = basis(table, dim=8)
    assert b.shape == (32, 8) and np.array_equal(b, basis(table, dim=8))
    assert np.allclose(b.T @ b, np.eye(8), atol=1e-5)
    assert b[5, 0] > 0.99  # the first column is that direction, with the sign fixed positive
    variance = ((table - table.mean(axis=0)) @ b).var(axis=0)
    assert np.all(np.diff(variance) < 0)


def test_maxsim_is_the_weighted_mean_of_each_question_pieces_best_match():
    rng = np.random.default_rng(3)
    question, weights = unit_rows(rng, 3, 16), np.array([0.5, 0.3, 0.2], dtype=np.float32)
    texts = [unit_rows(rng, n, 16) for n in (2, 4, 1)]
    expected = [sum(w * max(float(q @ p) for p in text) for q, w in zip(question, weights)) for text in texts]
    scales = rng.uniform(0.5, 2.0, 7).astype(np.float32)  # the pieces as Tokens store them: codes * scales
    got = maxsim(question, weights, np.vstack(texts) / scales[:, None], scales, np.array([0, 2, 6]))
    assert np.allclose(got, expected, atol=1e-6)


def test_pieces_in_every_chunk_weigh_nothing_and_rarer_pieces_more(root, embedder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path(BUNDLED_MODEL))
    pieces = Pieces(current_build(root))
    _, [question] = embedder.embed_tokens(["which customer needs a laptop"])
    weights = piece_weights(question.pieces, pieces.df, pieces.chunks)
    by_piece = dict(zip(tokenizer.convert_ids_to_tokens(question.pieces.tolist()), weights.tolist()))
    assert by_piece["[CLS]"] == by_piece["[SEP]"] == 0.0
    assert pieces.df[tokenizer.cls_token_id] == pieces.df[tokenizer.sep_token_id] == pieces.chunks == len(DOCS)
    assert np.isclose(weights.sum(), 1.0)
    assert by_piece["which"] > by_piece["customer"] == by_piece["laptop"] > 0  # no chunk says "which"; one each the others


def test_a_questions_pieces_are_the_words_the_rep_typed_not_the_vocabularys_expansions(embedder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path(BUNDLED_MODEL))
    asked = "can we share the SOC2 report"
    expanded = f"{asked} (Service Organization Control 2)"
    [full_vector], [full] = embedder.embed_tokens([expanded])
    [vector], [own] = embedder.embed_tokens([expanded], own=[asked])
    assert np.array_equal(vector, full_vector)  # the vector still reads the expansion
    assert tokenizer.convert_ids_to_tokens(own.pieces.tolist()) == ["[CLS]", *tokenizer.tokenize(asked)]
    assert own.pack() == full.head(len(own.pieces)).pack()  # the typed words' pieces, as read in context of the expansion


@pytest.mark.parametrize("question, path", [
    ("signs a cust will not renew", "renewals.md"),  # cust: customer, renew: renewal
    ("where do new emps get a computer", "onboarding.md"),  # emps: hires, computer: laptop
    ("max price reduction w/o my boss", "pricing.md"),  # reduction: discount, boss: manager
])
def test_a_question_in_other_words_matches_the_section_that_says_it_best(root, embedder, question, path):
    index = Index.open(root)
    by_path = spans(index)
    _, [tokens] = embedder.embed_tokens([question])
    scores = dict(zip(by_path, Pieces(index.dir).scores(tokens, list(by_path.values()))))
    assert max(scores, key=scores.get) == path, scores
    assert np.array_equal(index.late_scores(tokens, list(by_path.values())), list(scores.values()))


def test_each_chunks_pieces_are_the_models_for_its_text(root, embedder):
    index = Index.open(root)
    pieces = Pieces(index.dir)
    for path, span in spans(index).items():
        kept = pieces.of(span.start)
        _, [fresh] = embedder.embed_tokens([index.chunks([span.start])[span.start].text])
        assert kept.vectors().shape[1] == DIM and len(kept.pieces) > len(fresh.pieces)  # the chunk's heading path too
        assert set(fresh.pieces.tolist()) <= set(kept.pieces.tolist()), path


def test_a_build_from_before_pieces_were_kept_scores_late_as_zero(root, embedder, tmp_path):
    old = tmp_path / "build"
    shutil.copytree(current_build(root), old)
    for name in late.FILES:
        (old / name).unlink()
    index = Index(old)
    _, [tokens] = embedder.embed_tokens(["signs a cust will not renew"])
    assert index.pieces is None and index.late_scores(tokens, list(spans(index).values())).tolist() == [0.0] * len(DOCS)
