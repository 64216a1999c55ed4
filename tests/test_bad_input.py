"""Bad input, one case at a time, through the real ingestion path and next to a good corpus.

Every case writes a real file (tests/docmaker.py), ingests it in one batch with a good note,
through the library (`EuroAssist.ingest`) or the `euroassist ingest` command, into an index
that already holds the mini corpus. Each bad file gets one line that names it and says why,
or, where it can be read, is loaded with its text; the note of the same batch is added, and the
documents already in the index keep their chunks, vectors and answers.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docmaker as dm
import httpx
import pytest
from conftest import free_port, text_of, write_mini_corpus
from gradio_client import Client, handle_file
from typer.testing import CliRunner

from assistant.core import EuroAssist
from assistant.ingest import FileResult, shown_path, source_of
from assistant.settings import Settings

BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
GOOD_QUERIES = {
    "Qual è il tasso di cofinanziamento nelle regioni meno sviluppate?": (
        "regolamento-prova-fr.md"
    ),
    "contributo massimo del bando Giardini civici": "bando-giardini-civici.pdf",
    "partnership within Interreg operations": "esf-plus-test-en.md",
    "Riqualificazione energetica della scuola media di Surbo": "progetti.csv",
}
SCAN_TEXT = "AVVISO PUBBLICO\nRiqualificazione urbana\nScadenza domande: trenta giugno"
PAGES = 2000
MARKER_PAGE = 1500
MARKER = "codice ZEFIRO-7319 del cantiere"


# ----------------------------------------------------------------------------- builders
def original(folder: Path, name: str, pages: list[str]) -> Path:
    """A good PDF kept outside the batch, to be damaged into it."""
    (folder / "originali").mkdir(exist_ok=True)
    return dm.make_text_pdf(folder / "originali" / name, pages)


def truncated_pdf(d: Path) -> Path:
    return dm.make_truncated_pdf(original(d, "a.pdf", dm.DAMAGE_BODIES), d / "troncato.pdf")


def broken_xref_pdf(d: Path) -> Path:
    return dm.make_broken_xref_pdf(original(d, "b.pdf", dm.DAMAGE_BODIES), d / "xref-rotta.pdf")


def two_thousand_pages(d: Path) -> Path:
    """2,000 short pages, each with its own words (pages alike but for a number would be
    taken for running headers): `Scheda 17: ponte asilo`."""
    words = "ponte parco scuola strada piazza museo teatro asilo fontana mercato".split()
    rng = random.Random(PAGES)
    pages = [f"Scheda {n}: {' '.join(rng.sample(words, 2))}" for n in range(1, PAGES + 1)]
    pages[MARKER_PAGE - 1] = f"Scheda {MARKER_PAGE}: {MARKER}"
    return dm.make_text_pdf(d / "registro-2000-pagine.pdf", pages)


def pipe_csv(d: Path) -> Path:
    path = d / "progetti-pipe.csv"
    path.write_text(
        "CUP|Titolo progetto|Comune|FINANZ_TOTALE\n"
        "E91B23000010001|Pista ciclabile del lungomare|Otranto|350.000,00\n"
        "E91B23000020002|Restauro del castello aragonese|Gallipoli|1.200.000,00\n",
        encoding="utf-8",
    )
    return path


def unsniffable_csv(d: Path) -> Path:
    """Semicolons, commas inside titles and a short row: csv.Sniffer gives up on it."""
    path = d / "progetti-punto-e-virgola.csv"
    path.write_text(
        "CUP;Titolo progetto;Comune;Importo\n"
        "F11B23000010001;Scuola, palestra e mensa;Nardò;1.000,00\n"
        "F11B23000020002;Strada;Maglie;2,5\n"
        "F11B23000030003;Piazza, fontana e giardino;Otranto\n",
        encoding="utf-8",
    )
    with pytest.raises(csv.Error):  # the fixture does defeat the sniffer
        csv.Sniffer().sniff(path.read_text(encoding="utf-8"), delimiters=",;\t|")
    return path


def one_column_csv(d: Path) -> Path:
    path = d / "elenco.csv"
    path.write_text("Titolo\nScuola\nStrada\n", encoding="utf-8")
    return path


def nul_name(d: Path) -> Path:
    return Path(f"{d}/nota\x00.pdf")


def non_utf8_name(d: Path) -> Path:
    path = Path(os.fsdecode(os.fsencode(d) + b"/bando-\xff.md"))
    path.write_text("# Bando\n\nUn bando con un nome di file in Latin-1.\n", encoding="utf-8")
    return path


def dotdot_name(d: Path) -> Path:
    (d / "sotto").mkdir()
    (d / "nota-percorso.md").write_text(
        "# Percorso\n\nLa nota sul percorso relativo del fascicolo di progetto.\n",
        encoding="utf-8",
    )
    return d / "sotto" / ".." / "nota-percorso.md"


def sparse(d: Path) -> Path:
    """4 GiB that take no disk: a stat says the size, a read would take minutes."""
    path = d / "enorme.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    os.truncate(path, 4 * 1024**3)
    return path


def written(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name

    return build


# ----------------------------------------------------------------------------- checks
def dotdot_is_one_document(assistant: EuroAssist, path: Path, result: FileResult) -> None:
    resolved = Path(os.path.normpath(path))  # sotto/../nota-percorso.md
    assert resolved.name == "nota-percorso.md" and ".." not in resolved.parts
    (doc,) = [d for d in assistant.documents() if d.doc_id == result.doc_id]
    assert doc.source == source_of(resolved) == str(resolved.resolve())
    (again,) = assistant.ingest([resolved])  # the same file by its plain name: the same one
    assert (again.status, again.doc_id) == ("unchanged", result.doc_id)


def excel_dialect_untouched(assistant: EuroAssist, path: Path, result: FileResult) -> None:
    assert csv.excel.delimiter == ","  # a fallback dialect must not change the module's own


def marker_on_its_page(assistant: EuroAssist, path: Path, result: FileResult) -> None:
    (doc,) = [d for d in assistant.documents() if d.doc_id == result.doc_id]
    assert doc.page_count == PAGES
    chunks = assistant.index.catalog.document_chunks(doc.doc_id)
    numbers = {int(n) for c in chunks for n in re.findall(r"Scheda (\d+):", c.text)}
    assert numbers == set(range(1, PAGES + 1))  # every page made it into a chunk
    (holder,) = [c for c in chunks if MARKER in c.text]
    assert holder.page <= MARKER_PAGE <= holder.page_end
    hits = assistant.retrieve("codice ZEFIRO-7319", 3)
    assert hits[0].chunk_id == holder.chunk_id


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Path]
    status: str  # failed | added
    reason: str = ""  # the whole reason, a regular expression
    texts: tuple[str, ...] = ()  # found in the stored chunks of a file that loads
    warning: str = ""  # a warning of a file that loads, a regular expression
    via: str = "api"  # api | cli
    no_tesseract: bool = False
    then: Callable[[EuroAssist, Path, FileResult], None] | None = None


CASES = [
    # -- PDFs
    Case(
        "pdf-encrypted-user-password",
        lambda d: dm.make_encrypted_pdf(d / "cifrato.pdf", "segreta", "proprietario"),
        "failed",
        r"encrypted PDF: a password is needed to open it",
    ),
    Case(
        "pdf-encrypted-owner-password-only",
        lambda d: dm.make_encrypted_pdf(d / "solo-proprietario.pdf", "", "proprietario"),
        "added",
        texts=tuple(dm.DEFAULT_ENCRYPTED_TEXT.split("\n")),
    ),
    Case(
        "pdf-truncated",
        truncated_pdf,
        "failed",
        r"corrupt or unreadable PDF \(\w+: [^\n]+\)",
        via="cli",
    ),
    Case("pdf-broken-xref", broken_xref_pdf, "added", texts=tuple(dm.DAMAGE_BODIES)),
    Case(
        "pdf-scanned-ocr",
        lambda d: dm.make_scanned_pdf(d / "scansione.pdf", SCAN_TEXT),
        "added",
        texts=("AVVISO PUBBLICO", "Riqualificazione urbana", "giugno"),
        warning=r"OCR used on 1 page\(s\) with no text layer",
    ),
    Case(
        "pdf-scanned-without-tesseract",
        lambda d: dm.make_scanned_pdf(d / "scansione-senza-ocr.pdf", SCAN_TEXT),
        "failed",
        r"scanned PDF with no text layer: needs OCR \(install tesseract-ocr and "
        r"tesseract-ocr-ita\)",
        no_tesseract=True,
    ),
    Case("pdf-2000-pages", two_thousand_pages, "added", texts=(MARKER,), then=marker_on_its_page),
    Case(
        "pdf-invalid-unicode",
        lambda d: dm.make_bad_unicode_pdf(d / "unicode-rotto.pdf"),
        "added",
        texts=(
            "Regolamento di esecuzione",
            "Dotazione finanziaria complessiva fine",
            "Articolo 12 paragrafo secondo",
        ),
    ),
    Case("pdf-empty", written("vuoto.pdf", b""), "failed", r"empty file"),
    # -- DOCX
    Case(
        "docx-zip-bomb",
        lambda d: dm.make_zip_bomb_docx(d / "bomba.docx"),
        "failed",
        r"inflates to 310 MB from \d+ KB: refused as a possible ZIP bomb",
    ),
    Case(
        "docx-not-a-zip",
        written("finto.docx", b"Testo semplice, non un documento Word."),
        "failed",
        r"not a valid Office file \(bad ZIP package: File is not a zip file\)",
    ),
    # -- CSV
    Case(
        "csv-cp1252",
        lambda d: dm.write_calls_cp1252_csv(d / "bandi-windows.csv"),
        "added",
        texts=(
            "Avviso per la realizzazione di attività sportive in città",
            "Bando «Caput Mundi» – valorizzazione del patrimonio",
        ),
        warning=r"not UTF-8: decoded as Windows-1252",
        via="cli",
    ),
    Case(
        "csv-pipe-delimiter",
        pipe_csv,
        "added",
        texts=("Titolo progetto: Pista ciclabile del lungomare", "Comune: Gallipoli"),
    ),
    Case(
        "csv-semicolon-sniffer-fails",
        unsniffable_csv,
        "added",
        texts=("Titolo progetto: Scuola, palestra e mensa", "Comune: Nardò"),
        warning=r"1 row\(s\) with a number of fields different from the header",
        then=excel_dialect_untouched,
    ),
    Case(
        "csv-no-delimiter",
        one_column_csv,
        "failed",
        r"not a delimited table: no , ; tab or \| separator in the header",
    ),
    Case(
        "csv-missing-columns",
        lambda d: dm.write_ragged_csv(d / "colonne-mancanti.csv"),
        "added",
        texts=("Regione: ABRUZZO", "F51B22000120006"),
        warning=r"2 row\(s\) with a number of fields different from the header",
    ),
    Case(
        "csv-header-only",
        lambda d: dm.write_header_only_csv(d / "solo-intestazione.csv"),
        "failed",
        r"CSV has a header but no data rows",
    ),
    # -- names, sizes, types
    Case(
        "name-with-dotdot",
        dotdot_name,
        "added",
        texts=("percorso relativo",),
        then=dotdot_is_one_document,
    ),
    Case("name-with-nul-byte", nul_name, "failed", r"invalid file name \(NUL byte\)"),
    Case(
        "name-not-utf8",
        non_utf8_name,
        "failed",
        r"invalid file name \(not UTF-8\): rename the file",
        via="cli",
    ),
    Case(
        "above-max-file-mb",
        sparse,
        "failed",
        r"file is 4096 MB, above the 200 MB limit",
        via="cli",
    ),
    Case(
        "unsupported-suffix",
        written("tabella.xlsx", b"PK\x03\x04 not really a workbook"),
        "failed",
        r"unsupported file type '\.xlsx'",
    ),
    Case("missing-file", lambda d: d / "sparito.pdf", "failed", r"no such file or directory"),
]


# ----------------------------------------------------------------------------- the index
@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[EuroAssist, dict]:
    root = tmp_path_factory.mktemp("bad-input")
    corpus = write_mini_corpus(root / "corpus")
    assistant = EuroAssist(Settings(data_dir=root / "data", llm_provider="extractive"))
    assert [r.status for r in assistant.ingest([corpus])] == ["added"] * 4
    return assistant, state(assistant)


def state(assistant: EuroAssist) -> dict:
    """What must not move: each document's source, version, chunk count and vector versions."""
    versions = assistant.index.vectors.versions()
    documents = {
        d.doc_id: (d.source, d.version, d.chunk_count, versions.get(d.doc_id))
        for d in assistant.documents()
    }
    return {"documents": documents}


