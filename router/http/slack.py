"""Slack's requests: the /runbook command, Events API callbacks and button clicks.

Over HTTP every one is signed with the app's signing secret and checked before
anything else; over Socket Mode (router/slackapp/socket_mode.py) the same requests
come as envelopes on the connection the router opened with its app token, and go to
the same functions. Work that calls Slack back goes through the outbox, never inside
the request.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from slack_sdk.socket_mode.request import SocketModeRequest
from starlette.concurrency import run_in_threadpool

from router.clock import Clock
from router.decide import Ruleset
from router.errors import PayloadError
from router.http.bodies import UnverifiedBodies, parse_form, parse_json, read_body
from router.http.deps import runtime
from router.oncall.lookup import OnCall
from router.settings import Settings
from router.slackapp.command import RunbookCommand
from router.slackapp.incident import StatusStore, status_answer
from router.slackapp.interactions import InteractionStore, submission
from router.slackapp.interactions import handle as handle_interaction
from router.slackapp.oncall import oncall_answer
from router.slackapp.signature import check_headers
from router.slackapp.signature import verify as verify_slack
from router.slackapp.silence import SilenceDesk
from router.slackapp.socket_mode import ENVELOPE_TYPES, Ack

log = logging.getLogger("router.slack")
router = APIRouter(prefix="/slack")

_SLACK_ID = re.compile(r"^[A-Z0-9]{2,24}$")
_SLACK_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")
MAX_BODY = 1024 * 1024
"""Slack's requests before their signature is checked. Commands and events are a few
KB; the biggest, a click, carries its message (at most 50 blocks of 3,000 characters)
or its modal (100 blocks), form-encoded: a few hundred KB."""


class SlackStore(InteractionStore, StatusStore, Protocol):
    """What Slack's requests read and record, the clicks' and ``/runbook status``'s
    part with it (the store implements it)."""

    def first_delivery(self, source: str, delivery_id: str) -> bool: ...

    def acknowledge_in_slack(
        self, slack_channel: str, slack_ts: str, user_id: str, event_id: str | None = None
    ) -> bool | None: ...


class Waker(Protocol):
    def wake(self) -> None: ...


class SlackService(Protocol):
    """What of the running service Slack's requests use (the runtime has it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def unverified(self) -> UnverifiedBodies: ...

    @property
    def ruleset(self) -> Ruleset: ...

    @property
    def store(self) -> SlackStore: ...

    @property
    def dispatcher(self) -> Waker: ...

    @property
    def oncall(self) -> OnCall | None: ...

    @property
    def silences(self) -> SilenceDesk | None: ...

    def command(self) -> RunbookCommand: ...


SlackDep = Annotated[SlackService, Depends(runtime)]


async def signed_body(rt: SlackService, request: Request) -> bytes:
    """The body, once Slack's signature over it and its timestamp checks out; the headers
    are checked before a byte of it is read, the body within the unverified budget."""
    secret = rt.settings.slack_signing_secret
    value = secret.get_secret_value() if secret else None
    check_headers(request.headers, value, rt.clock)
    limit = min(MAX_BODY, rt.settings.max_body_bytes)
    with rt.unverified.hold(request, limit):
        body = await read_body(request, limit)
        verify_slack(request.headers, body, value, rt.clock)
    return body


def reaction_acknowledges(event: dict[str, Any], reactions: list[str]) -> bool:
    """A ``reaction_added`` with one of the configured emoji, on a message, well-formed."""
    item = event.get("item")
    return (
        event.get("type") == "reaction_added"
        and event.get("reaction") in reactions
        and isinstance(item, dict)
        and item.get("type") == "message"
        and isinstance(event.get("user"), str)
        and bool(_SLACK_ID.match(event["user"]))
        and isinstance(item.get("channel"), str)
        and bool(_SLACK_ID.match(item["channel"]))
        and isinstance(item.get("ts"), str)
        and bool(_SLACK_TS.match(item["ts"]))
    )


@router.post("/commands")
async def slack_command(request: Request, rt: SlackDep) -> Response:
    form = parse_form(await signed_body(rt, request))
    if form.get("ssl_check"):
        return Response(status_code=200)
    return JSONResponse(await command_answer(rt, form))


