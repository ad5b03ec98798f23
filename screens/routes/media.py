"""Local product pictures (``/media/…`` from ``VITRINE_MEDIA_DIR``) for malls whose screens have no internet.

Public like any shop-window picture: screen pages load them with ``<img>``, which cannot send a
bearer token. Only picture files are served, by exact path below the folder.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from screens.deps import RuntimeDep
from screens.errors import NotFound

router = APIRouter(tags=["media"])
_PICTURES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}
# An SVG opened on its own must not run script, whoever put it in the folder.
_HEADERS = {
    "Cache-Control": "public, max-age=86400",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


@router.get("/media/{path:path}", include_in_schema=False)
def media_file(path: str, runtime: RuntimeDep) -> FileResponse:
    """One picture of the media folder; 404 for anything else (other types, paths outside the folder)."""
    root = runtime.settings.media_dir
    if root is None:
        raise NotFound("no media folder is configured (VITRINE_MEDIA_DIR)")
    base = root.resolve()
    file = (base / path).resolve()
    if not file.is_relative_to(base) or file.suffix.lower() not in _PICTURES or not file.is_file():
        raise NotFound(f"no picture {path!r}")
    return FileResponse(file, media_type=_PICTURES[file.suffix.lower()], headers=_HEADERS)
