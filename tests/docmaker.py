"""Build real test documents on the fly (no binaries checked in).

Every helper writes a file at the given path and returns that path. PDFs are drawn with
reportlab (or, where a test needs byte-level control, written by hand), DOCX with
python-docx, scans with Pillow; CSVs with the csv module in the layouts of Italian open data.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_FONT_NAME: str | None = None


# --------------------------------------------------------------------------------- fonts
def pdf_font() -> str:
    """A reportlab font name that covers Italian/French accents (DejaVuSans, else Helvetica)."""
    global _FONT_NAME
    if _FONT_NAME is None:
        if DEJAVU.exists():
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFont

            pdfmetrics.registerFont(TTFont("DejaVuSans", str(DEJAVU)))
            _FONT_NAME = "DejaVuSans"
        else:
            _FONT_NAME = "Helvetica"  # standard font, WinAnsi: covers Latin-1 accents
    return _FONT_NAME


def _pil_font(size: int):
    from PIL import ImageFont

    if DEJAVU.exists():
        return ImageFont.truetype(str(DEJAVU), size)
    return ImageFont.load_default(size=size)


# ---------------------------------------------------------------------------- text PDFs
def _draw_lines(
    canvas,
    lines: Sequence[str],
    font: str,
    size: float = 11,
    top_margin: float = 60,
    left: float = 60,
    leading: float = 15,
) -> None:
    width, height = canvas._pagesize
    y = height - top_margin
    canvas.setFont(font, size)
    for line in lines:
        canvas.drawString(left, y, line)
        y -= leading


_ROMAN = [
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
]


def _from_roman(text: str) -> int | None:
    text = text.lower()
    roman = r"m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})"
    if not text or not re.fullmatch(roman, text):
        return None
    value, i = 0, 0
    for number, symbol in _ROMAN:
        while text.startswith(symbol, i):
            value += number
            i += len(symbol)
    return value


def set_page_labels(path: Path, labels: Sequence[str]) -> None:
    """Give each page of `path` its label ("i", "ii", "1", "A-3", ...) with pypdf."""
    from pypdf import PdfWriter
    from pypdf.constants import PageLabelStyle

    writer = PdfWriter(clone_from=str(path))
    for index, label in enumerate(labels):
        if label.isdigit():
            writer.set_page_label(index, index, style=PageLabelStyle.DECIMAL, start=int(label))
        elif (n := _from_roman(label)) is not None:
            style = (
                PageLabelStyle.LOWERCASE_ROMAN
                if label.islower()
                else PageLabelStyle.UPPERCASE_ROMAN
            )
            writer.set_page_label(index, index, style=style, start=n)
        elif m := re.fullmatch(r"(.*?)(\d+)", label):
            writer.set_page_label(
                index, index, style=PageLabelStyle.DECIMAL, prefix=m.group(1), start=int(m.group(2))
            )
        else:
            writer.set_page_label(index, index, prefix=label)
    with open(path, "wb") as handle:
        writer.write(handle)


def make_text_pdf(
    path: Path, pages: list[str], page_labels: list[str] | None = None, title: str | None = None
) -> Path:
    """One page per string, its lines drawn top-down in a font with accents."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas as rl_canvas

    path = Path(path)
    font = pdf_font()
    canvas = rl_canvas.Canvas(str(path), pagesize=A4, invariant=1)
    if title:
        canvas.setTitle(title)
    for text in pages:
        _draw_lines(canvas, text.split("\n"), font)
        canvas.showPage()
    canvas.save()
    if page_labels is not None:
        assert len(page_labels) == len(pages), "one label per page"
        set_page_labels(path, page_labels)
    return path