def assert_good_corpus_unchanged(assistant: EuroAssist, before: dict, initial: dict) -> None:
    after = state(assistant)["documents"]
    for doc_id, stored in before["documents"].items():
        assert after.get(doc_id) == stored, stored[0]
    for doc_id, stored in initial["documents"].items():
        assert after[doc_id] == stored, stored[0]
    for question, name in GOOD_QUERIES.items():
        sources = [Path(h.source).name for h in assistant.retrieve(question, 3)]
        assert name in sources, (question, sources)


def ingest_with_cli(assistant: EuroAssist, paths: list[Path], monkeypatch) -> list[FileResult]:
    """`euroassist ingest PATH...` in-process, its stderr lines read back into results."""
    from assistant.cli import app
    from assistant.settings import get_settings

    monkeypatch.setenv("EUROASSIST_DATA_DIR", str(assistant.settings.data_dir))
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(app, ["ingest", *map(str, paths)])
    finally:
        get_settings.cache_clear()
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    lines = done.stderr.splitlines()
    results = []
    for path in paths:
        shown = shown_path(path)
        mine = [line for line in lines if f" {shown}: " in line or f" {shown} (" in line]
        if mine and mine[0].startswith("error "):
            assert mine == [f"error {shown}: {mine[0].split(': ', 1)[1]}"], lines
            results.append(FileResult(shown, "failed", mine[0].split(": ", 1)[1]))
            continue
        added = re.fullmatch(rf"added {re.escape(shown)} \((\d+) chunks\)", mine[0])
        assert added, lines
        warnings = [line.split(": ", 1)[1] for line in mine[1:] if line.startswith("warning ")]
        assert len(warnings) == len(mine) - 1, lines
        doc_id = next(d.doc_id for d in assistant.documents() if d.source == source_of(Path(path)))
        results.append(FileResult(shown, "added", "", int(added.group(1)), doc_id, warnings))
    failed = any(r.status == "failed" for r in results)
    assert done.exit_code == (1 if failed else 0), done.stderr
    return results


