"""Dependencies declared once as typed aliases and asked for by type in each route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from sqlmodel import Session

from screens.auth import SCREEN_COOKIE, Principal, Role, authenticate, bearer_token, hash_token
from screens.db.session import session_scope
from screens.db.tables import Store
from screens.errors import NotFound, Unauthorized
from screens.runtime import Runtime
from screens.services.leadin.recommender import CouponRecommender
from screens.services.mirror.service import MirrorScreen, MirrorService
from screens.services.screen_directory import KnownScreen, require_kind


def runtime_of(request: Request) -> Runtime:
    """The worker's runtime, for dependencies that take the request anyway (one node fewer each)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """Async on purpose (no I/O): sync dependencies each cost a threadpool hop per request."""
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    yield from session_scope(runtime.engine)


# scope="function": the request's transaction commits before the response is sent, so a client
# that gets a 200 can rely on the write being visible to its next request.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class BearerPrincipal(SecurityBase):
    """The caller, from the worker's token cache or, on a miss, the database.

    A security scheme, so OpenAPI documents the bearer token once (Swagger's *Authorize*) instead of
    an ``authorization`` parameter on every route; it reads the header itself because FastAPI's
    parsing and validation of a ``Header`` and a ``Cookie`` parameter cost about 30 µs a request, a
    tenth of the polled coupon route (docs/benchmarks.md). A screen page sends its device token as
    an HttpOnly ``SameSite=Strict`` cookie instead of a header; the cookie counts only for device
    tokens, so it can never carry more than one screen's rights (no browser of an admin holds one).
    """

    def __init__(self) -> None:
        self.model = HTTPBearerModel(description="`Authorization: Bearer <token>` (`vitrine token create`)")
        self.scheme_name = "bearer"

    async def __call__(self, request: Request) -> Principal:
        runtime, authorization = runtime_of(request), request.headers.get("authorization")
        screen_cookie = request.cookies.get(SCREEN_COOKIE) if authorization is None else None
        if screen_cookie:
            principal = await _principal(runtime, hash_token(screen_cookie))
            if principal.role != "device":
                raise Unauthorized("the screen cookie holds no device token")
            return principal
        return await _principal(runtime, hash_token(bearer_token(authorization)))


async def _principal(runtime: Runtime, token_hash: str) -> Principal:
    principal = runtime.tokens.get(token_hash)
    if principal is None:

        def lookup() -> Principal:
            with Session(runtime.engine) as session:
                return authenticate(session, token_hash)

        principal = await run_in_threadpool(lookup)
        runtime.tokens.put(token_hash, principal)
    runtime.token_usage.saw(principal.token_id)
    return principal


get_principal = BearerPrincipal()
PrincipalDep = Annotated[Principal, Depends(get_principal)]


# -- resources: a route asks for the screen or store it serves; the 403 comes before the 404 ------


class ScreenOf:
    """The path's (or query's) ``screen_id`` as a :class:`KnownScreen`, once the caller may use it.

    ``roles`` besides the screen's own device (see :meth:`Principal.require_screen`); ``kinds``
    narrows which screens exist for the route. A cached screen costs no I/O and no threadpool hop.
    """

    def __init__(self, *roles: Role, kinds: tuple[str, ...] = ()) -> None:
        self.roles, self.kinds = roles, kinds

    async def __call__(self, screen_id: str, request: Request, who: PrincipalDep) -> KnownScreen:
        who.require_screen(screen_id, *self.roles)
        runtime = runtime_of(request)
        screen = runtime.screens.cached(screen_id)
        if screen is None:
            return await run_in_threadpool(runtime.screens.get, screen_id, self.kinds)
        return require_kind(screen, self.kinds)


ScreenDep = Annotated[KnownScreen, Depends(ScreenOf("ops"))]
"""A screen, for its own device and for ops."""
DeviceScreenDep = Annotated[KnownScreen, Depends(ScreenOf())]
"""A screen, for its own device only (and admins): heartbeats and camera frames."""
LeadInScreenDep = Annotated[KnownScreen, Depends(ScreenOf("ops", kinds=("lead_in",)))]


async def get_mirror_screen(
    screen: Annotated[KnownScreen, Depends(ScreenOf("ops", kinds=("mirror",)))],
) -> MirrorScreen:
    assert screen.store_id is not None  # require_kind: a mirror without its store is not a mirror
    return MirrorScreen(screen.id, screen.store_id)


MirrorScreenDep = Annotated[MirrorScreen, Depends(get_mirror_screen)]
"""A fitting mirror and its store, for its own device and for ops."""


def find_store(session: Session, store_id: str) -> Store:
    """The store's row; the 404 for a store that does not exist."""
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"no store {store_id!r}")
    return store


class StoreOf:
    """The path's ``store_id`` as its row, once the caller may act on it (merchandisers: their own)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

    def __call__(self, store_id: str, session: SessionDep, who: PrincipalDep) -> Store:
        who.require_store(store_id, *self.roles)
        return find_store(session, store_id)


StoreDep = Annotated[Store, Depends(StoreOf("ops", "merchandiser"))]
"""A store, for ops and its own merchandisers."""
MerchandiserStoreDep = Annotated[Store, Depends(StoreOf("merchandiser"))]
"""A store, for its own merchandisers only (and admins): catalog and coupon uploads."""


# -- one dependency per surface's service -------------------------------------------------------


async def get_coupons(request: Request) -> CouponRecommender:
    return runtime_of(request).coupons


async def get_mirror(request: Request) -> MirrorService:
    return runtime_of(request).mirror


CouponsDep = Annotated[CouponRecommender, Depends(get_coupons)]
MirrorDep = Annotated[MirrorService, Depends(get_mirror)]


def allow(*roles: Role) -> Any:
    """A dependency that checks the caller's role.

    FastAPI solves dependencies before it validates the body, so a route that asks for its caller
    this way answers ``403`` to the wrong role before it says anything about the body (issue 13:
    a device got ``422`` rather than ``403`` on ``PUT /v1/ranking/weights``)."""

    async def caller(who: PrincipalDep) -> Principal:
        who.require(*roles)
        return who

    return Depends(caller)


def allow_screen(*roles: Role) -> Any:
    """Like :func:`allow`, for routes of one screen (``{screen_id}`` in the path): devices only their own."""

    async def caller(screen_id: str, who: PrincipalDep) -> Principal:
        who.require_screen(screen_id, *roles)
        return who

    return Depends(caller)


OpsDep = Annotated[Principal, allow("ops")]
DeviceOrOpsDep = Annotated[Principal, allow("device", "ops")]
ScreenOpsDep = Annotated[Principal, allow_screen("ops")]
AdminDep = Annotated[Principal, allow()]