def make_table_pdf(
    path: Path,
    title: str,
    header: list[str],
    rows: list[list[str]],
    text_above: str | None = None,
    text_below: str | None = None,
) -> Path:
    """A page with a paragraph, a ruled (GRID) table, then another paragraph."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    path = Path(path)
    font = pdf_font()
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=14)
    heading = ParagraphStyle("heading", fontName=font, fontSize=14, leading=18)
    above = text_above or (
        "La tabella seguente riporta la dotazione finanziaria dell'avviso "
        "per ciascuna linea di intervento."
    )
    below = text_below or (
        "Le risorse non assegnate possono essere riprogrammate con decreto "
        "del Ministero entro il 31 dicembre."
    )
    table = Table([header, *rows])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 10),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=title, invariant=1)
    doc.build(
        [
            Paragraph(title, heading),
            Paragraph(above, body),
            Spacer(1, 12),
            table,
            Spacer(1, 12),
            Paragraph(below, body),
        ]
    )
    return path


# ------------------------------------------------------------------------------ scans
def render_text_image(text: str, width: int = 2480, font_size: int = 64, margin: int = 120):
    """Black text on white, roughly 300 dpi: what a scanner gives for a printed page."""
    from PIL import Image, ImageDraw

    font = _pil_font(font_size)
    lines = text.split("\n")
    line_height = int(font_size * 1.5)
    height = max(margin * 2 + line_height * len(lines), 600)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    y = margin
    for line in lines:
        draw.text((margin, y), line, fill=0, font=font)
        y += line_height
    return image


def make_scanned_pdf(path: Path, text: str) -> Path:
    """An image-only PDF (no text layer), as a scanner would produce."""
    path = Path(path)
    image = render_text_image(text)
    image.save(str(path), "PDF", resolution=300)
    return path


def make_mixed_pdf(
    path: Path, pages: list[str | None], scanned_text: str = "Pagina scansionata"
) -> Path:
    """Text pages, except that each `None` page is only an image (a scan, no text layer)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas as rl_canvas

    path = Path(path)
    font = pdf_font()
    canvas = rl_canvas.Canvas(str(path), pagesize=A4, invariant=1)
    width, height = A4
    for text in pages:
        if text is None:
            image = render_text_image(scanned_text)
            w = width - 80
            h = w * image.height / image.width
            canvas.drawImage(ImageReader(image), 40, height - 40 - h, width=w, height=h)
        else:
            _draw_lines(canvas, text.split("\n"), font)
        canvas.showPage()
    canvas.save()
    return path


# ----------------------------------------------------------------------- damaged PDFs
DEFAULT_ENCRYPTED_TEXT = (
    "Documento riservato\nLa dotazione complessiva dell'avviso è pari a "
    "euro 1.500.000,00.\nScadenza per la presentazione: 30 settembre."
)


def make_encrypted_pdf(
    path: Path, user_password: str, owner_password: str, text: str = DEFAULT_ENCRYPTED_TEXT
) -> Path:
    """A text PDF encrypted with pypdf (RC4-128, which needs no crypto library to read)."""
    from pypdf import PdfReader, PdfWriter

    path = Path(path)
    plain = io.BytesIO()
    make_text_pdf(path, [text])
    plain.write(path.read_bytes())
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def make_truncated_pdf(src: Path, dst: Path, fraction: float = 0.6) -> Path:
    """The first 60% of the bytes of `src`: a download cut short."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


def make_broken_xref_pdf(src: Path, dst: Path) -> Path:
    """`src` with every xref offset and the startxref number pointing to wrong places."""
    data = Path(src).read_bytes()
    start = data.rindex(b"startxref")
    xref_at = data.rindex(b"xref", 0, start)

    def shift(match: re.Match[bytes]) -> bytes:
        offset = int(match.group(1))
        return b"%010d" % (offset + 7 if offset else 0) + match.group(2)

    table = re.sub(rb"(\d{10})( \d{5} [nf])", shift, data[xref_at:start])
    tail = re.sub(rb"startxref\s+\d+", b"startxref\n" + str(start + 1234).encode(), data[start:])
    broken = data[:xref_at] + table + tail
    assert broken != data
    Path(dst).write_bytes(broken)
    return Path(dst)


def build_raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF from object bodies (object i+1 = objects[i]; object 1 is the catalog)."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def make_bad_unicode_pdf(path: Path) -> Path:
    """A hand-written PDF whose text decodes to control characters and lone surrogates.

    The font's ToUnicode CMap maps codes 1-4 to U+0000, U+0007, U+D800 (lone high surrogate)
    and U+DFFF (lone low surrogate); the content stream shows them between normal words.
    """
    cmap = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<00> <FF>
endcodespacerange
4 beginbfchar
<01> <0000>
<02> <0007>
<03> <D800>
<04> <DFFF>
endbfchar
1 beginbfrange
<20> <7E> <0020>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end"""
    content = (
        b"BT /F1 12 Tf 72 750 Td (Regolamento\x01 di\x02 esecuzione) Tj "
        b"0 -20 Td (Dotazione\x03 finanziaria\x04 complessiva \x05\x06\x08fine) Tj "
        b"0 -20 Td (Articolo \x01\x0212 paragrafo secondo) Tj ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        _stream(content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding "
        b"/ToUnicode 6 0 R >>",
        _stream(cmap),
    ]
    Path(path).write_bytes(build_raw_pdf(objects))
    return Path(path)