# ----------------------------------------------------------------------------- the matrix
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_file_gets_one_clear_line_and_nothing_else_moves(case, good, tmp_path, monkeypatch):
    assistant, initial = good
    before = state(assistant)
    bad = case.build(tmp_path)
    note = tmp_path / f"nota-{case.id}.md"
    note.write_text(
        f"# Nota {case.id}\n\nIl cronoprogramma del caso {case.id} va allegato alla domanda.\n",
        encoding="utf-8",
    )
    if case.no_tesseract:
        monkeypatch.setattr("assistant.loaders.ocr.shutil.which", lambda name, *a, **k: None)

    if case.via == "cli":
        results = ingest_with_cli(assistant, [bad, note], monkeypatch)
    else:
        results = assistant.ingest([bad, note])

    # (1) one result for the bad file, naming it, with a one-line reason (or its text)
    mine = [r for r in results if r.path == shown_path(bad)]
    assert len(mine) == 1, results
    (result,) = mine
    assert result.status == case.status, result
    if case.status == "failed":
        assert re.fullmatch(case.reason, result.reason), result.reason
        assert "\n" not in result.reason and "Traceback" not in result.reason
        assert not BAD_CHARS.search(result.path)  # printable, whatever the name holds
    else:
        assert not result.reason
        assert all(re.fullmatch(case.warning, w) for w in result.warnings) and (
            bool(result.warnings) == bool(case.warning)
        ), result.warnings
        chunks = assistant.index.catalog.document_chunks(result.doc_id)
        stored = "\n".join(c.text for c in chunks)
        flat = re.sub(r"\s+", " ", stored)
        for text in case.texts:
            assert text in flat, (text, stored[:500])
        assert not BAD_CHARS.search(stored)
        if case.then is not None:
            case.then(assistant, bad, result)
    # (3) the other file of the batch went in
    (companion,) = [r for r in results if r.path == str(note)]
    assert companion.status == "added" and companion.chunks >= 1, companion
    # (2) the documents that were there are as they were, and still found
    assert_good_corpus_unchanged(assistant, before, initial)
    added = {r.doc_id for r in results if r.status == "added"}
    assert set(state(assistant)["documents"]) == set(before["documents"]) | added


