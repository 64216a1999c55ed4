"""Document loaders, identifiers and structure, on real files built by tests/docmaker.py."""

from __future__ import annotations

import re
import shutil
import sys
import time
import zipfile
from pathlib import Path

import pypdf
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docmaker as dm  # noqa: E402

from assistant.identifiers import find_identifiers  # noqa: E402
from assistant.loaders import build_loaders, loader_for  # noqa: E402
from assistant.loaders.base import LoadError  # noqa: E402
from assistant.loaders.csv_records import CsvLoader, map_columns, parse_amount, parse_date  # noqa: E402
from assistant.loaders.docx import DocxLoader  # noqa: E402
from assistant.loaders.html import HtmlLoader  # noqa: E402
from assistant.loaders.markdown import MarkdownLoader  # noqa: E402
from assistant.loaders.ocr import OcrEngine  # noqa: E402
from assistant.loaders.pdf import PdfLoader  # noqa: E402
from assistant.loaders.text import TextLoader  # noqa: E402
from assistant.schema import Block  # noqa: E402
from assistant.structure import anchor_title, parse_structure, section_label  # noqa: E402

HAS_TESSERACT = shutil.which("tesseract") is not None
BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def flat(text: str) -> str:
    """Whitespace-insensitive form: PDF extraction wraps lines where the layout did."""
    return re.sub(r"\s+", " ", text).strip()


def all_text(doc) -> str:
    return "\n".join(b.text for b in doc.blocks)


@pytest.fixture
def hide_tesseract(monkeypatch):
    monkeypatch.setattr("assistant.loaders.ocr.shutil.which", lambda name, *a, **k: None)


# ================================================================================ PDF text
JOURNAL_HEADER = "L 231/{n}    IT    Gazzetta ufficiale dell'Unione europea    30.6.2021"
JOURNAL_BODIES = [
    [
        "Considerando che la coesione economica è un obiettivo dell'Unione,",
        "il presente regolamento stabilisce disposizioni comuni.",
    ],
    [
        "Articolo 1",
        "Oggetto e ambito di applicazione",
        "Il presente regolamento si applica al FESR e al FSE+.",
    ],
    [
        "Pérennité des opérations",
        "L’État membre rembourse la contribution en cas de cessation.",
        "La città di Forlì è beneficiaria.",
    ],
    [
        "Articolo 2",
        "Definizioni",
        "Ai fini del presente regolamento si intende per «beneficiario» un organismo pubblico.",
    ],
]


def test_pdf_pages_labels_and_running_lines(tmp_path):
    pages = [
        f"{JOURNAL_HEADER.format(n=159 + i)}\n" + "\n".join(body) + f"\n{i + 1}"
        for i, body in enumerate(JOURNAL_BODIES)
    ]
    path = dm.make_text_pdf(tmp_path / "reg.pdf", pages, page_labels=["i", "ii", "1", "2"])
    assert pypdf.PdfReader(path).page_labels == ["i", "ii", "1", "2"]  # the fixture itself

    doc = PdfLoader().load(path)

    assert doc.page_count == 4
    assert [(b.page, b.page_label, b.kind) for b in doc.blocks] == [
        (1, "i", "text"),
        (2, "ii", "text"),
        (3, "1", "text"),
        (4, "2", "text"),
    ]
    for block, body in zip(doc.blocks, JOURNAL_BODIES, strict=True):
        # body kept line for line, accents intact; running header and page number gone
        assert block.text.split("\n") == body
    text = all_text(doc)
    assert "Gazzetta ufficiale" not in text and "L 231/" not in text
    assert not any(re.fullmatch(r"\s*\d+\s*", line) for line in text.split("\n"))


def test_pdf_page_number_lines_removed_on_short_documents(tmp_path):
    pages = [
        "- 1 -\nAvviso pubblico per la selezione di progetti comunali.\n"
        "3. Il contributo massimo è pari a 50.000 euro.\nSezione conclusiva della prima pagina.\n"
        "Pagina 1 di 2",
        "Le domande sono presentate tramite la piattaforma dedicata.\n"
        "Per l'annualità\n2025\nil termine è fissato dal decreto.\n- 2 -",
    ]
    doc = PdfLoader().load(dm.make_text_pdf(tmp_path / "short.pdf", pages))

    assert [b.text.split("\n") for b in doc.blocks] == [
        [
            "Avviso pubblico per la selezione di progetti comunali.",
            "3. Il contributo massimo è pari a 50.000 euro.",
            "Sezione conclusiva della prima pagina.",
        ],
        [
            "Le domande sono presentate tramite la piattaforma dedicata.",
            "Per l'annualità",
            "2025",  # a bare number inside the body, not at the page edge: kept
            "il termine è fissato dal decreto.",
        ],
    ]


