"""One base for business errors: each carries its status code and is rendered by one handler."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException


class VitrineError(Exception):
    status_code = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(VitrineError):
    status_code = 404


class Unauthorized(VitrineError):
    status_code = 401


class Forbidden(VitrineError):
    status_code = 403


class Conflict(VitrineError):
    status_code = 409


class PayloadTooLarge(VitrineError):
    status_code = 413


class UnsupportedMediaType(VitrineError):
    status_code = 415


class InvalidInput(VitrineError):
    """Semantic validation failed; ``errors`` lists ``{field or row, message}`` entries."""

    status_code = 422


async def _render(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VitrineError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse({"detail": exc.message, **exc.extra}, status_code=exc.status_code, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """FastAPI answers an unparsable body (not UTF-8, not JSON) with an undocumented ``400``; it is
    payload validation like any other, so it gets the documented ``422`` shape instead."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        error = {"type": "json_invalid", "loc": ["body"], "msg": "the body could not be parsed (not UTF-8 JSON)"}
        return JSONResponse({"detail": [error]}, status_code=422)
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VitrineError, _render)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the business errors a route may return."""
    text = {
        401: "missing or invalid token",
        403: "token lacks the role or scope",
        404: "not found",
        409: "conflict",
        413: "body too large",
        415: "unsupported content type",
        422: "invalid input",
    }
    return {code: {"description": text[code]} for code in codes}
