"""A runbook step filled for the alerts it is shown for: Slack and the pages both call it.

Prose (the title, the text, the verification checklist) is filled as text;
commands are filled for the shell (``placeholders.fill(..., quote=True)``).
With several alerts (the alerts of one message):

- a command is shown once per distinct filling, the first ``limit`` of them,
  and ``more`` counts the rest (they are on the alert page);
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
from router.runbooks.placeholders import fill_for, fillings

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
        every = fillings(command.code, label_sets, quote=True)
        commands.append(
            FilledCommand(
                language=command.language,
                fillings=every[:limit],
                more=max(len(every) - limit, 0),
            )
        )
    return FilledStep(
        number=step.number,
        title=prose(step.title),
        text=[prose(t) for t in step.text],
        commands=commands,
        verification=[prose(v) for v in step.verification],
    )