def test_pdf_body_lines_that_differ_only_in_numbers_are_kept(tmp_path):
    """An annex with one project sheet per page: `Scheda intervento n. 3`, `Importo ammesso:
    65.000,00 euro` are body text, not running headers, although they recur with other
    numbers at the same place on every page."""
    sheets = [
        ("Roccavivara", "J97H20002070001", "1.234.567,89"),
        ("Forlì", "B21B21004560006", "65.000,00"),
        ("L'Aquila", "F51B22000120006", "2.500.000,00"),
        ("Cefalù", "E17H21002340005", "980.000,00"),
        ("Lecce", "C37H21001230001", "150.000,00"),
    ]
    pages = [
        f"Allegato 1 – Elenco degli interventi ammessi a finanziamento\n"
        f"Scheda intervento n. {n}\nComune di {comune}\nCUP {cup}\n"
        f"Descrizione: lavori di adeguamento sismico e di efficientamento energetico.\n"
        f"Importo ammesso: {amount} euro\nPagina {n} di 5"
        for n, (comune, cup, amount) in enumerate(sheets, start=1)
    ]
    doc = PdfLoader().load(dm.make_text_pdf(tmp_path / "schede.pdf", pages))

    by_page = {b.page: b.text for b in doc.blocks}
    assert sorted(by_page) == [1, 2, 3, 4, 5]
    for n, (comune, cup, amount) in enumerate(sheets, start=1):
        assert f"Comune di {comune}\nCUP {cup}" in by_page[n]
        assert f"Scheda intervento n. {n}" in by_page[n]
        assert f"Importo ammesso: {amount} euro" in by_page[n]
        assert "Allegato 1 – Elenco" not in by_page[n]  # the true running header goes


def test_pdf_headers_of_a_part_of_the_document_go_forms_stay(tmp_path):
    """The Official Journal prints one header over the articles and another, in a broken
    font, over the annexes: neither sits on two pages in three, and odd pages write the page
    number `L 231 /253` where even ones write `L 231/254`. Both go. A form repeated page
    after page (same closing line, no page number) is body text and stays."""
    form_line = "Firma del legale rappresentante del Comune"
    pages = []
    for i in range(20):
        n = 159 + i
        if i < 10:
            header = f"L 231/{n} FR Journal officiel de l'Union européenne 30.6.2021"
            if i % 2:
                header = f"30.6.2021 FR Journal officiel de l'Union européenne L 231/{n}"
        else:
            header = f"L 231/{n} FR Journal officil i ll'ncon iuroopinni 30.6.2021"
            if i % 2:
                header = f"30.6.2021 FR Journal officil i ll'ncon iuroopinni L 231 /{n}"
        body = [f"Article {i + 1}", f"Le texte de la page {i + 1} sur la cohésion."]
        if 12 <= i <= 18:
            body.append(form_line)
        pages.append("\n".join([header, *body]))
    doc = PdfLoader().load(dm.make_text_pdf(tmp_path / "journal.pdf", pages))

    by_page = {b.page: b.text for b in doc.blocks}
    text = all_text(doc)
    assert "officil" not in text and "Journal officiel" not in text
    assert text.count(form_line) == 7
    for i in range(20):
        assert f"Le texte de la page {i + 1} sur la cohésion." in by_page[i + 1]


def test_pdf_title_from_first_lines(tmp_path):
    pages = [
        "Avviso pubblico\nper la rigenerazione urbana dei piccoli Comuni\n"
        "Il presente avviso disciplina i contributi."
    ]
    doc = PdfLoader().load(dm.make_text_pdf(tmp_path / "t.pdf", pages))
    assert doc.title == "Avviso pubblico per la rigenerazione urbana dei piccoli Comuni"
    doc = PdfLoader().load(
        dm.make_text_pdf(tmp_path / "m.pdf", pages, title="Avviso rigenerazione urbana 2024")
    )
    assert doc.title == "Avviso rigenerazione urbana 2024"


# ================================================================================ PDF tables
TABLE_HEADER = ["Linea", "Descrizione", "Importo (€)"]
TABLE_ROWS = [
    ["A", "Efficienza energetica", "1.000.000,00"],
    ["B", "Mobilità sostenibile", "500.000,00"],
    ["C", "Città verdi", "250.000,00"],
]


