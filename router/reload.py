"""Reloading routes and runbooks: on POST /-/reload, SIGHUP, and when the files change.

A config that does not load is refused with its problems in the log and the
running one is kept. Kubernetes updates a mounted ConfigMap by swapping a
symlink, so changes are found by looking at what the paths resolve to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from router.decide import Ruleset
from router.errors import ConfigError
from router.runbooks.catalog import runbook_files

log = logging.getLogger("router.reload")


def files_state(config: str, runbooks: str) -> tuple[tuple[str, int, int], ...]:
    """Size and modification time of the routes file and every runbook, as resolved."""
    paths = [Path(config)]
    folder = Path(runbooks)
    if folder.is_dir():
        paths += runbook_files(folder)
    state = []
    for path in paths:
        try:
            stat = path.resolve().stat()
        except OSError:
            state.append((str(path), -1, -1))
            continue
        state.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(state)


class Reloader:
    def __init__(self, reload: Callable[[], Ruleset], config: str, runbooks: str) -> None:
        self._reload = reload
        self._config = config
        self._runbooks = runbooks
        self._seen = files_state(config, runbooks)
        self._lock = asyncio.Lock()

    async def reload(self, why: str) -> Ruleset:
        """Reload now; raises ConfigError (and logs it) if the new config is refused."""
        async with self._lock:
            self._seen = await run_in_threadpool(files_state, self._config, self._runbooks)
            try:
                ruleset = await run_in_threadpool(self._reload)
            except ConfigError as exc:
                log.error("reload (%s) refused; keeping the running config:\n%s", why, exc)
                raise
            log.info(
                "reloaded (%s): %d routes, %d runbooks",
                why,
                len(ruleset.table.routes),
                len(ruleset.catalog),
            )
            return ruleset

    async def watch(self, interval: float) -> None:
        """Reload when the files change (each change is tried once)."""
        while True:
            await asyncio.sleep(interval)
            state = await run_in_threadpool(files_state, self._config, self._runbooks)
            if state != self._seen:
                with contextlib.suppress(ConfigError):
                    await self.reload("files changed")

    def on_sighup(self) -> bool:
        """Reload on SIGHUP, as Prometheus and Alertmanager do. True if installed."""
        if threading.current_thread() is not threading.main_thread():
            return False  # signals are only the main thread's (not so under a test client)
        loop = asyncio.get_running_loop()

        def handler() -> None:
            task = loop.create_task(self.reload("SIGHUP"))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

        try:
            loop.add_signal_handler(signal.SIGHUP, handler)
        except (NotImplementedError, RuntimeError, ValueError):
            return False
        return True
