"""Who is on call now, for a message about to be sent: cached, never waited on long.

A message's mention or an escalation's target asks for ``oncall:NAME``. A rotation
is computed at once. PagerDuty's answer (``GET /oncalls``, then each user's email
through Slack's ``users.lookupByEmail``) is looked up on threads of this module's
own, since PagerDuty or Slack can be slow or down and a message must not wait for
them: whoever asks gets what is cached at once, waits at most ``wait`` seconds for
what is not, and otherwise gets the schedule named in words. An answer is kept for
``ttl`` and never past the end of the shift it names (a stale one is used while it
is looked up again, until that end); a failed lookup is not tried again for
``retry`` seconds, so an outage costs a call per schedule every ``retry`` seconds,
and the schedule's name, once PagerDuty said it, is kept for the words.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from router.clock import Clock
from router.config import OnCallEntry, OnCallRotation
from router.errors import DeliveryError
from router.notifiers import Notifier
from router.notifiers.pagerduty import PagerDuty
from router.oncall import REFERENCE
from router.oncall.rotation import shift_at
from router.render.blocks import duration, slack_date
from router.render.mrkdwn import escape

log = logging.getLogger("router.oncall")

Key = tuple[str, str]
"""("schedule" | "escalation_policy", PagerDuty ID): what one lookup asks PagerDuty."""


@dataclass(frozen=True)
class Person:
    name: str
    """As PagerDuty names them; a rotation's Slack user ID."""
    slack_id: str | None = None


@dataclass(frozen=True)
class OnCallNow:
    """The answer for one ``oncall:`` entry, as good as it could be had just now."""

    name: str
    source: str
    """Where it comes from, in words: ``PagerDuty schedule "Database"``, ``rotation ...``."""
    people: tuple[Person, ...] = ()
    until: float | None = None
    """When the shift ends (the next handoff); None if PagerDuty gives no end."""
    failed: str | None = None
    """Why nobody is named (PagerDuty did not answer, nobody is on call, not started)."""

    def words(self) -> str:
        return f"whoever is on call for {escape(self.name)} ({escape(self.source)})"

    def mention(self) -> str:
        """``<@U…>`` for each person Slack knows, the name of each it does not; the
        words when nobody is known."""
        if not self.people:
            return self.words()
        return ", ".join(f"<@{p.slack_id}>" if p.slack_id else escape(p.name) for p in self.people)

    def detail(self) -> str:
        """The mention with whose shift it is and until when, for a thread reply."""
        if not self.people:
            return self.words()
        until = f" until {slack_date(self.until)}" if self.until else ""
        return f"{self.mention()} (on call for {escape(self.name)}{until})"


@dataclass
class _Found:
    people: tuple[Person, ...]
    until: float | None
    fresh_until: float
    failed: str | None = None
    label: str | None = None
    """The schedule's (or policy's) name, as PagerDuty said it last."""


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)


