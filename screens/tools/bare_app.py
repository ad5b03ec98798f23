"""The ceiling for ``vitrine bench coupons --baseline``: a bare FastAPI route returning a fixed body.

Served by uvicorn with the same worker count as the service, it answers the coupon route's path
with a coupon list captured from the real service at the start of the benchmark (read from the
file named by ``VITRINE_BARE_BODY``) and encoded per request, so both runs move the same bytes:
the difference between the two is what authentication, the crowd read and ranking cost.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
_BODY: dict[str, Any] = (
    json.loads(Path(os.environ["VITRINE_BARE_BODY"]).read_text()) if "VITRINE_BARE_BODY" in os.environ else {}
)


@app.get("/v1/screens/{screen_id}/coupons")
def fixed_coupons(screen_id: str) -> dict[str, Any]:
    """The captured 5-coupon body, whatever the screen, serialised per request as any route's is."""
    return _BODY


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
