"""Calls as YAML files in a folder (`corpus/calls/` by default), found by id or path."""

from __future__ import annotations

from pathlib import Path

from assistant.calls.schema import Call


class CallRegistry:
    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders

    def paths(self) -> list[Path]:
        return sorted(
            p for folder in self.folders if folder.is_dir() for p in folder.glob("*.y*ml")
        )

    def all(self) -> tuple[list[Call], list[str]]:
        """The valid calls, and one line per file that is not a valid call."""
        calls, problems = [], []
        for path in self.paths():
            try:
                calls.append(Call.load(path))
            except ValueError as error:
                problems.append(str(error).splitlines()[0])
        return calls, problems

    def find(self, ref: str) -> Call:
        path = Path(ref)
        if path.suffix in (".yaml", ".yml") and path.is_file():
            return Call.load(path)
        for candidate in self.paths():
            if candidate.stem == ref:
                return Call.load(candidate)
        calls, _ = self.all()
        for call in calls:
            if call.id == ref:
                return call
        raise ValueError(
            f"no call {ref!r}: give a YAML file or an id from {', '.join(str(f) for f in self.folders)}"
        )
