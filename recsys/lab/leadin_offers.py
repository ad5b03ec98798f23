"""Real coupon offers as a lead-in screen's event log (UCI dataset 603, ``coupons-in-vehicle``).

Mapping (``../shared/data/coupons-in-vehicle/SOURCE.md``): each venue is a store with one coupon;
each row is the crowd a lead-in camera sees — the person, plus their company as extra faces (a
partner of the other gender, two friends of the same age, or a child) — at the row's hour, an
impression of the venue's coupon, and a claim when the offer was accepted; acceptors and their
company walk into the store (``store_visit`` events). Rows are shuffled with a seed and laid out
over consecutive days in that order, so the service's time split (oldest 70 % to train) is a seeded
random split of the offers. Day of week is not in the survey: every offer day is a Monday (one
week apart), so the weekday carries no information instead of noise.

The events have exactly the payloads of the API's event schemas; they go through the same
impression join as ``vitrine train coupons`` (:func:`recsys.leadin.impressions.impressions_from_events`).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np

from recsys.leadin.model import CouponFeatures
from recsys.leadin.table import CouponCandidate

REQUIRED_COLUMNS: Final = ("coupon", "gender", "age", "passanger", "time", "class")
VENUES: Final = {
    "Bar": ("bar", "bar"),
    "Coffee House": ("coffee-house", "cafe"),
    "Carry out & Take away": ("carry-out", "takeaway"),
    "Restaurant(<20)": ("restaurant-budget", "restaurant"),
    "Restaurant(20-50)": ("restaurant-mid", "restaurant"),
}
"""Venue → (store id, store category); the store's coupon is ``{store id}-coupon``."""
AGES: Final = {"below21": 19, "21": 22, "26": 27, "31": 32, "36": 37, "41": 42, "46": 47, "50plus": 57}
"""Survey age band → a representative age in years (what a camera would estimate)."""
HOURS: Final = {"7AM": 7, "10AM": 10, "2PM": 14, "6PM": 18, "10PM": 22}
GENDERS: Final = {"Female": "female", "Male": "male"}
COMPANY: Final = ("Alone", "Partner", "Friend(s)", "Kid(s)")
CHILD_AGE: Final = 8
SCREEN_ID: Final = "offers-lead-in"
START: Final = datetime(2026, 1, 5, tzinfo=UTC)
"""A Monday; times are mall-local and the mall runs on UTC here."""
OFFERS_PER_DAY: Final = 150
SLOT_S: Final = 12.0
"""Seconds between two crowds at the same hour: more than the 10 s crowd window, so crowds never mix."""


class OfferDatasetError(ValueError):
    """The CSV cannot be read as offers; the message names the column (and row) at fault."""


@dataclass(frozen=True)
class Offer:
    venue: str
    gender: str
    age: int
    company: str
    hour: int
    accepted: bool


def _parse(row: dict[str, str], line: int) -> Offer:
    def pick(column: str, allowed: dict[str, Any] | tuple[str, ...]) -> str:
        value = row[column]
        if value not in allowed:
            expected = ", ".join(allowed)
            raise OfferDatasetError(f"line {line}: column {column!r} has {value!r}; expected one of {expected}")
        return value

    accepted = pick("class", ("0", "1"))
    return Offer(
        venue=pick("coupon", VENUES),
        gender=GENDERS[pick("gender", GENDERS)],
        age=AGES[pick("age", AGES)],
        company=pick("passanger", COMPANY),
        hour=HOURS[pick("time", HOURS)],
        accepted=accepted == "1",
    )


def load_offers(path: str | Path) -> list[Offer]:
    """Read and check the whole file first: a missing column or a bad value names it, nothing is used."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise OfferDatasetError(f"{path}: missing column(s) {', '.join(map(repr, missing))}")
        offers = [_parse(row, line) for line, row in enumerate(reader, start=2)]
    if not offers:
        raise OfferDatasetError(f"{path}: no offers")
    return offers


def faces_of(offer: Offer) -> list[dict[str, Any]]:
    """The faces the camera sees: the person and their company, as ``audience`` event faces."""
    person = {"gender": offer.gender, "age": offer.age, "confidence": 1.0}
    other = "male" if offer.gender == "female" else "female"
    company = {
        "Alone": [],
        "Partner": [{"gender": other, "age": offer.age, "confidence": 1.0}],
        "Friend(s)": [{"gender": offer.gender, "age": offer.age, "confidence": 1.0}] * 2,
        "Kid(s)": [{"gender": other, "age": CHILD_AGE, "confidence": 1.0}],
    }[offer.company]
    return [person, *company]


def store_of(venue: str) -> str:
    return VENUES[venue][0]


def coupon_of(venue: str) -> str:
    return f"{store_of(venue)}-coupon"


def coupon_candidates(valid_to: datetime) -> list[CouponCandidate]:
    """One identical 20 % coupon per venue store: the survey says nothing about the discount."""
    return [
        CouponCandidate(coupon_of(v), store, f"20 % at the {v}", category, "percent", 20.0, START, valid_to)
        for v, (store, category) in VENUES.items()
    ]


def coupon_features() -> dict[str, CouponFeatures]:
    return {
        coupon_of(v): CouponFeatures(coupon_of(v), store, category, "percent", 0.2)
        for v, (store, category) in VENUES.items()
    }


@dataclass(frozen=True)
class OfferLog:
    """The offers as time-ordered events, and when each offer was made (aligned with ``offers``)."""

    offers: list[Offer]
    times: list[datetime]
    events: list[tuple[str, datetime, dict[str, Any]]]

    @property
    def end(self) -> datetime:
        return max(self.times) + timedelta(days=1)


def offer_log(offers: Sequence[Offer], seed: int) -> OfferLog:
    """Shuffle with ``seed``, lay the offers over days in that order, emit their events in time order."""
    order = np.random.default_rng(seed).permutation(len(offers))
    slots: dict[tuple[int, int], int] = {}
    shuffled, times, events = [], [], []
    for position, index in enumerate(order):
        offer = offers[int(index)]
        day = position // OFFERS_PER_DAY
        slot = slots.get((day, offer.hour), 0)
        slots[(day, offer.hour)] = slot + 1
        when = START + timedelta(weeks=day, hours=offer.hour, seconds=SLOT_S * slot + 2.0)
        shuffled.append(offer)
        times.append(when)
        events.extend(_events_of(offer, when, position))
    events.sort(key=lambda e: e[1])
    return OfferLog(shuffled, times, events)


def _events_of(offer: Offer, when: datetime, position: int) -> list[tuple[str, datetime, dict[str, Any]]]:
    faces = faces_of(offer)
    coupon, store = coupon_of(offer.venue), store_of(offer.venue)
    events: list[tuple[str, datetime, dict[str, Any]]] = [
        ("audience", when - timedelta(seconds=1), {"screen_id": SCREEN_ID, "faces": faces}),
        ("coupon_impression", when, {"screen_id": SCREEN_ID, "coupon_id": coupon}),
    ]
    if offer.accepted:
        claimed = when + timedelta(seconds=5)
        events.append(("coupon_claim", claimed, {"coupon_id": coupon, "screen_id": SCREEN_ID}))
        for face in faces:
            visit = {"screen_id": f"{store}-door", "store_id": store, "gender": face["gender"], "age": face["age"]}
            events.append(("store_visit", claimed + timedelta(minutes=3), visit))
    return events
