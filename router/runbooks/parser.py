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

from markdown_it import MarkdownIt

from router.errors import Problem
from router.runbooks.model import CATEGORIES, Command, Escalation, Runbook, Step

_MD = MarkdownIt("commonmark")
_TITLE = re.compile(r"^\s*(RUN-\d+)\s*[:\-–—]\s*(.+?)\s*$", re.IGNORECASE)
# Where an entry starts in a file: its title line, as a heading or a plain line.
_TITLE_LINE = re.compile(r"^ {0,3}(#{1,6}\s+)?(\*\*|__)?RUN-\d+\s*[:\-–—]\s*\S", re.IGNORECASE)
_HEADER_LINE = re.compile(
    r"^\s*([-*]\s+)?(\*\*)?(category|trigger|owner|last tested)(\*\*)?\s*:", re.IGNORECASE
)
_INLINE_HEADER = re.compile(r"\s+(Category|Trigger|Owner|Last Tested|Alerts)\s*:\s*")
_SEPARATOR = re.compile(r"^ {0,3}-{3,}\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ESCAPED_FENCE = re.compile(r"^( {0,3})\\`\\`\\`", re.MULTILINE)
_STEP = re.compile(r"^\s*step\s*(\d+)\s*[:.)\-–—]?\s*(.*)$", re.IGNORECASE)
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z /-]{1,30}?)\s*:\s*(.*)$")
_CHECKBOX = re.compile(r"^\[[ xX]\]\s*")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
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


@dataclass
class _Block:
    kind: str  # heading | line | item | fence
    text: str
    line: int
    depth: int = 0  # list nesting (0 = not in a list)
    ordered: bool = False
    level: int = 0  # heading level
    info: str = ""  # fence language


def plain(text: str) -> str:
    """Drop bold markers; keep everything else as written."""
    return _EMPHASIS.sub(r"\2", text).strip()


def _norm(text: str) -> str:
    text = re.sub(r"^[\d.\s]+", "", plain(text).lower())
    return re.sub(r"[^a-z ]+", "", text.replace("-", " ")).strip()


def _blocks(text: str, first_line: int = 1) -> list[_Block]:
    out: list[_Block] = []
    lists: list[bool] = []  # ordered? per open list
    item_fresh = False  # the next inline is the first paragraph of a list item
    heading_level = 0
    for tok in _MD.parse(text):
        line = tok.map[0] + first_line if tok.map else 0
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            lists.append(tok.type == "ordered_list_open")
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif tok.type == "list_item_open":
            item_fresh = True
        elif tok.type == "heading_open":
            heading_level = int(tok.tag[1])
        elif tok.type == "heading_close":
            heading_level = 0
        elif tok.type in ("fence", "code_block"):
            out.append(_Block("fence", tok.content, line, len(lists), info=tok.info.strip()))
        elif tok.type == "inline":
            if heading_level:
                out.append(_Block("heading", tok.content.strip(), line, level=heading_level))
                continue
            for offset, part in enumerate(tok.content.split("\n")):
                kind = "item" if item_fresh and offset == 0 else "line"
                ordered = bool(lists) and lists[-1]
                out.append(_Block(kind, part.strip(), line + offset, len(lists), ordered))
            item_fresh = False
    return out


@dataclass
class _StepBuilder:
    number: int
    title: str
    line: int
    text: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    verification: list[str] = field(default_factory=list)
    mode: str = "text"

    def add_text(self, block: _Block) -> None:
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


def _starts_entry(lines: list[str], i: int) -> bool:
    """A title line starts an entry when it is a heading, follows ``---`` or the top of
    the file, or has the entry's header fields (Category, Owner, ...) right after it."""
    line = lines[i]
    if not _TITLE_LINE.match(line):
        return False
    if line.lstrip().startswith("#") or _INLINE_HEADER.search(line):
        return True
    before = [ln for ln in lines[:i] if ln.strip()]
    if not before or _SEPARATOR.match(before[-1]):
        return True
    after = [ln for ln in lines[i + 1 : i + 8] if ln.strip()][:3]
    return any(_HEADER_LINE.match(ln) for ln in after)


def split_entries(text: str) -> list[tuple[int, str]]:
    """The entries of one file as (first line number, markdown); the whole text if none."""
    text = _ESCAPED_FENCE.sub(r"\1```", text)
    lines = text.split("\n")
    starts: list[int] = []
    fence = ""
    for i, line in enumerate(lines):
        if match := _FENCE.match(line):
            marker = match.group(1)
            if not fence:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = ""
            continue
        if not fence and _starts_entry(lines, i):
            starts.append(i)
    if not starts:
        return [(1, text)]
    entries = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        while end > start + 1 and (not lines[end - 1].strip() or _SEPARATOR.match(lines[end - 1])):
            end -= 1
        entries.append((start + 1, "\n".join(lines[start:end]) + "\n"))
    return entries


def parse_entries(text: str, path: str) -> list[tuple[Runbook | None, list[Problem]]]:
    """Every entry of one file, each with the problems found in it."""
    return [parse_runbook(chunk, path, first) for first, chunk in split_entries(text)]


def _title(text: str, values: dict[str, Any]) -> str:
    """The title, with header fields written on the same line moved to ``values``."""
    parts = _INLINE_HEADER.split(text)
    for name, value in zip(parts[1::2], parts[2::2], strict=True):
        values.setdefault(_HEADER_FIELDS[name.lower()], value.strip())
    return parts[0].strip()


def parse_runbook(
    text: str, path: str, first_line: int = 1
) -> tuple[Runbook | None, list[Problem]]:
    """One entry's markdown -> (Runbook or None if it has no RUN- title, problems found)."""
    problems: list[Problem] = []
    blocks = _blocks(_ESCAPED_FENCE.sub(r"\1```", text), first_line)
    values: dict[str, Any] = {"lists": {}, "escalation": {}, "linked": []}
    lines: dict[str, int] = {}
    title_match = None
    section = "header"
    steps: list[_StepBuilder] = []
    has_step_headings = any(
        b.kind == "heading" and _STEP.match(plain(b.text)) and not _TITLE.match(b.text)
        for b in blocks
    )

    for block in blocks:
        if block.kind == "heading":
            heading = plain(block.text)
            if title_match is None and (m := _TITLE.match(heading)):
                title_match = m
                lines["title"] = block.line
                continue
            if section == "procedure" and (m := _STEP.match(heading)):
                steps.append(_StepBuilder(int(m.group(1)), m.group(2).strip(), block.line))
                continue
            key = _SECTIONS.get(_norm(heading))
            if key is not None:
                section = key
                lines.setdefault(key, block.line)
            elif section == "procedure" and steps:
                steps[-1].text.append(heading)
            elif m := _STEP.match(heading):  # steps before any Procedure heading
                section = "procedure"
                lines.setdefault("procedure", block.line)
                steps.append(_StepBuilder(int(m.group(1)), m.group(2).strip(), block.line))
            else:
                section = "other"
            continue

        if block.kind == "fence":
            if section == "procedure" and steps:
                steps[-1].commands.append(
                    Command(language=block.info, code=block.text, line=block.line)
                )
            continue

        content = plain(_CHECKBOX.sub("", block.text))
        if not content:
            continue
        if title_match is None and section == "header" and (m := _TITLE.match(content)):
            title_match = m
            lines["title"] = block.line
            continue
        field_match = _FIELD.match(content)
        field_key = (
            _HEADER_FIELDS.get(field_match.group(1).strip().lower()) if field_match else None
        )

        if field_key == "linked" and field_match:
            values["linked"] += _LINKED_ID.findall(field_match.group(2).upper())
            lines.setdefault("linked", block.line)
            continue
        if section == "header":
            if field_key and field_match:
                values[field_key] = field_match.group(2).strip()
                lines[field_key] = block.line
            continue
        if section == "procedure":
            starts_step = block.kind == "item" and block.depth == 1 and block.ordered
            if not has_step_headings and starts_step:
                number = len(steps) + 1
                title, _, rest = content.partition(": ")
                step = _StepBuilder(number, title.strip() if rest else content, block.line)
                if rest:
                    step.text.append(rest.strip())
                steps.append(step)
            elif steps:
                steps[-1].add_text(block)
            continue
        if section == "escalation":
            key = (
                _ESCALATION_KEYS.get(field_match.group(1).strip().lower()) if field_match else None
            )
            if key and field_match:
                values["escalation"][key] = field_match.group(2).strip()
            else:
                values["escalation"].setdefault("other", []).append(content)
            continue
        if section == "linked":
            values["linked"] += _LINKED_ID.findall(content.upper())
            continue
        values["lists"].setdefault(section, []).append((content, block.line))

    if title_match is None:
        problems.append(
            Problem(path, first_line, "title", 'no "RUN-nnn: Title" line (with or without "#")')
        )
        return None, problems

    run_id = title_match.group(1).upper()
    if len(run_id) > 4 + 9:
        problems.append(Problem(path, lines["title"], "title", f"{run_id[:16]}...: id too long"))
        return None, problems
    title = _title(title_match.group(2), values)
    category = re.sub(r"\s*\(.*$", "", values.get("category", "")).strip()
    if category and category.title() not in CATEGORIES:
        problems.append(
            Problem(
                path,
                lines.get("category"),
                "Category",
                f"{category!r} is not one of {', '.join(CATEGORIES)}",
            )
        )
    last_tested = None
    if raw_date := values.get("last_tested"):
        try:
            last_tested = date.fromisoformat(raw_date.split()[0])
        except ValueError:
            problems.append(
                Problem(
                    path,
                    lines.get("last_tested"),
                    "Last Tested",
                    f"{raw_date!r} is not a date (YYYY-MM-DD)",
                )
            )

    scope_handles: list[str] = []
    scope_not: list[str] = []
    for content, _line in values["lists"].get("scope", []):
        match = _FIELD.match(content)
        label = match.group(1).strip().lower() if match else ""
        target = (
            scope_not if "not" in label else scope_handles if label.startswith("handle") else None
        )
        if target is not None and match:
            target.append(match.group(2).strip())
        elif scope_not or scope_handles:
            (scope_not or scope_handles).append(content)

    def items(section_key: str) -> list[str]:
        return [c for c, _ in values["lists"].get(section_key, [])]

    runbook = Runbook(
        id=run_id,
        number=int(run_id.split("-")[1]),
        title=title,
        path=path,
        category=category.title() if category else "",
        trigger=values.get("trigger", ""),
        owner=values.get("owner", ""),
        last_tested=last_tested,
        alerts=[a.strip() for a in values.get("alerts", "").split(",") if a.strip()],
        symptoms=[s.strip() for s in values.get("symptoms", "").split(";") if s.strip()]
        + items("symptoms"),
        scope_handles=scope_handles,
        scope_not_handles=scope_not,
        prerequisites=items("prerequisites"),
        steps=[s.build() for s in steps],
        do_not=items("do_not"),
        escalation=Escalation(**values["escalation"]),
        post_incident=items("post_incident"),
        linked_ids=list(dict.fromkeys(values["linked"])),
        lines=lines,
        source=text,
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
