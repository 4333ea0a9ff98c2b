"""routes.yaml: strict loading, every problem reported as ``file:line: key: message``.

The YAML is composed into nodes (which know their line), constructed into plain
data, and validated by the pydantic models below with unknown keys forbidden.
Each validation error's location is walked back through the nodes to its line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from router.alert import SourceName
from router.config_alertmanagers import AlertmanagerEntry, SilenceConfig, check_alertmanagers
from router.config_values import (
    Duration,
    MatcherString,
    RegexString,
    RunbookId,
)
from router.errors import ConfigError, Problem, dotted
from router.matchers import parse

LevelName = Literal["SEV0", "SEV1", "SEV2", "SEV3", "SEV4"]
LEVEL_NAMES: tuple[LevelName, ...] = ("SEV0", "SEV1", "SEV2", "SEV3", "SEV4")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


IDENTITY_LABELS = (
    "cluster",
    "namespace",
    "service",
    "job",
    "instance",
    "node",
    "pod",
    "container",
    "deployment",
    "statefulset",
    "daemonset",
    "persistentvolumeclaim",
    "mountpoint",
    "device",
    "host",
    "hostname",
    "project",
    "env",
    "environment",
    "region",
)


RUNBOOK_URL_FIELDS = ("{id}", "{public_url}")
"""What ``defaults.runbook_url`` may name: the RUN- id, and ROUTER_PUBLIC_URL."""
SOURCE_URL_FIELDS = ("{path}", "{line}", "{id}")
"""What ``defaults.source_url`` may name: the entry's file (relative to the runbooks
folder), a line in it, and the RUN- id."""
_URL_FIELD = re.compile(r"\{[^{}]*\}")


def _only_fields(fields: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        for found in _URL_FIELD.findall(value):
            if found not in fields:
                close = difflib.get_close_matches(found, fields, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                known = ", ".join(fields)
                raise ValueError(f"{value!r}: unknown field {found}{hint} (known: {known})")
        return value

    return check


def _web_address(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"{value!r}: expected an http(s):// address")
    return value


_known_url_fields = _only_fields(RUNBOOK_URL_FIELDS)


class Defaults(_Strict):
    channel: str = "#alerts"
    runbook_url: Annotated[str, AfterValidator(_known_url_fields)] = "{public_url}/runbooks/{id}"
    """Link target; ``{public_url}`` is ROUTER_PUBLIC_URL, ``{id}`` the RUN- id."""
    stale_after_days: PositiveInt = 90
    identity_labels: list[str] = Field(default_factory=lambda: list(IDENTITY_LABELS))
    """Labels that say which thing an alert is about, shown in that order."""
    source_url: (
        Annotated[
            str, AfterValidator(_web_address), AfterValidator(_only_fields(SOURCE_URL_FIELDS))
        ]
        | None
    ) = None
    """Where an entry's markdown is edited, for *Edit runbook* links (page, checklist,
    review): ``https://github.com/org/runbooks/blob/main/{path}#L{line}``."""


class Level(_Strict):
    respond: str
    mention: str | None = None
    ack_within: Duration | None = Field(
        default=None,
        description="a firing message not acknowledged this long after it fired gets a "
        "thread reply naming the escalation target",
    )
    resolve_within: Duration | None = Field(
        default=None,
        description="not resolved this long after it fired: a thread reply escalating it "
        "(also after an acknowledgement)",
    )
    update_every: Duration | None = Field(
        default=None,
        description="while firing, a thread reminder to post a status update this often",
    )
    postmortem: bool = Field(
        default=False, description="a postmortem draft follows the resolution timeline"
    )
    postmortem_after: Duration | None = Field(
        default=None,
        description="with postmortem: only a group that fired at least this long (or had "
        "an incident declared) draws a postmortem draft; default 5m",
    )


class Storm(_Strict):
    alerts: PositiveInt = 10
    within: Duration = 300.0
    escalate_to: LevelName = "SEV1"
    min_level: LevelName = "SEV3"
    """Only alerts at this level or above count toward a storm."""
    channel: str | None = None
    """Where the storm's incident message goes (default: defaults.channel)."""


