"""/alerts for the 3 AM question: what is firing now, narrowed by query parameters.

    state    firing (default) | resolved | all
    level    SEV0..SEV4
    source   alertmanager | grafana | pagerduty | datadog | sentry
    channel  as routes.yaml names it; ``db-oncall`` finds ``#db-oncall``
    route    a route's name; ``default`` for the alerts no route matched
    q        words, each in the name, the summary or a label value
    limit    rows, 1..1000 (default 100)

An empty value is no filter (what a form sends for "any"). A value the list
cannot take is refused with 422 and a message that names the parameter. The
store picks the newest ``limit`` alerts that match; firing ones are shown the
most severe first. The rows are what the page and its JSON show: the
identifying labels, since when, the Slack message's link, who acknowledged by
name, the postmortem draft.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import get_args

from starlette.datastructures import QueryParams

from router.alert import SourceName
from router.config import LEVEL_NAMES
from router.errors import ParameterError
from router.notifiers.directory import Known, permalink
from router.records import AlertFilter, AlertRow, AlertState, AlertSummary, Delivery
from router.routing import Route

STATES: tuple[AlertState, ...] = get_args(AlertState)
SOURCES: tuple[str, ...] = get_args(SourceName)
DEFAULT_STATE: AlertState = "firing"
TABS = (("firing", "Firing now"), ("resolved", "Resolved"), ("all", "All recent"))
HEADINGS = {"firing": "Firing now", "resolved": "Resolved", "all": "All recent alerts"}
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_TEXT = 200
"""Longest channel, route or search text taken."""
MAX_WORDS = 8
MAX_LABELS_SHOWN = 6
FILTERS = ("state", "level", "source", "channel", "route", "q", "limit")


def _one(params: QueryParams, name: str) -> str | None:
    """The parameter's value, trimmed; None when absent or empty."""
    values = params.getlist(name)
    if len(values) > 1:
        raise ParameterError(name, f"given {len(values)} times; give it once")
    value = values[0].strip() if values else ""
    if len(value) > MAX_TEXT:
        raise ParameterError(name, f"longer than {MAX_TEXT} characters")
    return value or None


def _choice(name: str, value: str | None, allowed: Sequence[str]) -> str | None:
    if value is None or value in allowed:
        return value
    shown = value if len(value) <= 40 else value[:40] + "…"
    raise ParameterError(name, f"{shown!r} is not one of {', '.join(allowed)}")


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise ParameterError("limit", f"{value[:40]!r} is not a whole number") from None
    return max(1, min(limit, MAX_LIMIT))


def parse_filter(params: QueryParams) -> AlertFilter:
    """The query parameters as a filter; ParameterError names the first one refused."""
    values = {name: _one(params, name) for name in FILTERS}
    state = _choice("state", (values["state"] or DEFAULT_STATE).lower(), STATES)
    level = _choice("level", values["level"] and values["level"].upper(), LEVEL_NAMES)
    source = _choice("source", values["source"] and values["source"].lower(), SOURCES)
    words = tuple(dict.fromkeys((values["q"] or "").split()))
    if len(words) > MAX_WORDS:
        raise ParameterError("q", f"{len(words)} words; at most {MAX_WORDS}")
    return AlertFilter(
        state=state,
        level=level,
        source=source,
        channel=values["channel"],
        route=values["route"],
        words=words,
        limit=_limit(values["limit"]),
    )


def as_params(where: AlertFilter, **change: str | None) -> dict[str, str]:
    """The filter as query parameters (for links that change one part of it)."""
    params = {
        "state": where.state,
        "level": where.level,
        "source": where.source,
        "channel": where.channel,
        "route": where.route,
        "q": " ".join(where.words) or None,
        "limit": str(where.limit) if where.limit != DEFAULT_LIMIT else None,
    } | change
    return {k: v for k, v in params.items() if v}


def _walk(routes: Sequence[Route]) -> Iterator[Route]:
    for route in routes:
        yield route
        yield from _walk(route.children)


def choices(routes: Sequence[Route], default_channel: str) -> tuple[list[str], list[str]]:
    """Route names and channels the routing table knows, for the form's suggestions."""
    walked = list(_walk(routes))
    names = sorted({r.name for r in walked})
    channels = sorted({default_channel} | {r.channel for r in walked if r.channel})
    return names, channels


# -- rows ---------------------------------------------------------------------------


def _differing(alerts: Sequence[AlertSummary]) -> dict[str, set[str]]:
    """Per alert name: the labels whose values differ between its alerts on the page."""
    by_name: dict[str, list[AlertSummary]] = defaultdict(list)
    for alert in alerts:
        by_name[alert.name].append(alert)
    differing: dict[str, set[str]] = {}
    for name, same in by_name.items():
        keys = {k for a in same for k in a.labels} - {"alertname"}
        differing[name] = (
            {k for k in keys if len({a.labels.get(k) for a in same}) > 1}
            if len(same) > 1
            else set()
        )
    return differing


def identity(
    labels: Mapping[str, str], identity_labels: Sequence[str], differ: Collection[str]
) -> dict[str, str]:
    """The identifying labels it has, in config order, then those that tell it apart."""
    keys = [k for k in identity_labels if k in labels]
    keys += sorted(k for k in differ if k in labels and k not in keys)
    return {k: labels[k] for k in keys[:MAX_LABELS_SHOWN]}


def linked(deliveries: Sequence[Delivery], known: Known) -> list[Delivery]:
    """Deliveries with their messages' links in Slack and who acknowledged, by name."""
    return [
        d.model_copy(
            update={
                "slack_url": permalink(known.workspace, d.slack_channel, d.slack_ts),
                "acknowledged_by_name": known.names.get(d.acknowledged_by or ""),
            }
        )
        for d in deliveries
    ]


def rows(
    alerts: Sequence[AlertSummary],
    *,
    identity_labels: Sequence[str],
    known: Known,
    postmortem_levels: Collection[str],
) -> list[AlertRow]:
    """The page's rows: stored alerts with what the page adds to them."""
    differing = _differing(alerts)
    out = []
    for alert in alerts:
        deliveries = linked(alert.deliveries, known)
        firing = alert.status == "firing"
        since = (
            (alert.starts_at or alert.received_at)
            if firing
            else (alert.ends_at or alert.updated_at)
        )
        postmortem = any(d.level in postmortem_levels for d in alert.deliveries)
        out.append(
            AlertRow(
                **(alert.model_dump() | {"deliveries": deliveries}),
                identity=identity(alert.labels, identity_labels, differing[alert.name]),
                since=since,
                postmortem_url=f"/alerts/{alert.id}/postmortem.md" if postmortem else None,
            )
        )
    return out


def _rank(row: AlertRow) -> tuple[int, float]:
    levels = [d.level for d in row.decisions if d.level in LEVEL_NAMES]
    most = min((LEVEL_NAMES.index(level) for level in levels), default=len(LEVEL_NAMES))
    return most, -(row.since or 0.0)


def most_severe_first(rows: Sequence[AlertRow]) -> list[AlertRow]:
    """What is firing, as on-call reads it: the most severe first, then the newest."""
    return sorted(rows, key=_rank)