def test_pdf_table_block_between_text_blocks(tmp_path):
    path = dm.make_table_pdf(
        tmp_path / "table.pdf", "Dotazione finanziaria", TABLE_HEADER, TABLE_ROWS
    )
    doc = PdfLoader().load(path)

    assert [(b.kind, b.page) for b in doc.blocks] == [("text", 1), ("table", 1), ("text", 1)]
    above, table, below = doc.blocks
    assert flat(above.text) == (
        "Dotazione finanziaria La tabella seguente riporta la dotazione "
        "finanziaria dell'avviso per ciascuna linea di intervento."
    )
    assert table.text.split("\n") == [
        "Linea | Descrizione | Importo (€)",
        "A | Efficienza energetica | 1.000.000,00",
        "B | Mobilità sostenibile | 500.000,00",
        "C | Città verdi | 250.000,00",
    ]
    assert flat(below.text) == (
        "Le risorse non assegnate possono essere riprogrammate con "
        "decreto del Ministero entro il 31 dicembre."
    )


def test_pdf_without_table_extraction_keeps_cells_as_text(tmp_path):
    path = dm.make_table_pdf(
        tmp_path / "table.pdf", "Dotazione finanziaria", TABLE_HEADER, TABLE_ROWS
    )
    doc = PdfLoader(extract_tables=False).load(path)
    assert [b.kind for b in doc.blocks] == ["text"]
    assert "Mobilità sostenibile" in doc.blocks[0].text


def test_pdf_table_page_drops_running_header_and_page_number(tmp_path):
    """The page holding a table must lose its running header and page number like the others."""
    bodies = [
        ["Il presente regolamento stabilisce le disposizioni comuni per i fondi."],
        ["Gli Stati membri garantiscono la parità tra uomini e donne."],
        None,
        ["Le operazioni sono selezionate secondo criteri trasparenti."],
        ["La Commissione adotta atti di esecuzione entro il 2025."],
    ]
    path = dm.make_journal_pdf(
        tmp_path / "journal.pdf",
        bodies,
        JOURNAL_HEADER,
        table=(
            ["Categoria", "Quota"],
            [
                ["Regioni meno sviluppate", "61,3 %"],
                ["Regioni in transizione", "14,5 %"],
                ["Regioni più sviluppate", "24,2 %"],
            ],
        ),
        table_intro="Ripartizione indicativa delle risorse per categoria di regione:",
        table_outro="Le percentuali si applicano alle risorse complessive.",
    )
    doc = PdfLoader().load(path)

    page3 = [b for b in doc.blocks if b.page == 3]
    assert [b.kind for b in page3] == ["text", "table", "text"]
    assert page3[1].text.split("\n")[1] == "Regioni meno sviluppate | 61,3 %"
    # text pages: header and number removed (this part works)
    assert doc.blocks[0].text == bodies[0][0]
    # table page: same treatment expected
    assert page3[0].text == "Ripartizione indicativa delle risorse per categoria di regione:"
    assert page3[2].text == "Le percentuali si applicano alle risorse complessive."


# ================================================================================ scans / OCR
SCAN_TEXT = "AVVISO PUBBLICO\nRiqualificazione urbana\nScadenza domande: trenta giugno"


@pytest.mark.skipif(not HAS_TESSERACT, reason="tesseract not installed (scripts/system-deps.sh)")
def test_scanned_pdf_is_ocred(tmp_path):
    path = dm.make_scanned_pdf(tmp_path / "scan.pdf", SCAN_TEXT)
    assert not (pypdf.PdfReader(path).pages[0].extract_text() or "").strip()  # no text layer

    doc = PdfLoader(ocr=OcrEngine("ita+eng")).load(path)

    words = set(re.findall(r"\w+", all_text(doc).casefold()))
    assert {"avviso", "pubblico", "riqualificazione", "urbana", "scadenza", "giugno"} <= words
    assert doc.blocks[0].page == 1
    assert any("OCR used on 1 page" in w for w in doc.warnings)


def test_scanned_pdf_without_tesseract_needs_ocr(tmp_path, hide_tesseract):
    path = dm.make_scanned_pdf(tmp_path / "scan.pdf", SCAN_TEXT)
    engine = OcrEngine("ita+eng")
    assert not engine.available()
    with pytest.raises(LoadError, match=r"needs OCR"):
        PdfLoader(ocr=engine).load(path)
    with pytest.raises(LoadError, match=r"needs OCR"):
        PdfLoader(ocr=None).load(path)


