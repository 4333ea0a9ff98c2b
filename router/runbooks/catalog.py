"""The runbooks folder: read once, indexed by RUN- number, never refused whole.

``read_folder`` is the one walk over the folder (the catalog and ``lint`` both
use it). An entry that cannot be read is left out and reported with file:line
and why; the others load. ``check`` and ``lint`` fail on those problems; the
server logs them, counts them, and keeps routing with what it could read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from router.config_values import RUNBOOK_ID
from router.errors import ConfigError, Problem
from router.runbooks.model import Runbook
from router.runbooks.parser import parse_entries
from router.runbooks.template import entry, slug

_NOT_RUNBOOKS = ("readme.md", "template.md")
_ID_IN_NAME = re.compile(r"^(RUN-\d{1,9})(?!\d)", re.IGNORECASE)
MAX_ID_DIGITS = 9


def runbook_number(runbook_id: str) -> int | None:
    """``RUN-001``, ``run-1`` and ``RUN-0001`` -> 1; None for anything else."""
    match = RUNBOOK_ID.fullmatch(runbook_id.strip())
    if match is None or len(match.group(1).lstrip("0")) > MAX_ID_DIGITS:
        return None
    return int(match.group(1))


@dataclass
class FolderScan:
    """Everything read from a runbooks folder, duplicates included."""

    root: Path
    files: list[Path] = field(default_factory=list)
    entries: list[tuple[Path, Runbook]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unreadable: dict[int, str] = field(default_factory=dict)
    """RUN- number -> why it could not be read (the id taken from the file name)."""


def runbook_files(root: Path) -> list[Path]:
    """Every ``*.md`` below ``root``, but READMEs, templates and hidden paths.

    Hidden paths are left out so that a mounted ConfigMap's ``..data`` and
    timestamped copies, or a git checkout's ``.git``, are not read twice.
    """
    return sorted(
        path
        for path in root.rglob("*.md")
        if path.name.lower() not in _NOT_RUNBOOKS
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def read_folder(folder: str | Path) -> FolderScan:
    """Parse every ``*.md`` under ``folder``; ConfigError only if there is no folder."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError([Problem(str(root), None, "", "runbooks folder not found")])
    scan = FolderScan(root)
    scan.files = runbook_files(root)
    for path in scan.files:
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
            parsed = parse_entries(text, name)
        except (OSError, UnicodeDecodeError) as exc:
            parsed = [(None, [Problem(name, None, "", f"cannot read: {exc}")])]
        except Exception as exc:  # a parser bug must cost one file, never the folder
            parsed = [(None, [Problem(name, None, "", f"cannot parse: {exc!r}")])]
        for runbook, problems in parsed:
            scan.problems += problems
            if runbook is not None:
                relative = path.relative_to(root).as_posix()
                scan.entries.append((path, runbook.model_copy(update={"path": relative})))
            elif problems and (match := _ID_IN_NAME.match(path.name)):
                number = runbook_number(match.group(1))
                if number is not None:
                    scan.unreadable.setdefault(number, str(problems[0]))
    return scan


@dataclass(frozen=True)
class Claims:
    """Alert names as the entries' ``Alerts:`` lines list them.

    A name listed by one entry is that entry's (``by_name``); a name listed by two
    or more is no one's, and a problem at each of those entries but the first (by
    RUN- number) naming the first, file and line: which entry answers the alert is
    for a person to decide, not for the order the files happen to load in.
    """

    by_name: dict[str, Runbook]
    problems: list[Problem]


