"""The runbooks folder, loaded and indexed by RUN- number."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from router.config import RUNBOOK_ID
from router.errors import ConfigError, Problem
from router.runbooks.model import Runbook
from router.runbooks.parser import parse_runbook


class Catalog:
    """All RUN- entries; ``RUN-001``, ``run-1`` and ``RUN-0001`` name the same one."""

    def __init__(self, runbooks: list[Runbook]) -> None:
        self._by_number = {rb.number: rb for rb in runbooks}

    def get(self, runbook_id: str) -> Runbook | None:
        match = RUNBOOK_ID.fullmatch(runbook_id.strip())
        return self._by_number.get(int(match.group(1))) if match else None

    def __contains__(self, runbook_id: str) -> bool:
        return self.get(runbook_id) is not None

    def __iter__(self) -> Iterator[Runbook]:
        return iter(sorted(self._by_number.values(), key=lambda rb: rb.number))

    def __len__(self) -> int:
        return len(self._by_number)


def load_catalog(folder: str | Path) -> Catalog:
    """Parse every ``*.md`` under ``folder``; raise ConfigError on any parse problem."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError([Problem(str(root), None, "", "runbooks folder not found")])
    runbooks: list[Runbook] = []
    problems: list[Problem] = []
    seen: dict[int, Runbook] = {}
    for path in sorted(root.rglob("*.md")):
        if path.name.lower() in ("readme.md", "template.md"):
            continue
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(name, None, "", f"cannot read: {exc}"))
            continue
        runbook, found = parse_runbook(text, name)
        problems += found
        if runbook is None:
            continue
        if (first := seen.get(runbook.number)) is not None:
            problems.append(
                Problem(
                    name,
                    runbook.lines.get("title"),
                    "id",
                    f"{runbook.id} is already defined in {root / first.path}"
                    + (f" (as {first.id})" if first.id != runbook.id else ""),
                )
            )
            continue
        runbook = runbook.model_copy(update={"path": path.relative_to(root).as_posix()})
        seen[runbook.number] = runbook
        runbooks.append(runbook)
    if problems:
        raise ConfigError(problems)
    return Catalog(runbooks)