def test_one_scanned_page_among_text_pages(tmp_path, hide_tesseract):
    path = dm.make_mixed_pdf(
        tmp_path / "mixed.pdf",
        [
            "Prima pagina: il Comune presenta la domanda di contributo.",
            None,
            "Terza pagina: la graduatoria è pubblicata sul sito del Ministero.",
        ],
        scanned_text=SCAN_TEXT,
    )
    doc = PdfLoader(ocr=OcrEngine("ita+eng")).load(path)

    assert doc.page_count == 3
    assert [(b.page, b.text) for b in doc.blocks] == [
        (1, "Prima pagina: il Comune presenta la domanda di contributo."),
        (3, "Terza pagina: la graduatoria è pubblicata sul sito del Ministero."),
    ]
    assert doc.warnings == ["1 page(s) with no text layer need OCR: 2"]


# ================================================================================ damaged PDFs
def test_encrypted_pdf_with_user_password_is_refused(tmp_path):
    path = dm.make_encrypted_pdf(tmp_path / "locked.pdf", "segreta", "proprietario")
    assert pypdf.PdfReader(path).is_encrypted
    with pytest.raises(LoadError, match=r"password"):
        PdfLoader().load(path)


def test_encrypted_pdf_with_owner_password_only_loads(tmp_path):
    path = dm.make_encrypted_pdf(tmp_path / "owner.pdf", "", "proprietario")
    assert pypdf.PdfReader(path).is_encrypted
    doc = PdfLoader().load(path)
    assert doc.blocks[0].text.split("\n") == dm.DEFAULT_ENCRYPTED_TEXT.split("\n")


def test_truncated_pdf_raises_load_error(tmp_path):
    src = dm.make_text_pdf(tmp_path / "src.pdf", dm.DAMAGE_BODIES)
    cut = dm.make_truncated_pdf(src, tmp_path / "cut.pdf")
    assert cut.stat().st_size == int(src.stat().st_size * 0.6)
    with pytest.raises(LoadError, match=r"^corrupt or unreadable PDF \("):
        PdfLoader().load(cut)


def test_broken_xref_pdf_is_recovered(tmp_path):
    src = dm.make_text_pdf(tmp_path / "src.pdf", dm.DAMAGE_BODIES)
    broken = dm.make_broken_xref_pdf(src, tmp_path / "broken.pdf")
    with pytest.raises(Exception):  # noqa: B017 - the fixture must really be broken
        pypdf.PdfReader(broken, strict=True).pages[0].extract_text()

    doc = PdfLoader().load(broken)

    assert doc.page_count == 5
    assert [(b.page, b.text) for b in doc.blocks] == list(enumerate(dm.DAMAGE_BODIES, start=1))


def test_pdf_with_control_chars_and_lone_surrogates(tmp_path):
    path = dm.make_bad_unicode_pdf(tmp_path / "bad.pdf")
    raw = pypdf.PdfReader(path).pages[0].extract_text()
    assert "\ud800" in raw and "\x00" in raw and "\x07" in raw  # the fixture does emit them

    doc = PdfLoader().load(path)

    text = all_text(doc)
    assert not BAD_CHARS.search(text)
    text.encode("utf-8")  # would raise on a surrogate
    assert text.split("\n") == [
        "Regolamento di esecuzione",
        "Dotazione finanziaria complessiva fine",
        "Articolo 12 paragrafo secondo",
    ]