def _every(seconds: float) -> str:
    for unit, name in ((604800, "week"), (86400, "day"), (3600, "hour")):
        if seconds % unit == 0:
            n = int(seconds // unit)
            return f"every {name}" if n == 1 else f"every {n} {name}s"
    return f"every {duration(seconds)}"


def rotation_now(name: str, rotation: OnCallRotation, now: float) -> OnCallNow:
    start = rotation.start
    source = f"rotation, {_every(rotation.every)} from {start:%Y-%m-%d %H:%M} {start.tzinfo}"
    shift = shift_at(start, rotation.every, rotation.people, now)
    if shift is None:
        starts = slack_date(start.timestamp())
        return OnCallNow(name, source, failed=f"the rotation starts {starts}")
    return OnCallNow(name, source, (Person(shift.person, shift.person),), shift.end)


def _key(entry: OnCallEntry) -> Key | None:
    pd = entry.pagerduty
    if pd is None:
        return None
    if pd.schedule:
        return ("schedule", pd.schedule)
    return ("escalation_policy", pd.escalation_policy or "")


def _source(key: Key, label: str | None) -> str:
    kind = "schedule" if key[0] == "schedule" else "escalation policy"
    return f'PagerDuty {kind} "{label}" ({key[1]})' if label else f"PagerDuty {kind} {key[1]}"


class OnCall:
    """``oncall:NAME`` -> the person on call now, for the entries of the current routes."""

    def __init__(
        self,
        entries: Callable[[], Mapping[str, OnCallEntry]],
        pagerduty: PagerDuty | None,
        notifier: Notifier,
        clock: Clock,
        *,
        ttl: float = 60.0,
        retry: float = 30.0,
        wait: float = 1.0,
        email_ttl: float = 6 * 3600.0,
        workers: int = 2,
    ) -> None:
        self.entries = entries
        self.pagerduty = pagerduty
        self.notifier = notifier
        self.clock = clock
        self.ttl = ttl
        self.retry = retry
        self.wait = wait
        self.email_ttl = email_ttl
        self._workers = workers
        self._found: dict[Key, _Found] = {}
        self._emails: dict[str, tuple[str | None, float]] = {}  # email -> (Slack ID, until)
        self._pending: dict[Key, _Pending] = {}
        self._queue: queue.SimpleQueue[Key] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = False

    # -- what delivery and /runbook ask -------------------------------------------

    def now(self, name: str) -> OnCallNow:
        return self.lookup([name])[name]

    def lookup(self, names: Iterable[str], *, wait: float | None = None) -> dict[str, OnCallNow]:
        """Each entry's answer, waiting at most ``wait`` (once, for all) for lookups."""
        entries = self.entries()
        now = self.clock.now()
        wanted = list(dict.fromkeys(names))
        waiting = []
        for name in wanted:
            entry = entries.get(name)
            key = _key(entry) if entry is not None else None
            if key is not None and (event := self._ask(key, now)) is not None:
                waiting.append(event)
        deadline = time.monotonic() + (self.wait if wait is None else wait)
        for event in waiting:
            event.wait(max(0.0, deadline - time.monotonic()))
        return {name: self._answer(name, entries.get(name), self.clock.now()) for name in wanted}

    def mention(self, text: str | None, *, detail: bool = False) -> str | None:
        """``text`` with each ``oncall:NAME`` as the person on call now (else in words)."""
        return self.resolve([text], detail=detail)[0]

    def resolve(
        self, texts: Sequence[str | None], *, detail: bool = False, wait: float | None = None
    ) -> list[str | None]:
        """``mention`` for several texts, with one wait for all their lookups (``wait=0``:
        what is cached, for a page)."""
        names = [n for text in texts for n in REFERENCE.findall(text or "")]
        if not names:
            return list(texts)
        answers = self.lookup(names, wait=wait)

        def shown(m: re.Match[str]) -> str:
            answer = answers[m.group(1)]
            return answer.detail() if detail else answer.mention()

        return [REFERENCE.sub(shown, text) if text else text for text in texts]

    def prefetch(self) -> None:
        """Look up every PagerDuty entry whose answer is due, without waiting: a chore,
        so that a message finds its answer cached."""
        now = self.clock.now()
        for entry in self.entries().values():
            if (key := _key(entry)) is not None:
                self._ask(key, now, ahead=self.ttl / 2)

    # -- the cache ------------------------------------------------------------------

    def _ask(self, key: Key, now: float, ahead: float = 0.0) -> threading.Event | None:
        """Queue a lookup unless the answer is fresh (``ahead`` seconds from now, for an
        answer; a failure waits its ``retry``); the event to wait on when no usable
        answer is cached (None: use what is there)."""
        with self._lock:
            found = self._found.get(key)
            if found is not None and found.fresh_until > now + (0 if found.failed else ahead):
                return None
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = _Pending()
                self._queue.put(key)
                self._start()
            usable = (
                found is not None
                and found.failed is None
                and (found.until is None or found.until > self.clock.now())
            )
            return None if usable else pending.done

    def _answer(self, name: str, entry: OnCallEntry | None, now: float) -> OnCallNow:
        if entry is None:
            return OnCallNow(name, "not in routes.yaml now", failed="unknown")
        if entry.rotation is not None:
            return rotation_now(name, entry.rotation, now)
        key = _key(entry)
        assert key is not None  # an entry is a rotation or PagerDuty (config.OnCallEntry)
        with self._lock:
            found = self._found.get(key)
        if found is None:
            return OnCallNow(name, _source(key, None), failed="PagerDuty has not answered yet")
        source = _source(key, found.label)
        if found.failed or (found.until is not None and found.until <= now):
            return OnCallNow(name, source, failed=found.failed or "the shift it named is over")
        return OnCallNow(name, source, found.people, found.until)

    # -- the lookups ----------------------------------------------------------------

    def _start(self) -> None:
        """Daemon threads at the first lookup (a router with no on-call starts none)."""
        if self._started:
            return
        self._started = True
        for n in range(self._workers):
            threading.Thread(target=self._work, name=f"oncall-{n}", daemon=True).start()

    def _work(self) -> None:
        while True:
            key = self._queue.get()
            try:
                found = self._look_up(key)
            except Exception:  # never let one lookup stop the thread
                log.exception("on-call lookup of %s %s failed", *key)
                found = _Found((), None, self.clock.now() + self.retry, "the lookup failed")
            with self._lock:
                old = self._found.get(key)
                if found.label is None and old is not None:
                    found.label = old.label  # keep the schedule's name for the words
                self._found[key] = found
                pending = self._pending.pop(key, None)
            if pending is not None:
                pending.done.set()

    def _look_up(self, key: Key) -> _Found:
        kind, pd_id = key
        if self.pagerduty is None or self.pagerduty.lookups is None:
            why = "PAGERDUTY_API_TOKEN is not set"
            return _Found((), None, self.clock.now() + self.retry, why)
        try:
            if kind == "schedule":
                found = self.pagerduty.on_call(schedule=pd_id)
            else:
                found = self.pagerduty.on_call(escalation_policy=pd_id)
        except DeliveryError as exc:
            log.warning("PagerDuty on-call lookup of %s %s failed: %s", kind, pd_id, exc.detail)
            failed = f"PagerDuty did not answer ({exc.detail})"
            return _Found((), None, self.clock.now() + self.retry, failed)
        now = self.clock.now()
        label = next((r.schedule if kind == "schedule" else r.policy for r in found), None)
        if not found:
            return _Found((), None, now + self.ttl, "PagerDuty says nobody is on call", label)
        people = tuple(
            dict.fromkeys(Person(r.name, r.email and self._slack_id(r.email)) for r in found)
        )
        ends = [r.end for r in found if r.end is not None]
        until = min(ends) if ends else None
        fresh = min(now + self.ttl, until) if until is not None else now + self.ttl
        return _Found(people[:3], until, fresh, None, label)

    def _slack_id(self, email: str) -> str | None:
        now = self.clock.now()
        with self._lock:
            cached = self._emails.get(email.lower())
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            user_id, until = self.notifier.user_by_email(email), now + self.email_ttl
        except DeliveryError as exc:
            log.info("Slack lookup of an on-call email failed: %s", exc.detail)
            user_id, until = (cached[0] if cached else None), now + self.retry
        with self._lock:
            self._emails[email.lower()] = (user_id, until)
        return user_id