DEFAULT_LEVELS: dict[LevelName, Level] = {
    "SEV0": Level(respond="immediately"),
    "SEV1": Level(respond="< 5 min"),
    "SEV2": Level(respond="< 15 min"),
    "SEV3": Level(respond="< 1 hour"),
    "SEV4": Level(respond="best effort"),
}


def _normalize_source_map(value: Any) -> Any:
    """``{label: severity, map: {...}}`` is shorthand for ``{severity: {...}}``."""
    if isinstance(value, dict) and ("label" in value or "map" in value):
        rest = {k: v for k, v in value.items() if k not in ("label", "map")}
        return {str(value.get("label", "severity")): value.get("map", {}), **rest}
    return value


SourceSeverityMap = Annotated[
    dict[str, dict[str, LevelName]], BeforeValidator(_normalize_source_map)
]
"""Label name -> (raw value -> level), tried in order: the first label present wins."""


class SeverityConfig(_Strict):
    levels: dict[LevelName, Level] = Field(default_factory=lambda: dict(DEFAULT_LEVELS))
    from_source: dict[SourceName, SourceSeverityMap] = Field(default_factory=dict)
    default: LevelName = "SEV2"
    storm: Storm | None = None

    @model_validator(mode="after")
    def _levels_defined(self) -> SeverityConfig:
        for name in LEVEL_NAMES:
            if name not in self.levels:
                raise ValueError(f"levels: {name} is not defined (all of SEV0-SEV4 are needed)")
        return self


class RouteConfig(_Strict):
    """One route; ``routes`` nest as in Alertmanager (children inherit what they leave out)."""

    name: str | None = None
    source: SourceName | None = None
    matchers: list[MatcherString] = Field(default_factory=list)
    match: dict[str, str] = Field(
        default_factory=dict, description="Alertmanager's deprecated equality form"
    )
    match_re: dict[str, RegexString] = Field(
        default_factory=dict, description="Alertmanager's deprecated regex form"
    )
    runbook: RunbookId | None = None
    channel: str | None = None
    severity: LevelName | None = None
    page: str | None = Field(
        default=None,
        description="name of a PagerDuty routing key (PAGERDUTY_ROUTING_KEYS) to page through",
    )
    continue_: bool = Field(default=False, alias="continue")
    notify: bool | None = Field(
        default=None,
        description="false: stored and shown in /alerts, never posted (default: post, "
        "except meta alerts with severity none)",
    )
    heartbeat: Duration | None = Field(
        default=None,
        description="an always-firing alert (Watchdog): when none arrives for this long, "
        "post that the alerting pipeline is silent",
    )
    escalate_to: str | None = Field(
        default=None,
        description="who the response-time clock escalates to, as Slack writes it "
        "(<!subteam^S0DBA>, <@U0123>); default: the runbook's Escalation Who",
    )
    routes: list[RouteConfig] = Field(default_factory=list)


def walk_routes(
    routes: Sequence[RouteConfig], loc: tuple[int | str, ...] = ("routes",)
) -> Iterator[tuple[tuple[int | str, ...], RouteConfig]]:
    """Every route, nested ones too, with its key path (``routes, 0, routes, 1``)."""
    for i, route in enumerate(routes):
        yield (*loc, i), route
        yield from walk_routes(route.routes, (*loc, i, "routes"))


class Acknowledge(_Strict):
    reactions: list[str] = Field(default_factory=lambda: ["eyes"])
    """Reactions (emoji names, without colons) on an alert message that acknowledge it."""


class RoutesFile(_Strict):
    defaults: Defaults = Field(default_factory=Defaults)
    acknowledge: Acknowledge = Field(default_factory=Acknowledge)
    severity: SeverityConfig = Field(default_factory=SeverityConfig)
    auth: dict[SourceName, Literal["none", "required"]] = Field(default_factory=dict)
    alertmanagers: list[AlertmanagerEntry] = Field(default_factory=list)
    silence: SilenceConfig = Field(default_factory=SilenceConfig)
    routes: list[RouteConfig] = Field(default_factory=list)

    @field_validator("alertmanagers")
    @classmethod
    def _alertmanagers_distinct(cls, entries: list[AlertmanagerEntry]) -> list[AlertmanagerEntry]:
        return check_alertmanagers(entries)


