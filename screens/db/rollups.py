"""Rollup tables: the counts every analytics answer and the store audiences are read from.

They are written in the transaction that accepts the events (:mod:`screens.services.rollups`), so
an event is counted exactly once: only the ids the event log did not hold before are rolled up,
and a crash rolls back both. They outlive the raw events (dropped after the retention period).

Times are quarter-hour buckets, ``bucket`` = UTC epoch seconds of the bucket's start: every real
time zone is a whole number of quarter hours from UTC, so local hours and days are exact sums of
buckets (``(bucket + offset) // 86400`` is the local day, in SQL, on both databases).

The coupon rollups are kept at two grains (``grain`` = 900 or 86,400 seconds): a window's whole UTC
days are read from the daily rows and only its two ragged ends from the quarter hours, so a week of
a busy mall is a few thousand rows whatever the traffic (:func:`screens.services.analytics.spanning`).

On SQLite the tables are ``WITHOUT ROWID`` (rows are stored in key order, so a store's or a
coupon's buckets are read as one range), and the mall-wide tables have a covering index on
``(grain, bucket, …)`` holding the counts too: a week of flow is read from the index alone.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

BUCKET_S = 900
"""Quarter hours: the coarsest grain that keeps hours and days exact in every time zone."""
DAY_S = 86_400
GRAINS = (BUCKET_S, DAY_S)


CLUSTERED = {"sqlite_with_rowid": False}


def _bucket() -> int:
    return Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))  # type: ignore[no-any-return]


def _grain() -> int:
    return Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))  # type: ignore[no-any-return]


def _count() -> int:
    return Field(default=0, sa_column=Column(Integer, nullable=False, default=0))  # type: ignore[no-any-return]


def _share() -> float:
    return Field(default=0.0, sa_column=Column(Float, nullable=False, default=0.0))  # type: ignore[no-any-return]


def _moment() -> int | None:
    return Field(default=None, sa_column=Column(BigInteger, nullable=True))  # type: ignore[no-any-return]


class TrafficRollup(SQLModel, table=True):
    """Store visits across the mall per bucket (the mall traffic chart)."""

    __tablename__ = "rollup_traffic"
    __table_args__ = CLUSTERED

    bucket: int = _bucket()
    visits: int = _count()


class VisitRollup(SQLModel, table=True):
    """Store visits per store, bucket and attribute cell (gender × age bucket)."""

    __tablename__ = "rollup_visits"
    __table_args__ = CLUSTERED

    store_id: str = Field(primary_key=True, max_length=64)
    bucket: int = _bucket()
    cell: str = Field(primary_key=True, max_length=32)
    visits: int = _count()


class CouponRollup(SQLModel, table=True):
    """Showings and claims of a coupon per bucket (at both grains)."""

    __tablename__ = "rollup_coupons"
    __table_args__ = (
        Index(
            "ix_rollup_coupons_grain_bucket",
            "grain",
            "bucket",
            "coupon_id",
            "impressions",
            "claims",
            "flagged",
            "explored",
        ),
        CLUSTERED,
    )

    coupon_id: str = Field(primary_key=True, max_length=64)
    grain: int = _grain()
    bucket: int = _bucket()
    impressions: int = _count()
    claims: int = _count()
    unattributed: int = _count()
    """Impressions with no crowd seen at their screen within the crowd window."""
    flagged: int = _count()
    """Impressions whose screen said whether the ranking explored."""
    explored: int = _count()


class FlowRollup(SQLModel, table=True):
    """Showings and claims per lead-in screen and the store whose coupon it was (at both grains)."""

    __tablename__ = "rollup_flow"
    __table_args__ = (
        Index("ix_rollup_flow_grain_bucket", "grain", "bucket", "screen_id", "store_id", "impressions", "claims"),
        CLUSTERED,
    )

    screen_id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(primary_key=True, max_length=64)
    grain: int = _grain()
    bucket: int = _bucket()
    impressions: int = _count()
    claims: int = _count()


class CouponCellRollup(SQLModel, table=True):
    """A coupon's showings and claims per audience cell: each face of the crowd an equal share."""

    __tablename__ = "rollup_coupon_cells"
    __table_args__ = CLUSTERED

    coupon_id: str = Field(primary_key=True, max_length=64)
    grain: int = _grain()
    bucket: int = _bucket()
    cell: str = Field(primary_key=True, max_length=32)
    impressions: float = _share()
    claims: float = _share()
    faces: int = _count()
    """Faces behind the impressions (what the k-anonymity threshold is checked against)."""