# ================================================================================ all loaders
@pytest.mark.parametrize(
    "suffix", [".pdf", ".md", ".markdown", ".txt", ".docx", ".html", ".htm", ".csv", ".tsv"]
)
def test_empty_file_raises_load_error(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    loader = loader_for(path, build_loaders())
    assert suffix in loader.suffixes
    with pytest.raises(LoadError):
        loader.load(path)


@pytest.mark.parametrize("name", ["tabella.xlsx", "README", "slides.pptx"])
def test_unknown_suffix_is_unsupported(name):
    with pytest.raises(LoadError, match=r"unsupported file type"):
        loader_for(Path(name), build_loaders())


def test_suffix_match_is_case_insensitive():
    assert loader_for(Path("ALLEGATO.PDF"), build_loaders()).name == "pdf"


def test_text_loader_paragraphs_and_cp1252(tmp_path):
    path = tmp_path / "nota.txt"
    path.write_bytes(
        "Prima riga del paragrafo.\r\nSeconda riga: è così.\r\n\r\n"
        "Secondo paragrafo – città.".encode("cp1252")
    )
    doc = TextLoader().load(path)
    assert [b.text for b in doc.blocks] == [
        "Prima riga del paragrafo.\nSeconda riga: è così.",
        "Secondo paragrafo – città.",
    ]
    assert doc.warnings == ["not UTF-8: decoded as Windows-1252"]


# ================================================================================ Markdown
MARKDOWN = """---
title: "Avviso pubblico: efficientamento energetico degli edifici comunali"
programme: PNRR
---
<!-- bozza interna: non pubblicare -->
# Avviso efficientamento

Testo introduttivo con **grassetto** e città.

## Art. 3 – Spese ammissibili

| Voce | Importo |
|------|--------:|
| Lavori | 100.000,00 |
| Progettazione | 10.000,00 |

<!--
commento riservato
su più righe
-->
### Dettaglio

- punto uno
- punto due
"""


def test_markdown_front_matter_headings_tables_comments(tmp_path):
    path = tmp_path / "avviso.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    doc = MarkdownLoader().load(path)

    assert doc.title == "Avviso pubblico: efficientamento energetico degli edifici comunali"
    assert doc.metadata["programme"] == "PNRR"
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "Avviso efficientamento"),
        ("text", None, "Testo introduttivo con grassetto e città."),
        ("heading", 2, "Art. 3 – Spese ammissibili"),
        ("table", None, "Voce | Importo\nLavori | 100.000,00\nProgettazione | 10.000,00"),
        ("heading", 3, "Dettaglio"),
        ("text", None, "- punto uno\n- punto due"),
    ]
    text = all_text(doc)
    assert "bozza interna" not in text and "commento riservato" not in text
    assert "title:" not in text


# ================================================================================ DOCX
def test_docx_heading_paragraphs_table(tmp_path):
    path = dm.make_docx(
        tmp_path / "avviso.docx",
        "Avviso pubblico per l'efficientamento energetico",
        [
            "Il presente avviso disciplina la concessione di contributi ai Comuni.",
            "La domanda è presentata entro il 30 settembre 2024.",
        ],
        [["Linea", "Importo"], ["A - Scuole", "1.000.000,00"], ["B - Illuminazione", "500.000,00"]],
        title="Avviso efficientamento",
    )
    doc = DocxLoader().load(path)

    assert doc.title == "Avviso efficientamento"
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "Avviso pubblico per l'efficientamento energetico"),
        ("text", None, "Il presente avviso disciplina la concessione di contributi ai Comuni."),
        ("text", None, "La domanda è presentata entro il 30 settembre 2024."),
        (
            "table",
            None,
            "Linea | Importo\nA - Scuole | 1.000.000,00\nB - Illuminazione | 500.000,00",
        ),
    ]


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory) -> Path:
    return dm.make_zip_bomb_docx(tmp_path_factory.mktemp("bomb") / "bomb.docx")


def test_docx_zip_bomb_refused_without_inflating(zip_bomb):
    assert zip_bomb.stat().st_size < 1024 * 1024
    with zipfile.ZipFile(zip_bomb) as archive:  # sizes from the directory, nothing inflated
        assert sum(i.file_size for i in archive.infolist()) > 300 * 1024 * 1024

    started = time.perf_counter()
    with pytest.raises(LoadError, match=r"ZIP bomb"):
        DocxLoader().load(zip_bomb)
    assert time.perf_counter() - started < 1.0  # inflating 310 MB would take seconds


def test_docx_that_is_not_a_zip(tmp_path):
    path = tmp_path / "finto.docx"
    path.write_text("Questo non è un documento Word ma testo semplice.", encoding="utf-8")
    with pytest.raises(LoadError, match=r"bad ZIP package"):
        DocxLoader().load(path)


def test_docx_zip_without_document(tmp_path):
    path = tmp_path / "vuoto.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "nessun documento qui")
    with pytest.raises(LoadError, match=r"not a readable DOCX"):
        DocxLoader().load(path)


# ================================================================================ HTML
HTML = """<!doctype html><html><head><title>Bando Scuole Sicure</title>
<script>var secret = "tracciamento";</script><style>.nascosto { display: none }</style></head>
<body><header><p>Menu principale</p></header>
<nav><ul><li>Home</li><li>Tutti i bandi</li></ul></nav>
<main><h1>Bando Scuole Sicure</h1>
<p>Il bando finanzia la messa in sicurezza degli edifici scolastici.</p>
<h2>Beneficiari</h2>
<ul><li>Comuni fino a 5.000 abitanti</li><li>Unioni di comuni</li></ul>
<table><tr><th>Fascia</th><th>Contributo</th></tr><tr><td>A</td><td>50.000 €</td></tr>
<tr><td>B</td><td>100.000 €</td></tr></table>
<script>document.write("iniettato")</script></main>
<footer><p>Copyright Ministero</p></footer></body></html>"""


