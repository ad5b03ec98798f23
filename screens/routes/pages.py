"""Screen pages (``/screens/{id}``), their live feed, and the coupon claim link (``/c/{code}``).

How a page gets its device token: the installer opens ``/screens/{id}?token=<device token>`` once.
The service checks that it is a device token of that screen, sets it as an ``HttpOnly``,
``SameSite=Strict`` cookie and redirects to ``/screens/{id}``, so the token leaves the address bar
and no script on the page can read it (it used to live in ``localStorage``, where any injected
script could copy it; ``sessionStorage`` would not survive the kiosk's reboot). The page's API calls
carry the cookie; the API accepts it for device tokens only. The HTML itself holds no data, and
the service never logs query strings.
"""

from __future__ import annotations

import html
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import segno
from fastapi import APIRouter, Cookie, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import func
from sqlmodel import Session, col, select

from screens.auth import SCREEN_COOKIE, Principal, authenticate, hash_token
from screens.db.tables import CatalogItem, Coupon, Screen, Store
from screens.deps import CouponsDep, LeadInScreenDep, RuntimeDep, ScreenOf, SessionDep
from screens.errors import NotFound, Unauthorized, error_responses
from screens.runtime import Runtime
from screens.schemas.pages import DisplayedCoupon, LeadInDisplay
from screens.services.events import ScreenInfo, ingest
from screens.services.leadin.claim_codes import InvalidClaimCode, claim_event_id, make_code, read_code
from screens.services.live_push import screen_events
from screens.services.privacy import NOTICE_TITLES, notice_text
from screens.services.screen_directory import KnownScreen
from screens.settings import Settings

PAGES = Path(__file__).resolve().parent.parent / "pages"
_STATIC = {"screen.js": "text/javascript", "screen.css": "text/css", "privacy.css": "text/css", "claim.css": "text/css"}
_NO_CACHE = {"Cache-Control": "no-cache"}
PHONE_COOKIE = "vitrine_phone"
SCREEN_COOKIE_AGE_S = 400 * 86_400  # the longest lifetime browsers keep; a revoked token stops anyway

router = APIRouter(tags=["screen pages"])


PAGE_KINDS = ("lead_in", "mirror")
PageScreenDep = Annotated[KnownScreen, Depends(ScreenOf("ops", kinds=PAGE_KINDS))]


@router.get("/screens/sw.js", include_in_schema=False)
def service_worker() -> FileResponse:
    """Served under /screens/ so its scope covers every screen page (offline start after a reboot)."""
    return FileResponse(PAGES / "static" / "screen-sw.js", media_type="text/javascript", headers=_NO_CACHE)


@router.get("/screens/{screen_id}", response_class=HTMLResponse, include_in_schema=False)
def screen_page(
    screen_id: str, session: SessionDep, runtime: RuntimeDep, token: Annotated[str | None, Query()] = None
) -> Response:
    """The page for a lead-in or mirror screen (the kind decides the layout), with the camera notice
    rendered in when its camera is on, so it shows even before the script runs or when offline.
    The page holds no data; `?token=` hands it its device token once (kept as an HttpOnly cookie)."""
    screen = runtime.screens.get(screen_id, PAGE_KINDS)
    if token is not None:
        return _adopt_token(session, runtime, screen.id, token)
    privacy_url = f"{runtime.settings.claim_base_url}/privacy"  # never from the Host header (issue 13)
    notice = camera_notice(runtime.settings, privacy_url) if screen.camera else ""
    page = (PAGES / "templates" / "screen.html").read_text()
    page = page.replace("{{SCREEN_ID}}", html.escape(screen.id)).replace("{{KIND}}", screen.kind)
    return HTMLResponse(page.replace("{{NOTICE}}", notice), headers=_NO_CACHE)


