"""Alert sources. One module each, registered here by hand (no discovery by name).

Each source supplies a pure ``parse`` (JSON value in, ``list[Alert]`` out, raising
``PayloadError`` that names the bad path) and a ``verify`` for its authentication.
Adding a source is one new module and one line in ``SOURCES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from router.alert import Alert, SourceName
from router.sources import alertmanager


@dataclass(frozen=True)
class Source:
    name: SourceName
    parse: Callable[[Any], list[Alert]]
    verify: Callable[[Mapping[str, str], bytes, list[str]], None]
    secret_env: str
    """The environment variable holding the credential ``verify`` checks."""


SOURCES: dict[str, Source] = {
    "alertmanager": Source(
        "alertmanager", alertmanager.parse, alertmanager.verify, "ALERTMANAGER_TOKEN"
    ),
}