# -------------------------------------------------------------------------------- DOCX
def make_docx(
    path: Path,
    heading: str,
    paragraphs: list[str],
    table_rows: list[list[str]],
    title: str | None = None,
) -> Path:
    """A Word document: a "Heading 1" paragraph, body paragraphs, then a table."""
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table_rows:
        table = document.add_table(rows=len(table_rows), cols=len(table_rows[0]))
        table.style = "Table Grid"
        for r, row in enumerate(table_rows):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
    document.save(str(path))
    return Path(path)


def make_zip_bomb_docx(path: Path, inflated_mb: int = 310) -> Path:
    """A .docx-named ZIP whose document.xml inflates to > 300 MB from a few hundred KB.

    The zeros are streamed through the compressor 1 MB at a time, never held in memory.
    """
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
            'openxmlformats.org/package/2006/content-types"/>',
        )
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(inflated_mb):
                member.write(chunk)
    return Path(path)


# --------------------------------------------------------------------------------- CSV
ITALIA_DOMANI_HEADER = [
    "CUP",
    "Titolo progetto",
    "Comune",
    "Provincia",
    "Regione",
    "Soggetto attuatore",
    "Programma",
    "Descrizione Misura",
    "FINANZ_TOTALE",
    "FINANZIAMENTO_PNRR",
    "Stato",
    "Data inizio",
    "Data fine",
]
ITALIA_DOMANI_ROWS = [
    [
        "J97H20002070001",
        "Riqualificazione energetica della scuola primaria Dante Alighieri",
        "ROCCAVIVARA",
        "CAMPOBASSO",
        "MOLISE",
        "COMUNE DI ROCCAVIVARA",
        "PNRR",
        "M2C4I2.2 - Interventi per la resilienza, la valorizzazione del territorio e l'efficienza "
        "energetica dei Comuni",
        "1.234.567,89",
        "1.000.000,00",
        "In corso",
        "19/04/2022",
        "31/12/2025",
    ],
    [
        "B21B21004560006",
        'Asilo nido comunale "Il Girasole"',
        "Forlì",
        "Forlì-Cesena",
        "Emilia-Romagna",
        "Comune di Forlì",
        "PNRR",
        "M4C1I1.1 - Piano per asili nido e scuole dell'infanzia",
        "65.000",
        "65.000",
        "Concluso",
        "2022-01-10",
        "2023-06-30",
    ],
    [
        "F51B22000120006",
        "Digitalizzazione dei servizi demografici",
        "L'AQUILA",
        "L'AQUILA",
        "ABRUZZO",
        "COMUNE DI L'AQUILA",
        "PNRR",
        "M1C1I1.4 - Servizi e cittadinanza digitale",
        "2500000.00",
        "2500000.00",
        "Programmato",
        "01/09/22",
        "30/06/2026",
    ],
]

MININTERNO_HEADER = [
    "Codice BDAP",
    "Regione",
    "Provincia",
    "Ente",
    "CUP",
    "Costo complessivo",
    "Richiesta contributo",
    "Data Trasmissione Domanda",
    "Ammesso/Non ammesso",
]
MININTERNO_ROWS = [
    [
        "000712345",
        "PUGLIA",
        "LECCE",
        "GALATINA",
        "C37H21001230001",
        "980.000,00",
        "950.000,00",
        "04/06/2021",
        "AMMESSO",
    ],
    [
        "000798765",
        "SICILIA",
        "PALERMO",
        "BAGHERIA",
        "E17H21002340005",
        "5.000.000,00",
        "5.000.000,00",
        "2021-06-03",
        "NON AMMESSO",
    ],
]

CALLS_HEADER = [
    "Titolo Bando o Avviso",
    "Soggetto emanante",
    "Importo previsto PNRR",
    "Data apertura bando",
    "Data chiusura effettiva bando",
]
CALLS_ROWS = [
    [
        "Avviso pubblico per la presentazione di proposte di intervento per la riqualificazione "
        "delle aree verdi",
        "Ministero della Transizione Ecologica",
        "€ 330.000.000,00",
        "15/03/2022",
        "30/06/2022",
    ],
    [
        'Avviso Misura 1.4.1 "Esperienza del Cittadino nei servizi pubblici" - Comuni',
        "Dipartimento per la Trasformazione Digitale",
        "400.000.000",
        "26/04/2022",
        "02/09/2022",
    ],
]