@router.post("/events")
async def slack_events(request: Request, rt: SlackDep) -> Response:
    """Slack's Events API: the URL check, and reactions that acknowledge a message."""
    body = await signed_body(rt, request)
    payload = parse_json(body, request.headers.get("content-type"))
    if isinstance(payload, dict) and payload.get("type") == "url_verification":
        return JSONResponse({"challenge": str(payload.get("challenge", ""))[:500]})
    await take_event(rt, payload)
    return Response(status_code=200)


@router.post("/interactions")
async def slack_interaction(request: Request, rt: SlackDep) -> Response:
    form = parse_form(await signed_body(rt, request))
    signature = request.headers.get("x-slack-signature", "")
    if not await run_in_threadpool(rt.store.first_delivery, "slack", signature):
        return Response(status_code=200)  # the same signed request again: done already
    raw = form.get("payload")
    if raw is None:
        raise PayloadError("payload", "field required", status_code=400)
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PayloadError("payload", f"invalid JSON: {exc.msg}", status_code=400) from None
    answer = await take_interaction(rt, payload)
    return Response(status_code=200) if answer is None else JSONResponse(answer)


# -- the work, however Slack's request arrived: HTTP above, Socket Mode below ----------


async def command_answer(rt: SlackService, fields: Mapping[str, Any]) -> dict[str, Any]:
    """/runbook's answer as the JSON Slack shows it: the HTTP response, or the payload of
    a Socket Mode acknowledgement."""
    given = fields.get("text")
    text = " ".join(given.split()) if isinstance(given, str) else ""
    verb, _, rest = text.partition(" ")
    if text.lower() == "status":
        channel = fields.get("channel_id")
        channel = channel if isinstance(channel, str) else ""
        ruleset, now = rt.ruleset, rt.clock.now()
        reply = await run_in_threadpool(status_answer, rt.store, ruleset, channel, now)
    elif verb.lower() == "oncall":
        names = list(rt.ruleset.config.data.oncall)
        reply = await run_in_threadpool(oncall_answer, rt.oncall, names, rest.strip())
    else:
        reply = rt.command().answer(text)
    body = reply.payload()
    del body["replace_original"]  # a command's answer has no original
    return body


async def take_event(rt: SlackService, payload: Any) -> bool:
    """An Events API callback: a reaction that acknowledges a message. False if it is
    Slack's retry of an event already taken."""
    if not isinstance(payload, dict):
        raise PayloadError("body", "expected a JSON object")
    event = payload.get("event")
    event_id = payload.get("event_id")
    if payload.get("type") != "event_callback" or not isinstance(event, dict):
        return True  # nothing we subscribe to
    if not reaction_acknowledges(event, rt.ruleset.config.data.acknowledge.reactions):
        return True  # nothing to do, the first time or again
    item = event["item"]
    # The event id is recorded with the acknowledgement, in one transaction: Slack's retry
    # of an event whose write failed (503) still acknowledges; of one done, nothing.
    changed = await run_in_threadpool(
        rt.store.acknowledge_in_slack,
        item["channel"],
        item["ts"],
        event["user"],
        event_id if isinstance(event_id, str) else None,
    )
    if changed:
        rt.dispatcher.wake()
    return changed is not None


async def take_interaction(rt: SlackService, payload: Any) -> dict[str, Any] | None:
    """A click (or another interaction), its work queued; the answer Slack reads, if any."""
    if isinstance(payload, dict) and payload.get("type") == "view_submission":
        submitted = await run_in_threadpool(submission, payload, rt.store, rt.silences)
        if submitted.work:
            rt.dispatcher.wake()
        return submitted.answer or None  # errors keep the form open; nothing closes it
    prefix = rt.settings.slack_response_url_prefix
    queued = await run_in_threadpool(
        handle_interaction, payload, rt.store, rt.ruleset, prefix, rt.silences
    )
    if queued:
        rt.dispatcher.wake()
    return None


async def socket_envelope(rt: SlackService, request: SocketModeRequest) -> Ack:
    """A Socket Mode envelope to the same work as its endpoint above, taken once: Slack
    gives an envelope again (to this replica or another) until one acknowledges it."""
    if request.type not in ENVELOPE_TYPES:
        log.info("socket mode: an envelope of a type the router does not take: acknowledged")
        return Ack()
    if not await run_in_threadpool(rt.store.first_delivery, "slack-envelope", request.envelope_id):
        return Ack(duplicate=True)
    if request.type == "slash_commands":
        return Ack(await command_answer(rt, request.payload))
    if request.type == "interactive":
        return Ack(await take_interaction(rt, request.payload))
    return Ack(duplicate=not await take_event(rt, request.payload))