Locator = Callable[[Sequence[int | str]], int | None]


class LoadedConfig:
    """A validated routes file, with a way back from a key path to its line."""

    def __init__(self, path: str, data: RoutesFile, locate: Locator) -> None:
        self.path = path
        self.data = data
        self.locate = locate
        self.warnings = self._matcher_warnings()

    def _matcher_warnings(self) -> list[Problem]:
        """Matchers Alertmanager accepts only through its deprecated classic fallback."""
        found = []
        for loc, route in walk_routes(self.data.routes):
            for j, text in enumerate(route.matchers):
                if warning := parse(text).warning:
                    found.append(self.problem((*loc, "matchers", j), f"{text!r}: {warning}"))
        return found

    def problem(self, loc: Sequence[int | str], message: str) -> Problem:
        return Problem(self.path, self.locate(loc), dotted(loc), message)


def _node_at(root: yaml.Node | None, loc: Sequence[int | str]) -> yaml.Node | None:
    """Walk ``loc`` through the YAML nodes; for a missing key, the nearest parent."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    # An unknown key is reported at the key itself.
                    node = key_node if part == loc[-1] and value_node is None else value_node
                    break
            else:
                return node
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def _duplicate_keys(node: yaml.Node | None, path: str) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.value in seen:
                problems.append(
                    Problem(path, key_node.start_mark.line + 1, key_node.value, "duplicate key")
                )
            seen.add(key_node.value)
            problems += _duplicate_keys(value_node, path)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            problems += _duplicate_keys(child, path)
    return problems


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model inside an annotation, and whether a dict key comes before it."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = get_origin(annotation)
    for arg in get_args(annotation):
        model, keyed = _model_in(arg)
        if model is not None:
            return model, keyed or origin is dict
    return None, False


def _allowed_keys(loc: Sequence[int | str]) -> list[str]:
    model: type[BaseModel] | None = RoutesFile
    skip_key = False
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if skip_key:
            skip_key = False
            continue
        fields = {f.alias or n: f for n, f in model.model_fields.items()} if model else {}
        if part not in fields:
            return []
        model, skip_key = _model_in(fields[part].annotation)
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


_SCALAR = (str, int, float, bool, type(None))


def _clean(error: Any, loc: Sequence[int | str]) -> str:
    """pydantic's message, with the value it got and, for a closed set, a did-you-mean."""
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if message == "Extra inputs are not permitted":
        allowed = _allowed_keys(loc)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1) if loc else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key{hint} (allowed: {', '.join(allowed)})" if allowed else "unknown key"
    if error["type"] == "value_error" or not isinstance(error.get("input"), _SCALAR):
        return message  # our own validators name the value already
    got = error["input"]
    message = f"got {got!r}: {message}"
    expected = (error.get("ctx") or {}).get("expected", "")
    choices = [c.strip(" '") for c in expected.replace(" or ", ", ").split(",") if c.strip()]
    if isinstance(got, str) and choices:
        same = [c for c in choices if c.lower() == got.lower()]
        close = same or difflib.get_close_matches(got, choices, n=1, cutoff=0.5)
        if close:
            message += f"; did you mean {close[0]!r}?"
    return message


def load_routes(path: str | Path) -> LoadedConfig:
    """Read and validate a routes file; raise ConfigError listing every problem."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(name, None, "", f"cannot read: {exc.strerror}")]) from None
    return parse_routes(text, name)


def parse_routes(text: str, name: str = "routes.yaml") -> LoadedConfig:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(name, line, "", f"invalid YAML: {reason}")]) from None
    finally:
        loader.dispose()

    def locate(loc: Sequence[int | str]) -> int | None:
        node = _node_at(root, loc)
        return node.start_mark.line + 1 if node is not None else None

    problems = _duplicate_keys(root, name)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(Problem(name, 1, "", "expected a mapping at the top level"))
        raise ConfigError(problems)
    try:
        routes = RoutesFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
            problems.append(Problem(name, locate(loc), dotted(loc), _clean(err, loc)))
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0)) from None
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(name, routes, locate)
