"""Parse RUN- entries from markdown.

A file holds one entry or several, as the RUN- format writes them: each starts
at its title line, ``RUN-001: Title`` with or without a leading ``#``, and
entries are separated by ``---`` lines (``split_entries``). Fences written
escaped (``\\`\\`\\```, as in documents that quote the format) are read as fences.

Each entry is tolerant of order, blank lines and heading levels: the token stream of
markdown-it-py is flattened into blocks (heading, line of text, list item, code
fence), each with its line number, and sections are recognised by name. Steps
are headings that start with "Step N" or, where there are none, the items of a
numbered list. What cannot be understood is reported as a problem with its line;
``lint`` (not this module) judges quality.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from router.errors import Problem
from router.runbooks.layout import ESCAPED_FENCE, INLINE_HEADER, Block, blocks, plain, split_entries
from router.runbooks.model import CATEGORIES, Command, Escalation, Runbook, Step
from router.runbooks.template import is_unfilled

_TITLE = re.compile(r"^\s*(RUN-\d+)\s*[:\-–—]\s*(.+?)\s*$", re.IGNORECASE)
_STEP = re.compile(r"^\s*step\s*(\d+)\s*[:.)\-–—]?\s*(.*)$", re.IGNORECASE)
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z /-]{1,30}?)\s*:\s*(.*)$")
_CHECKBOX = re.compile(r"^\[[ xX]\]\s*")
_RUN_ID = re.compile(r"\bRUN-\d+\b", re.IGNORECASE)
_LINKED_ID = re.compile(r"\b[A-Z][A-Z0-9]{1,9}-\d+\b")

# Section heading (lower-cased, punctuation dropped) -> section key.
_SECTIONS = {
    "scope": "scope",
    "prerequisites": "prerequisites",
    "prereqs": "prerequisites",
    "before you start": "prerequisites",
    "procedure": "procedure",
    "steps": "procedure",
    "resolution": "procedure",
    "resolution steps": "procedure",
    "do not": "do_not",
    "dont": "do_not",
    "do nots": "do_not",
    "what not to do": "do_not",
    "avoid": "do_not",
    "escalation": "escalation",
    "escalate": "escalation",
    "post incident": "post_incident",
    "postincident": "post_incident",
    "post deployment": "post_incident",
    "post maintenance": "post_incident",
    "post recovery": "post_incident",
    "after the incident": "post_incident",
    "follow up": "post_incident",
    "symptoms": "symptoms",
    "linked ids": "linked",
    "related": "linked",
}
_HEADER_FIELDS = {
    "category": "category",
    "trigger": "trigger",
    "owner": "owner",
    "last tested": "last_tested",
    "alerts": "alerts",
    "linked ids": "linked",
    "linked id": "linked",
    "symptoms": "symptoms",
}
_STEP_LABELS = {
    "commands": "commands",
    "command": "commands",
    "verification": "verification",
    "verify": "verification",
    "expected": "verification",
    "expected result": "verification",
}
_ESCALATION_KEYS = {
    "when to escalate": "when",
    "when": "when",
    "who to contact": "who",
    "who": "who",
    "contact": "who",
    "what to provide": "what",
    "what": "what",
}


def _norm(text: str) -> str:
    text = re.sub(r"^[\d.\s]+", "", plain(text).lower())
    return re.sub(r"[^a-z ]+", "", text.replace("-", " ")).strip()


@dataclass
class _StepBuilder:
    number: int
    title: str
    line: int
    text: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    verification: list[str] = field(default_factory=list)
    mode: str = "text"

    def add_text(self, block: Block) -> None:
        content = _CHECKBOX.sub("", block.text)
        match = _FIELD.match(plain(content))
        label = _STEP_LABELS.get(match.group(1).strip().lower()) if match else None
        if match and label:
            self.mode = label
            rest = match.group(2).strip()
            if rest and label == "verification":
                self.verification.append(rest)
            elif rest:
                self.text.append(rest)
            return
        if not content:
            return
        checklist = block.text != content
        if self.mode == "verification" or (checklist and block.kind == "item"):
            self.verification.append(content)
        else:
            self.text.append(content)

    def build(self) -> Step:
        return Step(
            number=self.number,
            title=self.title,
            line=self.line,
            text=self.text,
            commands=self.commands,
            verification=self.verification,
        )


def parse_entries(text: str, path: str) -> list[tuple[Runbook | None, list[Problem]]]:
    """Every entry of one file, each with the problems found in it."""
    return [parse_runbook(chunk, path, first) for first, chunk in split_entries(text)]


def _title(text: str, values: dict[str, Any]) -> str:
    """The title, with header fields written on the same line moved to ``values``."""
    parts = INLINE_HEADER.split(text)
    for name, value in zip(parts[1::2], parts[2::2], strict=True):
        values.setdefault(_HEADER_FIELDS[name.lower()], value.strip())
    return parts[0].strip()


class _Reader:
    """Reads one entry's blocks in order, section by section, into fields and steps."""

    def __init__(self, blocks: list[Block]) -> None:
        self.values: dict[str, Any] = {"lists": {}, "escalation": {}, "linked": []}
        self.lines: dict[str, int] = {}
        self.title: re.Match[str] | None = None
        self.section = "header"
        self.steps: list[_StepBuilder] = []
        self.step_headings = any(
            b.kind == "heading" and _STEP.match(plain(b.text)) and not _TITLE.match(b.text)
            for b in blocks
        )
        for block in blocks:
            if block.kind == "heading":
                self._heading(block)
            elif block.kind == "fence":
                if self.section == "procedure" and self.steps:
                    command = Command(language=block.info, code=block.text, line=block.line)
                    self.steps[-1].commands.append(command)
            else:
                self._line(block)

    def _step(self, match: re.Match[str], line: int) -> None:
        self.steps.append(_StepBuilder(int(match.group(1)), match.group(2).strip(), line))

    def _heading(self, block: Block) -> None:
        heading = plain(block.text)
        if self.title is None and (m := _TITLE.match(heading)):
            self.title = m
            self.lines["title"] = block.line
            return
        if self.section == "procedure" and (m := _STEP.match(heading)):
            self._step(m, block.line)
            return
        key = _SECTIONS.get(_norm(heading))
        if key is not None:
            self.section = key
            self.lines.setdefault(key, block.line)
        elif self.section == "procedure" and self.steps:
            self.steps[-1].text.append(heading)
        elif m := _STEP.match(heading):  # steps before any Procedure heading
            self.section = "procedure"
            self.lines.setdefault("procedure", block.line)
            self._step(m, block.line)
        else:
            self.section = "other"

    def _line(self, block: Block) -> None:
        content = plain(_CHECKBOX.sub("", block.text))
        if not content:
            return
        if self.title is None and self.section == "header" and (m := _TITLE.match(content)):
            self.title = m
            self.lines["title"] = block.line
            return
        field = _FIELD.match(content)
        key = _HEADER_FIELDS.get(field.group(1).strip().lower()) if field else None
        if key == "linked" and field:
            self.values["linked"] += _LINKED_ID.findall(field.group(2).upper())
            self.lines.setdefault("linked", block.line)
        elif self.section == "header":
            if key and field:
                value = field.group(2).strip()
                self.values[key] = "" if is_unfilled(value) else value
                self.lines[key] = block.line
        elif self.section == "procedure":
            self._procedure_line(block, content)
        elif self.section == "escalation":
            who = _ESCALATION_KEYS.get(field.group(1).strip().lower()) if field else None
            if who and field:
                self.values["escalation"][who] = field.group(2).strip()
            else:
                self.values["escalation"].setdefault("other", []).append(content)
        elif self.section == "linked":
            self.values["linked"] += _LINKED_ID.findall(content.upper())
        else:
            self.values["lists"].setdefault(self.section, []).append((content, block.line))

    def _procedure_line(self, block: Block, content: str) -> None:
        """Without "Step N" headings, each top-level numbered item is a step."""
        starts_step = block.kind == "item" and block.depth == 1 and block.ordered
        if not self.step_headings and starts_step:
            title, _, rest = content.partition(": ")
            step = _StepBuilder(len(self.steps) + 1, title.strip() if rest else content, block.line)
            if rest:
                step.text.append(rest.strip())
            self.steps.append(step)
        elif self.steps:
            self.steps[-1].add_text(block)

    def items(self, section: str) -> list[str]:
        return [c for c, _ in self.values["lists"].get(section, [])]

    def scope(self) -> tuple[list[str], list[str]]:
        """Scope's "Handles:" and "Does not handle:" lists."""
        handles: list[str] = []
        not_handles: list[str] = []
        for content, _line in self.values["lists"].get("scope", []):
            match = _FIELD.match(content)
            label = match.group(1).strip().lower() if match else ""
            target = (
                not_handles if "not" in label else handles if label.startswith("handle") else None
            )
            if target is not None and match:
                target.append(match.group(2).strip())
            elif not_handles or handles:
                (not_handles or handles).append(content)
        return handles, not_handles


