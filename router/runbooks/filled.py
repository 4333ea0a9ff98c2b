"""A runbook step filled for the alerts it is shown for: Slack and the pages both call it.

Prose (the title, the text, the verification checklist) is filled as text;
commands are filled for the shell (``placeholders.fill(..., quote=True)``).
With several alerts (the alerts of one message):

- a command is shown once per distinct filling, the first ``limit`` of them,
  and ``more`` counts the rest (they are on the alert page). In a block of
  several commands where only some name a label, only those lines repeat, in
  place (``kubectl exec pod-0 …``, ``kubectl exec pod-1 …``, then the shared
  ``psql …`` once); a block whose every command names one repeats whole, its
  commands kept together per alert;
- prose names each placeholder's distinct values (``node-a, node-b``), so it
  reads true for every command below it.

With no alerts (``/runbook RUN-001``) the step is as written; a label an alert
lacks stays visibly unfilled. Nothing is escaped here: callers escape for Slack
or HTML, after filling, so no value can form a mention, a link or markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from router.runbooks.model import Step
from router.runbooks.placeholders import PLACEHOLDER, fill_for, fillings

MAX_FILLINGS = 3
"""Distinct fillings of one command shown where space is short (Slack)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class FilledCommand(_Frozen):
    language: str = ""
    fillings: list[str]
    """Each distinct filling, in the alerts' order, at most ``limit`` of them."""
    more: int = 0
    """Distinct fillings left out."""


class FilledStep(_Frozen):
    number: int
    title: str
    text: list[str]
    commands: list[FilledCommand]
    verification: list[str]


def filled_step(
    step: Step, label_sets: Sequence[Mapping[str, str]], *, limit: int = MAX_FILLINGS
) -> FilledStep:
    """``step`` filled from these alerts' labels (one mapping per alert, in order)."""

    def prose(text: str) -> str:
        return fill_for(text, label_sets, limit=limit)

    commands = []
    for command in step.commands:
        shown, more = _fill_command(command.code, label_sets, limit)
        commands.append(FilledCommand(language=command.language, fillings=shown, more=more))
    return FilledStep(
        number=step.number,
        title=prose(step.title),
        text=[prose(t) for t in step.text],
        commands=commands,
        verification=[prose(v) for v in step.verification],
    )


def _commands(code: str) -> list[str]:
    """The block's commands, a line each, a line ending in ``\\`` joined to the next."""
    out: list[str] = []
    pending = ""
    for line in code.split("\n"):
        pending = f"{pending}\n{line}" if pending else line
        if not line.endswith("\\"):
            out.append(pending)
            pending = ""
    return [*out, pending] if pending else out


def _fill_command(
    code: str, label_sets: Sequence[Mapping[str, str]], limit: int
) -> tuple[list[str], int]:
    """The block's fillings to show, and how many distinct ones are left out."""
    body = code.rstrip("\n")
    lines = _commands(body)
    naming = [bool(PLACEHOLDER.search(line)) for line in lines]
    commands = [names for line, names in zip(lines, naming, strict=True) if line.strip()]
    if len(label_sets) < 2 or all(commands) or not any(commands):
        every = fillings(code, label_sets, quote=True)
        return every[:limit], max(len(every) - limit, 0)
    out: list[str] = []
    more = 0
    for line, names in zip(lines, naming, strict=True):
        every = fillings(line, label_sets, quote=True) if names else [line]
        out += every[:limit]
        more = max(more, len(every) - limit)
    return ["\n".join(out) + code[len(body) :]], more