CP1252_ROWS = [
    [
        "Avviso per la realizzazione di attività sportive in città",
        "Dipartimento per lo Sport",
        "€ 1.500.000,00",
        "01/02/2023",
        "28/02/2023",
    ],
    [
        "Bando «Caput Mundi» – valorizzazione del patrimonio",
        "Ministero della Cultura",
        "500.000.000,00",
        "10/05/2022",
        "15/07/2022",
    ],
]


def _write_csv(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    Path(path).write_bytes(buffer.getvalue().encode(encoding))
    return Path(path)


def write_italia_domani_csv(path: Path, rows: list[list[str]] | None = None) -> Path:
    return _write_csv(path, ITALIA_DOMANI_HEADER, ITALIA_DOMANI_ROWS if rows is None else rows)


def write_mininterno_csv(path: Path, rows: list[list[str]] | None = None) -> Path:
    return _write_csv(path, MININTERNO_HEADER, MININTERNO_ROWS if rows is None else rows)


def write_calls_csv(path: Path, rows: list[list[str]] | None = None) -> Path:
    return _write_csv(path, CALLS_HEADER, CALLS_ROWS if rows is None else rows, delimiter=";")


def write_calls_cp1252_csv(path: Path) -> Path:
    """The semicolon calls list with accents, «», – and €, saved as Windows-1252."""
    return _write_csv(path, CALLS_HEADER, CP1252_ROWS, delimiter=";", encoding="cp1252")


def write_ragged_csv(path: Path) -> Path:
    """The Italia Domani layout where two rows lack trailing columns."""
    rows = [list(r) for r in ITALIA_DOMANI_ROWS]
    rows[1] = rows[1][:9]  # stops after FINANZ_TOTALE
    rows[2] = rows[2][:5]  # stops after Regione
    return _write_csv(path, ITALIA_DOMANI_HEADER, rows)


def write_header_only_csv(path: Path) -> Path:
    return _write_csv(path, ITALIA_DOMANI_HEADER, [])


def make_journal_pdf(
    path: Path,
    bodies: list[list[str] | None],
    header: str,
    table: tuple[list[str], list[list[str]]] | None = None,
    table_intro: str = "",
    table_outro: str = "",
) -> Path:
    """Pages laid out like the Official Journal: a running header at the top, the page number
    at the bottom, body lines between. A `None` body is the page that holds `table` (a ruled
    table between `table_intro` and `table_outro`). `header` may hold `{n}` for a number
    that changes with the page (such as `L 231/{n}`)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas as rl_canvas
    from reportlab.platypus import Table, TableStyle

    path = Path(path)
    font = pdf_font()
    canvas = rl_canvas.Canvas(str(path), pagesize=A4, invariant=1)
    width, height = A4
    for number, body in enumerate(bodies, start=1):
        canvas.setFont(font, 9)
        canvas.drawString(60, height - 40, header.format(n=158 + number))
        canvas.setFont(font, 11)
        if body is None:
            assert table is not None
            canvas.drawString(60, height - 90, table_intro)
            grid = Table([table[0], *table[1]])
            grid.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
                        ("FONTNAME", (0, 0), (-1, -1), font),
                    ]
                )
            )
            _, h = grid.wrapOn(canvas, width, height)
            grid.drawOn(canvas, 60, height - 110 - h)
            canvas.drawString(60, height - 135 - h, table_outro)
        else:
            y = height - 90
            for line in body:
                canvas.drawString(60, y, line)
                y -= 15
        canvas.setFont(font, 9)
        canvas.drawString(width / 2, 40, str(number))
        canvas.showPage()
    canvas.save()
    return path


# One sentence per page of the PDFs the tests damage (truncate, break the xref).
DAMAGE_BODIES = [
    "Il Comune di Roccavivara presenta la candidatura entro il termine.",
    "La Regione Molise verifica la completezza della documentazione.",
    "Il contributo copre le spese tecniche di progettazione esecutiva.",
    "Gli interventi devono concludersi prima della scadenza del programma.",
    "Il responsabile unico del procedimento firma la dichiarazione finale.",
]
