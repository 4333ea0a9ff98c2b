"""``lint``: runbook quality, strict where the parser is tolerant.

One finding per line, ``file:line: RULE-ID message``. Errors fail the run;
warnings (a stale Last Tested) fail it only with ``--strict``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from router.runbooks.catalog import FolderScan, read_folder
from router.runbooks.model import Runbook
from router.runbooks.placeholders import malformed
from router.runbooks.template import UNFILLED

MAX_STEPS = 25
_RUN_REF = re.compile(r"\bRUN-\d+\b", re.IGNORECASE)
# A step that tells you to run something should show the command.
_RUN_WORDS = re.compile(
    r"\b(run|execute|restart|scale|apply|exec|rollout|drain|cordon|uncordon|flush|rotate|revoke|"
    r"terminate|promote|kubectl|psql|curl|redis-cli|helm|systemctl|ssh)\b",
    re.IGNORECASE,
)
_VAGUE = re.compile(
    r"^(investigate|debug|troubleshoot|look into|check)( (it|this|the (issue|problem|alert)))?$"
)
RULES = {
    "RB001": "the file does not parse as a runbook",
    "RB002": "no Owner",
    "RB003": "no Last Tested date",
    "RB004": "Last Tested is stale",
    "RB005": "Scope has no Handles",
    "RB006": "Scope has no Does NOT handle",
    "RB007": "no Escalation (when and who)",
    "RB008": "no Procedure steps",
    "RB009": "more than 25 steps",
    "RB010": "a step has no Verification",
    "RB011": "a step says to run something but shows no command",
    "RB012": "a step only says to investigate",
    "RB013": "a RUN- reference that does not exist",
    "RB014": "the ID is used by another file",
    "RB015": "the file name does not start with the ID",
    "RB016": "a malformed label placeholder",
    "RB017": "template text left unfilled (TODO)",
}
WARNINGS = {"RB004"}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    message: str

    @property
    def severity(self) -> str:
        return "warning" if self.rule in WARNINGS else "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule} {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"severity": self.severity}


@dataclass(frozen=True)
class Report:
    runbooks: int
    findings: list[Finding]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    def summary(self) -> str:
        return f"{self.runbooks} runbooks: {self.errors} error(s), {self.warnings} warning(s)"


def _normal(text: str) -> str:
    return re.sub(r"[^a-z ]+", "", text.lower()).strip()


def _texts(rb: Runbook) -> Iterator[tuple[str, int]]:
    """Every text that may say "see RUN-xxx", with the line it is near."""
    lines = rb.lines
    for text in (*rb.scope_handles, *rb.scope_not_handles):
        yield text, lines.get("scope", 1)
    for text in rb.do_not:
        yield text, lines.get("do_not", 1)
    esc = rb.escalation
    for text in (esc.when, esc.who, esc.what, *esc.other):
        yield text, lines.get("escalation", 1)
    for step in rb.steps:
        for text in (step.title, *step.text, *step.verification):
            yield text, step.line
    for linked in rb.linked_ids:
        yield linked, lines.get("linked", 1)


def _check_steps(rb: Runbook, file: str) -> list[Finding]:
    """Each step verifiable, with a command where it says to run one, and specific."""
    out: list[Finding] = []

    def add(line: int, rule: str, message: str) -> None:
        out.append(Finding(file, line, rule, message))

    for step in rb.steps:
        name = f"Step {step.number}"
        if not step.verification:
            add(step.line, "RB010", f"{name} has no Verification: how do you know it worked?")
        said = " ".join([step.title, *step.text])
        if not step.commands and (match := _RUN_WORDS.search(_RUN_REF.sub("", said))):
            add(step.line, "RB011", f"{name} says {match.group(0)!r} but has no command block")
        if not step.commands and _VAGUE.match(_normal(said)):
            add(
                step.line,
                "RB012",
                f"{name} only says {said.strip()!r}; say what to look at and how",
            )
    return out


def _check_placeholders(rb: Runbook, file: str) -> list[Finding]:
    """Each label placeholder written so that it fills, wherever in the entry it stands.

    The entry's markdown is read as written, so the line is the file's line, also
    inside a command block; the parser keeps the text, which shows unfilled.
    """
    return [
        Finding(
            file,
            rb.first_line + found.line - 1,
            "RB016",
            f"{found.text!r} is not a label placeholder; write {{{{ $labels.NAME }}}}",
        )
        for found in malformed(rb.source)
    ]


def _unfilled(rb: Runbook, file: str) -> list[Finding]:
    """Every line still saying TODO, as ``new`` wrote it or as someone left it."""
    return [
        Finding(file, rb.first_line + n, "RB017", f"unfilled: {text.strip()[:100]!r}")
        for n, text in enumerate(rb.source.splitlines())
        if UNFILLED.search(text)
    ]


def check(
    rb: Runbook,
    file: str,
    known: set[int],
    today: date,
    stale_after_days: int,
    *,
    check_name: bool = True,
) -> list[Finding]:
    """One entry's findings; ``check_name``: the file holds only this entry (RB015)."""
    out: list[Finding] = []
    lines = rb.lines
    head = lines.get("title", 1)

    def add(line: int, rule: str, message: str) -> None:
        out.append(Finding(file, line, rule, message))

    if not rb.owner:
        add(head, "RB002", "no Owner: line; who keeps this runbook true?")
    if rb.last_tested is None:
        if "last_tested" not in lines:  # an unreadable date is RB001 already
            add(head, "RB003", "no Last Tested: line (YYYY-MM-DD)")
    elif (age := (today - rb.last_tested).days) > stale_after_days:
        add(
            lines.get("last_tested", head),
            "RB004",
            f"Last Tested {rb.last_tested} is {age} days old (limit {stale_after_days})",
        )
    if not rb.scope_handles:
        add(lines.get("scope", head), "RB005", "Scope has no **Handles**: line")
    if not rb.scope_not_handles:
        add(lines.get("scope", head), "RB006", "Scope has no **Does NOT handle**: line")
    if not (rb.escalation.when and (rb.escalation.who or rb.escalation.other)):
        add(
            lines.get("escalation", head),
            "RB007",
            "Escalation needs When to escalate and Who to contact",
        )
    if not rb.steps:
        add(
            lines.get("procedure", head), "RB008", "no steps: add '### Step 1: ...' under Procedure"
        )
    if len(rb.steps) > MAX_STEPS:
        add(
            rb.steps[MAX_STEPS].line,
            "RB009",
            f"{len(rb.steps)} steps; split it (at most {MAX_STEPS})",
        )
    out += _check_steps(rb, file)
    out += _check_placeholders(rb, file)
    for text, line in _texts(rb):
        for ref in _RUN_REF.findall(text):
            if int(ref.split("-")[1]) not in known:
                add(line, "RB013", f"{ref.upper()} does not exist")
    out += _unfilled(rb, file)
    stem = Path(file).name.upper()
    named = stem == f"{rb.id}.MD" or stem.startswith((f"{rb.id}-", f"{rb.id}_"))
    if check_name and not named:
        add(head, "RB015", f"file name should start with {rb.id} (e.g. {rb.id}-short-title.md)")
    return out


def lint_scan(scan: FolderScan, today: date, stale_after_days: int) -> Report:
    """Findings for a folder already read (``read_folder``)."""
    findings = [
        Finding(p.file, p.line or 1, "RB001", f"{p.key}: {p.message}" if p.key else p.message)
        for p in scan.problems
    ]
    per_file = Counter(str(path) for path, _ in scan.entries)
    first: dict[int, str] = {}
    for path, rb in scan.entries:
        if rb.number in first:
            findings.append(
                Finding(
                    str(path),
                    rb.lines.get("title", 1),
                    "RB014",
                    f"{rb.id} is also in {first[rb.number]}",
                )
            )
        else:
            first[rb.number] = str(path)
    known = set(first)
    for path, rb in scan.entries:
        one_entry = per_file[str(path)] == 1
        findings += check(rb, str(path), known, today, stale_after_days, check_name=one_entry)
    findings.sort(key=lambda f: (f.file, f.line, f.rule))
    return Report(len(scan.entries), findings)


def lint_folder(folder: str | Path, today: date, stale_after_days: int) -> Report:
    return lint_scan(read_folder(folder), today, stale_after_days)
