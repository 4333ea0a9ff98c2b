"""routes.yaml: strict loading, every problem reported as ``file:line: key: message``.

The YAML is composed into nodes (which know their line), constructed into plain
data, and validated by the pydantic models below with unknown keys forbidden.
Each validation error's location is walked back through the nodes to its line.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
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

from router import timeinterval
from router.alert import SourceName
from router.config_alertmanagers import AlertmanagerEntry, SilenceConfig, check_alertmanagers
from router.config_text import as_alertmanager_reads
from router.config_values import (
    Duration,
    MatcherString,
    PrometheusDuration,
    RegexString,
    RunbookId,
)
from router.errors import ConfigError, Problem, dotted
from router.matchers import parse
from router.oncall import NAME as ONCALL_NAME
from router.oncall import references as oncall_names
from router.oncall.rotation import check_every, parse_handoff
from router.timeinterval import Range, TimeInterval

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


_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")  # Prometheus's, for match and match_re
TIMING_KEYS = ("group_by", "group_wait", "group_interval", "repeat_interval")
"""Alertmanager's grouping and timing: accepted as written, done by Alertmanager."""


def quoted(text: str) -> str:
    """As Go's %q writes a string, which Alertmanager's messages use."""
    return json.dumps(text, ensure_ascii=False)


def _label_names(value: dict[str, Any]) -> dict[str, Any]:
    for name in value:
        if not _LABEL_NAME.fullmatch(name):
            raise ValueError(f"invalid label name {quoted(name)}")
    return value


def _regexes_given(value: Any) -> Any:
    if isinstance(value, dict):
        for name, regex in value.items():
            if regex is None:
                raise ValueError(f"invalid regexp value for {quoted(name)}")
    return value


def _group_by(value: list[str]) -> list[str]:
    """As Alertmanager checks it: ``...`` alone, label names once each."""
    seen: set[str] = set()
    for name in value:
        if name == "":
            raise ValueError('invalid label name "" in group_by list')
        if name in seen:
            raise ValueError(f"duplicated label {quoted(name)} in group_by")
        seen.add(name)
    if "..." in seen and len(seen) > 1:
        raise ValueError("cannot have wildcard group_by (`...`) and other labels at the same time")
    return value


