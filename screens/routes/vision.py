"""Camera frames posted by devices: the answer is the anonymous result; the frame is not kept."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from screens.deps import DeviceScreenDep, PrincipalDep, RuntimeDep, SessionDep
from screens.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType, error_responses
from screens.routes.uploads import read_body
from screens.services.events import ingest
from screens.services.frame_analyzers import analyzer_for
from screens.services.frame_limits import FrameTooLarge, UnreadableHeader, check_frame_size
from vision.analyze import MAX_IMAGE_BYTES, MAX_SIDE, UndecodableImage
from vision.config import CameraKind

router = APIRouter(prefix="/v1/vision", tags=["vision"])
IMAGE_TYPES = ("image/jpeg", "image/png")


@router.post(
    "/frames",
    responses=error_responses(401, 403, 404, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES},
        }
    },
)
async def post_frame(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    who: PrincipalDep,
    screen: DeviceScreenDep,
    screen_id: Annotated[str, Query(description="the screen whose camera took the frame")],
) -> dict[str, Any]:
    """Analyse one JPEG/PNG frame: faces with gender, age bucket and attention, group size.

    The frame is decoded in memory and discarded; only the anonymous events derived from it are
    kept (an `audience` event for displays, `store_visit` events for entrance cameras). Its size is
    read from the PNG/JPEG header first: more than 4096 px a side or `frame_max_pixels` → `413`
    before any pixel is decoded; a worker decodes at most `frame_decodes` frames at once."""
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media not in IMAGE_TYPES:
        raise UnsupportedMediaType(f"content type {media or 'none'!r} is not accepted; send image/jpeg or image/png")
    body = await read_body(request, MAX_IMAGE_BYTES)
    try:
        check_frame_size(body, MAX_SIDE, runtime.settings.frame_max_pixels)
    except FrameTooLarge as exc:
        raise PayloadTooLarge(str(exc), errors=[{"field": "body", "message": str(exc)}]) from exc
    except UnreadableHeader as exc:
        raise InvalidInput("the frame could not be decoded", errors=[{"field": "body", "message": str(exc)}]) from exc
    analyzer = analyzer_for(runtime.settings.vision_config, runtime.settings.model_dir)
    try:
        async with runtime.frame_decodes:  # each decode holds up to frame_max_pixels × 3 bytes
            result = await run_in_threadpool(analyzer.analyze, body, cast(CameraKind, screen.kind))
    except UndecodableImage as exc:
        raise InvalidInput("the frame could not be decoded", errors=[{"field": "body", "message": str(exc)}]) from exc
    finally:
        del body
    events = result.to_events(screen_id)
    screens = {screen.id: screen.info}
    ingested = ingest(session, runtime.bus.events, events, screens, who, runtime.intake, sessions=runtime.sessions)
    return {"screen_id": screen_id, **result.to_dict(), "events": ingested.accepted}


@router.get("/models", responses=error_responses(401))
async def vision_models(runtime: RuntimeDep, _who: PrincipalDep) -> dict[str, Any]:
    """The models posted frames are analysed with (role, type, file, sha256), and why the default set
    is not in use when it is installed but refused."""
    settings = runtime.settings
    analyzer = await run_in_threadpool(analyzer_for, settings.vision_config, settings.model_dir)
    return {
        "source": str(settings.vision_config) if settings.vision_config else "default set",
        "model_dir": str(settings.model_dir),
        "models": analyzer.models,
        "problem": analyzer.problem,
    }