def camera_notice(settings: Settings, privacy_url: str) -> str:
    """The first layer of the camera information: a title, the text per language, a QR code to /privacy."""
    qr = segno.make(privacy_url, error="m").svg_data_uri(scale=4, border=1)
    texts = "".join(
        f'<p lang="{html.escape(code)}"><strong>{html.escape(NOTICE_TITLES.get(code, "Camera"))}.</strong> '
        f"{html.escape(notice_text(settings, code))}</p>"
        for code in settings.notice_languages
    )
    return (
        '<aside id="camera-notice" class="camera-notice" aria-label="camera notice">'
        f'<img class="notice-qr" src="{qr}" alt="QR code: privacy information at {html.escape(privacy_url)}">'
        f'<div class="notice-text">{texts}<p class="notice-url">{html.escape(privacy_url)}</p></div></aside>'
    )


def _adopt_token(session: Session, runtime: Runtime, screen_id: str, token: str) -> Response:
    """Keep a screen's device token in an HttpOnly cookie and send the browser to the clean URL."""
    try:
        who = authenticate(session, hash_token(token))
        if who.role != "device" or who.screen_id != screen_id:
            raise Unauthorized("not a device token of this screen")
    except Unauthorized:
        return HTMLResponse(
            "<!doctype html><title>Invalid token</title><p>This token is not valid for this screen.",
            status_code=401,
            headers={"Cache-Control": "no-store"},
        )
    page = RedirectResponse(f"/screens/{screen_id}", status_code=303, headers={"Cache-Control": "no-store"})
    secure = runtime.settings.claim_base_url.startswith("https://")
    page.set_cookie(
        SCREEN_COOKIE, token, max_age=SCREEN_COOKIE_AGE_S, path="/", httponly=True, samesite="strict", secure=secure
    )
    return page


@router.get("/screens/static/{name}", include_in_schema=False)
def screen_static(name: str) -> FileResponse:
    if name not in _STATIC:
        raise NotFound(f"no screen page file {name!r}")
    return FileResponse(PAGES / "static" / name, media_type=_STATIC[name], headers=_NO_CACHE)


@router.get(
    "/v1/screens/{screen_id}/display",
    response_model=LeadInDisplay,
    tags=["recommendations"],
    responses=error_responses(401, 403, 404),
)
def lead_in_display(
    screen: LeadInScreenDep,
    session: SessionDep,
    runtime: RuntimeDep,
    recommender: CouponsDep,
    k: Annotated[int, Query(ge=1, le=10)] = 5,
) -> LeadInDisplay:
    """Ranked coupons as a lead-in page shows them: store, floor, discount and a signed claim QR code."""
    screen_id = screen.id
    rec = recommender.recommend(screen_id, k)
    ids = [c.coupon_id for c in rec.coupons]
    coupons = {c.id: c for c in session.exec(select(Coupon).where(col(Coupon.id).in_(ids)))}
    stores = {s.id: s for s in session.exec(select(Store).where(col(Store.id).in_({c.store_id for c in rec.coupons})))}
    pictures = store_pictures(session, set(stores))
    shown = []
    for pick in rec.coupons:
        coupon, store = coupons.get(pick.coupon_id), stores.get(pick.store_id)
        if coupon is None or store is None:  # deleted since the ranking tables were built
            continue
        code = make_code(runtime.settings.secret_key, coupon.id, screen_id)
        url = f"{runtime.settings.claim_base_url}/c/{code}"  # never from the Host header (issue 13)
        shown.append(
            DisplayedCoupon(
                coupon_id=coupon.id,
                title=coupon.title,
                store_id=store.id,
                store_name=store.name,
                floor=store.floor,
                zone=store.zone,
                discount=discount_text(coupon),
                score=pick.score,
                explain=pick.explain,
                explored=pick.explored,
                propensity=pick.propensity,
                claim_url=url,
                image_url=pictures.get(store.id),
                qr_svg=segno.make(url, error="m").svg_data_uri(scale=4, border=2),
            )
        )
    return LeadInDisplay(
        screen_id=screen_id,
        coupons=shown,
        profile=rec.profile.as_dict(),
        model_version=rec.model_version,
        generated_at=datetime.now(UTC),
    )


