"""The web console at ``/console``: one static page and its scripts, plus ``GET /v1/me``.

The page holds no data: it asks for a token, keeps it in ``sessionStorage`` and reads everything
through the JSON API with that bearer token, so the API's role checks are the only ones that count.
The charting library is vendored next to the scripts (the console must work without internet).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel

from screens.deps import PrincipalDep
from screens.errors import NotFound, error_responses

PAGES = Path(__file__).resolve().parent.parent / "pages"
STATIC = PAGES / "static"
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".md": "text/markdown", ".txt": "text/plain"}
_NO_STORE = {"Cache-Control": "no-cache"}

router = APIRouter(tags=["console"])


class Me(BaseModel):
    role: str
    store_ids: list[str]
    screen_id: str | None


@router.get("/v1/me", response_model=Me, responses=error_responses(401))
def get_me(who: PrincipalDep) -> Me:
    """The caller's role and scope, so a client can show only what the role allows."""
    return Me(role=who.role, store_ids=sorted(who.store_ids), screen_id=who.screen_id)


@router.get("/console", include_in_schema=False)
def console_page() -> FileResponse:
    return FileResponse(PAGES / "templates" / "console.html", media_type="text/html", headers=_NO_STORE)


@router.get("/console/", include_in_schema=False)
def console_slash() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/console/static/{name}", include_in_schema=False)
def console_static(name: str) -> FileResponse:
    """Files of the static folder by exact name only (no sub-paths, so nothing outside it)."""
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file() or path.suffix not in _MEDIA:
        raise NotFound(f"no console file {name!r}")
    return FileResponse(path, media_type=_MEDIA[path.suffix], headers=_NO_STORE)
