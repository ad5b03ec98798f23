"""Upload templates: a CSV per kind with the exact header the upload routes accept and example rows."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from screens.schemas.upload_format import CATALOG_COLUMNS, COUPON_COLUMNS

router = APIRouter(prefix="/v1/templates", tags=["merchandising"])

_EXAMPLES = {
    "catalog": (
        CATALOG_COLUMNS,
        [
            'A1,"Linen shirt, white",tops,shirts,women,white|blue,casual|minimal,59.90,39.90,12,,B1',
            "B1,Wide-leg trousers,bottoms,trousers,women,black,minimal,79,,5,https://img.example/b1.jpg,A1",
        ],
    ),
    "coupons": (
        COUPON_COLUMNS,
        [
            "C-SPRING10,10% off spring collection,percent,10,0,2025-03-01T00:00:00Z,2025-05-31T23:59:59Z,200,5000,true",
            "C-GIFT,Free tote bag over 50,gift,0,50,2025-03-01T00:00:00Z,2025-03-31T23:59:59Z,,300,true",
        ],
    ),
}


def template_csv(kind: Literal["catalog", "coupons"]) -> str:
    columns, rows = _EXAMPLES[kind]
    return "\r\n".join([",".join(columns), *rows]) + "\r\n"


def _download(kind: Literal["catalog", "coupons"]) -> PlainTextResponse:
    return PlainTextResponse(
        template_csv(kind),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}-template.csv"'},
    )


_DOC = {"responses": {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}}


@router.get("/catalog.csv", response_class=PlainTextResponse, **_DOC)  # type: ignore[arg-type]
def catalog_template() -> PlainTextResponse:
    """The catalog CSV template (list columns `|`-separated; no token needed, it holds no data)."""
    return _download("catalog")


@router.get("/coupons.csv", response_class=PlainTextResponse, **_DOC)  # type: ignore[arg-type]
def coupons_template() -> PlainTextResponse:
    """The coupons CSV template (times in ISO 8601, UTC unless an offset is given)."""
    return _download("coupons")
