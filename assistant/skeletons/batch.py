"""Skeletons for many project ideas at once: resumable, and parallel when the LLM is a server.

Each finished skeleton is recorded in `skeletons.json` in the output folder with a hash of
what produced it (call, idea, provider, drafted sections); a rerun skips those whose files
are there and whose hash is unchanged, so an interrupted batch picks up where it stopped.
Files are written to a temporary name and renamed, so a half-written file never counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from assistant.calls.project import ProjectProfile
from assistant.calls.schema import Call
from assistant.skeletons.builder import SkeletonBuilder
from assistant.skeletons.docx_render import render_docx
from assistant.skeletons.markdown_render import render_markdown
from assistant.text_analysis import fold

MANIFEST = "skeletons.json"


@dataclass
class IdeaResult:
    slug: str
    title: str
    status: str  # "written" | "skipped" | "failed"
    verdict: str = ""
    files: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0


def slug_for(number: int, project: ProjectProfile) -> str:
    name = project.applicant.comune or project.applicant.name or project.title
    words = "".join(c if c.isalnum() else "-" for c in fold(name)).strip("-")
    return f"{number:02d}-" + "-".join(w for w in words.split("-") if w)[:60]


def _fingerprint(call: Call, project: ProjectProfile, provider: str, sections) -> str:
    payload = json.dumps(
        [
            call.model_dump(mode="json"),
            project.model_dump(mode="json"),
            provider,
            sorted(sections) if sections is not None else None,
        ],
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    temporary = path.with_name(f".{path.name}.part")
    write(temporary)
    os.replace(temporary, path)


class SkeletonBatch:
    def __init__(
        self,
        assistant,
        chat=None,
        today: date | None = None,
        draft_sections: set[str] | None = None,
        workers: int = 1,
        language: str = "it",
    ) -> None:
        self.lock = threading.Lock()
        self.builder = SkeletonBuilder(assistant, chat, today, draft_sections, self.lock)
        self.provider = chat.provider if chat is not None else "extractive"
        self.model = chat.model if chat is not None else ""
        self.draft_sections = draft_sections
        # a local model computes one answer at a time; only a server gains from parallel calls
        self.workers = max(1, workers) if self.provider == "openai" else 1
        self.language = language
        self._manifest_lock = threading.Lock()

    def run(
        self,
        call: Call,
        ideas: list[ProjectProfile],
        out_dir: Path,
        on_done: Callable[[IdeaResult], None] | None = None,
    ) -> list[IdeaResult]:
        out_dir.mkdir(parents=True, exist_ok=True)
        manifest = self._read_manifest(out_dir)
        jobs = [(slug_for(n, idea), idea) for n, idea in enumerate(ideas, start=1)]
        results: list[IdeaResult] = []
        with ThreadPoolExecutor(self.workers) as pool:
            futures = [
                pool.submit(self._one, call, idea, slug, out_dir, manifest) for slug, idea in jobs
            ]
            for future in as_completed(futures):
                result = future.result()
                results.append(result)
                if on_done:
                    on_done(result)
        order = {slug: i for i, (slug, _) in enumerate(jobs)}
        return sorted(results, key=lambda r: order[r.slug])

    def _one(self, call, idea, slug, out_dir: Path, manifest: dict) -> IdeaResult:
        started = time.perf_counter()
        key = _fingerprint(call, idea, f"{self.provider}:{self.model}", self.draft_sections)
        files = [f"{slug}.docx", f"{slug}.md"]
        done = manifest.get(slug, {})
        if done.get("hash") == key and all((out_dir / f).is_file() for f in files):
            return IdeaResult(slug, idea.title, "skipped", done.get("verdict", ""), files)
        try:
            skeleton = self.builder.build(call, idea, self.language)
            _write_atomic(out_dir / files[0], lambda p: render_docx(skeleton, p))
            markdown = render_markdown(skeleton)
            _write_atomic(out_dir / files[1], lambda p: p.write_text(markdown, encoding="utf-8"))
        except Exception as error:  # one bad idea must not stop the batch
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            return IdeaResult(slug, idea.title, "failed", error=reason)
        verdict = skeleton.eligibility.verdict
        with self._manifest_lock:
            manifest[slug] = {"hash": key, "verdict": verdict, "title": idea.title}
            _write_atomic(
                out_dir / MANIFEST,
                lambda p: p.write_text(json.dumps(manifest, indent=2, ensure_ascii=False)),
            )
        return IdeaResult(
            slug, idea.title, "written", verdict, files, seconds=time.perf_counter() - started
        )

    @staticmethod
    def _read_manifest(out_dir: Path) -> dict:
        path = out_dir / MANIFEST
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # a damaged manifest only costs a rebuild
        return data if isinstance(data, dict) else {}
