"""`euroassist corpus fetch` against a local HTTP server (no internet)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from assistant.corpus_fetch import OfficialSource, fetch_sources, load_manifest

REPO = Path(__file__).resolve().parents[1]
EUROASSIST = Path(sys.executable).parent / "euroassist"

PDF_BODY = b"%PDF-1.4\n% fake official text\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
HTML_BODY = "<html><body><p>Regolamento (UE) 2021/1060 — testo</p></body></html>".encode()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def server(tmp_path):
    """(base_url, served folder, request log). Serves tmp_path/www on 127.0.0.1."""
    www = tmp_path / "www"
    (www / "regulations" / "official").mkdir(parents=True)
    (www / "regulations" / "official" / "CPR_IT.pdf").write_bytes(PDF_BODY)
    (www / "calls").mkdir()
    (www / "calls" / "bando.html").write_bytes(HTML_BODY)
    requests: list[str] = []

    class Handler(QuietHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", www, requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def write_manifest(path: Path, sources: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True), encoding="utf-8")
    return path


def entry(id_: str, filename: str, **extra) -> dict:
    return {
        "id": id_,
        "title": f"Title of {id_}",
        "celex": "32021R1060",
        "language": "it",
        "doc_type": "regulation",
        "url": f"https://eur-lex.europa.eu/legal-content/IT/TXT/PDF/?uri={id_}",
        "filename": filename,
        **extra,
    }


GOOD = [
    entry("cpr-it", "regulations/official/CPR_IT.pdf"),
    entry("bando", "calls/bando.html", doc_type="call"),
]


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


# -- manifest --------------------------------------------------------------------------


def test_load_manifest_fields(tmp_path):
    manifest = write_manifest(
        tmp_path / "m.yaml", [*GOOD, entry("x", "x.pdf", sha256="ab" * 32, doc_type="faq")]
    )
    sources = load_manifest(manifest)
    assert [s.id for s in sources] == ["cpr-it", "bando", "x"]
    assert all(isinstance(s, OfficialSource) for s in sources)
    assert sources[0].filename == "regulations/official/CPR_IT.pdf"
    assert sources[1].doc_type == "call"
    assert sources[0].sha256 is None
    assert sources[2].sha256 == "ab" * 32


def test_real_manifest_lists_eur_lex_sources():
    sources = load_manifest(REPO / "corpus" / "sources.yaml")
    assert len(sources) >= 12, len(sources)
    for s in sources:
        url = urlparse(s.url)
        assert url.scheme == "https", s.url
        assert url.hostname == "eur-lex.europa.eu", s.url
        assert (
            s.filename and not Path(s.filename).is_absolute() and ".." not in Path(s.filename).parts
        )
        assert s.celex and s.celex in s.url, (s.id, s.celex, s.url)
    assert len({s.id for s in sources}) == len(sources), "duplicate ids"
    assert len({s.filename for s in sources}) == len(sources), "duplicate file names"


# -- fetch_sources -----------------------------------------------------------------------


def test_fetch_saves_files_with_bytes_and_sha256(tmp_path, server):
    base_url, _, requests = server
    dest = tmp_path / "dest"
    results = fetch_sources(
        load_manifest(write_manifest(tmp_path / "m.yaml", GOOD)), dest, base_url
    )
    assert [(r.source_id, r.ok, r.reason) for r in results] == [
        ("cpr-it", True, ""),
        ("bando", True, ""),
    ]
    pdf, html = results
    assert pdf.path == (dest / "regulations/official/CPR_IT.pdf").resolve()
    assert pdf.path.read_bytes() == PDF_BODY
    assert pdf.size == len(PDF_BODY)
    assert pdf.sha256 == sha(PDF_BODY)
    assert html.path.read_bytes() == HTML_BODY
    assert html.sha256 == sha(HTML_BODY)
    assert requests == ["/regulations/official/CPR_IT.pdf", "/calls/bando.html"]
    # no partial files left behind
    assert files_under(dest) == ["calls/bando.html", "regulations/official/CPR_IT.pdf"]


def test_fetch_with_matching_sha256(tmp_path, server):
    base_url, _, _ = server
    sources = [
        OfficialSource(**entry("cpr-it", "regulations/official/CPR_IT.pdf", sha256=sha(PDF_BODY)))
    ]
    [result] = fetch_sources(sources, tmp_path / "dest", base_url)
    assert result.ok, result.reason
    assert result.path.read_bytes() == PDF_BODY


def test_missing_file_fails_with_its_url_and_others_are_saved(tmp_path, server):
    base_url, _, _ = server
    sources = [GOOD[0], entry("missing", "regulations/official/NOPE.pdf"), GOOD[1]]
    dest = tmp_path / "dest"
    results = fetch_sources(
        load_manifest(write_manifest(tmp_path / "m.yaml", sources)), dest, base_url
    )
    assert [r.ok for r in results] == [True, False, True]
    failed = results[1]
    assert failed.source_id == "missing"
    assert f"{base_url}/regulations/official/NOPE.pdf" in failed.reason
    assert "404" in failed.reason
    assert failed.path is None
    assert files_under(dest) == ["calls/bando.html", "regulations/official/CPR_IT.pdf"]


def test_filename_outside_dest_is_refused(tmp_path, server):
    base_url, www, requests = server
    (www / "escape.pdf").write_bytes(b"should never be fetched")
    dest = tmp_path / "dest"
    sources = [
        entry("up", "../escape.pdf"),
        entry("deep-up", "regulations/../../escape.pdf"),
        entry("absolute", str(tmp_path / "absolute.pdf")),
        GOOD[0],
    ]
    results = fetch_sources(
        load_manifest(write_manifest(tmp_path / "m.yaml", sources)), dest, base_url
    )
    assert [r.ok for r in results] == [False, False, False, True]
    for r in results[:3]:
        assert "outside" in r.reason, r.reason
    assert not (tmp_path / "escape.pdf").exists()
    assert not (tmp_path / "absolute.pdf").exists()
    assert requests == ["/regulations/official/CPR_IT.pdf"]  # refused before any request
    assert files_under(dest) == ["regulations/official/CPR_IT.pdf"]


def test_wrong_sha256_is_refused_and_nothing_written(tmp_path, server):
    base_url, _, _ = server
    wrong = sha(b"something else")
    dest = tmp_path / "dest"
    sources = [entry("cpr-it", "regulations/official/CPR_IT.pdf", sha256=wrong)]
    [result] = fetch_sources(
        load_manifest(write_manifest(tmp_path / "m.yaml", sources)), dest, base_url
    )
    assert not result.ok
    assert "sha256" in result.reason
    assert sha(PDF_BODY) in result.reason
    assert f"{base_url}/regulations/official/CPR_IT.pdf" in result.reason
    assert result.path is None
    assert not dest.exists() or files_under(dest) == []


def test_wrong_sha256_keeps_an_existing_file(tmp_path, server):
    base_url, _, _ = server
    dest = tmp_path / "dest"
    existing = dest / "regulations/official/CPR_IT.pdf"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"the copy we had")
    sources = [
        OfficialSource(**entry("cpr-it", "regulations/official/CPR_IT.pdf", sha256=sha(b"x")))
    ]
    [result] = fetch_sources(sources, dest, base_url)
    assert not result.ok
    assert existing.read_bytes() == b"the copy we had"


def test_refetch_overwrites_a_stale_file(tmp_path, server):
    base_url, _, _ = server
    dest = tmp_path / "dest"
    stale = dest / "regulations/official/CPR_IT.pdf"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    [result] = fetch_sources([OfficialSource(**GOOD[0])], dest, base_url)
    assert result.ok
    assert stale.read_bytes() == PDF_BODY


def test_existing_file_with_right_hash_is_kept_without_download(tmp_path, server):
    base_url, www, requests = server
    dest = tmp_path / "dest"
    target = dest / "regulations/official/CPR_IT.pdf"
    target.parent.mkdir(parents=True)
    target.write_bytes(PDF_BODY)
    (www / "regulations/official/CPR_IT.pdf").unlink()  # the mirror no longer has it
    source = OfficialSource(
        **entry("cpr-it", "regulations/official/CPR_IT.pdf", sha256=sha(PDF_BODY))
    )
    [result] = fetch_sources([source], dest, base_url)
    assert result.ok, result.reason
    assert requests == []


def test_empty_response_is_a_failure(tmp_path, server):
    base_url, www, _ = server
    (www / "empty.pdf").write_bytes(b"")
    [result] = fetch_sources(
        [OfficialSource(**entry("e", "empty.pdf"))], tmp_path / "dest", base_url
    )
    assert not result.ok
    assert "empty" in result.reason
    assert not (tmp_path / "dest" / "empty.pdf").exists()


# -- the CLI -----------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "COLUMNS": "200"}
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(var, None)
    return subprocess.run(
        [str(EUROASSIST), "corpus", "fetch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_cli_exit_codes(tmp_path, server):
    base_url, _, _ = server
    ok_manifest = write_manifest(tmp_path / "ok.yaml", GOOD)
    dest = tmp_path / "dest-ok"
    done = run_cli("--manifest", str(ok_manifest), "--dest", str(dest), "--base-url", base_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (dest / "regulations/official/CPR_IT.pdf").read_bytes() == PDF_BODY
    assert (dest / "calls/bando.html").read_bytes() == HTML_BODY
    assert done.stdout.count("saved") == 2, done.stdout

    bad_manifest = write_manifest(tmp_path / "bad.yaml", [GOOD[0], entry("missing", "NOPE.pdf")])
    dest = tmp_path / "dest-bad"
    done = run_cli("--manifest", str(bad_manifest), "--dest", str(dest), "--base-url", base_url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "missing" in done.stderr and "NOPE.pdf" in done.stderr, done.stderr
    assert (dest / "regulations/official/CPR_IT.pdf").read_bytes() == PDF_BODY