# ----------------------------------------------------------------------------- the web upload
PASSWORD = "lecce-password-1"


@contextmanager
def office_site(root: Path, **settings):
    """The web app over the mini corpus, with mario writing to Lecce."""
    from assistant.office import OfficeStore
    from ui.app import serve

    corpus = write_mini_corpus(root / "corpus")
    config = Settings(data_dir=root / "data", llm_provider="extractive", **settings)
    assistant = EuroAssist(config)
    assert [r.status for r in assistant.ingest([corpus])] == ["added"] * 4
    store = OfficeStore(config.database)
    store.ensure_default_workspaces()
    store.add_user("mario", PASSWORD, "officer")
    store.grant("mario", "lecce", can_write=True)
    port = free_port()
    app = serve(assistant, "127.0.0.1", port, block=False, store=store)
    try:
        yield f"http://127.0.0.1:{port}/", assistant
    finally:
        app.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input-web")
    with office_site(root) as (url, assistant):
        yield url, assistant, root


def call_api(http: httpx.Client, api: str, data: list) -> list:
    """One call of a Gradio endpoint over plain HTTP (what gradio_client does)."""
    event = http.post(f"gradio_api/call/{api}", json={"data": data})
    assert event.status_code == 200, event.text
    stream = http.get(f"gradio_api/call/{api}/{event.json()['event_id']}", timeout=120)
    blocks = stream.text.strip().split("\n\n")
    kind, payload = blocks[-1].split("\n", 1)
    assert kind == "event: complete", stream.text
    return json.loads(payload.removeprefix("data: "))


