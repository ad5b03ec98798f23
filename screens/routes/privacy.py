"""The public privacy page (``/privacy``), its facts as JSON, and the DPIA summary for ops.

``/privacy`` is the second layer behind the camera notice of each screen (see
:mod:`screens.services.privacy`): public, no token, no script, readable on a phone that scanned the
notice's QR code.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel
from sqlmodel import col, select

from screens.db.tables import Screen
from screens.deps import PrincipalDep, RuntimeDep, SessionDep
from screens.errors import error_responses
from screens.routes.pages import PAGES
from screens.services.privacy import NOTICE_TITLES, Section, camera_counts, dpia_markdown, notice_text, sections
from screens.settings import Settings

router = APIRouter(tags=["privacy"])


class PrivacySection(BaseModel):
    title: str
    paragraphs: list[str]
    bullets: list[str]


class PrivacyFacts(BaseModel):
    operator: str
    contact: str
    k_anonymity: int
    event_retention_days: int
    notice: dict[str, str]
    sections: list[PrivacySection]


def pick_language(settings: Settings, wanted: str | None, accept_language: str | None) -> str:
    """``?lang=`` if it is a notice language, else the first one the browser accepts, else the mall's first."""
    offered = settings.notice_languages
    asked = [wanted] if wanted else []
    asked += [part.split(";")[0].strip().split("-")[0].lower() for part in (accept_language or "").split(",")]
    return next((lang for lang in asked if lang in offered), offered[0])


def _section_html(section: Section) -> str:
    parts = [f"<h2>{html.escape(section.title)}</h2>"]
    parts += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
    if section.bullets:
        parts.append("<ul>" + "".join(f"<li>{html.escape(b)}</li>" for b in section.bullets) + "</ul>")
    return "<section>" + "".join(parts) + "</section>"


@router.get("/privacy", response_class=HTMLResponse, include_in_schema=False, name="privacy_page")
def privacy_page(
    runtime: RuntimeDep,
    lang: Annotated[str | None, Query(max_length=8)] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    """What the cameras estimate, what is never stored, thresholds, retention and whom to ask."""
    settings = runtime.settings
    language = pick_language(settings, lang, accept_language)
    notices = "".join(
        f'<p class="notice" lang="{html.escape(code)}"><strong>{html.escape(NOTICE_TITLES.get(code, "Camera"))}.'
        f"</strong> {html.escape(notice_text(settings, code))}</p>"
        for code in [language, *(c for c in settings.notice_languages if c != language)]
    )
    page = (PAGES / "templates" / "privacy.html").read_text()
    page = page.replace("{{LANG}}", html.escape(language)).replace("{{NOTICES}}", notices)
    page = page.replace("{{SECTIONS}}", "".join(_section_html(s) for s in sections(settings)))
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/v1/privacy", response_model=PrivacyFacts)
def privacy_facts(runtime: RuntimeDep) -> PrivacyFacts:
    """The facts of /privacy as JSON (public: they are what every screen's notice points to)."""
    settings = runtime.settings
    return PrivacyFacts(
        operator=settings.operator_name,
        contact=settings.privacy_contact,
        k_anonymity=settings.k_anonymity,
        event_retention_days=settings.event_retention_days,
        notice={code: notice_text(settings, code) for code in settings.notice_languages},
        sections=[
            PrivacySection(title=s.title, paragraphs=list(s.paragraphs), bullets=list(s.bullets))
            for s in sections(settings)
        ],
    )


_MARKDOWN: dict[int | str, dict[str, Any]] = {200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}}


@router.get(
    "/v1/privacy/dpia.md", response_class=PlainTextResponse, responses={**error_responses(401, 403), **_MARKDOWN}
)
def dpia_summary(session: SessionDep, runtime: RuntimeDep, who: PrincipalDep) -> PlainTextResponse:
    """A Markdown summary of the camera processing for the operator's DPIA (ops)."""
    who.require("ops")
    kinds = list(session.exec(select(Screen.kind).where(col(Screen.camera))))
    return PlainTextResponse(
        dpia_markdown(runtime.settings, camera_counts(kinds)),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="vitrine-dpia-summary.md"'},
    )