class RouteConfig(_Strict):
    """One route; ``routes`` nest as in Alertmanager (children inherit what they leave out).

    An Alertmanager route tree pastes in as written: ``receiver`` (through
    ``receivers:``), ``match``/``match_re`` values as text, its grouping and timing
    keys, and ``mute_time_intervals``/``active_time_intervals``.
    """

    name: str | None = None
    source: SourceName | None = None
    matchers: list[MatcherString] = Field(default_factory=list)
    match: Annotated[dict[str, str], AfterValidator(_label_names)] = Field(
        default_factory=dict, description="Alertmanager's deprecated equality form"
    )
    match_re: Annotated[
        dict[str, RegexString], BeforeValidator(_regexes_given), AfterValidator(_label_names)
    ] = Field(default_factory=dict, description="Alertmanager's deprecated regex form")
    runbook: RunbookId | None = None
    channel: str | None = None
    receiver: str | None = Field(
        default=None,
        description="Alertmanager's: a name in receivers: (its channel), or a #channel itself",
    )
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
    mute_time_intervals: list[str] = Field(
        default_factory=list,
        description="time_intervals names: while one holds, alerts are held (not inherited)",
    )
    active_time_intervals: list[str] = Field(
        default_factory=list,
        description="time_intervals names: alerts are held outside them (not inherited)",
    )
    group_by: Annotated[list[str], AfterValidator(_group_by)] | None = None
    group_wait: PrometheusDuration | None = None
    group_interval: PrometheusDuration | None = None
    repeat_interval: PrometheusDuration | None = None
    routes: list[RouteConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _intervals_not_zero(self) -> RouteConfig:
        for key in ("group_interval", "repeat_interval"):
            if getattr(self, key) == 0:
                raise ValueError(f"{key} cannot be zero")
        return self


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


def _text(parse: Callable[[str], Range]) -> Callable[[Any], Range]:
    def read(value: Any) -> Range:
        if not isinstance(value, str):
            raise ValueError(f"expected text such as 'monday:friday', got {value!r}")
        return parse(value)

    return read


def _location(name: str) -> str:
    timeinterval.load_location(name)
    return name


def _time(value: str | None) -> str | None:
    if value is not None:
        timeinterval.parse_time(value)
    return value


class TimeRangeSpec(_Strict):
    start_time: Annotated[str | None, AfterValidator(_time)] = None
    end_time: Annotated[str | None, AfterValidator(_time)] = None

    @model_validator(mode="after")
    def _ordered(self) -> TimeRangeSpec:
        timeinterval.time_range(self.start_time, self.end_time)
        return self


class TimeIntervalSpec(_Strict):
    """One interval in Alertmanager's syntax; a field left out holds every time."""

    times: list[TimeRangeSpec] | None = None
    weekdays: list[Annotated[Range, BeforeValidator(_text(timeinterval.weekday_range))]] | None = (
        None
    )
    days_of_month: (
        list[Annotated[Range, BeforeValidator(_text(timeinterval.day_of_month_range))]] | None
    ) = None
    months: list[Annotated[Range, BeforeValidator(_text(timeinterval.month_range))]] | None = None
    years: list[Annotated[Range, BeforeValidator(_text(timeinterval.year_range))]] | None = None
    location: Annotated[str, AfterValidator(_location)] | None = None

    def build(self) -> TimeInterval:
        def ranges(values: list[Range] | None) -> tuple[Range, ...] | None:
            return None if values is None else tuple(values)

        times = None
        if self.times is not None:
            times = tuple(timeinterval.time_range(t.start_time, t.end_time) for t in self.times)
        location = None if self.location is None else timeinterval.load_location(self.location)
        return TimeInterval(
            times,
            ranges(self.weekdays),
            ranges(self.days_of_month),
            ranges(self.months),
            ranges(self.years),
            location,
        )


class NamedTimeInterval(_Strict):
    name: Annotated[str, Field(min_length=1)]
    time_intervals: list[TimeIntervalSpec] = Field(default_factory=list)


def _channel_given(value: Any) -> Any:
    if value is None:
        raise ValueError(
            'expected a channel such as "#alerts" (quoted: an unquoted # begins a YAML comment)'
        )
    return value


Channel = Annotated[str, BeforeValidator(_channel_given), Field(min_length=1)]


def _pagerduty_id(value: str) -> str:
    if not re.fullmatch(r"P[A-Z0-9]{5,13}", value):
        raise ValueError(f"{value!r} is not a PagerDuty ID like PABC123")
    return value


def _slack_user(value: str) -> str:
    if not re.fullmatch(r"[UW][A-Z0-9]{2,20}", value):
        raise ValueError(f"{value!r} is not a Slack user ID like U01AAA (a profile's ⋮ menu)")
    return value


def _someone(people: list[str]) -> list[str]:
    if not people:
        raise ValueError("expected at least one Slack user ID")
    return people


def _oncall_name(value: str) -> str:
    if not ONCALL_NAME.match(value):
        raise ValueError(f"{value!r}: a name of letters, digits, '-', '_' and '.'")
    return value


class OnCallPagerDuty(_Strict):
    """Who PagerDuty says is on call (``GET /oncalls``): a schedule's, or the first level
    of an escalation policy."""

    schedule: Annotated[str, AfterValidator(_pagerduty_id)] | None = None
    escalation_policy: Annotated[str, AfterValidator(_pagerduty_id)] | None = None

    @model_validator(mode="after")
    def _one(self) -> OnCallPagerDuty:
        if (self.schedule is None) == (self.escalation_policy is None):
            both = "not both" if self.schedule else "one is needed"
            raise ValueError(f"expected schedule or escalation_policy ({both})")
        return self


class OnCallRotation(_Strict):
    """``people[0]`` from ``start``, the next after each ``every``, in ``start``'s zone."""

    start: Annotated[datetime, BeforeValidator(parse_handoff)] = Field(
        description='the first handoff, with its time zone: "2026-11-02 09:00 Europe/Berlin"'
    )
    every: Annotated[Duration, AfterValidator(check_every)]
    people: Annotated[list[Annotated[str, AfterValidator(_slack_user)]], AfterValidator(_someone)]


class OnCallEntry(_Strict):
    pagerduty: OnCallPagerDuty | None = None
    rotation: OnCallRotation | None = None

    @model_validator(mode="after")
    def _one(self) -> OnCallEntry:
        if (self.pagerduty is None) == (self.rotation is None):
            raise ValueError("expected one provider: pagerduty or rotation")
        return self


class RoutesFile(_Strict):
    defaults: Defaults = Field(default_factory=Defaults)
    acknowledge: Acknowledge = Field(default_factory=Acknowledge)
    severity: SeverityConfig = Field(default_factory=SeverityConfig)
    auth: dict[SourceName, Literal["none", "required"]] = Field(default_factory=dict)
    alertmanagers: list[AlertmanagerEntry] = Field(default_factory=list)
    silence: SilenceConfig = Field(default_factory=SilenceConfig)
    receivers: dict[str, Channel] = Field(
        default_factory=dict,
        description="Alertmanager receiver name -> the Slack channel its routes post to",
    )
    time_intervals: list[NamedTimeInterval] = Field(default_factory=list)
    mute_time_intervals: list[NamedTimeInterval] = Field(
        default_factory=list, description="Alertmanager's older name for time_intervals"
    )
    oncall: dict[Annotated[str, AfterValidator(_oncall_name)], OnCallEntry] = Field(
        default_factory=dict,
        description="who is on call, by name: oncall:NAME in escalate_to and a level's mention",
    )
    routes: list[RouteConfig] = Field(default_factory=list)

    @field_validator("alertmanagers")
    @classmethod
    def _alertmanagers_distinct(cls, entries: list[AlertmanagerEntry]) -> list[AlertmanagerEntry]:
        return check_alertmanagers(entries)

    def named_intervals(self) -> dict[str, tuple[TimeInterval, ...]]:
        """Both lists' intervals by name, built (each name is defined once: ``check``)."""
        return {
            entry.name: tuple(spec.build() for spec in entry.time_intervals)
            for entry in (*self.mute_time_intervals, *self.time_intervals)
        }


def receiver_channel(receiver: str, receivers: Mapping[str, str]) -> str | None:
    """The channel a route's ``receiver`` posts to: its entry, or itself as ``#channel``."""
    if receiver in receivers:
        return receivers[receiver]
    return receiver if receiver.startswith("#") else None


def _hint(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def references(data: RoutesFile) -> Iterator[tuple[tuple[int | str, ...], str]]:
    """Names that must be defined, as Alertmanager checks them: receivers, time intervals."""
    names: list[str] = []
    for key in ("mute_time_intervals", "time_intervals"):
        entries: list[NamedTimeInterval] = getattr(data, key)
        for i, entry in enumerate(entries):
            if entry.name in names:
                yield (key, i, "name"), f"time interval {quoted(entry.name)} is not unique"
            names.append(entry.name)
    receivers = list(data.receivers)
    for loc, route in walk_routes(data.routes):
        if route.receiver is not None and route.channel is not None:
            yield (*loc, "receiver"), "a route names its channel once: channel or receiver"
        elif (
            route.receiver is not None and receiver_channel(route.receiver, data.receivers) is None
        ):
            message = f"undefined receiver {quoted(route.receiver)} used in route"
            yield (*loc, "receiver"), message + _hint(route.receiver, receivers)
        for key in ("mute_time_intervals", "active_time_intervals"):
            for j, name in enumerate(getattr(route, key)):
                if name not in names:
                    message = f"undefined time interval {quoted(name)} used in route"
                    yield (*loc, key, j), message + _hint(name, names)


Locator = Callable[[Sequence[int | str]], int | None]


class LoadedConfig:
    """A validated routes file, with a way back from a key path to its line."""

    def __init__(self, path: str, data: RoutesFile, locate: Locator) -> None:
        self.path = path
        self.data = data
        self.locate = locate
        self.warnings = self._matcher_warnings() + self._heartbeat_warnings()
        self.notes = self._timing_notes()
        self.intervals = data.named_intervals()
        """Time intervals by name (``time_intervals:``), built once per load."""

    def _matcher_warnings(self) -> list[Problem]:
        """Matchers Alertmanager accepts only through its deprecated classic fallback."""
        found = []
        for loc, route in walk_routes(self.data.routes):
            for j, text in enumerate(route.matchers):
                if warning := parse(text).warning:
                    found.append(self.problem((*loc, "matchers", j), f"{text!r}: {warning}"))
        return found

    def _timing_notes(self) -> list[Problem]:
        """One note, at the first route with Alertmanager's grouping or timing keys."""
        timed = []
        for loc, route in walk_routes(self.data.routes):
            keys = [k for k in TIMING_KEYS if getattr(route, k) is not None]
            if keys:
                timed.append((loc, keys[0]))
        if not timed:
            return []
        (loc, key), more = timed[0], len(timed) - 1
        where = f"here and on {more} more route{'s' if more != 1 else ''}" if more else "here"
        message = (
            "Alertmanager's grouping and timing (group_by, group_wait, group_interval, "
            f"repeat_interval) is accepted as written {where}, and changes nothing: "
            "Alertmanager groups and times its notifications before they reach the router, "
            "which groups them by the webhook's groupKey"
        )
        return [self.problem((*loc, key), message)]

    def _heartbeat_warnings(
        self,
        routes: Sequence[RouteConfig] | None = None,
        loc: tuple[int | str, ...] = ("routes",),
        inherited: str | None = None,
    ) -> list[Problem]:
        """Heartbeat routes that name no ``source``: only Alertmanager's alerts feed them."""
        found = []
        for i, route in enumerate(self.data.routes if routes is None else routes):
            source = route.source or inherited
            if route.heartbeat and source is None:
                found.append(
                    self.problem(
                        (*loc, i, "heartbeat"),
                        "no source: only alertmanager's alerts feed this heartbeat; say "
                        "source: alertmanager (or the source that sends it)",
                    )
                )
            found += self._heartbeat_warnings(route.routes, (*loc, i, "routes"), source)
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
        if len(loc) == 3 and loc[0] == "oncall":
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return f"unknown on-call provider{hint} (known: {', '.join(allowed)})"
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
        as_alertmanager_reads(root)
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
            loc = tuple(
                p for p in err["loc"] if not str(p).startswith("function-") and p != "[key]"
            )
            problems.append(Problem(name, locate(loc), dotted(loc), _clean(err, loc)))
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0)) from None
    for loc, message in (*references(routes), *oncall_references(routes)):
        problems.append(Problem(name, locate(loc), dotted(loc), message))
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return LoadedConfig(name, routes, locate)


def oncall_references(data: RoutesFile) -> Iterator[tuple[tuple[int | str, ...], str]]:
    """Every ``oncall:NAME`` in an ``escalate_to`` or a level's ``mention`` is defined."""
    mentions: list[tuple[tuple[int | str, ...], str | None]] = [
        (("severity", "levels", level, "mention"), spec.mention)
        for level, spec in data.severity.levels.items()
    ]
    mentions += [
        ((*loc, "escalate_to"), route.escalate_to) for loc, route in walk_routes(data.routes)
    ]
    defined = sorted(data.oncall)
    for loc, text in mentions:
        for ref in oncall_names(text):
            if ref in data.oncall:
                continue
            close = difflib.get_close_matches(ref, defined, n=1)
            hint = f"; did you mean 'oncall:{close[0]}'?" if close else ""
            known = f"oncall: defines {', '.join(defined)}" if defined else "no oncall: entries"
            yield loc, f"unknown on-call 'oncall:{ref}'{hint} ({known})"