def test_web_upload_reports_the_bad_file_and_keeps_serving(site, tmp_path):
    url, assistant, _ = site
    before = state(assistant)
    good_note = tmp_path / "nota-web.md"
    good_note.write_text(
        "# Nota web\n\nLa relazione tecnica va firmata dal progettista.\n", encoding="utf-8"
    )
    broken = dm.make_truncated_pdf(
        original(tmp_path, "w.pdf", dm.DAMAGE_BODIES), tmp_path / "troncato-web.pdf"
    )
    mario = Client(url, auth=("mario", PASSWORD), verbose=False)

    log = mario.predict(
        [handle_file(str(good_note)), handle_file(str(broken))], "lecce", api_name="/add_files"
    )

    lines = log.split("\n")
    assert len(lines) == 2, log
    (bad_line,) = [line for line in lines if "troncato-web.pdf" in line]
    assert re.fullmatch(
        r"- ❌ \*\*troncato-web\.pdf\*\*: corrupt or unreadable PDF \(\w+: [^\n]+\)", bad_line
    ), bad_line
    assert "- ✅ **nota-web.md**: added, 1 passaggi" in lines
    assert_good_corpus_unchanged(assistant, before, before)

    # A name that climbs out of the upload folder lands inside it, under its last part.
    http = httpx.Client(base_url=url, timeout=60)
    assert http.post("login", data={"username": "mario", "password": PASSWORD}).is_success
    climber = "../../../../nota-scalata.md"
    upload = http.post(
        "gradio_api/upload",
        files={"files": (climber, b"# Scalata\n\nUna nota caricata con un nome ostile.\n")},
    )
    assert upload.status_code == 200, upload.text
    (stored,) = upload.json()
    stored_path = Path(stored)
    assert stored_path.name == "nota-scalata.md"
    upload_dir = stored_path.parent.parent
    assert stored_path.resolve().is_relative_to(upload_dir.resolve())
    assert not Path(os.path.normpath(stored_path.parent / climber)).exists()
    (log,) = call_api(
        http, "add_files", [[{"path": stored, "meta": {"_type": "gradio.FileData"}}], "lecce"]
    )
    assert log == "- ✅ **nota-scalata.md**: added, 1 passaggi", log

    # The server still answers, from the documents it had.
    history, _ = mario.predict(
        "Qual è il tasso di cofinanziamento nelle regioni meno sviluppate?",
        [],
        [],
        [],
        "lecce",
        api_name="/ask",
    )
    assert "regolamento-prova-fr.md" in " ".join(
        (m.get("metadata") or {}).get("title") or "" for m in history
    ), [text_of(m["content"]) for m in history]


def test_web_upload_above_the_size_limit_is_refused_before_the_index(tmp_path):
    with office_site(tmp_path, max_file_mb=1) as (url, assistant):
        before = state(assistant)
        http = httpx.Client(base_url=url, timeout=60)
        assert http.post("login", data={"username": "mario", "password": PASSWORD}).is_success
        big = b"# Nota enorme\n\n" + b"testo di riempimento " * 110_000  # ~2.3 MB
        refused = http.post("gradio_api/upload", files={"files": ("enorme.md", big)})
        assert refused.status_code == 413, refused.text
        assert "maximum allowed size of 1048576 bytes" in refused.text, refused.text
        small = http.post(
            "gradio_api/upload", files={"files": ("piccola.md", b"# Piccola\n\nok\n")}
        )
        assert small.status_code == 200, small.text
    assert_good_corpus_unchanged(assistant, before, before)
    assert not any("enorme" in d.source for d in assistant.documents())
