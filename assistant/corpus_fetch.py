"""Download the official texts that the sample corpus summarises (EUR-Lex), when online."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from pydantic import BaseModel


class OfficialSource(BaseModel):
    id: str
    title: str
    url: str
    filename: str
    celex: str | None = None
    language: str | None = None
    doc_type: str = "regulation"
    sha256: str | None = None


@dataclass
class FetchResult:
    source_id: str
    ok: bool
    path: Path | None = None
    size: int = 0
    sha256: str = ""
    reason: str = ""


def load_manifest(path: Path) -> list[OfficialSource]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [OfficialSource.model_validate(item) for item in data.get("sources", [])]


def _safe_target(dest: Path, filename: str) -> Path:
    target = (dest / filename).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise ValueError(f"file name {filename!r} points outside {dest}")
    return target


def fetch_sources(
    sources: list[OfficialSource], dest: Path, base_url: str | None = None, timeout: float = 60.0
) -> list[FetchResult]:
    """Save each source under dest; with base_url, fetch `<base_url>/<filename>` instead
    (a mirror, or a local server in tests). Existing files with the right hash are kept."""
    results = []
    with httpx.Client(
        follow_redirects=True, timeout=timeout, headers={"User-Agent": "euroassist corpus fetch"}
    ) as client:
        for source in sources:
            try:
                target = _safe_target(dest, source.filename)
            except ValueError as error:
                results.append(FetchResult(source.id, False, reason=str(error)))
                continue
            url = f"{base_url.rstrip('/')}/{source.filename}" if base_url else source.url
            expected = source.sha256.lower() if source.sha256 else None
            if expected and target.is_file():
                present = hashlib.sha256(target.read_bytes()).hexdigest()
                if present == expected:
                    results.append(
                        FetchResult(source.id, True, target, target.stat().st_size, present)
                    )
                    continue
            try:
                response = client.get(url)
                response.raise_for_status()
            except httpx.HTTPError as error:
                results.append(FetchResult(source.id, False, reason=f"{url}: {error}"))
                continue
            body = response.content
            digest = hashlib.sha256(body).hexdigest()
            if expected and digest != expected:
                results.append(
                    FetchResult(
                        source.id, False, reason=f"{url}: sha256 {digest} differs from the manifest"
                    )
                )
                continue
            if not body:
                results.append(FetchResult(source.id, False, reason=f"{url}: empty response"))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(target.suffix + ".part")
            partial.write_bytes(body)
            partial.replace(target)
            results.append(FetchResult(source.id, True, target, len(body), digest))
    return results