def test_html_blocks_without_scripts_and_navigation(tmp_path):
    path = tmp_path / "bando.html"
    path.write_text(HTML, encoding="utf-8")
    doc = HtmlLoader().load(path)

    assert doc.title == "Bando Scuole Sicure"
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "Bando Scuole Sicure"),
        ("text", None, "Il bando finanzia la messa in sicurezza degli edifici scolastici."),
        ("heading", 2, "Beneficiari"),
        ("text", None, "Comuni fino a 5.000 abitanti"),
        ("text", None, "Unioni di comuni"),
        ("table", None, "Fascia | Contributo\nA | 50.000 €\nB | 100.000 €"),
    ]
    text = all_text(doc)
    for dropped in (
        "tracciamento",
        "iniettato",
        "nascosto",
        "Menu principale",
        "Home",
        "Tutti i bandi",
        "Copyright",
    ):
        assert dropped not in text


# ================================================================================ CSV
def test_csv_italia_domani_records(tmp_path):
    path = dm.write_italia_domani_csv(tmp_path / "progetti.csv")
    doc = CsvLoader().load(path)

    assert doc.doc_type_hint == "project"
    assert doc.warnings == []
    assert [b.kind for b in doc.blocks] == ["record"] * 3
    first, second, third = (b.metadata for b in doc.blocks)
    assert {
        k: first[k]
        for k in (
            "record_kind",
            "row",
            "cup",
            "title",
            "comune",
            "province",
            "region",
            "amount_total",
            "amount_eu",
            "date_start",
            "date_end",
        )
    } == {
        "record_kind": "project",
        "row": 2,
        "cup": "J97H20002070001",
        "title": "Riqualificazione energetica della scuola primaria Dante Alighieri",
        "comune": "Roccavivara",
        "province": "Campobasso",
        "region": "Molise",
        "amount_total": 1234567.89,
        "amount_eu": 1000000.0,
        "date_start": "2022-04-19",
        "date_end": "2025-12-31",
    }
    assert isinstance(first["amount_total"], float)
    # mixed-case source kept as written; "65.000" is sixty-five thousand; ISO dates kept
    assert (second["comune"], second["province"], second["amount_total"]) == (
        "Forlì",
        "Forlì-Cesena",
        65000.0,
    )
    assert (second["date_start"], second["date_end"]) == ("2022-01-10", "2023-06-30")
    assert second["title"] == 'Asilo nido comunale "Il Girasole"'
    # "2500000.00" with a decimal point; two-digit year
    assert (third["comune"], third["region"], third["amount_total"], third["date_start"]) == (
        "L'Aquila",
        "Abruzzo",
        2500000.0,
        "2022-09-01",
    )


def test_csv_record_text_holds_the_raw_row(tmp_path):
    path = dm.write_italia_domani_csv(tmp_path / "progetti.csv")
    raw_lines = path.read_text(encoding="utf-8").split("\n")
    doc = CsvLoader().load(path)
    for number, block in enumerate(doc.blocks, start=2):
        assert f"[progetti.csv, riga {number}] {raw_lines[number - 1]}" in block.text
    assert "Titolo progetto: Riqualificazione energetica" in doc.blocks[0].text
    assert 'Asilo nido comunale ""Il Girasole""' in doc.blocks[1].text  # CSV quoting as written


def test_csv_mininterno_records(tmp_path):
    doc = CsvLoader().load(dm.write_mininterno_csv(tmp_path / "allegato.csv"))

    assert doc.doc_type_hint == "project"
    first, second = (b.metadata for b in doc.blocks)
    assert {
        k: first.get(k)
        for k in (
            "record_kind",
            "cup",
            "comune",
            "province",
            "region",
            "amount_total",
            "amount_eu",
            "date_start",
            "status",
        )
    } == {
        "record_kind": "project",
        "cup": "C37H21001230001",
        "comune": "Galatina",
        "province": "Lecce",
        "region": "Puglia",
        "amount_total": 980000.0,
        "amount_eu": 950000.0,
        "date_start": "2021-06-04",
        "status": "AMMESSO",
    }
    assert (second["comune"], second["amount_total"], second["date_start"]) == (
        "Bagheria",
        5000000.0,
        "2021-06-03",
    )


