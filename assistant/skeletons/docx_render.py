"""Write a proposal skeleton as a Word document that Word and LibreOffice both open.

Only built-in styles (Title, Heading 1/2, Table Grid) and standard field codes are used, so
the navigation pane, an inserted table of contents and the page numbers work in either program.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

from assistant.skeletons import formatting as fmt
from assistant.skeletons.model import Skeleton, SkeletonSection

# XML 1.0 refuses these; an LLM draft can contain them and python-docx would raise.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOTE_COLOR = RGBColor(0xC0, 0x00, 0x00)
# Column widths in cm, summing to the 16.6 cm between the margins: equal columns waste room
# on short marks and squeeze the rule quotes.
_WIDTHS = {
    "eligibility": [3.6, 2.6, 5.2, 5.2],
    "past": [4.4, 2.2, 3.2, 2.8, 2.2, 1.8],
    "budget": [4.6, 3.2, 2.0, 3.8, 3.0],
    "indicators": [8.6, 4.0, 4.0],
}


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


def render_docx(skeleton: Skeleton, path: Path) -> Path:
    doc = Document()
    _setup(doc, skeleton)
    _cover(doc, skeleton)
    _eligibility(doc, skeleton)
    _sections(doc, skeleton)
    _past_projects(doc, skeleton)
    _budget(doc, skeleton)
    _indicators(doc, skeleton)
    _sources(doc, skeleton)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


# -- page, properties, footer ---------------------------------------------------------------
def _setup(doc: DocxDocument, s: Skeleton) -> None:
    section = doc.sections[0]
    # The template is US Letter; Italian authorities print A4.
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin = section.bottom_margin = Cm(2)
    _italian_proofing(doc)
    props = doc.core_properties
    props.title = _clean(f"{s.project_title} — {s.call_title}")
    props.subject = _clean(s.call_title)
    props.author = props.last_modified_by = "euroassist"
    props.keywords = _clean(f"{s.call_id}; proposta; bozza")
    props.comments = fmt.DRAFT_NOTE
    props.language = "it-IT"
    # the template carries its own 2013 dates
    props.created = props.modified = datetime.combine(s.generated, time())
    _footer(section.footer.paragraphs[0])


def _italian_proofing(doc: DocxDocument) -> None:
    """Mark the text as Italian, or Word flags every word as misspelt English."""
    rpr = doc.styles["Normal"].element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "it-IT")
    rpr.append(lang)


def _footer(paragraph: Paragraph) -> None:
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run("Pagina ")
    _field(paragraph, "PAGE")
    paragraph.add_run(" di ")
    _field(paragraph, "NUMPAGES")


def _field(paragraph: Paragraph, code: str) -> None:
    """A complex field: begin, instruction, separate, cached result, end. Word and
    LibreOffice recompute it on each page; the cached "1" shows only where they cannot."""
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {code} \\* MERGEFORMAT "
    cached = _text_element("1")
    for element in (_fld_char("begin"), instr, _fld_char("separate"), cached, _fld_char("end")):
        paragraph.add_run()._r.append(element)


def _fld_char(kind: str) -> OxmlElement:
    element = OxmlElement("w:fldChar")
    element.set(qn("w:fldCharType"), kind)
    return element


def _text_element(text: str) -> OxmlElement:
    element = OxmlElement("w:t")
    element.text = text
    return element


# -- building blocks ----------------------------------------------------------------------
def _labelled(doc: DocxDocument, label: str, value: str) -> Paragraph:
    paragraph = doc.add_paragraph()
    paragraph.add_run(f"{label}: ").bold = True
    paragraph.add_run(_clean(value))
    paragraph.paragraph_format.space_after = Pt(2)
    return paragraph


def _table(doc: DocxDocument, header: list[str], rows: list[list[str]], widths: str) -> Table:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _cell_text(cell.paragraphs[0], text, bold=True)
        _shade(cell._tc, "D9E2F3")
    _repeat_header(table)
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            _cell_text(cell.paragraphs[0], text)
    _set_widths(table, _WIDTHS[widths])
    doc.add_paragraph()  # Word merges two tables that touch; a paragraph keeps them apart
    return table


def _cell_text(paragraph: Paragraph, text: str, bold: bool = False) -> None:
    run = paragraph.add_run(_clean(text))
    run.bold = bold
    run.font.size = Pt(9)


def _shade(tc: OxmlElement, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc.get_or_add_tcPr().append(shd)


def _set_widths(table: Table, widths_cm: list[float]) -> None:
    # LibreOffice reads the grid columns, Word the cell widths: set both.
    table.autofit = False
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)


def _repeat_header(table: Table) -> None:
    """Repeat the first row at the top of every page the table runs over."""
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    table.rows[0]._tr.get_or_add_trPr().append(header)


def _empty(doc: DocxDocument, text: str) -> None:
    doc.add_paragraph().add_run(text).italic = True


# -- the parts of the document ------------------------------------------------------------
def _cover(doc: DocxDocument, s: Skeleton) -> None:
    doc.add_paragraph(_clean(s.project_title), style="Title")
    doc.add_paragraph(_clean(s.call_title), style="Subtitle")
    for label, value in fmt.cover_fields(s):
        _labelled(doc, label, value)
    note = doc.add_paragraph().add_run(fmt.DRAFT_NOTE)
    note.bold, note.font.color.rgb = True, _NOTE_COLOR
    if s.summary:
        doc.add_paragraph(_clean(s.summary))
    doc.add_page_break()


def _eligibility(doc: DocxDocument, s: Skeleton) -> None:
    doc.add_heading("Verifica di ammissibilità", level=1)
    for label, value in fmt.verdict_fields(s.eligibility):
        _labelled(doc, label, value)
    if s.eligibility.results:
        _table(doc, fmt.ELIGIBILITY_HEADER, fmt.eligibility_rows(s.eligibility), "eligibility")
    else:
        _empty(doc, "Nessun criterio verificato.")


def _sections(doc: DocxDocument, s: Skeleton) -> None:
    doc.add_heading("Sezioni della proposta", level=1)
    if not s.sections:
        _empty(doc, "Il bando non indica sezioni.")
    for section in s.sections:
        _section(doc, section)


def _section(doc: DocxDocument, section: SkeletonSection) -> None:
    doc.add_heading(_clean(section.title), level=2)
    for label, value in fmt.section_fields(section):
        _labelled(doc, label, value)
    # clean first: splitlines() would also break at \v and \f
    paragraphs = [p.strip() for p in _clean(section.draft).splitlines() if p.strip()]
    doc.add_paragraph().add_run(fmt.DRAFT_LABEL).bold = True
    if not paragraphs:
        _empty(doc, "Nessuna bozza: da scrivere.")
    for text in paragraphs:
        doc.add_paragraph(text)
    if section.draft_length:
        _labelled(doc, "Lunghezza", section.draft_length)
    if section.figures_to_check:
        _labelled(doc, fmt.FIGURES_LABEL, ", ".join(section.figures_to_check))
    _labelled(doc, "Regole citate", fmt.citations(section.rules))


def _past_projects(doc: DocxDocument, s: Skeleton) -> None:
    doc.add_heading("Progetti simili", level=1)
    if s.past_projects:
        _table(doc, fmt.PAST_PROJECTS_HEADER, fmt.past_project_rows(s), "past")
    else:
        _empty(doc, "Nessun progetto simile trovato.")


def _budget(doc: DocxDocument, s: Skeleton) -> None:
    doc.add_heading("Piano finanziario", level=1)
    table = _table(doc, fmt.BUDGET_HEADER, fmt.budget_rows(s.budget), "budget")
    for cell in table.rows[-1].cells:  # the total row
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for label, value in fmt.budget_fields(s.budget):
        _labelled(doc, label, value)
    for note in s.budget.notes:
        doc.add_paragraph(_clean(note), style="List Bullet")


def _indicators(doc: DocxDocument, s: Skeleton) -> None:
    doc.add_heading("Indicatori", level=1)
    if s.indicators:
        _table(doc, fmt.INDICATORS_HEADER, fmt.indicator_rows(s), "indicators")
    else:
        _empty(doc, "Nessun indicatore indicato dal bando.")


def _sources(doc: DocxDocument, s: Skeleton) -> None:
    doc.add_heading("Fonti", level=1)
    if not s.sources:
        _empty(doc, "Nessuna fonte citata.")
    for source in sorted(s.sources, key=lambda src: src.number):
        paragraph = doc.add_paragraph(_clean(fmt.source_line(source)))
        # a hanging indent keeps the [n] visible at the margin like a numbered list
        paragraph.paragraph_format.left_indent = Cm(0.9)
        paragraph.paragraph_format.first_line_indent = Cm(-0.9)
