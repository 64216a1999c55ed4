"""Shared fixtures: isolated settings and a small multilingual corpus written by the tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.append(str(Path(__file__).resolve().parents[1]))  # bench/, for the load test

import docmaker  # noqa: E402

from assistant.core import EuroAssist  # noqa: E402
from assistant.settings import Settings  # noqa: E402

FRENCH_REGULATION = """---
title: "Règlement (UE) 2021/1060 — texte d'essai portant dispositions communes"
---
# Règlement d'essai portant dispositions communes

Texte rédigé pour les tests d'euroassist; il imite la structure d'un règlement.

## TITRE V

### CHAPITRE III

#### Article 50

##### Responsabilités des bénéficiaires

1. Les bénéficiaires mentionnent le soutien de l'Union sur leur site internet.

2. Lorsque le bénéficiaire ne respecte pas ses obligations de visibilité et qu'aucune mesure corrective n'est prise, l'autorité de gestion applique des mesures en annulant jusqu'à 3 % du soutien octroyé à l'opération concernée.

#### Article 65

##### Pérennité des opérations

1. L'État membre rembourse la contribution des Fonds à une opération comprenant un investissement dans une infrastructure si, dans les cinq ans à compter du paiement final au bénéficiaire, l'opération subit l'un des événements suivants:

a) la cessation ou le transfert d'une activité productive en dehors de la région;

b) un changement de propriété d'une infrastructure qui procure un avantage indu;

c) une modification importante de sa nature ou de ses objectifs.

2. Les États membres peuvent réduire ce délai à trois ans pour le maintien des investissements réalisés par les PME.

#### Article 112

##### Détermination des taux de cofinancement

1. Le taux de cofinancement au niveau de chaque priorité n'excède pas 85 % pour les régions moins développées.
"""

ENGLISH_REGULATION = """# Test Regulation on the European Social Fund Plus

Text written for euroassist tests; it imitates a regulation.

## Article 4

### Specific objectives

The ESF+ shall support the following specific objectives:

(a) improving access to employment for all jobseekers;

(b) enhancing equal and timely access to quality, sustainable and affordable services, including housing and person-centred care.

## Article 23

### Partnership within Interreg operations

1. Operations selected under Interreg A programmes shall involve partners from at least two participating countries.
"""

ITALIAN_CALL_PAGES = [
    "Avviso pubblico di prova\nBANDO GIARDINI CIVICI\nRegione di prova\n",
    "A.1 Finalità e obiettivi\n"
    "L'avviso sostiene la creazione di giardini condivisi nei comuni con meno di 20.000 abitanti.\n"
    "A.2 Soggetti beneficiari\n"
    "Possono partecipare i Comuni e le Unioni di comuni della regione di prova.\n"
    "Sono esclusi i comuni capoluogo di provincia.",
    "B.1 Caratteristiche dell'agevolazione\n"
    "Il contributo a fondo perduto copre fino all'80% delle spese ammissibili e comunque non\n"
    "supera 150.000 euro per progetto. Il costo minimo del progetto è di 40.000 euro.\n"
    "B.2 Spese ammissibili\n"
    "Sono ammissibili lavori, forniture di arredi e spese tecniche fino al 10% dei lavori.",
]

PROJECTS = [
    (
        "C11B22000010001",
        "Rete di facilitazione digitale",
        "LECCE",
        "LE",
        "Puglia",
        "PNRR",
        "Cittadinanza digitale",
        "120000,00",
    ),
    (
        "C21B22000020002",
        "Riqualificazione energetica della scuola media",
        "SURBO",
        "LE",
        "Puglia",
        "PR Puglia FESR-FSE+ 2021-2027",
        "Efficienza energetica",
        "850.000,00",
    ),
    (
        "C31B22000030003",
        "Centro diurno per anziani",
        "ARNESANO",
        "LE",
        "Puglia",
        "PR Puglia FESR-FSE+ 2021-2027",
        "Inclusione sociale",
        "310.000,00",
    ),
]


def write_mini_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "regolamento-prova-fr.md").write_text(FRENCH_REGULATION, encoding="utf-8")
    (root / "esf-plus-test-en.md").write_text(ENGLISH_REGULATION, encoding="utf-8")
    docmaker.make_text_pdf(root / "bando-giardini-civici.pdf", ITALIAN_CALL_PAGES)
    lines = [
        "CUP,Titolo progetto,Comune,Provincia,Regione,Programma,Descrizione Misura,FINANZ_TOTALE"
    ]
    lines += [",".join(f'"{v}"' if "," in v else v for v in row) for row in PROJECTS]
    (root / "progetti.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def assistant(settings: Settings) -> EuroAssist:
    return EuroAssist(settings)


@pytest.fixture
def mini_corpus(tmp_path: Path) -> Path:
    return write_mini_corpus(tmp_path / "corpus")


@pytest.fixture(scope="session")
def indexed(tmp_path_factory) -> EuroAssist:
    """One index of the mini corpus, shared by read-only tests."""
    root = tmp_path_factory.mktemp("indexed")
    corpus = write_mini_corpus(root / "corpus")
    assistant = EuroAssist(Settings(data_dir=root / "data"))
    results = assistant.ingest([corpus])
    assert all(r.status == "added" for r in results), [(r.path, r.reason) for r in results]
    return assistant


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sample_indexed(tmp_path_factory) -> EuroAssist:
    """The project's own sample corpus (regulation notes, calls, past projects), indexed
    once for read-only tests of drafting and skeletons."""
    root = tmp_path_factory.mktemp("sample-index")
    settings = Settings(
        data_dir=root / "data", calls_dir=REPO / "corpus" / "calls", llm_provider="extractive"
    )
    assistant = EuroAssist(settings)
    folders = [REPO / "corpus" / name for name in ("regulations", "calls", "projects")]
    results = assistant.ingest(folders)
    added = [r for r in results if r.status == "added"]
    assert len(added) >= 9, [(r.path, r.status, r.reason) for r in results]
    return assistant


# -- a real LLM: llama-cpp-python's OpenAI-compatible server on loopback, small model ----
ALIAS = "euroassist-small"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_of(content) -> str:
    """The text of a chat message's content, as gradio_client returns it."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


@pytest.fixture(scope="session")
def small_model():
    from assistant.llm.models import MODELS, install_model

    return install_model(MODELS["small"], Settings().models_dir)


@pytest.fixture(scope="session")
def llama_server(small_model, tmp_path_factory):
    port = free_port()
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(small_model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "2",
            "--model_alias",
            ALIAS,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 180
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited, see {log.name}")
        try:
            if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
    else:
        process.kill()
        raise RuntimeError("llama.cpp server did not start in 180 s")
    yield base
    process.terminate()
    process.wait(timeout=30)
    log.close()