def test_csv_semicolon_calls_list(tmp_path):
    doc = CsvLoader().load(dm.write_calls_csv(tmp_path / "bandi.csv"))

    assert doc.doc_type_hint == "call"
    assert len(doc.blocks) == 2
    first = doc.blocks[0].metadata
    assert first["record_kind"] == "call"
    assert first["title"].startswith("Avviso pubblico per la presentazione di proposte")
    assert first["beneficiary"] == "Ministero della Transizione Ecologica"
    assert (first["date_start"], first["date_end"]) == ("2022-03-15", "2022-06-30")
    amounts = [first.get("amount_eu"), first.get("amount_total")]
    assert 330000000.0 in amounts  # "€ 330.000.000,00"
    assert doc.blocks[1].metadata["title"] == (
        'Avviso Misura 1.4.1 "Esperienza del Cittadino nei servizi pubblici" - Comuni'
    )


def test_csv_cp1252_is_decoded_with_warning(tmp_path):
    path = dm.write_calls_cp1252_csv(tmp_path / "bandi_win.csv")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the fixture really is not UTF-8
    doc = CsvLoader().load(path)

    assert any("decoded as Windows-1252" in w for w in doc.warnings)
    titles = [b.metadata["title"] for b in doc.blocks]
    assert titles == [
        "Avviso per la realizzazione di attività sportive in città",
        "Bando «Caput Mundi» – valorizzazione del patrimonio",
    ]
    assert "\ufffd" not in all_text(doc)
    assert 1500000.0 in (
        doc.blocks[0].metadata.get("amount_eu"),
        doc.blocks[0].metadata.get("amount_total"),
    )


def test_csv_rows_missing_columns(tmp_path):
    doc = CsvLoader().load(dm.write_ragged_csv(tmp_path / "ragged.csv"))

    assert len(doc.blocks) == 3
    assert doc.warnings == ["2 row(s) with a number of fields different from the header"]
    second, third = doc.blocks[1].metadata, doc.blocks[2].metadata
    assert second["amount_total"] == 65000.0 and "amount_eu" not in second
    assert "date_start" not in second
    assert third["region"] == "Abruzzo" and "amount_total" not in third
    assert third["cup"] == "F51B22000120006"


