"""The baseline: a bare FastAPI endpoint that only parses the body into pydantic."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from router.sources._webhook import Webhook

app = FastAPI()


@app.post("/webhooks/alertmanager")
async def receive(request: Request) -> JSONResponse:
    hook = Webhook.model_validate_json(await request.body())
    return JSONResponse({"alerts": len(hook.alerts)}, status_code=202)
