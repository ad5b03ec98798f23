"""The interactive API docs (`/docs`), served with a vendored Swagger UI.

FastAPI's default page loads Swagger UI from a CDN; mall machines and the demo often have no
internet, so the page uses the copy in ``screens/pages/static`` instead.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — API docs",
        swagger_js_url="/console/static/swagger-ui-bundle.js",
        swagger_css_url="/console/static/swagger-ui.css",
        swagger_favicon_url="data:,",
    )
