"""Lead-in recommendations, crowd profiles and store audiences as the API takes and returns them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from recsys.attributes import CELL_INDEX, DAYPARTS
from screens.schemas.base import Id, StrictModel, UtcDatetime

Daypart = Literal["morning", "afternoon", "evening"]
assert set(DAYPARTS) == set(Daypart.__args__)  # type: ignore[attr-defined]


class ProfileFace(StrictModel):
    gender: Literal["female", "male", "unknown"] | None = None
    age: Annotated[int, Field(ge=0, le=120, strict=True)] | None = None
    confidence: Annotated[float, Field(ge=0.0, le=1.0, strict=True)] = 1.0


class ExplicitProfile(StrictModel):
    """A crowd given by hand, for tests and previews: ``faces``, or ``shares`` per attribute cell."""

    faces: Annotated[list[ProfileFace], Field(max_length=100)] = []
    shares: dict[str, Annotated[float, Field(ge=0.0, allow_inf_nan=False, strict=True)]] | None = None
    group: Literal["solo", "pair", "family"] | None = None

    @field_validator("shares")
    @classmethod
    def _known_cells(cls, shares: dict[str, float] | None) -> dict[str, float] | None:
        unknown = sorted(set(shares or {}) - set(CELL_INDEX))
        if unknown:
            raise ValueError(f"unknown attribute cells {unknown}; expected e.g. 'female:25-34' or 'male:unknown'")
        return shares

    @model_validator(mode="after")
    def _one_form(self) -> ExplicitProfile:
        if self.faces and self.shares is not None:
            raise ValueError("give either faces or shares, not both")
        return self


class RecommendRequest(StrictModel):
    screen_id: Id
    k: Annotated[int, Field(ge=1, le=20, strict=True)] = 5
    profile: ExplicitProfile | None = Field(None, description="omit to use the screen's live crowd")
    at: UtcDatetime | None = Field(
        None,
        description="rank as of this time (validity, pacing, and the hour, daypart and weekday the claim model reads)",
    )
    weights: dict[str, Annotated[float, Field(strict=True, allow_inf_nan=False)]] | None = Field(
        None, description="preview weights (ops only); not saved"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [{"screen_id": "lead1", "k": 5, "profile": {"faces": [{"gender": "female", "age": 28}]}}]
        }
    }


class CouponPick(StrictModel):
    coupon_id: str
    store_id: str
    title: str
    score: float
    explain: dict[str, float] = Field(description="component → component × weight; sums to score")
    explored: bool = Field(description="drawn by Thompson sampling rather than by score")
    propensity: float = Field(description="probability the policy showed this coupon; log it with the impression")


class RecommendResponse(StrictModel):
    coupons: list[CouponPick]
    profile: dict[str, float] = Field(description="attribute cell → share of the crowd")
    model_version: str | None
    weights_version: int | None = Field(description="ranking weights used; null for a weights preview")


class CrowdProfilePublic(StrictModel):
    screen_id: str
    profile: dict[str, float] = Field(description="attribute cell → share of the faces in the window")
    faces: float = Field(description="confidence-weighted number of faces in the window")
    window_s: float
    group_shares: dict[str, float]


class StoreAudiencePublic(StrictModel):
    store_id: str
    published: bool = Field(description="false while the window holds fewer than k visits")
    k_anonymity: int
    daypart: Daypart | None
    visits: float | None = Field(description="decayed visits (noised when epsilon is set)")
    shares: dict[str, float] | None = Field(description="attribute cell → share of visits")
    epsilon: float | None = Field(description="Laplace noise parameter, null when no noise is added")
    half_life_days: float
