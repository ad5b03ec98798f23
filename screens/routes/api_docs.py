"""The interactive API docs (`/docs`), served with a vendored Swagger UI.

FastAPI's default page loads Swagger UI from a CDN; mall machines and the demo often have no
internet, so the page uses the copy in ``screens/pages/static`` instead. It also starts Swagger UI
from an inline script, which the Content-Security-Policy forbids: ``swagger-init.js`` does it here.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="/console/static/swagger-ui.css">
  <link rel="icon" href="data:,">
</head>
<body data-openapi-url="{openapi_url}">
  <div id="swagger-ui"></div>
  <script src="/console/static/swagger-ui-bundle.js"></script>
  <script src="/console/static/swagger-init.js"></script>
</body>
</html>
"""


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    title = f"{request.app.title} — API docs"
    return HTMLResponse(_PAGE.format(title=html.escape(title), openapi_url=html.escape(request.app.openapi_url)))