class PlayName(SQLModel, table=True):
    """A number for each lead-in screen and each coupon of :class:`PlayRollup`.

    The proof-of-play report groups a window's rollup rows by (screen, coupon), and SQLite's sorter
    orders a week's 150,000 rows about twice as fast by one integer as by two strings
    (docs/benchmarks.md): a row's ``pair_id`` is :func:`pair_number` of the two numbers, so the
    report reads a mall's few hundred names, not its 18,000 pairs. Numbers are given at ingest and
    never reused or deleted: rollup rows outlive the raw events.
    """

    __tablename__ = "rollup_play_names"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8, description="screen | coupon")
    name: str = Field(max_length=64)


PAIR_SHIFT = 24
"""A pair number is its screen's number shifted by this, plus its coupon's: 16.7M names per
database. Not 32: PostgreSQL hashes a bigint as its high half xor its low half, so screen × 2^32 +
coupon folded a mall's 18,000 pairs onto 380 hash values (its ``GROUP BY`` took twice as long as by
the two strings). At 24 they stay apart while screen numbers are below 256; a chain's 1.8M pairs
(100 malls, numbers interleaved) share at most 5 to a hash value."""


def pair_number(screen: int, coupon: int) -> int:
    if coupon >> PAIR_SHIFT:
        raise OverflowError(f"coupon number {coupon} does not fit in a pair number ({PAIR_SHIFT} bits)")
    return screen << PAIR_SHIFT | coupon


def pair_of(number: int) -> tuple[int, int]:
    """The screen's and coupon's numbers in a pair number."""
    return number >> PAIR_SHIFT, number & ((1 << PAIR_SHIFT) - 1)


class PlayRollup(SQLModel, table=True):
    """Proof of play: showings of a coupon at a screen, the crowd they were shown to, and claims there.

    A showing's crowd is the screen's latest ``audience`` event (with or without faces) at most the
    crowd window before it, as the proof-of-play report has always credited it. ``first_shown`` and
    ``last_shown`` (UTC epoch microseconds; null in rows of claims only) are kept as the minimum and
    maximum, not summed (:data:`screens.services.rollups.EXTREMES`).

    The key is ``(grain, bucket, pair_id)`` (:class:`PlayName`): the report reads every pair of a
    window, so on SQLite a window part is one contiguous range of the table itself, with no index
    to keep at ingest.
    """

    __tablename__ = "rollup_plays"
    __table_args__ = CLUSTERED

    grain: int = _grain()
    bucket: int = _bucket()
    pair_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    impressions: int = _count()
    with_audience: int = _count()
    """Showings with at least one face in that crowd."""
    faces: int = _count()
    attention_faces: int = _count()
    """Faces of crowds whose camera reported the share turned to the screen."""
    attentive: float = _share()
    """Those faces times the share: attentive / attention_faces is the attention share."""
    claims: int = _count()
    first_shown: int | None = _moment()
    last_shown: int | None = _moment()


class AudienceRollup(SQLModel, table=True):
    """Time-decayed store visits in the representation of :mod:`recsys.audience` (UTC dayparts).

    ``weight`` sums ``2^((ts - t_ref) / half_life)`` for the epoch ``t_ref`` the visit fell in
    (:func:`screens.services.rollups.audience_reference`), so it depends on the half-life setting:
    changing it needs ``vitrine analytics rebuild``.
    """

    __tablename__ = "rollup_store_audience"
    __table_args__ = CLUSTERED

    store_id: str = Field(primary_key=True, max_length=64)
    t_ref: int = _bucket()
    daypart: str = Field(primary_key=True, max_length=16)
    cell: str = Field(primary_key=True, max_length=32)
    weight: float = _share()


ROLLUPS: tuple[type[SQLModel], ...] = (
    TrafficRollup,
    VisitRollup,
    CouponRollup,
    FlowRollup,
    CouponCellRollup,
    PlayRollup,
    AudienceRollup,
)
