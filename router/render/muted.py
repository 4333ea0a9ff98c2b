"""What an alert message shows of Alertmanager: silences, inhibitions, and its UI.

"🔕 Silenced by @jane until 14:00" for each silence muting the message's alerts
(made in Slack, with amtool or in Alertmanager's UI: its author, comment and
end), the alerts inhibited and by what, the buttons that silence, extend and
expire, and *Show in Alertmanager*: the alerts page filtered on the labels the
group's alerts share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

from slack_sdk.models.blocks import ButtonElement, PlainTextObject

from router.matchers import Matcher, Op
from router.render.blocks import slack_date
from router.render.buttons import Button
from router.render.mrkdwn import MAX_URL, button_url, safe
from router.sources._webhook import EXTERNAL_LINK
from router.store import MessageView, SilenceView

MAX_SILENCES_SHOWN = 3
MAX_FILTER_LABELS = 12


def external_url(view: MessageView) -> str | None:
    """The ``externalURL`` of the webhook that brought the message's alerts (which
    Alertmanager they came from: router/alertmanagers.py)."""
    return next((m.links[EXTERNAL_LINK] for m in view.members if m.links.get(EXTERNAL_LINK)), None)


def shared_labels(label_sets: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The labels every one of these alerts has with one value (``alertname`` first)."""
    if not label_sets:
        return {}
    first = label_sets[0]
    shared = {
        k: v
        for k, v in first.items()
        if not k.startswith("__") and all(labels.get(k) == v for labels in label_sets[1:])
    }
    return dict(sorted(shared.items(), key=lambda kv: (kv[0] != "alertname", kv[0])))


def matcher_lines(view: MessageView) -> list[str]:
    """One ``name="value"`` per label the firing alerts share, as Alertmanager prints them."""
    alerts = view.firing or view.members
    shared = shared_labels([m.labels for m in alerts])
    return [str(Matcher(k, Op.EQ, v)) for k, v in shared.items()]


def alertmanager_url(view: MessageView) -> str | None:
    """Alertmanager's alerts page filtered on the group (``#/alerts?filter={...}``)."""
    base = external_url(view) if view.source == "alertmanager" else None
    if base is None:
        return None
    lines = matcher_lines(view)[:MAX_FILTER_LABELS]
    while True:
        query = quote("{" + ",".join(lines) + "}", safe="")
        url = f"{base.rstrip('/')}/#/alerts?silenced=true&inhibited=true&filter={query}"
        if len(url) <= MAX_URL - 100 or not lines:
            return button_url(url)
        lines = lines[:-1]


def _author(silence: SilenceView) -> str:
    if silence.slack_user:
        return f"<@{silence.slack_user}>"
    return safe(silence.created_by or "someone", 100)


def shown(view: MessageView, now: float) -> list[SilenceView]:
    """The active silences the message shows: those made from it first."""
    active = [s for s in view.silences if s.active(now)]
    return sorted(active, key=lambda s: (s.message_id != view.id, s.ends_at))


def all_muted(view: MessageView) -> bool:
    """Every firing alert is silenced or inhibited (Alertmanager notifies none of them)."""
    return bool(view.firing) and all(m.silenced_by or m.inhibited_by for m in view.firing)


def muted_line(view: MessageView, now: float) -> str | None:
    """ "🔕 Silenced by @jane until 14:00 (maintenance)" and "⛔ inhibited by X", in a line."""
    if not view.firing:
        return None
    parts = []
    muting = {s for m in view.firing for s in m.silenced_by}
    silences = [s for s in shown(view, now) if s.silence_id in muting or s.message_id == view.id]
    for silence in silences[:MAX_SILENCES_SHOWN]:
        text = f"🔕 Silenced by {_author(silence)} until {slack_date(silence.ends_at)}"
        if silence.comment:
            text += f" ({safe(silence.comment, 120)})"
        parts.append(text)
    if len(silences) > MAX_SILENCES_SHOWN:
        parts.append(f"+{len(silences) - MAX_SILENCES_SHOWN} more silences")
    known = {s.silence_id for s in silences}
    if unknown := [m for m in view.firing if m.silenced_by and not set(m.silenced_by) & known]:
        parts.append(f"🔕 {len(unknown)} silenced in Alertmanager")
    inhibited = [m for m in view.firing if m.inhibited_by and not m.silenced_by]
    if inhibited:
        by = sorted({name for m in inhibited for name in m.inhibited_by})
        names = ", ".join(safe(n, 80) for n in by[:3]) + (f" +{len(by) - 3}" if len(by) > 3 else "")
        count = f"{len(inhibited)} of {len(view.firing)}" if len(view.firing) > 1 else "it"
        parts.append(f"⛔ Inhibited ({count}) by {names}")
    return " · ".join(parts) or None


def silence_buttons(view: MessageView, can_silence: bool, now: float) -> list[ButtonElement]:
    """*Silence* while some firing alert is not; *Extend* and *Expire* for the silence shown."""
    if not can_silence or not view.firing:
        return []
    buttons = []
    if any(not m.silenced_by for m in view.firing):
        buttons.append(
            ButtonElement(
                text=PlainTextObject(text="Silence"), action_id=Button.SILENCE, value="silence"
            )
        )
    if silences := shown(view, now):
        value = f"{view.id}:{silences[0].id}"
        buttons += [
            ButtonElement(
                text=PlainTextObject(text="Extend silence"),
                action_id=Button.EXTEND_SILENCE,
                value=value,
            ),
            ButtonElement(
                text=PlainTextObject(text="Expire silence"),
                action_id=Button.EXPIRE_SILENCE,
                value=value,
            ),
        ]
    return buttons


def alertmanager_button(view: MessageView) -> ButtonElement | None:
    if (url := alertmanager_url(view)) is None:
        return None
    return ButtonElement(
        text=PlainTextObject(text="Show in Alertmanager"),
        action_id=Button.OPEN_ALERTMANAGER,
        url=url,
    )
