"""OCR of pages without a text layer, with Tesseract when it is installed."""

from __future__ import annotations

import shutil
from functools import cached_property
from pathlib import Path


class OcrEngine:
    def __init__(self, languages: str = "ita+eng+fra", dpi: int = 300) -> None:
        self.requested = languages
        self.dpi = dpi

    def available(self) -> bool:
        return shutil.which("tesseract") is not None and bool(self.languages)

    @cached_property
    def languages(self) -> str:
        """Requested languages that Tesseract has, e.g. `ita+eng`."""
        if shutil.which("tesseract") is None:
            return ""
        import pytesseract

        installed = set(pytesseract.get_languages(config=""))
        usable = [lang for lang in self.requested.split("+") if lang in installed]
        return "+".join(usable or (["eng"] if "eng" in installed else []))

    def page_text(self, pdf_path: Path, page_index: int) -> str:
        import pypdfium2
        import pytesseract

        document = pypdfium2.PdfDocument(str(pdf_path))
        try:
            image = document[page_index].render(scale=self.dpi / 72).to_pil()
        finally:
            document.close()
        return pytesseract.image_to_string(image, lang=self.languages)