def test_csv_header_only(tmp_path):
    with pytest.raises(LoadError, match=r"header but no data rows"):
        CsvLoader().load(dm.write_header_only_csv(tmp_path / "solo_intestazione.csv"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.234.567,89", 1234567.89),
        ("65.000", 65000.0),
        ("2500000.00", 2500000.0),
        ("€ 330.000.000,00", 330000000.0),
        ("1,5", 1.5),
        ("1,234,567.89", 1234567.89),
        ("12.50", 12.5),
        ("n/d", None),
        ("", None),
    ],
)
def test_parse_amount(value, expected):
    assert parse_amount(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19/04/2022", "2022-04-19"),
        ("01/09/22", "2022-09-01"),
        ("2022-01-10", "2022-01-10"),
        ("2022-01-10T00:00:00", "2022-01-10"),
        ("31/02/2022", None),
        ("non indicata", None),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_map_columns_italia_domani():
    mapping = map_columns(dm.ITALIA_DOMANI_HEADER)
    assert mapping == {
        "cup": 0,
        "title": 1,
        "comune": 2,
        "province": 3,
        "region": 4,
        "beneficiary": 5,
        "programme": 6,
        "measure": 7,
        "amount_total": 8,
        "amount_eu": 9,
        "status": 10,
        "date_start": 11,
        "date_end": 12,
    }


# ================================================================================ identifiers
def test_find_identifiers():
    text = (
        "Visto il CELEX 32021R1060 e il Regolamento (UE) 2021/1060 del Parlamento europeo; "
        "Règlement (UE) n° 1303/2013 du Conseil; progetto CUP J97H20002070001 e "
        "CUP B21B21004560006; Reg. (UE) 2021/241."
    )
    assert find_identifiers(text) == [
        "32021R1060",
        "2021/1060",
        "1303/2013",
        "2021/241",
        "J97H20002070001",
        "B21B21004560006",
    ]
    assert find_identifiers("nessun riferimento normativo, importo 2021/22") == []


# ================================================================================ structure
def labelled(units):
    return [(section_label(u.path), u.text) for u in units]


def test_structure_french_regulation():
    text = (
        "Article 65\nPérennité des opérations\n"
        "1. L’État membre rembourse la contribution des Fonds si, dans les cinq ans, "
        "l’opération connaît:\n"
        "a) la cessation ou le transfert d’une activité de production;\n"
        "b) un changement de propriété d’un élément d’infrastructure;\n"
        "2. Les montants indûment versés sont recouvrés.\n"
        "Article 66\nCoûts éligibles\nLes coûts sont éligibles s’ils sont payés."
    )
    units, _ = parse_structure([Block(text=text, page=63, page_label="63")], regulation_like=True)

    assert [section_label(u.path) for u in units] == [
        "Art. 65 › 1",
        "Art. 65 › 1 › a)",
        "Art. 65 › 1 › b)",
        "Art. 65 › 2",
        "Art. 66",
    ]
    assert anchor_title(units[1].path) == "Pérennité des opérations"
    assert units[1].text == "a) la cessation ou le transfert d’une activité de production;"
    assert anchor_title(units[-1].path) == "Coûts éligibles"
    assert units[-1].text == "Les coûts sont éligibles s’ils sont payés."
    assert all(u.page == 63 and u.page_label == "63" for u in units)


def test_structure_italian_and_english_articles():
    italian = (
        "Articolo 5 - Soggetti beneficiari\n"
        "1. Possono presentare domanda i Comuni con meno di 5.000 abitanti.\n"
        "2. Sono esclusi gli enti in dissesto finanziario."
    )
    units, _ = parse_structure([Block(text=italian)], regulation_like=True)
    assert labelled(units) == [
        ("Art. 5 › 1", "1. Possono presentare domanda i Comuni con meno di 5.000 abitanti."),
        ("Art. 5 › 2", "2. Sono esclusi gli enti in dissesto finanziario."),
    ]
    assert anchor_title(units[0].path) == "Soggetti beneficiari"

    english = (
        "Article 3\nSpecific objectives\n"
        "1. The ERDF shall support the following specific objectives:\n"
        "(a) a more competitive and smarter Europe;\n"
        "(b) a greener, low-carbon transitioning Europe."
    )
    units, _ = parse_structure([Block(text=english)], regulation_like=True)
    assert [section_label(u.path) for u in units] == [
        "Art. 3 › 1",
        "Art. 3 › 1 › a)",
        "Art. 3 › 1 › b)",
    ]
    assert anchor_title(units[0].path) == "Specific objectives"


CALL_TEXT = """INDICE
A.1 Finalità e obiettivi ........ 3
B.2.3 Spese ammissibili ........ 7
5. CONTRIBUTO .......... 12
A.1 Finalità e obiettivi
Il presente avviso sostiene la transizione digitale dei Comuni.
B.2.3 Spese ammissibili
Sono ammissibili le spese per servizi cloud e migrazione.
5. CONTRIBUTO
Il contributo è concesso in forma di lump sum."""


def test_structure_call_sections_and_toc():
    units, _ = parse_structure([Block(text=CALL_TEXT, page=1)], regulation_like=False)
    by_text = {u.text.split("\n")[-1]: u for u in units}

    toc = units[0]
    assert toc.path == []  # the table of contents names headings, it opens none
    assert "A.1 Finalità e obiettivi ........ 3" in toc.text
    assert "5. CONTRIBUTO .......... 12" in toc.text

    finalita = by_text["Il presente avviso sostiene la transizione digitale dei Comuni."]
    assert section_label(finalita.path) == "A.1"
    assert anchor_title(finalita.path) == "Finalità e obiettivi"
    contributo = by_text["Il contributo è concesso in forma di lump sum."]
    assert section_label(contributo.path) == "§ 5"
    assert anchor_title(contributo.path) == "CONTRIBUTO"


def test_structure_letter_section_not_nested_under_another_letter():
    """B.2.3 right after A.1 belongs to part B, not inside A.1."""
    units, _ = parse_structure([Block(text=CALL_TEXT, page=1)], regulation_like=False)
    spese = next(
        u for u in units if u.text == "Sono ammissibili le spese per servizi cloud e migrazione."
    )
    assert section_label(spese.path) == "B.2.3"
    assert anchor_title(spese.path) == "Spese ammissibili"


def test_structure_toc_line_is_not_a_heading():
    toc = "A.1 Finalità ........ 3"
    units, _ = parse_structure([Block(text=f"Premessa generale dell'avviso.\n{toc}")])
    assert [(section_label(u.path), u.text.split("\n")) for u in units] == [
        ("", ["Premessa generale dell'avviso.", toc])
    ]
