"""Slack's names for people and the workspace's address, for pages: cached, never waited on long.

A page shows "acknowledged by Jane Doe" and links each message to Slack. Both
come from Slack's Web API (``users.info``, ``auth.test``), which can be slow or
down; a page must not be. So lookups run on the directory's own threads. A page
asks for what it needs, gets what is cached at once, waits at most ``wait``
seconds for the rest and shows an id (or no link) for whatever has not come.
Answers are kept for ``ttl`` (a stale answer is still shown while it is looked
up again); a failed lookup is not tried again for ``retry`` seconds, so a Slack
outage costs one call per key a minute, not one per page view.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from router.clock import Clock
from router.errors import DeliveryError
from router.notifiers import Notifier

log = logging.getLogger("router.slack")

WORKSPACE = "workspace"
"""The key of the workspace's address; a user's is ``user:U…``."""
_USER = re.compile(r"^slack:([UW][A-Z0-9]{2,20})$")
_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,30}$")
_TS = re.compile(r"^(\d{1,12})\.(\d{1,9})$")
MAX_LOOKUPS = 50
"""New keys looked up for one page; the rest wait for a later view."""


def slack_user(who: str | None) -> str | None:
    """The Slack user id in a stored actor (``slack:U…``), else None."""
    match = _USER.match(who or "")
    return match.group(1) if match else None


def permalink(workspace: str | None, channel_id: str | None, ts: str | None) -> str | None:
    """A message's address in Slack, in the form ``chat.getPermalink`` answers with:
    ``https://acme.slack.com/archives/C0123/p1700000000000100``."""
    if not workspace or not channel_id or not ts:
        return None
    ts_match = _TS.match(ts)
    if not _CHANNEL_ID.match(channel_id) or ts_match is None:
        return None  # not what Slack answers with (the log notifier's channel names)
    return f"{workspace.rstrip('/')}/archives/{channel_id}/p{ts_match.group(1)}{ts_match.group(2)}"


@dataclass(frozen=True)
class Known:
    """What the directory could tell a page."""

    names: dict[str, str] = field(default_factory=dict)
    """Stored actor (``slack:U…``) -> the name Slack gave."""
    workspace: str | None = None


NOTHING = Known()


class SlackDirectory:
    """Who ``slack:U…`` is and where the workspace lives, as the notifier can tell."""

    def __init__(
        self,
        notifier: Notifier,
        clock: Clock,
        *,
        ttl: float = 6 * 3600.0,
        retry: float = 60.0,
        wait: float = 0.3,
        workers: int = 2,
        max_entries: int = 10_000,
    ) -> None:
        self.notifier = notifier
        self.clock = clock
        self.ttl = ttl
        self.retry = retry
        self.wait = wait
        self.max_entries = max_entries
        self._workers = workers
        self._cache: dict[str, tuple[str | None, float]] = {}  # key -> (answer, good until)
        self._pending: dict[str, threading.Event] = {}
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = False

    # -- what pages ask ---------------------------------------------------------

    def known(self, who: Iterable[str | None], *, workspace: bool = False) -> Known:
        """What a page needs, in one wait: names for the stored actors (``slack:U…``;
        others are left out) and, if asked, the workspace's address."""
        users = {w: uid for w in who if w and (uid := slack_user(w))}
        keys = [f"user:{uid}" for uid in users.values()] + ([WORKSPACE] if workspace else [])
        found = self.lookup(keys)
        names = {w: name for w, uid in users.items() if (name := found.get(f"user:{uid}"))}
        return Known(names, found.get(WORKSPACE))

    def names(self, who: Iterable[str | None]) -> dict[str, str]:
        """Stored actors (``slack:U…``) -> the names Slack gave for them; others left out."""
        return self.known(who).names

    def workspace_url(self) -> str | None:
        """The workspace's address, for permalinks; None while unknown."""
        return self.known([], workspace=True).workspace

    def lookup(self, keys: Iterable[str]) -> dict[str, str | None]:
        """What is known of ``keys``, waiting at most ``wait`` for what is not yet."""
        now = self.clock.now()
        found: dict[str, str | None] = {}
        waiting: list[tuple[str, threading.Event]] = []
        asked = 0
        with self._lock:
            for key in dict.fromkeys(keys):
                cached = self._cache.get(key)
                if cached is not None:
                    found[key] = cached[0]
                    if cached[1] > now:
                        continue  # fresh
                event = self._pending.get(key)
                if event is None:
                    if asked >= MAX_LOOKUPS:
                        continue
                    asked += 1
                    event = self._pending[key] = threading.Event()
                    self._queue.put(key)
                if key not in found:
                    waiting.append((key, event))
            if asked:
                self._start()
        deadline = time.monotonic() + self.wait
        for key, event in waiting:
            if event.wait(max(0.0, deadline - time.monotonic())):
                with self._lock:
                    if key in self._cache:
                        found[key] = self._cache[key][0]
        return found

    # -- the lookups ------------------------------------------------------------

    def _start(self) -> None:
        """Daemon threads, started at the first lookup: a page in log mode or a test
        that never looks anything up starts none."""
        if self._started:
            return
        self._started = True
        for n in range(self._workers):
            threading.Thread(target=self._work, name=f"slack-directory-{n}", daemon=True).start()

    def _loader(self, key: str) -> Callable[[], str | None]:
        if key == WORKSPACE:
            return self.notifier.workspace_url
        user_id = key.removeprefix("user:")
        return lambda: self.notifier.user_name(user_id)

    def _work(self) -> None:
        while True:
            key = self._queue.get()
            failed = True
            try:
                answer, failed = self._loader(key)(), False
            except DeliveryError as exc:
                log.info("slack lookup of %s failed: %s", key.split(":")[0], exc)
            except Exception:  # never let one lookup stop the thread
                log.exception("slack lookup of %s failed", key.split(":")[0])
            with self._lock:
                old = self._cache.pop(key, None)
                if failed:  # keep showing what Slack said before, if it said anything
                    answer = old[0] if old is not None else None
                until = self.clock.now() + (self.retry if failed else self.ttl)
                self._cache[key] = (answer, until)
                while len(self._cache) > self.max_entries:
                    del self._cache[next(iter(self._cache))]
                event = self._pending.pop(key, None)
            if event is not None:
                event.set()
