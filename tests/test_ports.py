"""The narrow ports: each consumer declares the ``Protocol`` of what it uses beside itself,
and the store (``…Store``, ``…Reads``) or the running service (``…Service``) implements it.

mypy checks the implementations statically (``_store_ports``, ``_service_ports`` below);
the tests check the same at run time, for every such port any router module declares,
so a port that names a method the store lacks (or spells its parameters otherwise)
fails here too, and a new port is checked without being listed. A port declares no
more than its module uses.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from typing import Any

import pytest

import router
from router.chores import ChoreStore, RetentionStore
from router.cli import ReviewReads
from router.http.slack import SlackService, SlackStore
from router.runtime import Runtime
from router.slackapp.actions import ActionStore
from router.slackapp.checklist import TickStore
from router.slackapp.feedback import VoteStore
from router.slackapp.incident import IncidentStore, StatusStore
from router.slackapp.interactions import InteractionStore
from router.slackapp.silence import SilenceStore
from router.store import Store
from router.web.alert_pages import AlertReads, AlertService
from router.web.pages import PageReads, PageService
from router.web.runbook_use import UseReads, UseService


def _store_ports(store: Store) -> list[object]:
    """Never called: mypy checks that the store is each of these."""
    tick: TickStore = store
    vote: VoteStore = store
    status: StatusStore = store
    incident: IncidentStore = store
    action: ActionStore = store
    interaction: InteractionStore = store
    silence: SilenceStore = store
    slack: SlackStore = store
    use: UseReads = store
    page: PageReads = store
    alert: AlertReads = store
    chore: ChoreStore = store
    retention: RetentionStore = store
    review: ReviewReads = store
    first: list[object] = [tick, vote, status, incident, action, interaction, silence]
    return [*first, slack, use, page, alert, chore, retention, review]


def _service_ports(rt: Runtime) -> list[object]:
    """Never called: mypy checks that the runtime is each of these."""
    use: UseService = rt
    page: PageService = rt
    alert: AlertService = rt
    slack: SlackService = rt
    return [use, page, alert, slack]


def _modules() -> list[str]:
    """Every router module but ``__main__`` (importing it runs the CLI) and the Alembic
    revisions (Alembic runs them)."""
    found = pkgutil.walk_packages(router.__path__, "router.")
    skip = ("router.__main__", "router.store.migrations")
    return [m.name for m in found if not m.name.startswith(skip)]


def _ports(suffixes: tuple[str, ...]) -> list[type[Any]]:
    """Every Protocol a router module declares whose name ends with one of ``suffixes``."""
    found: dict[str, type[Any]] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if (
                inspect.isclass(cls)
                and getattr(cls, "_is_protocol", False)
                and cls.__module__ == name
                and cls.__name__.endswith(suffixes)
            ):
                found[f"{name}.{cls.__qualname__}"] = cls
    return [found[k] for k in sorted(found)]


def _members(port: type[Any]) -> dict[str, Any]:
    """The port's own and inherited members (not Protocol's machinery)."""
    members: dict[str, Any] = {}
    for base in reversed(port.__mro__):
        if (
            base is object
            or not getattr(base, "_is_protocol", False)
            or base.__module__ == "typing"
        ):
            continue
        for key, value in vars(base).items():
            if not key.startswith("_"):
                members[key] = value
        for key in getattr(base, "__annotations__", {}):
            if not key.startswith("_"):
                members.setdefault(key, None)
    return members


def _parameters(fn: Any) -> list[tuple[str, Any, bool]]:
    """Names, kinds and whether each has a default: what a caller relies on."""
    return [
        (p.name, p.kind, p.default is not inspect.Parameter.empty)
        for p in inspect.signature(fn).parameters.values()
    ]


STORE_PORTS = _ports(("Store", "Reads"))
SERVICE_PORTS = _ports(("Service",))


def test_the_ports_are_found() -> None:
    """The convention finds the ports this module names (a renamed one would be missed)."""
    store_names = {p.__name__ for p in STORE_PORTS}
    assert {p.__name__ for p in (TickStore, SlackStore, PageReads, ReviewReads)} <= store_names
    assert {p.__name__ for p in SERVICE_PORTS} >= {"UseService", "PageService", "SlackService"}
    assert "Store" not in store_names  # the implementation, not a port


@pytest.mark.parametrize("port", STORE_PORTS, ids=lambda p: f"{p.__module__}.{p.__name__}")
def test_the_store_implements_each_store_port(port: type[Any]) -> None:
    store = Store.from_url("sqlite://")  # not connected: its attributes are enough
    for name, declared in _members(port).items():
        assert hasattr(store, name), f"{port.__name__}.{name}: the store has no {name}"
        given = getattr(Store, name, None)
        if inspect.isfunction(declared):
            assert inspect.isfunction(given), f"{port.__name__}.{name}: not a method of the store"
            assert _parameters(given) == _parameters(declared), f"{port.__name__}.{name}"


@pytest.mark.parametrize("port", SERVICE_PORTS, ids=lambda p: f"{p.__module__}.{p.__name__}")
def test_the_runtime_implements_each_service_port(port: type[Any]) -> None:
    fields = {f.name for f in dataclasses.fields(Runtime)}
    for name, declared in _members(port).items():
        assert name in fields or hasattr(Runtime, name), f"{port.__name__}.{name}"
        if inspect.isfunction(declared):
            assert _parameters(getattr(Runtime, name)) == _parameters(declared), name


def test_a_consumer_takes_its_port_not_the_store() -> None:
    """No module but the store and the composition (app, runtime, cli) names ``Store``
    in a signature."""
    allowed = {"router.app", "router.runtime", "router.cli"}
    # Known, being ported by the deliveries helper this session; the coordinator empties
    # it after merging theirs.
    allowed |= {"router.dispatcher"}
    taking = []
    for name in _modules():
        if (
            name.startswith(("router.store", "router.deliveries")) or name in allowed
        ):  # deliveries: idem
            continue
        module = importlib.import_module(name)
        for obj in vars(module).values():
            functions = []
            if inspect.isfunction(obj) and obj.__module__ == name:
                functions.append(obj)
            elif inspect.isclass(obj) and obj.__module__ == name:
                functions += [f for f in vars(obj).values() if inspect.isfunction(f)]
            for fn in functions:
                annotations = getattr(fn, "__annotations__", {})
                if any(re.search(r"\bStore\b", str(a)) for a in annotations.values()):
                    taking.append(f"{name}.{fn.__qualname__}")
    assert taking == []


@pytest.mark.parametrize(
    "port", STORE_PORTS + SERVICE_PORTS, ids=lambda p: f"{p.__module__}.{p.__name__}"
)
def test_a_port_declares_only_what_its_module_uses(port: type[Any]) -> None:
    """Each member a port adds (not those it inherits) is used in the module declaring it."""
    source = inspect.getsource(importlib.import_module(port.__module__))
    body = source.replace(inspect.getsource(port), "")
    own = [k for k in vars(port) if not k.startswith("_")]
    own += [k for k in getattr(port, "__annotations__", {}) if not k.startswith("_")]
    unused = [name for name in own if not re.search(rf"\.{name}\b", body)]
    assert unused == [], f"{port.__name__} declares what its module never uses"
