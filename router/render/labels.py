"""Which labels say what an alert is about, and which tell the alerts of a group apart.

An alert's labels mix three kinds: what it is about (``node``, ``queue``,
``certificate``), how it was routed and graded (``alertname``, ``severity``),
and where it was scraped from. The last kind is noise when the exporter
reports on other objects: a kube-state-metrics alert about a Deployment carries
the exporter's own ``pod``, ``container``, ``service`` and ``job`` beside the
``deployment`` it is about. Those are left out; everything else is
shown, ``defaults.identity_labels`` first in their order, then the rest by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

NOISE = frozenset(
    {
        "alertname",
        "severity",
        "priority",
        "urgency",
        "alert_type",
        "__name__",
        "prometheus",
        "prometheus_replica",
        "endpoint",
        "incident_id",
        "incident_key",
        "monitor_id",
    }
)
"""Labels that grade an alert, name the Prometheus that evaluated it, or are the
source's ids (its page is a button away)."""
_TARGET_OBJECTS = ("pod", "container", "service")
_ABOUT_OBJECTS = frozenset(
    {
        "node",
        "deployment",
        "statefulset",
        "daemonset",
        "replicaset",
        "job_name",
        "cronjob",
        "persistentvolumeclaim",
        "persistentvolume",
        "horizontalpodautoscaler",
        "poddisruptionbudget",
        "certificate",
        "mountpoint",
        "device",
    }
)
"""Objects an exporter reports on: with one of these, the exporter's own pod is noise."""


def exporter_labels(labels: Mapping[str, str]) -> set[str]:
    """The scrape target's own labels on an alert about some other object.

    A ``pod``, ``container`` or ``service`` whose value is the ``job`` (or
    ``job-…``) names the exporter, when the alert names the object it is about;
    then ``job`` goes with them. ``instance`` stays: with kube-prometheus it is
    often the node. A crash loop of the exporter's own pod names no other object
    and keeps them all.
    """
    job = labels.get("job")
    if not job or not _ABOUT_OBJECTS & labels.keys():
        return set()
    own = {
        key
        for key in _TARGET_OBJECTS
        if (value := labels.get(key)) and (value == job or value.startswith(f"{job}-"))
    }
    return own | {"job"} if own else own


def shown(labels: Mapping[str, str], identity: Sequence[str]) -> list[str]:
    """The keys worth showing, identity labels first (in their order), then by name."""
    hidden = NOISE | exporter_labels(labels)
    keys = [k for k in identity if k in labels and k not in hidden]
    keys += sorted(k for k in labels if k not in hidden and k not in keys)
    return keys


def common(groups: Sequence[Mapping[str, str]], identity: Sequence[str]) -> list[str]:
    """Shown keys that every alert has, with one value."""
    if not groups:
        return []
    first = groups[0]
    return [k for k in shown(first, identity) if all(g.get(k) == first[k] for g in groups[1:])]


def telling_apart(groups: Sequence[Mapping[str, str]], identity: Sequence[str]) -> list[str]:
    """Shown keys whose values differ between the alerts: what tells them apart."""
    keys: list[str] = []
    for labels in groups:
        keys += [k for k in shown(labels, identity) if k not in keys]
    return [k for k in keys if len({g.get(k) for g in groups}) > 1]


def pairs(labels: Mapping[str, str], keys: Sequence[str]) -> str:
    """``k=v, k=v`` for these keys (a missing one shows as ``k=``)."""
    return ", ".join(f"{k}={labels.get(k, '')}" for k in keys)