def _category(reader: _Reader, path: str, problems: list[Problem]) -> str:
    category = re.sub(r"\s*\(.*$", "", reader.values.get("category", "")).strip()
    if category and category.title() not in CATEGORIES:
        message = f"{category!r} is not one of {', '.join(CATEGORIES)}"
        problems.append(Problem(path, reader.lines.get("category"), "Category", message))
    return category.title() if category else ""


def _last_tested(reader: _Reader, path: str, problems: list[Problem]) -> date | None:
    raw_date = reader.values.get("last_tested")
    if not raw_date:
        return None
    try:
        return date.fromisoformat(raw_date.split()[0])
    except ValueError:
        message = f"{raw_date!r} is not a date (YYYY-MM-DD)"
        problems.append(Problem(path, reader.lines.get("last_tested"), "Last Tested", message))
        return None


def parse_runbook(
    text: str, path: str, first_line: int = 1
) -> tuple[Runbook | None, list[Problem]]:
    """One entry's markdown -> (Runbook or None if it has no RUN- title, problems found)."""
    problems: list[Problem] = []
    reader = _Reader(blocks(ESCAPED_FENCE.sub(r"\1```", text), first_line))
    if reader.title is None:
        problems.append(
            Problem(path, first_line, "title", 'no "RUN-nnn: Title" line (with or without "#")')
        )
        return None, problems
    run_id = reader.title.group(1).upper()
    if len(run_id) > 4 + 9:
        problems.append(
            Problem(path, reader.lines["title"], "title", f"{run_id[:16]}...: id too long")
        )
        return None, problems
    values = reader.values
    title = _title(reader.title.group(2), values)
    category = _category(reader, path, problems)
    last_tested = _last_tested(reader, path, problems)
    handles, not_handles = reader.scope()
    runbook = Runbook(
        id=run_id,
        number=int(run_id.split("-")[1]),
        title=title,
        path=path,
        category=category,
        trigger=values.get("trigger", ""),
        owner=values.get("owner", ""),
        last_tested=last_tested,
        alerts=[a.strip() for a in values.get("alerts", "").split(",") if a.strip()],
        symptoms=[s.strip() for s in values.get("symptoms", "").split(";") if s.strip()]
        + reader.items("symptoms"),
        scope_handles=handles,
        scope_not_handles=not_handles,
        prerequisites=reader.items("prerequisites"),
        steps=[s.build() for s in reader.steps],
        do_not=reader.items("do_not"),
        escalation=Escalation(**values["escalation"]),
        post_incident=reader.items("post_incident"),
        linked_ids=list(dict.fromkeys(values["linked"])),
        lines=reader.lines,
        source=text,
        first_line=first_line,
    )
    return runbook, problems


def referenced_runbooks(runbook: Runbook) -> set[str]:
    """Every RUN- id the entry points at: ``see RUN-010`` in any text, and Linked IDs."""
    texts = [*runbook.scope_handles, *runbook.scope_not_handles, *runbook.do_not]
    texts += [runbook.escalation.when, runbook.escalation.who, *runbook.escalation.other]
    for step in runbook.steps:
        texts += step.text + step.verification
    found = {m.upper() for t in texts for m in _RUN_ID.findall(t)}
    found |= {i for i in runbook.linked_ids if i.startswith("RUN-")}
    found.discard(runbook.id)
    return found