def store_pictures(session: Session, store_ids: set[str]) -> dict[str, str]:
    """One picture per store for its coupon cards: the image of its first item (by SKU) that has one."""
    if not store_ids:
        return {}
    first = (
        select(CatalogItem.store_id, func.min(CatalogItem.sku).label("sku"))
        .where(col(CatalogItem.store_id).in_(store_ids), col(CatalogItem.image_url).is_not(None))
        .group_by(col(CatalogItem.store_id))
        .subquery()
    )
    query = select(CatalogItem.store_id, CatalogItem.image_url).join(
        first, (first.c.store_id == CatalogItem.store_id) & (first.c.sku == CatalogItem.sku)
    )
    return {store_id: url for store_id, url in session.exec(query) if url}


def discount_text(coupon: Coupon) -> str:
    spend = f" over ${coupon.min_spend:g}" if coupon.min_spend else ""
    if coupon.kind == "percent":
        return f"{coupon.value:g}% off{spend}"
    if coupon.kind == "amount":
        return f"${coupon.value:g} off{spend}"
    return f"free gift{spend}"


@router.get(
    "/v1/screens/{screen_id}/live",
    tags=["recommendations"],
    response_class=StreamingResponse,
    responses=error_responses(401, 403, 404),
)
async def live_feed(screen: PageScreenDep, request: Request, runtime: RuntimeDep) -> StreamingResponse:
    """Server-sent events: `profile` (lead-in crowd changed) or `try_on` (new item at the mirror)."""
    body = screen_events(runtime, screen.id, screen.kind, request.is_disconnected)
    return StreamingResponse(
        body, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


@router.get("/c/{code}", response_class=HTMLResponse, include_in_schema=False, name="claim_coupon")
def claim_coupon(
    code: str, session: SessionDep, runtime: RuntimeDep, phone: Annotated[str | None, Cookie(alias=PHONE_COOKIE)] = None
) -> Response:
    """Scanned from a lead-in QR code: record a `coupon_claim` and show the coupon to the cashier."""
    try:
        claim = read_code(runtime.settings.secret_key, code)
    except InvalidClaimCode as exc:
        return _claim_page("This code is not valid", f"{exc}. Scan the code on the screen again.", 404)
    coupon, screen = session.get(Coupon, claim.coupon_id), session.get(Screen, claim.screen_id)
    now = datetime.now(UTC)
    if coupon is None or screen is None or not coupon.active or _utc(coupon.valid_to) < now:
        return _claim_page("Offer ended", "Sorry, this coupon is no longer available.", 410)
    phone = phone if phone and len(phone) <= 64 else secrets.token_urlsafe(16)
    event = {
        "event_id": claim_event_id(code, phone),
        "type": "coupon_claim",
        "ts": now.isoformat(),
        "coupon_id": coupon.id,
        "screen_id": screen.id,
    }
    screen_as_device = Principal(token_id=0, role="device", screen_id=screen.id)
    screens = {screen.id: ScreenInfo(screen.kind, screen.store_id)}
    ingest(session, runtime.bus.events, [event], screens, screen_as_device, runtime.intake, sessions=runtime.sessions)
    store = session.get(Store, coupon.store_id)
    where = f"{store.name}, floor {store.floor}" if store else coupon.store_id
    page = _claim_page(coupon.title, f"{discount_text(coupon)} at {where}. Show this page at the till.", 200)
    page.set_cookie(PHONE_COOKIE, phone, max_age=365 * 86_400, httponly=True, samesite="lax")
    return page


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _claim_page(title: str, message: str, status: int) -> HTMLResponse:
    page = (PAGES / "templates" / "claim.html").read_text()
    page = page.replace("{{TITLE}}", html.escape(title)).replace("{{MESSAGE}}", html.escape(message))
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})