class Catalog:
    """All readable RUN- entries, and what could not be read."""

    def __init__(
        self,
        runbooks: list[Runbook],
        problems: list[Problem] | None = None,
        unreadable: dict[int, str] | None = None,
        scan: FolderScan | None = None,
    ) -> None:
        self._by_number = {rb.number: rb for rb in runbooks}
        self.problems = list(problems or [])
        self.scan = scan or FolderScan(Path("."), entries=[(Path(rb.path), rb) for rb in runbooks])
        """The folder as read, for ``lint`` without reading it again."""
        self._unreadable = {
            n: why for n, why in (unreadable or {}).items() if n not in self._by_number
        }

    def get(self, runbook_id: str) -> Runbook | None:
        number = runbook_number(runbook_id)
        return self._by_number.get(number) if number is not None else None

    def unreadable(self, runbook_id: str) -> str | None:
        """Why an entry with this id could not be read, if a file for it failed."""
        number = runbook_number(runbook_id)
        return self._unreadable.get(number) if number is not None else None

    def __contains__(self, runbook_id: str) -> bool:
        return self.get(runbook_id) is not None

    def __iter__(self) -> Iterator[Runbook]:
        return iter(sorted(self._by_number.values(), key=lambda rb: rb.number))

    def __len__(self) -> int:
        return len(self._by_number)

    @cached_property
    def claims(self) -> Claims:
        """Built once per load (a ruleset holds one catalog): a dict lookup per alert."""
        listed: dict[str, list[Runbook]] = {}
        for runbook in self:
            for name in dict.fromkeys(runbook.alerts):
                listed.setdefault(name, []).append(runbook)
        problems = [
            Problem(
                self._where(rb),
                rb.lines.get("alerts"),
                "Alerts",
                f"{name} is also listed by {first.id} ({self._at(first)});"
                " an alert name belongs to one entry",
            )
            for name, (first, *others) in listed.items()
            for rb in others
        ]
        owners = {name: entries[0] for name, entries in listed.items() if len(entries) == 1}
        return Claims(owners, problems)

    def _where(self, runbook: Runbook) -> str:
        return str(self.scan.root / runbook.path)

    def _at(self, runbook: Runbook) -> str:
        line = runbook.lines.get("alerts")
        return f"{self._where(runbook)}:{line}" if line else self._where(runbook)


def load_catalog(folder: str | Path) -> Catalog:
    """The folder as a catalog; the first file to define an id keeps it."""
    scan = read_folder(folder)
    problems = list(scan.problems)
    seen: dict[int, Runbook] = {}
    for path, runbook in scan.entries:
        if (first := seen.get(runbook.number)) is not None:
            problems.append(
                Problem(
                    str(path),
                    runbook.lines.get("title"),
                    "id",
                    f"{runbook.id} is already defined in {scan.root / first.path}"
                    + (f" (as {first.id})" if first.id != runbook.id else ""),
                )
            )
            continue
        seen[runbook.number] = runbook
    return Catalog(list(seen.values()), problems, scan.unreadable, scan)


def write_entry(folder: str | Path, runbook_id: str, title: str) -> Path:
    """Write ``RUN-nnn-<slug>.md`` into the runbooks folder; ConfigError says why not.

    Refused: an id that is not RUN-nnn, an empty title, a folder that is not
    there, an id that an entry (or a file that could not be read) already has,
    and a file that exists.
    """
    root = Path(folder)
    number = runbook_number(runbook_id)
    if number is None:
        raise ConfigError([Problem(runbook_id, None, "", "not a RUN- id (e.g. RUN-015)")])
    rid = f"RUN-{number:03d}"
    title = " ".join(title.split())
    if not title:
        raise ConfigError([Problem(rid, None, "", "the title is empty")])
    scan = read_folder(root)  # ConfigError when there is no folder
    for path, runbook in scan.entries:
        if runbook.number == number:
            where = f"{path}:{runbook.lines.get('title', 1)}"
            raise ConfigError([Problem(str(root), None, "", f"{rid} is already used in {where}")])
    if number in scan.unreadable:
        why = scan.unreadable[number]
        raise ConfigError([Problem(str(root), None, "", f"{rid} is already used: {why}")])
    words = slug(title)
    path = root / (f"{rid}-{words}.md" if words else f"{rid}.md")
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(entry(rid, title))
    except FileExistsError:
        raise ConfigError([Problem(str(path), None, "", "already exists")]) from None
    except OSError as exc:
        raise ConfigError([Problem(str(path), None, "", f"cannot write: {exc.strerror}")]) from None
    return path
